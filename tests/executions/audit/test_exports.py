"""JSON exports say what they hold (filters, first and last event, count), so removed events are noticed."""

from __future__ import annotations

import copy
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from executions.audit.chain import audit_event_append
from executions.audit.models import AuditAction

pytestmark = pytest.mark.django_db
EXEC_A = "0f6c1e9a-3a7d-4c1e-9f0e-2b8f6d7a1c01"
EXEC_B = "0f6c1e9a-3a7d-4c1e-9f0e-2b8f6d7a1c02"


@pytest.fixture
def history() -> None:
    for i in range(8):
        audit_event_append(action=AuditAction.CANCEL_DENIED, execution_id=(EXEC_A, EXEC_B)[i % 2], reason=f"r{i}")


def _export(client, **filters: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.get(reverse("audit:export_json"), filters)
    assert response.status_code == 200 and response.streaming
    return json.loads(b"".join(response.streaming_content))


def _verify(tmp_path: Path, document: object) -> tuple[str, str]:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document))
    out, err = StringIO(), StringIO()
    call_command("audit_verify", "--file", str(path), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_export_says_what_it_holds(charlie_client, history):
    document = _export(charlie_client, execution_id=EXEC_A)
    assert document["format"] == "kodexa-admin-audit-export/2"
    assert document["filters"] == {"execution_id": EXEC_A}
    ids = [e["id"] for e in document["events"]]
    assert len(ids) == 4
    summary = document["summary"]
    assert (summary["count"], summary["first_id"], summary["last_id"]) == (4, ids[0], ids[-1])
    assert len(summary["signature"]) == 64


def test_an_untouched_export_verifies_without_warnings(tmp_path, charlie_client, history):
    for filters in ({}, {"execution_id": EXEC_A}):
        out, err = _verify(tmp_path, _export(charlie_client, **filters))
        assert "audit chain intact" in out and err == ""


def test_a_row_deleted_from_an_unfiltered_export_is_named(tmp_path, charlie_client, history):
    document = _export(charlie_client)
    events = document["events"]
    before, removed, after = events[2], events.pop(3), events[3]
    with pytest.raises(CommandError, match=f"broken at event {after['id']}") as failure:
        _verify(tmp_path, document)
    assert f"after event {before['id']}" in str(failure.value) and "removed" in str(failure.value)
    assert removed["id"] not in [e["id"] for e in events]


def test_the_first_row_deleted_from_an_unfiltered_export_is_noticed(tmp_path, charlie_client, history):
    document = _export(charlie_client)
    del document["events"][0]
    with pytest.raises(CommandError, match=f"broken at event {document['events'][0]['id']}"):
        _verify(tmp_path, document)


def test_a_row_deleted_from_the_middle_of_a_filtered_export_is_noticed(tmp_path, charlie_client, history):
    document = _export(charlie_client, execution_id=EXEC_A)
    del document["events"][1]  # ids of a filtered export have gaps anyway: only the summary can tell
    with pytest.raises(CommandError, match="holds 3 events but its summary counts 4"):
        _verify(tmp_path, document)


@pytest.mark.parametrize("filters", [{}, {"execution_id": EXEC_A}])
def test_a_truncated_export_is_noticed(tmp_path, charlie_client, history, filters):
    document = _export(charlie_client, **filters)
    last_id = document["events"][-1]["id"]
    del document["events"][-2:]
    with pytest.raises(CommandError, match=f"ends at event {document['events'][-1]['id']}.*runs to event {last_id}"):
        _verify(tmp_path, document)
    cut = json.dumps(_export(charlie_client, **filters))
    path = tmp_path / "cut.json"
    path.write_text(cut[: len(cut) // 2])
    with pytest.raises(CommandError, match="cannot read"):
        call_command("audit_verify", "--file", str(path))
    document.pop("summary")
    with pytest.raises(CommandError, match="no summary"):
        _verify(tmp_path, document)


def test_an_edited_summary_or_header_is_noticed(tmp_path, charlie_client, history):
    document = _export(charlie_client, execution_id=EXEC_A)
    shortened = copy.deepcopy(document)
    del shortened["events"][1]
    shortened["summary"]["count"] = 3  # covering up the deletion
    with pytest.raises(CommandError, match="summary does not match its signature"):
        _verify(tmp_path, shortened)
    widened = copy.deepcopy(document)
    widened["filters"] = {"actor": "someone"}
    with pytest.raises(CommandError, match="summary does not match its signature"):
        _verify(tmp_path, widened)


def test_a_row_swapped_for_one_of_another_export_is_noticed(tmp_path, charlie_client, history):
    document = _export(charlie_client, execution_id=EXEC_A)
    other = _export(charlie_client, execution_id=EXEC_B)
    # Same count, ids still increasing, every hash valid: only the digest of the rows tells.
    document["events"][1] = other["events"][1]
    assert document["events"][0]["id"] < document["events"][1]["id"] < document["events"][2]["id"]
    with pytest.raises(CommandError, match="replaced or reordered"):
        _verify(tmp_path, document)


def test_an_export_without_a_header_verifies_hashes_and_warns(tmp_path, charlie_client, history):
    rows = _export(charlie_client)["events"]
    out, err = _verify(tmp_path, rows)
    assert "audit chain intact" in out
    assert "cannot be detected" in err
    rows[1]["reason"] = "edited"
    with pytest.raises(CommandError, match=f"broken at event {rows[1]['id']}"):
        _verify(tmp_path, rows)


@pytest.mark.parametrize("document", [
    {"format": "something else"},
    [1, 2, 3],
    [{"id": "one", "hash": "h", "prev_hash": "p"}],
    {"format": "kodexa-admin-audit-export/2", "filters": {}, "events": "none", "summary": {}},
    {"format": "kodexa-admin-audit-export/2", "filters": {}, "events": [{"id": 1}], "summary": {}},
    "just a string",
])
def test_a_file_that_is_not_an_export_gets_a_clear_message(tmp_path, document):
    with pytest.raises(CommandError, match=r"export\.json is not an audit export: "):
        _verify(tmp_path, document)


def test_head_is_found_in_a_new_export(tmp_path, charlie_client, history):
    document = _export(charlie_client)
    head = document["events"][-3]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document))
    out = StringIO()
    call_command("audit_verify", "--file", str(path), "--head", head["hash"], stdout=out)
    assert f"head found at event {head['id']}; 2 events after it" in out.getvalue()
