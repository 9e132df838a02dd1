"""The cancel and bulk-cancel endpoints: POST only, CSRF, permission, validation, results."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from executions.audit.models import AuditAction, AuditEvent
from tests.helpers import sim_execution

pytestmark = pytest.mark.django_db
PUT_ROUTE = "PUT /api/executions/{id}/cancel"


def _running(kodexa) -> str:  # type: ignore[no-untyped-def]
    return kodexa.control.add_execution(status="RUNNING", description="to be cancelled")["id"]


def _token(client, execution_id: str) -> str:  # type: ignore[no-untyped-def]
    body = client.get(reverse("executions:detail", args=[execution_id])).content.decode()
    return re.search(r'name="token" value="([^"]+)"', body).group(1)


def _puts(kodexa) -> int:  # type: ignore[no-untyped-def]
    return kodexa.control.calls()["by_route"].get(PUT_ROUTE, 0)


def test_operator_sees_the_cancel_form_and_cancels(alice_client, kodexa):
    execution_id = _running(kodexa)
    token = _token(alice_client, execution_id)
    response = alice_client.post(reverse("executions:cancel", args=[execution_id]),
                                 {"reason_category": "customer_request", "reason": "customer asked to stop",
                                  "token": token}, follow=True)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Cancel sent" in body and "Cancelling" in body
    assert 'data-testid="activity"' in body and "customer asked to stop" in body
    assert _puts(kodexa) == 1
    # The browser's back button or a double click sends the same form again: nothing more happens.
    again = alice_client.post(reverse("executions:cancel", args=[execution_id]),
                              {"reason_category": "customer_request", "reason": "customer asked to stop",
                               "token": token}, follow=True)
    assert "Already submitted" in again.content.decode()
    assert _puts(kodexa) == 1 and AuditEvent.objects.filter(execution_id=execution_id).count() == 2


def test_viewer_sees_no_cancel_form_and_is_refused(bob_client, kodexa):
    execution_id = _running(kodexa)
    body = bob_client.get(reverse("executions:detail", args=[execution_id])).content.decode()
    assert "Cancel execution" not in body
    response = bob_client.post(reverse("executions:cancel", args=[execution_id]),
                               {"reason_category": "stuck", "reason": "let me try", "token": "x" * 24})
    assert response.status_code == 403
    assert AuditEvent.objects.get(execution_id=execution_id).action == AuditAction.CANCEL_DENIED
    assert _puts(kodexa) == 0


def test_finished_execution_has_no_cancel_form(alice_client, kodexa):
    finished = sim_execution(kodexa, "status:'SUCCEEDED'")["id"]
    body = alice_client.get(reverse("executions:detail", args=[finished])).content.decode()
    assert "Cancel execution" not in body


def test_bulk_get_is_405(alice_client, kodexa):
    assert alice_client.get(reverse("executions:bulk_cancel")).status_code == 405


def test_the_detail_page_offers_a_dialog_whose_opener_is_a_link_to_the_cancel_page(alice_client, kodexa):
    execution_id = _running(kodexa)
    body = alice_client.get(reverse("executions:detail", args=[execution_id])).content.decode()
    page_url = reverse("executions:cancel", args=[execution_id])
    assert re.search(rf'<a href="{page_url}" role="button"[^>]*data-dialog-open="cancel-dialog"', body)
    assert '<dialog id="cancel-dialog"' in body and "Keep running" in body
    assert re.search(r'<button type="submit" class="danger-button">Stop execution</button>', body)
    # No preset: the empty prompt comes first and nothing else is selected.
    select = re.search(r'<select name="reason_category"[^>]*>(.*?)</select>', body, re.S)
    assert select and "required" in select.group(0)
    assert re.match(r'\s*<option value="" selected>Choose a reason…</option>', select.group(1))
    assert select.group(1).count("selected") == 1
    assert "Wrong input or configuration" in select.group(1)


def test_the_cancel_page_works_without_javascript(alice_client, kodexa):
    execution_id = kodexa.control.add_execution(status="RUNNING", description="no js",
                                                statusDetails={"progress": 3, "progressMax": 4}, steps=[],
                                                _sim={"lifecycle": False})["id"]
    response = alice_client.get(reverse("executions:cancel", args=[execution_id]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="cancel-summary"' in body and execution_id in body
    assert "<progress value=" in body and "created <time" in body  # progress and age
    assert "Stop execution" in body and "data-dialog-open" not in body
    token = re.search(r'name="token" value="([^"]+)"', body).group(1)
    response = alice_client.post(reverse("executions:cancel", args=[execution_id]),
                                 {"reason_category": "stuck", "reason": "from the page", "token": token})
    assert response.status_code == 302 and _puts(kodexa) == 1


def test_the_cancel_page_of_a_finished_execution_offers_nothing(alice_client, kodexa):
    finished = sim_execution(kodexa, "status:'SUCCEEDED'")["id"]
    body = alice_client.get(reverse("executions:cancel", args=[finished])).content.decode()
    assert 'data-testid="cancel-finished"' in body and 'name="reason"' not in body


def test_the_cancel_page_is_refused_to_a_viewer_without_an_audit_row(bob_client, kodexa):
    execution_id = _running(kodexa)
    assert bob_client.get(reverse("executions:cancel", args=[execution_id])).status_code == 403
    assert not AuditEvent.objects.exists() and kodexa.control.calls()["total"] == 0


def test_a_category_left_unchosen_is_refused(alice_client, kodexa):
    execution_id = _running(kodexa)
    response = alice_client.post(reverse("executions:cancel", args=[execution_id]),
                                 {"reason_category": "", "reason": "a good reason", "token": "x" * 24})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Choose a reason for the cancel." in body and "Nothing was sent to Kodexa" in body
    assert "a good reason" in body  # the typed reason is kept
    assert _puts(kodexa) == 0 and not AuditEvent.objects.exists()


def test_csrf_is_required(alice, kodexa):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    execution_id = _running(kodexa)
    response = client.post(reverse("executions:cancel", args=[execution_id]),
                           {"reason_category": "stuck", "reason": "no token", "token": "x" * 24})
    assert response.status_code == 403
    assert _puts(kodexa) == 0 and not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"reason_category": "stuck", "reason": "", "token": "x" * 24},
        {"reason_category": "stuck", "reason": "ab", "token": "x" * 24},
        {"reason_category": "stuck", "reason": "y" * 501, "token": "x" * 24},
        {"reason_category": "bogus", "reason": "valid reason", "token": "x" * 24},
        {"reason_category": "stuck", "reason": "valid reason", "token": "short"},
        {"token": "x" * 24},
        {"reason_category": "stuck", "reason": "bell \x07 in text", "token": "x" * 24},
    ],
)
def test_invalid_reasons_are_form_errors_and_nothing_is_sent(alice_client, kodexa, data):
    execution_id = _running(kodexa)
    response = alice_client.post(reverse("executions:cancel", args=[execution_id]), data)
    assert response.status_code == 400
    assert "Nothing was sent to Kodexa" in response.content.decode()
    # The page shows what it would stop (a read, names included); nothing is cancelled.
    routes = set(kodexa.control.calls()["by_route"])
    assert _puts(kodexa) == 0 and routes <= {"GET /api/executions/{id}", "GET /api/assistants/{id}",
                                             "GET /api/document-families/{id}"}


def test_the_contract_fields_alone_are_enough(alice_client, kodexa):
    """The documented form names only `reason` (and CSRF): a script posting just that cancels, category "other"."""
    execution_id = _running(kodexa)
    response = alice_client.post(reverse("executions:cancel", args=[execution_id]), {"reason": "from a script"})
    assert response.status_code == 302
    requested = AuditEvent.objects.get(execution_id=execution_id, action=AuditAction.CANCEL_REQUESTED)
    assert requested.reason_category == "other" and requested.reason == "from a script"
    assert _puts(kodexa) == 1


def test_malformed_id_is_404_without_upstream_call(alice_client, kodexa):
    response = alice_client.post("/executions/not-an-id/cancel/", {"reason": "whatever"})
    assert response.status_code == 404
    assert kodexa.control.calls()["total"] == 0


def test_bulk_confirm_then_cancel(alice_client, kodexa):
    running = [_running(kodexa) for _ in range(2)]
    finished = sim_execution(kodexa, "status:'SUCCEEDED'")["id"]
    confirm = alice_client.post(reverse("executions:bulk_cancel"), {"ids": [*running, finished]})
    assert confirm.status_code == 200
    body = confirm.content.decode()
    assert "Stop 3 executions?" in body and "skipped (succeeded)" in body
    assert _puts(kodexa) == 0
    token = re.search(r'name="token" value="([^"]+)"', body).group(1)
    result = alice_client.post(reverse("executions:bulk_cancel"), {
        "ids": [*running, finished], "confirm": "1", "token": token, "reason_category": "duplicate",
        "reason": "duplicates of batch 42"})
    assert result.status_code == 200
    text = result.content.decode()
    assert "2 cancelled" in text and "1 skipped" in text
    assert _puts(kodexa) == 2
    batch_ids = set(AuditEvent.objects.values_list("batch_id", flat=True))
    assert len(batch_ids) == 1 and None not in batch_ids


def test_bulk_over_ten_needs_the_typed_count(alice_client, kodexa):
    ids = [_running(kodexa) for _ in range(11)]
    data = {"ids": ids, "confirm": "1", "token": "t" * 24, "reason_category": "stuck", "reason": "all stuck"}
    refused = alice_client.post(reverse("executions:bulk_cancel"), data)
    assert refused.status_code == 400 and "Type 11 to confirm" in refused.content.decode()
    assert _puts(kodexa) == 0
    accepted = alice_client.post(reverse("executions:bulk_cancel"), {**data, "confirm_count": "11"})
    assert accepted.status_code == 200 and "11 cancelled" in accepted.content.decode()
    assert _puts(kodexa) == 11


def test_bulk_refuses_more_than_100_and_bad_ids(alice_client, kodexa):
    too_many = [f"0f6c1e9a-3a7d-4c1e-9f0e-{i:012d}" for i in range(101)]
    response = alice_client.post(reverse("executions:bulk_cancel"), {"ids": too_many}, follow=True)
    assert "At most 100" in response.content.decode()
    response = alice_client.post(reverse("executions:bulk_cancel"), {"ids": ["../../etc"]}, follow=True)
    assert "Not an execution id" in response.content.decode()
    # Only the list page it was redirected to read anything; no execution was read or cancelled.
    calls = kodexa.control.calls()["by_route"]
    assert _puts(kodexa) == 0 and "GET /api/executions/{id}" not in calls


def test_bulk_by_a_viewer_is_refused_and_audited(bob_client, kodexa):
    execution_id = _running(kodexa)
    response = bob_client.post(reverse("executions:bulk_cancel"), {"ids": [execution_id]})
    assert response.status_code == 403
    assert AuditEvent.objects.get().action == AuditAction.CANCEL_DENIED


def test_list_shows_checkboxes_only_to_operators(alice_client, bob_client, kodexa):
    _running(kodexa)
    assert 'name="ids"' in alice_client.get(reverse("executions:list")).content.decode()
    assert 'name="ids"' not in bob_client.get(reverse("executions:list")).content.decode()


def _fake_ids(n: int, start: int = 0) -> list[str]:
    return [f"0f6c1e9a-3a7d-4c1e-9f0e-{i:012d}" for i in range(start, start + n)]


def _refused_bulk(client, n: int = 100, start: int = 0) -> int:  # type: ignore[no-untyped-def]
    return client.post(reverse("executions:bulk_cancel"), {"ids": _fake_ids(n, start), "confirm": "1",
                                                            "reason": "x" * 2000}).status_code


def test_a_refused_bulk_attempt_is_one_event_that_counts_its_ids(bob_client, bob):
    codes = [_refused_bulk(bob_client, start=100 * i) for i in range(10)]
    assert codes == [403] * 10
    events = list(AuditEvent.objects.order_by("id"))
    assert len(events) == 10
    for i, event in enumerate(events):
        assert event.action == AuditAction.CANCEL_DENIED and event.actor == bob
        assert event.details["count"] == 100
        assert event.details["execution_ids"] == _fake_ids(5, start=100 * i)  # the first few
        assert event.execution_id == ""  # many executions: none is named alone
        assert event.reason == "x" * 500  # bounded like the form's field


def test_refusals_past_the_limit_are_counted_then_summarised_in_one_event(bob_client, bob):
    import time

    import time_machine

    window_start = (int(time.time()) // 600 + 1) * 600  # the next 10-minute window, within the session's life
    with time_machine.travel(window_start, tick=False) as traveller:
        codes = [_refused_bulk(bob_client, n=3) for _ in range(25)]
        assert codes == [403] * 25  # refused all the same
        assert AuditEvent.objects.count() == 10  # the limit: 10 recorded one by one per window
        traveller.shift(9 * 60)
        assert _refused_bulk(bob_client, n=3) == 403
        assert AuditEvent.objects.count() == 10  # same window
        traveller.shift(61)
        # The next refusal in a new window first accounts for the 16 that were only counted.
        assert _refused_bulk(bob_client, n=2) == 403
    summary, latest = AuditEvent.objects.order_by("-id")[:2][::-1]
    assert summary.action == latest.action == AuditAction.CANCEL_DENIED
    assert summary.actor == latest.actor == bob
    assert summary.details["suppressed_attempts"] == 16 and summary.details["count"] == 48
    assert latest.details["count"] == 2
    assert AuditEvent.objects.count() == 12


def test_a_single_refused_cancel_is_still_one_event(bob_client):
    execution_id = _fake_ids(1)[0]
    response = bob_client.post(reverse("executions:cancel", args=[execution_id]),
                               {"reason_category": "stuck", "reason": "y" * 2000, "token": "x" * 24})
    assert response.status_code == 403
    (event,) = AuditEvent.objects.all()
    assert event.action == AuditAction.CANCEL_DENIED and event.execution_id == execution_id
    assert event.details["count"] == 1 and len(event.reason) == 500


def test_an_execution_stuck_in_cancelling_can_be_cancelled_again(alice_client, bob_client, kodexa):
    """The page says how long it has been cancelling; an Operator sends the cancel once more, audited as any."""
    from executions.audit.models import AuditEvent

    stuck = kodexa.control.add_execution(status="CANCELLING", updatedOn="2026-01-01T10:00:00Z",
                                         _sim={"lifecycle": False})["id"]
    page = alice_client.get(f"/executions/{stuck}/").content.decode()
    assert 'data-testid="cancelling-since"' in page and "2026-01-01 10:00:00 UTC" in page
    assert "Cancel again" in page
    assert "Cancel again" not in bob_client.get(f"/executions/{stuck}/").content.decode()  # not an Operator
    before = kodexa.control.calls()["by_route"].get("PUT /api/executions/{id}/cancel", 0)
    response = alice_client.post(f"/executions/{stuck}/cancel/",
                                 {"reason_category": "stuck", "reason": "cancelling for hours", "token": "t" * 20})
    assert response.status_code == 302
    assert kodexa.control.calls()["by_route"]["PUT /api/executions/{id}/cancel"] == before + 1
    events = list(AuditEvent.objects.filter(execution_id=stuck).order_by("id"))
    assert [e.action for e in events] == ["cancel.requested", "cancel.succeeded"]
    assert events[0].status_before == "CANCELLING"


def test_the_cancel_page_offers_cancel_then_reprocess_and_keeps_the_choice(alice_client, kodexa):
    from tests.helpers import sim_get

    family = sim_get(kodexa, "/api/document-families", pageSize=1)["content"][0]
    assistant = next(a for a in sim_get(kodexa, "/api/assistants", pageSize=200)["content"] if a["active"])
    execution_id = kodexa.control.add_execution(status="RUNNING", documentFamilyId=family["id"],
                                                assistantId=assistant["id"])["id"]
    page = alice_client.get(reverse("executions:cancel", args=[execution_id])).content.decode()
    assert "Then reprocess the document with the same assistant, once stopped" in page
    refused = alice_client.post(reverse("executions:cancel", args=[execution_id]),
                                {"reason_category": "", "reason": "stuck", "then_reprocess": "on",
                                 "token": "x" * 24}).content.decode()
    assert re.search(r'<input type="checkbox" name="then_reprocess"[^>]* checked', refused)
    assert _puts(kodexa) == 0
