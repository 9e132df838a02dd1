"""The shared circuit breaker: opens after repeated failures, fails fast, recovers by itself."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from executions.kodexa import KodexaNotFound, KodexaServerError
from executions.upstream import circuit
from executions.upstream.circuit import FAILURE_THRESHOLD, OPEN_SECONDS, KodexaCircuitOpen
from executions.upstream.client import kodexa_client

pytestmark = pytest.mark.django_db
MISSING = "0f6c1e9a-3a7d-4c1e-9f0e-2b8f6d7a1c99"


def _fail_times(n: int) -> None:
    for _ in range(n):
        with pytest.raises(KodexaServerError):
            kodexa_client().get_account()


@pytest.fixture
def no_retries(settings):  # type: ignore[no-untyped-def]
    settings.KODEXA_READ_TIMEOUT = 1.0


def test_it_opens_after_repeated_failures_and_stops_calling(kodexa):
    kodexa.control.add_fault("GET /api/account/me", status=500, times=-1)
    _fail_times(FAILURE_THRESHOLD)
    before = kodexa.control.calls()["total"]
    with pytest.raises(KodexaCircuitOpen):
        kodexa_client().list_executions()
    assert kodexa.control.calls()["total"] == before  # failed fast, nothing sent


def test_client_errors_do_not_count(kodexa):
    for _ in range(FAILURE_THRESHOLD + 2):
        with pytest.raises(KodexaNotFound):
            kodexa_client().get_execution(MISSING)
    assert kodexa_client().list_executions(page_size=1).total_elements > 0


def test_a_success_resets_the_count(kodexa):
    kodexa.control.add_fault("GET /api/account/me", status=500, times=FAILURE_THRESHOLD - 1)
    _fail_times(FAILURE_THRESHOLD - 1)
    kodexa_client().get_account()
    kodexa.control.add_fault("GET /api/account/me", status=500, times=FAILURE_THRESHOLD - 1)
    _fail_times(FAILURE_THRESHOLD - 1)
    assert kodexa_client().list_executions(page_size=1)


def test_it_recovers_by_itself_and_half_opens(kodexa):
    kodexa.control.add_fault("GET /api/account/me", status=500, times=FAILURE_THRESHOLD + 1)
    _fail_times(FAILURE_THRESHOLD)
    with time_machine.travel(timedelta(seconds=OPEN_SECONDS + 1)):
        _fail_times(1)  # half-open: the one trial call fails...
        with pytest.raises(KodexaCircuitOpen):
            kodexa_client().get_account()  # ...and the circuit is open again at once
    with time_machine.travel(timedelta(seconds=2 * OPEN_SECONDS + 2)):
        assert kodexa_client().get_account()  # Kodexa is back: the call goes through and closes it
        assert kodexa_client().list_executions(page_size=1)


def test_a_breaker_opened_by_another_process_is_obeyed_within_a_second(kodexa, monkeypatch):
    assert kodexa_client().get_account()  # this process read the shared state: closed, nothing on record
    cache.set("kx:circuit:open-until", time.time() + OPEN_SECONDS, OPEN_SECONDS)  # another worker opens it
    before = kodexa.control.calls()["total"]
    assert kodexa_client().get_account()  # within the second, the closed state read here is trusted
    monkeypatch.setattr(circuit, "CLOSED_MEMO_SECONDS", 0.0)  # the second has passed
    with pytest.raises(KodexaCircuitOpen):
        kodexa_client().get_account()
    assert kodexa.control.calls()["total"] == before + 1


def test_pages_explain_the_pause(bob_client, kodexa):
    kodexa.control.add_fault("GET /api/account/me", status=500, times=-1)
    _fail_times(FAILURE_THRESHOLD)
    response = bob_client.get(reverse("executions:list"))
    assert response.status_code == 503
    assert "pausing its calls" in response.content.decode()
    assert int(response["Retry-After"]) <= OPEN_SECONDS


def test_a_cancel_during_the_pause_is_audited_as_not_sent(alice_client, kodexa):
    from executions.audit.models import AuditEvent

    execution = kodexa.control.add_execution(status="RUNNING")["id"]
    kodexa.control.add_fault("GET /api/account/me", status=500, times=-1)
    _fail_times(FAILURE_THRESHOLD)
    response = alice_client.post(reverse("executions:cancel", args=[execution]),
                                 {"reason_category": "stuck", "reason": "during outage", "token": "t" * 24})
    assert response.status_code == 302
    assert [e.action for e in AuditEvent.objects.order_by("id")] == ["cancel.requested", "cancel.failed"]
    assert kodexa.control.calls()["by_route"].get("PUT /api/executions/{id}/cancel", 0) == 0


def test_while_paused_pages_show_what_the_panel_last_saw(bob_client, kodexa):
    """The breaker's promise: no calls for a while, and the pages a support person had open still show data."""
    from tests.helpers import reset_calls, sim_execution

    execution = sim_execution(kodexa, "status:'FAILED'")
    detail = reverse("executions:detail", args=[execution["id"]])
    assert bob_client.get(detail).status_code == 200
    assert bob_client.get(reverse("executions:list")).status_code == 200
    kodexa.control.add_fault("GET /api/account/me", status=500, times=-1)
    _fail_times(FAILURE_THRESHOLD)
    reset_calls(kodexa)
    for url, shows in ((detail, f'data-copy="{execution["id"]}"'), (reverse("executions:list"), "data-execution-id=")):
        response = bob_client.get(url)
        body = response.content.decode()
        assert response.status_code == 200, url
        assert 'data-testid="stale-banner"' in body and "pausing its calls" in body
        assert shows in body
    never_seen = reverse("executions:detail", args=[MISSING])
    assert bob_client.get(never_seen).status_code == 503  # nothing to show: the pause is explained
    assert kodexa.control.calls()["total"] == 0
