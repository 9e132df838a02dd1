from __future__ import annotations

import pytest

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
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "kodexa": "ok"}


def test_readyz_stays_ready_when_kodexa_is_down(client, kodexa):
    kodexa.control.add_fault("GET /api/account/me", status=503, times=-1)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["kodexa"] == "KodexaServerError"


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
