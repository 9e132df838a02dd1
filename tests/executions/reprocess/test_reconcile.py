"""audit_reconcile completes a reprocess story whose outcome was never written (the worker died after the POST)."""

from __future__ import annotations

from io import StringIO

import pytest
import requests
from django.core.management import call_command

from executions.audit.chain import audit_chain_verify, audit_event_append
from executions.audit.models import AuditAction, AuditEvent
from tests.helpers import sim_get

pytestmark = pytest.mark.django_db


def _open_request(kodexa, alice, *, sent: bool) -> AuditEvent:  # type: ignore[no-untyped-def]
    family = sim_get(kodexa, "/api/document-families", pageSize=1)["content"][0]["id"]
    assistant = next(a for a in sim_get(kodexa, "/api/assistants", pageSize=200)["content"] if a["active"])["id"]
    old = kodexa.control.add_execution(status="FAILED", documentFamilyId=family, assistantId=assistant,
                                       _sim={"lifecycle": False})
    request = audit_event_append(action=AuditAction.REPROCESS_REQUESTED, actor=alice, execution_id=old["id"],
                                 reason="after the fix", reason_category="problem_fixed",
                                 details={"family_id": family, "assistant_ids": [assistant]})
    if sent:  # what the dead worker got as far as doing
        response = requests.post(f"{kodexa.url}/api/document-families/{family}/reprocess",
                                 json={"assistantIds": [assistant]}, headers={"x-api-key": kodexa.api_key}, timeout=10)
        assert response.status_code == 200
    return request


def _reconcile() -> str:
    out = StringIO()
    call_command("audit_reconcile", "--older-than", "0", stdout=out)
    return out.getvalue()


def test_a_reprocess_that_reached_kodexa_is_reconciled_with_the_executions_it_started(kodexa, alice):
    request = _open_request(kodexa, alice, sent=True)
    out = _reconcile()
    assert "1 open request(s) reconciled" in out and "took effect: 1 new execution" in out
    (outcome,) = request.outcomes.all()
    assert outcome.action == AuditAction.REPROCESS_RECONCILED and outcome.actor is None
    (started,) = outcome.details["started_execution_ids"]
    assert sim_get(kodexa, f"/api/executions/{started}")["documentFamilyId"] == request.details["family_id"]
    assert started != request.execution_id
    assert "0 open request(s)" in _reconcile()  # once
    assert audit_chain_verify().ok


def test_a_reprocess_that_never_left_is_reconciled_as_not_taken_effect(kodexa, alice):
    request = _open_request(kodexa, alice, sent=False)
    assert "did not take effect" in _reconcile()
    (outcome,) = request.outcomes.all()
    assert outcome.details["started_execution_ids"] == []
