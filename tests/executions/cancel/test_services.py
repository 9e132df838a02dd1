"""Cancelling against the live stand-in: every path ends in the right pair of audit events."""

from __future__ import annotations

import time

import pytest

from executions.audit.chain import RequestMeta, audit_chain_verify
from executions.audit.models import AuditAction, AuditEvent
from executions.cancel.services import (
    CancelNotAllowed,
    CancelOutcome,
    CancelReason,
    ReasonCategory,
    cancel_token_new,
    execution_cancel,
    execution_cancel_bulk,
)
from tests.helpers import sim_execution, sim_get

pytestmark = pytest.mark.django_db

REASON = CancelReason(ReasonCategory.STUCK, "stuck at OCR for hours")
META = RequestMeta(request_id="req-test-1", client_ip="10.1.2.3", user_agent="pytest")
PUT_ROUTE = "PUT /api/executions/{id}/cancel"


def _running(kodexa) -> str:  # type: ignore[no-untyped-def]
    return kodexa.control.add_execution(status="RUNNING", description="to be cancelled")["id"]


def _cancel(user, execution_id: str, token: str | None = None):  # type: ignore[no-untyped-def]
    return execution_cancel(user=user, execution_id=execution_id, reason=REASON, meta=META,
                            token=token or cancel_token_new())


def _events(execution_id: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(execution_id=execution_id).order_by("id"))


def _puts(kodexa) -> int:  # type: ignore[no-untyped-def]
    return kodexa.control.calls()["by_route"].get(PUT_ROUTE, 0)


def test_a_running_execution_is_cancelled_and_both_events_are_recorded(kodexa, alice):
    execution_id = _running(kodexa)
    result = _cancel(alice, execution_id)
    assert result.outcome is CancelOutcome.SUCCEEDED
    assert (result.status_before, result.status_after, result.upstream_status) == ("RUNNING", "CANCELLING", 200)
    requested, outcome = _events(execution_id)
    assert requested.action == AuditAction.CANCEL_REQUESTED and outcome.action == AuditAction.CANCEL_SUCCEEDED
    assert outcome.request_event_id == requested.pk
    assert requested.actor == alice and requested.reason == REASON.text and requested.reason_category == "stuck"
    assert (requested.client_ip, requested.user_agent, requested.request_id) == ("10.1.2.3", "pytest", "req-test-1")
    assert outcome.upstream_latency_ms is not None and outcome.upstream_latency_ms >= 0
    assert _puts(kodexa) == 1
    deadline = time.monotonic() + 5
    while sim_get(kodexa, f"/api/executions/{execution_id}")["status"] != "CANCELLED":
        assert time.monotonic() < deadline, "the stand-in should finish the cancel after its delay"
        time.sleep(0.1)
    assert audit_chain_verify().ok


def test_a_finished_execution_is_not_cancelled(kodexa, alice):
    finished = sim_execution(kodexa, "status:'SUCCEEDED'")["id"]
    result = _cancel(alice, finished)
    assert result.outcome is CancelOutcome.SKIPPED and "already Succeeded" in result.message
    assert [e.action for e in _events(finished)] == [AuditAction.CANCEL_REQUESTED, AuditAction.CANCEL_SKIPPED]
    assert _puts(kodexa) == 0


def test_a_replayed_form_sends_nothing_again(kodexa, alice):
    execution_id = _running(kodexa)
    token = cancel_token_new()
    first = _cancel(alice, execution_id, token)
    again = _cancel(alice, execution_id, token)
    assert first.outcome is CancelOutcome.SUCCEEDED and not first.replayed
    assert again.replayed and again.outcome is CancelOutcome.SUCCEEDED and again.status_after == "CANCELLING"
    assert len(_events(execution_id)) == 2 and _puts(kodexa) == 1


def test_another_users_token_is_their_own_attempt_not_a_look_at_the_first_result(
        kodexa, alice, bob, roles):
    execution_id = _running(kodexa)
    token = cancel_token_new()
    _cancel(alice, execution_id, token)
    bob.groups.add(roles["Operators"])  # a second operator
    second = _cancel(bob, execution_id, token)
    assert not second.replayed
    assert [e.actor_username for e in _events(execution_id)].count("bob") == 2  # requested + outcome


def test_without_the_permission_the_attempt_is_refused_and_audited(kodexa, bob):
    execution_id = _running(kodexa)
    with pytest.raises(CancelNotAllowed):
        _cancel(bob, execution_id)
    (denied,) = _events(execution_id)
    assert denied.action == AuditAction.CANCEL_DENIED and denied.actor == bob
    assert _puts(kodexa) == 0 and kodexa.control.calls()["total"] == 0


@pytest.mark.parametrize(
    ("fault", "outcome", "upstream_status"),
    [
        ({"status": 409}, CancelOutcome.FAILED, 409),
        ({"status": 503}, CancelOutcome.FAILED, 503),
        ({"status": 500}, CancelOutcome.FAILED, 500),
        ({"status": 403}, CancelOutcome.FAILED, 403),
        ({"mode": "redirect"}, CancelOutcome.FAILED, 302),
        ({"mode": "reset"}, CancelOutcome.UNKNOWN, None),
        ({"mode": "timeout", "delay_ms": 2500}, CancelOutcome.UNKNOWN, None),
        ({"mode": "html", "status": 200}, CancelOutcome.UNKNOWN, 200),
        ({"mode": "malformed"}, CancelOutcome.UNKNOWN, 200),
    ],
)
def test_upstream_failures_end_in_the_right_outcome_and_are_never_retried(kodexa, alice, settings, fault,
                                                                          outcome, upstream_status):
    settings.KODEXA_READ_TIMEOUT = 1.0
    execution_id = _running(kodexa)
    kodexa.control.add_fault("PUT /api/executions/*/cancel", **fault)
    result = _cancel(alice, execution_id)
    assert result.outcome is outcome, result
    requested, recorded = _events(execution_id)
    assert requested.action == AuditAction.CANCEL_REQUESTED
    assert recorded.action == f"cancel.{outcome.value}" and recorded.upstream_status == upstream_status
    if outcome is not CancelOutcome.SUCCEEDED:
        assert recorded.error
    assert kodexa.api_key not in recorded.error and kodexa.api_key not in result.message
    assert _puts(kodexa) == 1


def test_kodexa_unreachable_means_nothing_is_sent(alice, settings):
    settings.KODEXA_URL, settings.KODEXA_API_KEY = "http://127.0.0.1:9", "k"
    execution_id = "0f6c1e9a-3a7d-4c1e-9f0e-2b8f6d7a1c01"
    result = _cancel(alice, execution_id)
    assert result.outcome is CancelOutcome.FAILED and "could not be read" in result.message
    assert [e.action for e in _events(execution_id)] == [AuditAction.CANCEL_REQUESTED, AuditAction.CANCEL_FAILED]


def test_an_unknown_execution_fails_cleanly(kodexa, alice):
    missing = "0f6c1e9a-3a7d-4c1e-9f0e-2b8f6d7a1c99"
    result = _cancel(alice, missing)
    assert result.outcome is CancelOutcome.FAILED and "does not know" in result.message
    assert _events(missing)[-1].upstream_status == 404


def test_bulk_cancel_audits_every_item_with_one_batch_id(kodexa, alice):
    running = [_running(kodexa) for _ in range(3)]
    finished = sim_execution(kodexa, "status:'FAILED'")["id"]
    missing = "0f6c1e9a-3a7d-4c1e-9f0e-2b8f6d7a1c98"
    token = cancel_token_new()
    batch = execution_cancel_bulk(user=alice, execution_ids=[*running, finished, missing, running[0]],
                                  reason=REASON, meta=META, token=token)
    outcomes = {r.execution_id: r.outcome for r in batch.results}
    assert len(batch.results) == 5  # the duplicate id counts once
    assert [outcomes[i] for i in running] == [CancelOutcome.SUCCEEDED] * 3
    assert outcomes[finished] is CancelOutcome.SKIPPED and outcomes[missing] is CancelOutcome.FAILED
    events = AuditEvent.objects.filter(batch_id=batch.batch_id)
    assert events.count() == 10 and events.filter(action=AuditAction.CANCEL_REQUESTED).count() == 5
    assert _puts(kodexa) == 3
    replay = execution_cancel_bulk(user=alice, execution_ids=running, reason=REASON, meta=META, token=token)
    assert replay.replayed and replay.batch_id == batch.batch_id and _puts(kodexa) == 3
    assert audit_chain_verify().ok


def test_bulk_cancel_is_bounded(alice):
    with pytest.raises(ValueError, match="1 to 100"):
        execution_cancel_bulk(user=alice, execution_ids=[f"id-{i}" for i in range(101)], reason=REASON,
                              meta=META, token=cancel_token_new())


@pytest.mark.parametrize(("maybe_sent", "outcome"), [(False, CancelOutcome.FAILED), (True, CancelOutcome.UNKNOWN)])
def test_a_connection_lost_on_the_put_after_a_good_read(kodexa, alice, monkeypatch, maybe_sent, outcome):
    """Refused (never sent): failed, safe to retry. Broken after sending: unknown, Kodexa may have applied it."""
    from executions.cancel import services as cancel_service
    from executions.kodexa import KodexaConnectionError

    real = cancel_service.kodexa_client()

    class PutFails:
        get_execution = staticmethod(real.get_execution)

        @staticmethod
        def cancel_execution(execution_id: str, **kwargs: object) -> None:
            raise KodexaConnectionError("Could not connect to Kodexa", maybe_sent=maybe_sent, elapsed_ms=1.0)

    monkeypatch.setattr(cancel_service, "kodexa_client", lambda: PutFails)
    execution_id = _running(kodexa)
    result = _cancel(alice, execution_id)
    assert result.outcome is outcome
    requested, recorded = _events(execution_id)
    assert requested.action == AuditAction.CANCEL_REQUESTED and recorded.request_event_id == requested.pk
    assert recorded.action == {CancelOutcome.FAILED: AuditAction.CANCEL_FAILED,
                               CancelOutcome.UNKNOWN: AuditAction.CANCEL_UNKNOWN}[outcome]
    assert "Could not connect" in recorded.error and kodexa.api_key not in recorded.error
