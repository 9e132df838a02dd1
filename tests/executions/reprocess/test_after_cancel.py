"""Cancel, then reprocess: one reason, two audited actions, the reprocess sent only once the cancel took effect."""

from __future__ import annotations

import re
import time

import pytest
from django.urls import reverse

from executions.audit.models import AuditAction, AuditEvent
from tests.helpers import sim_get

pytestmark = pytest.mark.django_db
POST_ROUTE = "POST /api/document-families/{id}/reprocess"


def _running(kodexa) -> dict:  # type: ignore[no-untyped-def]
    family = sim_get(kodexa, "/api/document-families", pageSize=1)["content"][0]
    assistant = next(a for a in sim_get(kodexa, "/api/assistants", pageSize=200)["content"] if a["active"])
    return kodexa.control.add_execution(status="RUNNING", documentFamilyId=family["id"], assistantId=assistant["id"],
                                        description="stuck for hours")


def _posts(kodexa) -> int:  # type: ignore[no-untyped-def]
    return kodexa.control.calls()["by_route"].get(POST_ROUTE, 0)


def _cancel(client, execution: dict, **extra):  # type: ignore[no-untyped-def]
    body = client.get(reverse("executions:detail", args=[execution["id"]])).content.decode()
    token = re.search(r'name="token" value="([^"]+)"', body).group(1)
    return client.post(reverse("executions:cancel", args=[execution["id"]]),
                       {"reason_category": "stuck", "reason": "no progress since 9:00", "token": token,
                        "then_reprocess": "on", **extra})


def _until_cancelled(kodexa, execution_id: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 10
    while sim_get(kodexa, f"/api/executions/{execution_id}")["status"] != "CANCELLED":
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_the_reprocess_waits_for_the_cancel_then_goes_once(alice_client, kodexa):
    kodexa.control.configure(cancel_delay_ms=1500)
    execution = _running(kodexa)
    assert "Then reprocess the document" in alice_client.get(
        reverse("executions:detail", args=[execution["id"]])).content.decode()
    response = _cancel(alice_client, execution)
    assert response.status_code == 302 and "then-reprocess" in response["Location"]
    waiting = alice_client.get(response["Location"]).content.decode()
    assert 'data-testid="after-cancel-waiting"' in waiting and "data-autosubmit" not in waiting
    assert _posts(kodexa) == 0
    _until_cancelled(kodexa, execution["id"])
    ready = alice_client.get(response["Location"]).content.decode()
    assert "data-autosubmit" in ready and "Reprocess now" in ready
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', ready))
    assert fields["reason"] == "no progress since 9:00" and fields["reason_category"] == "restart_stuck"
    assert fields["assistants"] == execution["assistantId"]
    sent = alice_client.post(reverse("executions:reprocess", args=[execution["id"]]), fields)
    assert sent.status_code == 302 and sent["Location"] == response["Location"] and _posts(kodexa) == 1
    again = alice_client.post(reverse("executions:reprocess", args=[execution["id"]]), fields)  # a second tab
    assert again.status_code == 302 and _posts(kodexa) == 1
    done = alice_client.get(response["Location"]).content.decode()
    assert 'data-testid="after-cancel-result"' in done and "Reprocess succeeded" in done and "Cancel succeeded" in done
    assert 'data-testid="followups"' in done
    actions = list(AuditEvent.objects.filter(execution_id=execution["id"]).order_by("id")
                   .values_list("action", flat=True))
    assert actions == [AuditAction.CANCEL_REQUESTED, AuditAction.CANCEL_SUCCEEDED, AuditAction.REPROCESS_REQUESTED,
                       AuditAction.REPROCESS_SUCCEEDED]


def test_a_failed_cancel_sends_no_reprocess(alice_client, kodexa):
    execution = _running(kodexa)
    kodexa.control.add_fault("PUT /api/executions/*/cancel", status=503)
    response = _cancel(alice_client, execution)
    page = alice_client.get(response["Location"]).content.decode()
    assert "Not sent: the cancel did not go through." in page and "data-autosubmit" not in page
    assert _posts(kodexa) == 0


def test_only_the_person_who_cancelled_sees_the_follow_up(alice_client, admin_client, kodexa):
    execution = _running(kodexa)
    response = _cancel(alice_client, execution)
    assert admin_client.get(response["Location"]).status_code == 404


def test_without_the_choice_a_cancel_goes_back_to_the_execution(alice_client, kodexa):
    execution = _running(kodexa)
    body = alice_client.get(reverse("executions:detail", args=[execution["id"]])).content.decode()
    token = re.search(r'name="token" value="([^"]+)"', body).group(1)
    response = alice_client.post(reverse("executions:cancel", args=[execution["id"]]),
                                 {"reason_category": "stuck", "reason": "stop it", "token": token})
    assert response["Location"] == reverse("executions:detail", args=[execution["id"]])
