"""A gunicorn worker killed in the middle of a cancel: the request is on record, and reconcile finishes it."""

from __future__ import annotations

import os
import signal
import threading
import time
from io import StringIO

import pytest
from django.core.management import call_command

from executions.audit.models import AuditAction, AuditEvent
from tests.helpers import sim_get
from tests.servers import Browserless, PanelServer, redis_url, shared_database_url, usable_in_production

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


REPROCESS_ROUTE = "POST /api/document-families/{id}/reprocess"


def _wait_for(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_killing_a_worker_mid_cancel_leaves_the_request_and_reconcile_completes_it(kodexa, alice):
    usable_in_production(alice, "alice-pass-123")
    execution = kodexa.control.add_execution(status="RUNNING", _sim={"lifecycle": False})["id"]
    # Kodexa takes its time answering this cancel: long enough to kill the worker while it waits.
    kodexa.control.add_fault("PUT /api/executions/*/cancel", mode="timeout", delay_ms=8000)
    server = PanelServer(database_url=shared_database_url(), cache_url=redis_url() or "locmemcache://crash",
                         kodexa_url=kodexa.url, api_key=kodexa.api_key, env={"KODEXA_READ_TIMEOUT": "30"})
    with server.start(workers=1, threads=2):
        user = Browserless(server.url, "alice", "alice-pass-123")
        outcome: dict[str, object] = {}
        thread = threading.Thread(target=lambda: outcome.update(response=_swallow(user.cancel, execution)))
        thread.start()
        _wait_for(lambda: AuditEvent.objects.filter(execution_id=execution,
                                                    action=AuditAction.CANCEL_REQUESTED).exists())
        _wait_for(lambda: kodexa.control.calls()["by_route"].get("PUT /api/executions/{id}/cancel", 0) == 1)
        (worker,) = server.worker_pids()
        os.kill(worker, signal.SIGKILL)
        thread.join(timeout=30)

    events = list(AuditEvent.objects.filter(execution_id=execution).order_by("id"))
    assert [e.action for e in events] == [AuditAction.CANCEL_REQUESTED], "the outcome was never written"
    assert events[0].actor_username == "alice" and events[0].status_before == "RUNNING"

    out = StringIO()
    call_command("audit_reconcile", "--older-than", "0", stdout=out)
    assert "1 open request(s) reconciled" in out.getvalue()
    reconciled = AuditEvent.objects.get(action=AuditAction.CANCEL_RECONCILED)
    assert reconciled.request_event_id == events[0].pk
    assert reconciled.status_after in {"RUNNING", "CANCELLING", "CANCELLED"}
    assert reconciled.details["conclusion"]


def test_killing_a_worker_mid_reprocess_leaves_the_request_and_reconcile_completes_it(kodexa, alice):
    usable_in_production(alice, "alice-pass-123")
    family = sim_get(kodexa, "/api/document-families", pageSize=1)["content"][0]["id"]
    assistant = next(a for a in sim_get(kodexa, "/api/assistants", pageSize=200)["content"] if a["active"])["id"]
    execution = kodexa.control.add_execution(status="FAILED", documentFamilyId=family, assistantId=assistant,
                                             _sim={"lifecycle": False})["id"]
    # Kodexa starts the new execution, then trickles its answer: the worker dies before it has heard it all.
    kodexa.control.add_fault("POST /api/document-families/*/reprocess", mode="trickle", delay_ms=8000)
    server = PanelServer(database_url=shared_database_url(), cache_url=redis_url() or "locmemcache://crash",
                         kodexa_url=kodexa.url, api_key=kodexa.api_key, env={"KODEXA_READ_TIMEOUT": "30"})
    with server.start(workers=1, threads=2):
        user = Browserless(server.url, "alice", "alice-pass-123")
        thread = threading.Thread(target=lambda: _swallow(user.reprocess, execution, assistant))
        thread.start()
        _wait_for(lambda: AuditEvent.objects.filter(execution_id=execution,
                                                    action=AuditAction.REPROCESS_REQUESTED).exists())
        _wait_for(lambda: kodexa.control.calls()["by_route"].get(REPROCESS_ROUTE, 0) == 1)
        (worker,) = server.worker_pids()
        os.kill(worker, signal.SIGKILL)
        thread.join(timeout=30)

    events = list(AuditEvent.objects.filter(execution_id=execution).order_by("id"))
    assert [e.action for e in events] == [AuditAction.REPROCESS_REQUESTED], "the outcome was never written"
    out = StringIO()
    call_command("audit_reconcile", "--older-than", "0", stdout=out)
    assert "1 open request(s) reconciled" in out.getvalue()
    reconciled = AuditEvent.objects.get(action=AuditAction.REPROCESS_RECONCILED)
    assert reconciled.request_event_id == events[0].pk
    assert len(reconciled.details["started_execution_ids"]) == 1, reconciled.details


def _swallow(fn, *args):  # type: ignore[no-untyped-def]
    """The killed worker drops the connection; that is the point of the test, not a failure."""
    try:
        return fn(*args)
    except Exception as exc:
        return exc
