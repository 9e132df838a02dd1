"""Bulk reprocess pages: confirm what will and will not be reprocessed, one reason, per-item outcomes."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from executions.audit.models import AuditAction, AuditEvent
from tests.helpers import sim_get

pytestmark = pytest.mark.django_db
POST_ROUTE = "POST /api/document-families/{id}/reprocess"


def _posts(kodexa) -> int:  # type: ignore[no-untyped-def]
    return kodexa.control.calls()["by_route"].get(POST_ROUTE, 0)


def _executions(kodexa, statuses: list[str]) -> list[dict]:  # type: ignore[no-untyped-def]
    families = sim_get(kodexa, "/api/document-families", pageSize=len(statuses))["content"]
    assistant = next(a for a in sim_get(kodexa, "/api/assistants", pageSize=200)["content"] if a["active"])
    return [kodexa.control.add_execution(status=status, documentFamilyId=family["id"], assistantId=assistant["id"],
                                         _sim={"lifecycle": False}) for status, family in zip(statuses, families)]


def test_confirm_then_reprocess_the_finished_ones(alice_client, kodexa):
    items = _executions(kodexa, ["FAILED", "CANCELLED", "RUNNING"])
    ids = [i["id"] for i in items]
    confirm = alice_client.post(reverse("executions:bulk_reprocess"), {"ids": ids, "matching": "status=FAILED"})
    body = confirm.content.decode()
    assert confirm.status_code == 200 and body.count("<strong>reprocessed</strong>") == 2
    assert "skipped: it is Running" in body and "Choose a reason…" in body
    assert 'href="/executions/?status=FAILED"' in body  # back to the filtered list
    assert _posts(kodexa) == 0
    token = re.search(r'name="token" value="([^"]+)"', body).group(1)
    done = alice_client.post(reverse("executions:bulk_reprocess"),
                             {"ids": ids, "confirm": "1", "token": token, "reason_category": "problem_fixed",
                              "reason": "OCR fixed"})
    result = done.content.decode()
    assert done.status_code == 200 and 'data-testid="bulk-results"' in result
    assert "2 succeeded" in result and "1 skipped" in result and "0 failed" not in result
    assert _posts(kodexa) == 2
    batch = AuditEvent.objects.filter(action=AuditAction.REPROCESS_SUCCEEDED).values_list("batch_id", flat=True)
    assert len(set(batch)) == 1 and f"batch_id={batch[0]}" in result


def test_a_batch_without_a_reason_category_sends_nothing(alice_client, kodexa):
    items = _executions(kodexa, ["FAILED"])
    response = alice_client.post(reverse("executions:bulk_reprocess"),
                                 {"ids": [items[0]["id"]], "confirm": "1", "token": "x" * 24, "reason": "fixed"})
    assert response.status_code == 400 and "Choose why the document is reprocessed." in response.content.decode()
    assert _posts(kodexa) == 0


def test_a_viewer_is_refused_and_audited(bob_client, kodexa):
    items = _executions(kodexa, ["FAILED", "FAILED"])
    response = bob_client.post(reverse("executions:bulk_reprocess"), {"ids": [i["id"] for i in items]})
    assert response.status_code == 403
    assert AuditEvent.objects.get(action=AuditAction.REPROCESS_DENIED).details["count"] == 2
    assert _posts(kodexa) == 0


def test_nothing_ticked_goes_back_with_a_message(alice_client, kodexa):
    response = alice_client.post(reverse("executions:bulk_reprocess"), {"matching": "status=FAILED"}, follow=True)
    assert "Tick the finished executions to reprocess" in response.content.decode()
