from __future__ import annotations

import pytest

from executions.upstream import reachability
from tests.helpers import reset_calls, upstream_calls

pytestmark = pytest.mark.django_db


def test_healthz_needs_no_login_and_touches_nothing(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["X-Request-ID"]


def test_readyz_reports_database_cache_and_kodexa(client, kodexa):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "kodexa": "ok", "circuit": "closed"}
    assert response.json()["kodexa_checked_at"]


def test_readyz_stays_ready_when_kodexa_is_down(client, kodexa):
    kodexa.control.add_fault("GET /api/account/me", status=503, times=-1)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["kodexa"] == "KodexaServerError"


def test_readyz_costs_at_most_one_upstream_call_per_window(client, kodexa):
    reset_calls(kodexa)
    answers = [client.get("/readyz") for _ in range(100)]
    assert {a.status_code for a in answers} == {200}
    assert {a.json()["checks"]["kodexa"] for a in answers} == {"ok"}
    assert upstream_calls(kodexa) == 1
    reachability.forget()  # the window ended: the next probe asks again, once
    for _ in range(10):
        client.get("/readyz")
    assert upstream_calls(kodexa) == 2


@pytest.mark.parametrize("status", [429, 503])
def test_readyz_probes_never_open_the_circuit_breaker(client, kodexa, bob_client, status):
    kodexa.control.add_fault("GET /api/account/me", status=status, times=-1)
    reset_calls(kodexa)
    for _ in range(100):
        reachability.forget()  # every probe asks Kodexa, as if each came in a new window
        response = client.get("/readyz")
        assert response.status_code == 200
    # Signed-in users are unaffected: their pages still call Kodexa.
    assert bob_client.get("/executions/").status_code == 200
    assert kodexa.control.calls()["by_route"]["GET /api/executions"] >= 1
    # One request per probe: no retries, so a failing Kodexa is not hammered by health checks either.
    assert kodexa.control.calls()["by_route"]["GET /api/account/me"] == 100
    assert response.json()["checks"]["circuit"] == "closed"
    assert response.json()["checks"]["kodexa"] == ("KodexaRateLimited" if status == 429 else "KodexaServerError")


def test_readyz_fails_when_the_cache_is_broken(client, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == "error"


def test_request_id_is_echoed_when_safe_and_replaced_when_not(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123-def-456"})["X-Request-ID"] == "abc-123-def-456"
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad\nid injected"})["X-Request-ID"]
    assert "\n" not in replaced and len(replaced) == 32


def test_every_other_page_needs_login(client):
    for url in ("/", "/executions/", "/audit/", "/admin/"):
        response = client.get(url)
        assert response.status_code == 302, url


def test_readyz_is_503_with_a_reason_while_the_circuit_breaker_is_open(client, kodexa):
    from executions.upstream import circuit

    for _ in range(circuit.FAILURE_THRESHOLD):
        circuit._record_failure()
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error" and body["checks"]["circuit"] == "open"
    assert "circuit" in body["reason"] and "paused" in body["reason"]
    assert body["checks"]["database"] == "ok" and body["checks"]["cache"] == "ok"
    assert client.get("/healthz").status_code == 200  # liveness never depends on Kodexa


def test_readyz_is_503_with_a_reason_when_the_database_fails(client, kodexa, monkeypatch):
    from django.db import OperationalError, connection

    def broken(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "error"
    assert response.json()["reason"] == "database: OperationalError"
    assert client.get("/healthz").status_code == 200


def test_readyz_is_503_with_a_reason_when_the_cache_fails(client, kodexa, monkeypatch):
    from django.core.cache import cache

    def broken(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(cache, "set", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"database": "ok", "cache": "error"}  # nothing that needs the cache is asked
    assert body["reason"] == "cache: ConnectionError"
    assert client.get("/healthz").status_code == 200
