from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from executions.kodexa import (
    Assistant,
    DocumentFamily,
    ExceptionDetails,
    Execution,
    ExecutionStatus,
    KodexaBadResponse,
    Page,
    StatusMessage,
    Step,
)

from .payloads import EXEC_ID, execution, page


def test_full_execution_parses_every_field() -> None:
    ex = Execution.from_api(execution())
    assert ex.id == EXEC_ID
    assert ex.change_sequence == 4
    assert ex.created_on == datetime(2026, 2, 25, 9, 59, 58, tzinfo=UTC)
    assert ex.updated_on == datetime(2026, 2, 25, 10, 0, 15, 123000, tzinfo=UTC)
    assert ex.status is ExecutionStatus.FAILED and ex.status_raw == "FAILED"
    assert ex.status_details is not None and ex.status_details.step_status is ExecutionStatus.FAILED
    assert ex.priority == 5 and ex.processing_time_ms == 15000 and ex.logging_enabled is True
    assert ex.context["eventType"] == "CONTENT_CREATED"
    assert ex.percent == 100
    assert ex.duration == timedelta(seconds=15)
    assert [s.name for s in ex.steps] == ["Parse PDF", "Extract Data"]
    assert ex.steps[0].duration == timedelta(seconds=6) and ex.steps[0].percent == 100
    assert ex.steps[1].exception_details is not None
    assert ex.pipeline_exceptions[0].message == "pipeline broke"
    assert ex.targets[0].labels_to_apply == ("a", "b") and ex.targets[0].type == "DOCUMENT_STORE"
    details = ex.exception_details
    assert details is not None
    assert details.stack_trace == (
        "plain string frame",
        "at com.kodexa.Runner.run(Runner.java:42)",
        "depth=3, weird=frame",
    )
    assert details.validation_errors[0].option == "model"
    assert details.safe_documentation_url == "https://docs.kodexa.ai/errors/1"
    assert ex.raw["id"] == EXEC_ID


def test_execution_is_frozen_hashable_and_raw_is_hidden() -> None:
    ex = Execution.from_api(execution())
    with pytest.raises(dataclasses.FrozenInstanceError):
        ex.status = ExecutionStatus.RUNNING  # type: ignore[misc]
    with pytest.raises(TypeError):
        ex.context["x"] = 1  # type: ignore[index]
    assert hash(ex) == hash(Execution.from_api(execution()))
    assert ex == Execution.from_api(execution(extra_field="ignored"))  # raw not compared
    assert " raw=" not in repr(ex) and "CONTENT_CREATED" in repr(ex)
    assert '"eventType"' in ex.context_json and EXEC_ID in ex.raw_json


def test_minimal_execution_with_nulls_and_wrong_types() -> None:
    ex = Execution.from_api(
        {
            "id": "abc",
            "status": None,
            "createdOn": "not a date",
            "priority": "high",
            "changeSequence": True,
            "context": ["not", "a", "dict"],
            "pipeline": {"steps": "nope"},
            "targets": None,
            "statusDetails": 7,
            "exceptionDetails": "boom",
            "loggingEnabled": "yes",
            "description": {"x": 1},
        }
    )
    assert ex.status is ExecutionStatus.UNKNOWN and ex.status_raw is None
    assert ex.created_on is None and ex.priority is None and ex.change_sequence is None
    assert dict(ex.context) == {} and ex.steps == () and ex.targets == ()
    assert ex.status_details is None and ex.exception_details is None
    assert ex.logging_enabled is None and ex.description is None
    assert ex.percent is None and ex.duration is None


def test_unknown_status_keeps_the_raw_string() -> None:
    ex = Execution.from_api({"id": "abc", "status": "QUANTUM_SUPERPOSITION"})
    assert ex.status is ExecutionStatus.UNKNOWN
    assert ex.status_raw == "QUANTUM_SUPERPOSITION"
    assert ex.status_display == "QUANTUM_SUPERPOSITION"
    assert not ex.status.is_active and not ex.status.is_cancellable


@pytest.mark.parametrize("payload", [None, [], "x", 3, {}, {"id": None}, {"id": ""}, {"id": {"a": 1}}])
def test_payload_without_id_is_a_bad_response(payload: object) -> None:
    with pytest.raises(KodexaBadResponse):
        Execution.from_api(payload)


def test_status_properties() -> None:
    terminal = {"SUCCEEDED", "FAILED", "SKIPPED", "CANCELLED", "REPROCESSED"}
    for status in ExecutionStatus:
        assert status.is_terminal == (status.value in terminal)
        assert status.is_cancellable == (status.value in {"PENDING", "REQUESTED", "RUNNING"})
        assert status.is_active == (status.value not in terminal | {"UNKNOWN"})
    assert ExecutionStatus.PENDING_REPROCESSING.label == "Pending reprocessing"
    assert ExecutionStatus.parse("running") is ExecutionStatus.RUNNING
    assert ExecutionStatus.parse(None) is ExecutionStatus.UNKNOWN
    assert ExecutionStatus.parse(" nope ") is ExecutionStatus.UNKNOWN
    assert ExecutionStatus.CANCELLING.is_active and not ExecutionStatus.CANCELLING.is_cancellable


def test_percent_comes_from_steps_else_status_details() -> None:
    over = Execution.from_api({"id": "a", "statusDetails": {"progress": 50, "progressMax": 10}})
    assert over.percent == 100
    negative = Execution.from_api({"id": "a", "statusDetails": {"progress": -5, "progressMax": 10}})
    assert negative.percent == 0
    zero_max = Execution.from_api({"id": "a", "statusDetails": {"progress": 1, "progressMax": 0}})
    assert zero_max.percent is None
    from_steps = Execution.from_api(
        {
            "id": "a",
            "status": "RUNNING",
            "pipeline": {
                "steps": [
                    {"status": "SUCCEEDED"},
                    {"status": "RUNNING", "progress": 1, "progressMax": 2},
                    {"status": "PENDING"},
                ]
            },
        }
    )
    assert from_steps.percent == 50
    # statusDetails counting whole steps (0 of 3) does not hide a step that is half done.
    coarse = Execution.from_api(
        {
            "id": "a",
            "status": "RUNNING",
            "statusDetails": {"progress": 0, "progressMax": 3},
            "pipeline": {"steps": [{"status": "RUNNING", "progress": 10, "progressMax": 20},
                                   {"status": "PENDING"}, {"status": "PENDING"}]},
        }
    )
    assert coarse.percent == 17
    assert Execution.from_api({"id": "a", "status": "SUCCEEDED"}).percent == 100


def test_duration_runs_to_now_while_active() -> None:
    start = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    running = Execution.from_api({"id": "a", "status": "RUNNING", "startDate": start})
    assert running.duration is not None and timedelta(minutes=4) < running.duration < timedelta(minutes=6)
    finished_no_end = Execution.from_api({"id": "a", "status": "FAILED", "startDate": start})
    assert finished_no_end.duration is None
    backwards = Execution.from_api(
        {"id": "a", "startDate": "2026-01-02T00:00:00Z", "endDate": "2026-01-01T00:00:00Z"}
    )
    assert backwards.duration is None


def test_stack_trace_shapes_and_bounds() -> None:
    legacy = ExceptionDetails.from_api({"message": "x", "stackTrace": "line1\n\tat a.b(C.java:1)\n"})
    assert legacy is not None and legacy.stack_trace == ("line1", "at a.b(C.java:1)")
    huge = ExceptionDetails.from_api({"stackTrace": ["f\x00\x1b[31m" + "x" * 5000] * 1000})
    assert huge is not None and len(huge.stack_trace) == 200
    assert all(len(f) <= 500 and "\x00" not in f and "\x1b" not in f for f in huge.stack_trace)
    python_like = ExceptionDetails.from_api({"stackTrace": [{"filename": "m.py", "lineno": 3, "name": "f"}]})
    assert python_like is not None and python_like.stack_trace == ("at f(m.py:3)",)
    assert ExceptionDetails.from_api({}) is None


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://docs.kodexa.ai/x", True),
        ("http://docs.kodexa.ai/x", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("data:text/html,<script>", False),
        ("//evil.example/x", False),
        ("https:///nohost", False),
        ("https://a b", False),
        (None, False),
    ],
)
def test_safe_documentation_url(url: str | None, safe: bool) -> None:
    details = ExceptionDetails(message="m", documentation_url=url)
    assert details.safe_documentation_url == (url if safe else None)


def test_step_tolerates_junk() -> None:
    step = Step.from_api({"status": 3, "start": 5, "progress": "2", "progressMax": None, "name": ["x"]})
    assert step is not None
    assert step.status is ExecutionStatus.UNKNOWN and step.start is None and step.progress == 2
    assert step.name is None and step.percent is None
    assert Step.from_api("nope") is None


def test_status_message_assistant_family() -> None:
    msg = StatusMessage.from_api(
        {
            "id": "m1",
            "executionId": EXEC_ID,
            "datetime": "2026-02-25T10:00:01.5Z",
            "title": "Thinking",
            "subtitle": None,
            "type": "THINKING",
        }
    )
    assert msg is not None and msg.datetime == datetime(2026, 2, 25, 10, 0, 1, 500000, tzinfo=UTC)
    assistant = Assistant.from_api(
        {
            "id": "a1",
            "name": "Invoice Extractor",
            "color": "#ff0000",
            "active": True,
            "project": {"name": "P"},
        }
    )
    assert assistant.project_name == "P" and assistant.display_name == "Invoice Extractor"
    assert Assistant.from_api({"id": "a2", "project": None}).display_name == "a2"
    family = DocumentFamily.from_api(
        {"id": "f1", "path": "invoices/a.pdf", "documentStatus": {"status": "PROCESSED"}}
    )
    assert family.display_name == "invoices/a.pdf" and family.document_status == "PROCESSED"
    with pytest.raises(KodexaBadResponse):
        DocumentFamily.from_api({"path": "x"})


def test_page_uses_requested_number_and_sane_totals() -> None:
    items = [execution(id=f"e{i}") for i in range(3)] + [{"no": "id"}, "junk"]
    parsed = Page.from_api(page(items, number=1, size=5, total=12), Execution.from_api, page=2, page_size=5)
    assert parsed.number == 2 and parsed.size == 5
    assert [e.id for e in parsed.items] == ["e0", "e1", "e2"] and parsed.skipped == 2
    assert parsed.total_elements == 12 and parsed.total_pages == 3
    assert parsed.has_next and parsed.has_previous and not parsed.first

    absurd = Page.from_api(
        {"content": [execution()], "totalElements": -4, "totalPages": -1, "size": -3},
        Execution.from_api,
        page=1,
        page_size=20,
    )
    assert absurd.total_elements == 1 and absurd.total_pages == 1 and absurd.size == 20
    assert absurd.last and not absurd.has_next and not absurd.has_previous and absurd.first

    empty = Page.from_api({"content": [], "last": False}, Execution.from_api, page=9, page_size=20)
    assert empty.items == () and not empty.has_next

    with pytest.raises(KodexaBadResponse):
        Page.from_api({"items": []}, Execution.from_api, page=1, page_size=20)
    with pytest.raises(KodexaBadResponse):
        Page.from_api([execution()], Execution.from_api, page=1, page_size=20)


def test_an_execution_and_its_page_survive_pickling_as_the_shared_cache_stores_them():
    import pickle

    from executions.kodexa import Page

    ex = Execution.from_api(execution())
    page = Page(items=(ex,), number=1, size=20, total_elements=1, total_pages=1, first=True, last=True)
    again = pickle.loads(pickle.dumps(page))
    assert again == page and again.items[0].raw == ex.raw and again.items[0].context == ex.context
