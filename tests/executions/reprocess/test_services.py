"""Reprocessing against the live stand-in: every path ends in the right pair of audit events, the POST once."""

from __future__ import annotations

import pytest

from executions.audit.chain import RequestMeta, audit_chain_verify
from executions.audit.models import AuditAction, AuditEvent
from executions.cancel.services import cancel_token_new
from executions.reprocess.services import (
    ReprocessCategory,
    ReprocessNotAllowed,
    ReprocessOutcome,
    ReprocessReason,
    ReprocessRepeat,
    execution_reprocess,
    execution_reprocess_bulk,
)
from tests.helpers import sim_executions, sim_get

pytestmark = pytest.mark.django_db

REASON = ReprocessReason(ReprocessCategory.PROBLEM_FIXED, "the OCR service is back")
META = RequestMeta(request_id="req-reprocess-1", client_ip="10.1.2.3", user_agent="pytest")
POST_ROUTE = "POST /api/document-families/{id}/reprocess"


def _posts(kodexa) -> int:  # type: ignore[no-untyped-def]
    return kodexa.control.calls()["by_route"].get(POST_ROUTE, 0)


def _execution(kodexa, status: str = "FAILED", **fields) -> dict:  # type: ignore[no-untyped-def]
    """A finished execution of a known family and an active assistant, held still."""
    family = sim_get(kodexa, "/api/document-families", pageSize=1)["content"][0]
    assistant = next(a for a in sim_get(kodexa, "/api/assistants", pageSize=200)["content"] if a["active"])
    return kodexa.control.add_execution(**{"status": status, "documentFamilyId": family["id"],
                                           "assistantId": assistant["id"], "_sim": {"lifecycle": False},
                                           **fields})


def _reprocess(user, execution: dict, token: str | None = None, **kwargs):  # type: ignore[no-untyped-def]
    return execution_reprocess(user=user, execution_id=execution["id"],
                               assistant_ids=kwargs.pop("assistant_ids", [execution["assistantId"]]),
                               reason=REASON, meta=META, token=token or cancel_token_new(), **kwargs)


def _events(execution_id: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(execution_id=execution_id).order_by("id"))


def test_a_failed_execution_is_reprocessed_and_both_events_are_recorded(kodexa, alice):
    execution = _execution(kodexa)
    family = execution["documentFamilyId"]
    before = len(sim_executions(kodexa, f"documentFamilyId:'{family}'"))
    result = _reprocess(alice, execution)
    assert result.outcome is ReprocessOutcome.SUCCEEDED and result.upstream_status == 200, result
    assert result.family_id == family and result.assistant_ids == (execution["assistantId"],)
    requested, outcome = _events(execution["id"])
    assert (requested.action, outcome.action) == (AuditAction.REPROCESS_REQUESTED, AuditAction.REPROCESS_SUCCEEDED)
    assert outcome.request_event_id == requested.pk and requested.actor == alice
    assert requested.details == {"family_id": family, "assistant_ids": [execution["assistantId"]]}
    assert requested.status_before == "FAILED" and requested.reason_category == "problem_fixed"
    assert _posts(kodexa) == 1
    after = sim_executions(kodexa, f"documentFamilyId:'{family}'")
    assert len(after) == before + 1 and after[0]["assistantId"] == execution["assistantId"]
    assert audit_chain_verify().ok


def test_a_replayed_form_sends_nothing_again(kodexa, alice):
    execution = _execution(kodexa)
    token = cancel_token_new()
    first = _reprocess(alice, execution, token)
    again = _reprocess(alice, execution, token)
    assert first.outcome is ReprocessOutcome.SUCCEEDED and not first.replayed
    assert again.replayed and again.outcome is ReprocessOutcome.SUCCEEDED
    assert len(_events(execution["id"])) == 2 and _posts(kodexa) == 1


def test_a_repeat_for_the_same_document_and_assistant_needs_a_confirmation(kodexa, alice, charlie):
    execution = _execution(kodexa)
    _reprocess(alice, execution)
    with pytest.raises(ReprocessRepeat) as info:
        _reprocess(alice, execution)  # a new form, the same document and assistant, moments later
    assert info.value.previous.actor == alice
    assert len(_events(execution["id"])) == 2 and _posts(kodexa) == 1  # nothing recorded, nothing sent
    confirmed = _reprocess(alice, execution, confirm_repeat=True)
    assert confirmed.outcome is ReprocessOutcome.SUCCEEDED and _posts(kodexa) == 2


@pytest.mark.parametrize(("fields", "why"), [({"status": "RUNNING"}, "only a finished execution"),
                                             ({"documentFamilyId": None}, "no document family"),
                                             ({"assistantId": None}, "no assistant")])
def test_what_cannot_be_reprocessed_is_refused_audited_and_not_sent(kodexa, alice, fields, why):
    execution = _execution(kodexa, **fields)
    result = execution_reprocess(user=alice, execution_id=execution["id"],
                                 assistant_ids=[execution["assistantId"] or "a1b2c3d4"], reason=REASON, meta=META,
                                 token=cancel_token_new())
    assert result.outcome is ReprocessOutcome.SKIPPED and why in result.message
    assert [e.action for e in _events(execution["id"])] == [AuditAction.REPROCESS_REQUESTED,
                                                             AuditAction.REPROCESS_SKIPPED]
    assert _posts(kodexa) == 0


def test_without_the_permission_the_attempt_is_refused_and_audited(kodexa, bob):
    execution = _execution(kodexa)
    with pytest.raises(ReprocessNotAllowed):
        _reprocess(bob, execution)
    (denied,) = _events(execution["id"])
    assert denied.action == AuditAction.REPROCESS_DENIED and denied.actor == bob
    assert "reprocess_execution" in denied.error and kodexa.control.calls()["total"] == 2  # the two setup reads


@pytest.mark.parametrize("assistant_ids", [["../etc"], [], ["a b"]])
def test_ids_that_are_not_ids_are_refused_before_anything(kodexa, alice, assistant_ids):
    execution = _execution(kodexa)
    with pytest.raises(ValueError):
        _reprocess(alice, execution, assistant_ids=assistant_ids)
    assert _events(execution["id"]) == [] and _posts(kodexa) == 0


@pytest.mark.parametrize(
    ("fault", "outcome", "upstream_status"),
    [
        ({"status": 400}, ReprocessOutcome.FAILED, 400),
        ({"status": 404}, ReprocessOutcome.FAILED, 404),
        ({"status": 503}, ReprocessOutcome.FAILED, 503),
        ({"status": 500}, ReprocessOutcome.FAILED, 500),
        ({"mode": "redirect"}, ReprocessOutcome.FAILED, 302),
        ({"mode": "reset"}, ReprocessOutcome.UNKNOWN, None),
        ({"mode": "timeout", "delay_ms": 2500}, ReprocessOutcome.UNKNOWN, None),
        ({"mode": "html", "status": 200}, ReprocessOutcome.UNKNOWN, 200),
    ],
)
def test_upstream_failures_end_in_the_right_outcome_and_are_never_retried(kodexa, alice, settings, fault,
                                                                          outcome, upstream_status):
    settings.KODEXA_READ_TIMEOUT = 1.0
    execution = _execution(kodexa)
    kodexa.control.add_fault("POST /api/document-families/*/reprocess", **fault)
    result = _reprocess(alice, execution)
    assert result.outcome is outcome, result
    requested, recorded = _events(execution["id"])
    assert requested.action == AuditAction.REPROCESS_REQUESTED
    assert recorded.action == f"reprocess.{outcome.value}" and recorded.upstream_status == upstream_status
    assert recorded.error and kodexa.api_key not in recorded.error and kodexa.api_key not in result.message
    assert _posts(kodexa) == 1


def test_a_refusal_by_kodexa_is_shown_in_its_words(kodexa, alice):
    inactive = next(a for a in sim_get(kodexa, "/api/assistants", pageSize=200)["content"] if not a["active"])
    execution = _execution(kodexa, assistantId=inactive["id"])
    result = _reprocess(alice, execution)
    assert result.outcome is ReprocessOutcome.FAILED and result.upstream_status == 400
    assert "is not active" in result.message


def test_kodexa_unreachable_means_nothing_is_sent(alice, settings):
    settings.KODEXA_URL, settings.KODEXA_API_KEY = "http://127.0.0.1:9", "k"
    execution = {"id": "0f6c1e9a-3a7d-4c1e-9f0e-2b8f6d7a1c01", "assistantId": "a1b2c3d4"}
    result = _reprocess(alice, execution)
    assert result.outcome is ReprocessOutcome.FAILED and "could not be read" in result.message
    assert [e.action for e in _events(execution["id"])] == [AuditAction.REPROCESS_REQUESTED,
                                                             AuditAction.REPROCESS_FAILED]


# ---------------------------------------------------------------- bulk


def test_bulk_reprocess_audits_every_item_with_one_batch_id_and_posts_in_parallel(kodexa, alice):
    families = sim_get(kodexa, "/api/document-families", pageSize=3)["content"]
    assistant = next(a for a in sim_get(kodexa, "/api/assistants", pageSize=200)["content"] if a["active"])
    items = [kodexa.control.add_execution(status="FAILED", documentFamilyId=f["id"], assistantId=assistant["id"],
                                          _sim={"lifecycle": False}) for f in families]
    running = _execution(kodexa, status="RUNNING")
    token = cancel_token_new()
    batch = execution_reprocess_bulk(user=alice, execution_ids=[*(i["id"] for i in items), running["id"]],
                                     reason=REASON, meta=META, token=token)
    assert batch.counts["succeeded"] == 3 and batch.counts["skipped"] == 1
    assert _posts(kodexa) == 3
    events = AuditEvent.objects.filter(batch_id=batch.batch_id)
    assert events.count() == 8 and set(events.values_list("actor_username", flat=True)) == {"alice"}
    again = execution_reprocess_bulk(user=alice, execution_ids=[i["id"] for i in items], reason=REASON, meta=META,
                                     token=token)
    assert all(r.replayed for r in again.results) and _posts(kodexa) == 3
    assert audit_chain_verify().ok


def test_two_executions_of_one_document_reprocess_it_once(kodexa, alice):
    first = _execution(kodexa)
    second = kodexa.control.add_execution(status="CANCELLED", documentFamilyId=first["documentFamilyId"],
                                          assistantId=first["assistantId"], _sim={"lifecycle": False})
    batch = execution_reprocess_bulk(user=alice, execution_ids=[first["id"], second["id"]], reason=REASON,
                                     meta=META, token=cancel_token_new())
    outcomes = {r.execution_id: r for r in batch.results}
    assert outcomes[first["id"]].outcome is ReprocessOutcome.SUCCEEDED
    skipped = outcomes[second["id"]]
    assert skipped.outcome is ReprocessOutcome.SKIPPED and first["id"][:8] in skipped.message
    assert _posts(kodexa) == 1


def test_bulk_reprocess_of_a_recently_reprocessed_document_needs_a_confirmation(kodexa, alice):
    execution = _execution(kodexa)
    _reprocess(alice, execution)
    with pytest.raises(ReprocessRepeat):
        execution_reprocess_bulk(user=alice, execution_ids=[execution["id"]], reason=REASON, meta=META,
                                 token=cancel_token_new())
    assert _posts(kodexa) == 1


def test_bulk_reprocess_without_the_permission_is_one_refusal(kodexa, bob):
    items = [_execution(kodexa) for _ in range(3)]
    with pytest.raises(ReprocessNotAllowed):
        execution_reprocess_bulk(user=bob, execution_ids=[i["id"] for i in items], reason=REASON, meta=META,
                                 token=cancel_token_new())
    (denied,) = AuditEvent.objects.filter(action=AuditAction.REPROCESS_DENIED)
    assert denied.details["count"] == 3 and _posts(kodexa) == 0


def test_bulk_reprocess_is_bounded(alice):
    with pytest.raises(ValueError):
        execution_reprocess_bulk(user=alice, execution_ids=[], reason=REASON, meta=META, token=cancel_token_new())
    with pytest.raises(ValueError):
        execution_reprocess_bulk(user=alice, execution_ids=[f"{i:08d}-0000-4000-8000-000000000000" for i in range(101)],
                                 reason=REASON, meta=META, token=cancel_token_new())
