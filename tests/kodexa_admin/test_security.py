"""Security properties of every page: headers, CSP-clean markup, no key anywhere, login throttling."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from executions.models import AuditAction
from executions.services.audit import audit_event_append
from tests.helpers import sim_execution

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged(django_user_model, roles):  # type: ignore[no-untyped-def]
    admin = django_user_model.objects.create_superuser("root", password="root-pass-123")
    client = Client()
    client.force_login(admin)
    return client


def _pages(kodexa) -> list[str]:  # type: ignore[no-untyped-def]
    running = sim_execution(kodexa, "status:'RUNNING'")["id"]
    failed = sim_execution(kodexa, "status:'FAILED'")["id"]
    audit_event_append(action=AuditAction.CANCEL_DENIED, execution_id=running, reason="seen")
    return [
        "/", "/executions/", "/executions/?status=RUNNING&live=1", f"/executions/{running}/",
        f"/executions/{failed}/", f"/executions/{running}/?part=live", f"/executions/{running}/?part=children",
        "/executions/00000000-0000-4000-8000-000000000000/", "/audit/", "/dashboards/", "/views/",
        "/admin/", "/does-not-exist/", "/healthz", "/readyz",
    ]


def test_every_page_sends_the_security_headers(admin_client_logged, kodexa):
    for url in _pages(kodexa):
        response = admin_client_logged.get(url)
        assert response.status_code < 500, url
        csp = response.get("Content-Security-Policy", "")
        for directive in ("default-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'",
                          "form-action 'self'", "style-src 'self'"):
            assert directive in csp, (url, directive)
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, url
        assert response["X-Content-Type-Options"] == "nosniff", url
        assert response["Referrer-Policy"] == "same-origin", url
        assert response["X-Frame-Options"] == "DENY", url
        assert response["Cross-Origin-Opener-Policy"] == "same-origin", url
        assert re.fullmatch(r"[A-Za-z0-9._-]{8,64}", response["X-Request-ID"]), url


def test_markup_is_csp_clean(admin_client_logged, kodexa):
    """No inline style attributes or handlers; scripts come from our own static files or carry the nonce."""
    for url in _pages(kodexa):
        response = admin_client_logged.get(url)
        if not response["Content-Type"].startswith("text/html") or url.startswith("/admin/"):
            continue
        html = response.content.decode()
        nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])
        for tag in re.findall(r"<script\b[^>]*>", html):
            same_origin = re.search(r'src="/static/', tag)
            assert same_origin or (nonce and f'nonce="{nonce.group(1)}"' in tag), (url, tag)
        assert not re.search(r"\sstyle=", html), url
        assert not re.search(r"\son[a-z]+=", html), url
        assert "hx-on" not in html, url


def test_the_api_key_never_appears_in_pages_headers_or_logs(admin_client_logged, kodexa, caplog):
    caplog.set_level(logging.DEBUG)
    pages = _pages(kodexa)
    kodexa.control.add_fault("GET /api/executions", status=500, times=1)  # an error page is walked too
    for url in pages:
        response = admin_client_logged.get(url)
        assert kodexa.api_key not in response.content.decode(errors="replace"), url
        assert all(kodexa.api_key not in str(v) for v in response.headers.values()), url
    assert kodexa.api_key not in caplog.text


def test_session_lasts_one_shift_and_cookies_are_http_only():
    assert django_settings.SESSION_COOKIE_AGE == 8 * 3600
    assert django_settings.SESSION_COOKIE_HTTPONLY and django_settings.CSRF_COOKIE_HTTPONLY


def test_logout_is_post_only(viewer_client):
    assert viewer_client.get(reverse("logout")).status_code == 405


class TestLoginThrottling:
    def _attempt(self, client: Client, password: str):  # type: ignore[no-untyped-def]
        return client.post(reverse("login"), {"username": "viewer", "password": password},
                           REMOTE_ADDR="192.0.2.10")

    def test_lockout_after_five_failures_then_cool_off(self, viewer):
        client = Client()
        for _ in range(4):
            assert self._attempt(client, "wrong").status_code == 200
        assert self._attempt(client, "wrong").status_code == 429  # the fifth failure locks the pair
        locked = self._attempt(client, "viewer-pass-123")
        assert locked.status_code == 429 and "Too many failed sign-ins" in locked.content.decode()
        with time_machine.travel(timedelta(minutes=16)):
            assert self._attempt(client, "viewer-pass-123").status_code == 302

    def test_unknown_user_and_wrong_password_look_the_same(self, viewer):
        wrong_password = Client().post(reverse("login"), {"username": "viewer", "password": "nope"})
        unknown_user = Client().post(reverse("login"), {"username": "nobody", "password": "nope"})
        strip = lambda r: re.sub(  # noqa: E731  (tokens, nonces and request ids differ per response)
            r'value="[^"]*"|request <code>[^<]*</code>|nonce="[^"]*"|"X-CSRFToken": "[^"]*"', "", r.content.decode())
        assert wrong_password.status_code == unknown_user.status_code == 200
        assert strip(wrong_password).replace("viewer", "X") == strip(unknown_user).replace("nobody", "X")


def test_an_unexpected_error_is_a_plain_500_page_with_the_request_id(viewer, kodexa, monkeypatch):
    def explode(**kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internals /srv/app/settings.py")

    monkeypatch.setattr("executions.selectors.execution_list", explode)
    client = Client(raise_request_exception=False)
    client.force_login(viewer)
    response = client.get(reverse("executions:list"))
    body = response.content.decode()
    assert response.status_code == 500
    assert response["X-Request-ID"] in body
    assert "Traceback" not in body and "secret internals" not in body and kodexa.api_key not in body
