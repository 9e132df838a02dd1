"""Bulk cancel by the list's filters (`matching`), the confirm page keeping them, and the live result page."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from executions.audit.models import AuditAction, AuditEvent
from tests.helpers import reset_calls

pytestmark = pytest.mark.django_db
LIST_ROUTE = "GET /api/executions"
PUT_ROUTE = "PUT /api/executions/{id}/cancel"


# The tests' executions carry an assistant id of their own, which the list's filters select in every tenant (a
# strict one may not read text search): `matching` names it as `assistant=`.
TAG = str(uuid.uuid4())


def _add(kodexa, status: str, description: str, *, frozen: bool = False) -> str:  # type: ignore[no-untyped-def]
    """An execution in the stand-in; `frozen` keeps its status (no lifecycle moving it on during the test)."""
    extra = {"_sim": {"lifecycle": False}} if frozen else {}
    return kodexa.control.add_execution(status=status, description=description, assistantId=TAG, **extra)["id"]


def _routes(kodexa) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return kodexa.control.calls()["by_route"]


def _hidden_ids(body: str) -> list[str]:
    return re.findall(r'<input type="hidden" name="ids" value="([^"]+)">', body)


def _confirm(client, body: str, **extra: str):  # type: ignore[no-untyped-def]
    """Submit the confirm page's form as a browser would."""
    form = re.search(r'<form method="post" action="/executions/bulk-cancel/".*?</form>', body, re.S).group(0)
    data: dict[str, object] = {"ids": _hidden_ids(form), "confirm": "1"}
    for name in ("token", "matching", "matched"):
        found = re.search(rf'<input type="hidden" name="{name}"(?: value="([^"]*)")?', form)
        if found and found.group(1) is not None:
            data[name] = found.group(1).replace("&amp;", "&")
    data.update(extra)
    return client.post(reverse("executions:bulk_cancel"), data)


def test_matching_selects_the_cancellable_ones_with_one_list_call(alice_client, kodexa):
    running = [_add(kodexa, "RUNNING", "nightly reimport", frozen=True) for _ in range(3)]
    done = _add(kodexa, "SUCCEEDED", "nightly reimport", frozen=True)
    reset_calls(kodexa)
    response = alice_client.post(reverse("executions:bulk_cancel"), {"matching": f"assistant={TAG}"})
    assert response.status_code == 200
    body = response.content.decode()
    assert sorted(_hidden_ids(body)) == sorted(running) and done not in body
    assert "Stop 3 executions?" in body and 'data-testid="bulk-matched"' in body
    assert _routes(kodexa).get(LIST_ROUTE) == 1 and PUT_ROUTE not in _routes(kodexa)
    assert not AuditEvent.objects.exists()  # confirming is not cancelling


def test_matching_is_capped_at_100_and_says_so(alice_client, kodexa):
    for _ in range(103):
        _add(kodexa, "PENDING", "flood of uploads", frozen=True)
    reset_calls(kodexa)
    body = alice_client.post(reverse("executions:bulk_cancel"), {"matching": f"assistant={TAG}"}).content.decode()
    assert len(_hidden_ids(body)) == 100
    capped = re.search(r'data-testid="bulk-capped">([^<]+)', body).group(1)
    assert "103 executions match" in capped and "at most 100" in capped
    assert _routes(kodexa).get(LIST_ROUTE) == 1
    assert 'name="confirm_count"' in body  # over ten: the count is typed


def test_matching_statuses_that_cannot_be_cancelled_select_nothing(alice_client, kodexa):
    _add(kodexa, "FAILED", "failed ones", frozen=True)
    response = alice_client.post(reverse("executions:bulk_cancel"), {"matching": f"status=FAILED&assistant={TAG}"},
                                 follow=True)
    assert "No execution matching these filters can be cancelled." in response.content.decode()
    assert response.redirect_chain[-1][0] == f"/executions/?status=FAILED&assistant={TAG}"
    assert PUT_ROUTE not in _routes(kodexa)


def test_ticked_ids_win_over_matching_which_only_keeps_the_filters(alice_client, kodexa):
    picked = _add(kodexa, "RUNNING", "two of these", frozen=True)
    _add(kodexa, "RUNNING", "two of these", frozen=True)
    body = alice_client.post(reverse("executions:bulk_cancel"),
                             {"ids": [picked], "matching": f"assistant={TAG}&sort=createdOn,asc"}).content.decode()
    assert _hidden_ids(body) == [picked]
    assert f'href="/executions/?assistant={TAG}&amp;sort=createdOn%2Casc" role="button" class="secondary outline" ' \
           'data-testid="bulk-back">Back to the list</a>' in body
    # scope=matching (the bar's "all matching" button) takes the filters even with rows ticked.
    body = alice_client.post(reverse("executions:bulk_cancel"), {"ids": [picked], "scope": "matching",
                                                                 "matching": f"assistant={TAG}"}).content.decode()
    assert len(_hidden_ids(body)) == 2


def test_invalid_matching_is_refused_with_a_message(alice_client, kodexa):
    response = alice_client.post(reverse("executions:bulk_cancel"), {"matching": "created_within_hours=-3"},
                                 follow=True)
    assert "The list&#x27;s filters are not valid" in response.content.decode()
    assert PUT_ROUTE not in _routes(kodexa)


def test_a_form_error_keeps_the_selection_and_the_filters(alice_client, kodexa):
    running = [_add(kodexa, "RUNNING", "keep my filters", frozen=True) for _ in range(2)]
    body = alice_client.post(reverse("executions:bulk_cancel"),
                             {"matching": f"status=RUNNING&assistant={TAG}"}).content.decode()
    refused = _confirm(alice_client, body, reason_category="", reason="x")
    assert refused.status_code == 400
    text = refused.content.decode()
    assert "Choose a reason for the cancel." in text and "Ensure this value has at least 3 characters" in text
    assert sorted(_hidden_ids(text)) == sorted(running)
    assert f'name="matching" value="status=RUNNING&amp;assistant={TAG}"' in text
    assert f'href="/executions/?status=RUNNING&amp;assistant={TAG}"' in text
    assert PUT_ROUTE not in _routes(kodexa) and not AuditEvent.objects.exists()


def test_the_result_page_polls_until_every_item_has_settled(alice_client, kodexa):
    kodexa.control.configure(cancel_delay_ms=4000)
    running = [_add(kodexa, "RUNNING", "watch them stop") for _ in range(2)]
    body = alice_client.post(reverse("executions:bulk_cancel"), {"ids": running}).content.decode()
    result = _confirm(alice_client, body, reason_category="duplicate", reason="duplicates")
    assert result.status_code == 200
    text = result.content.decode()
    batch_id = AuditEvent.objects.filter(batch_id__isnull=False).values_list("batch_id", flat=True).first()
    live_url = reverse("executions:bulk_result", args=[batch_id])
    assert f'hx-get="{live_url}"' in text and "2 of 2 still cancelling" in text
    assert "2 cancelled" in text and "0 failed" not in text and "0 unknown" not in text  # zeros are not shown
    # The audit log, filtered by this batch: the Operator's own events, all of the batch.
    link = f'{reverse("audit:list")}?batch_id={batch_id}'
    assert f'href="{link}"' in text
    audit = alice_client.get(link).content.decode()
    assert len(re.findall(r'data-event-id="\d+"', audit)) == 4
    # Still cancelling: the fragment keeps polling (one list call for the two).
    reset_calls(kodexa)
    fragment = alice_client.get(live_url, headers={"HX-Request": "true"}).content.decode()
    assert fragment.strip().startswith('<div id="bulk-live" data-live hx-get=') and "<html" not in fragment
    assert _routes(kodexa) == {LIST_ROUTE: 1}
    kodexa.control.advance(10)
    settled = alice_client.get(live_url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-get" not in settled and 'data-settled="true"' in settled and "every item has settled" in settled
    assert settled.count('data-status="CANCELLED"') == 2
    # Without JavaScript the same page is a GET (a reload link while it runs).
    page = alice_client.get(live_url).content.decode()
    assert "<html" in page and "every item has settled" in page


def test_the_result_page_stops_watching_after_the_limit(alice_client, kodexa):
    import time_machine

    from executions.cancel.selectors import WATCH_LIMIT

    kodexa.control.configure(cancel_delay_ms=600_000)
    running = _add(kodexa, "RUNNING", "never stops")
    body = alice_client.post(reverse("executions:bulk_cancel"), {"ids": [running]}).content.decode()
    _confirm(alice_client, body, reason_category="stuck", reason="stuck for hours")
    batch_id = AuditEvent.objects.filter(batch_id__isnull=False).values_list("batch_id", flat=True).first()
    url = reverse("executions:bulk_result", args=[batch_id])
    assert "hx-get" in alice_client.get(url, headers={"HX-Request": "true"}).content.decode()
    reset_calls(kodexa)
    with time_machine.travel(timezone.now() + WATCH_LIMIT + timedelta(minutes=1)):
        late = alice_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-get" not in late and "Stopped watching 10 minutes" in late
    assert kodexa.control.calls()["total"] == 0


def test_a_batch_is_seen_by_its_sender_and_auditors_only(alice_client, bob_client, charlie_client, alice, kodexa):
    running = _add(kodexa, "RUNNING", "private batch")
    body = alice_client.post(reverse("executions:bulk_cancel"), {"ids": [running]}).content.decode()
    _confirm(alice_client, body, reason_category="other", reason="mine")
    batch_id = AuditEvent.objects.filter(batch_id__isnull=False).values_list("batch_id", flat=True).first()
    url = reverse("executions:bulk_result", args=[batch_id])
    assert alice_client.get(url).status_code == 200
    assert charlie_client.get(url).status_code == 200
    assert bob_client.get(url).status_code == 404
    assert alice_client.get(reverse("executions:bulk_result", args=[uuid.uuid4()])).status_code == 404
    assert AuditEvent.objects.filter(action=AuditAction.CANCEL_REQUESTED).count() == 1
