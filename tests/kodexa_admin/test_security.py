"""Security properties of every page: headers, CSP-clean markup, no key anywhere, login throttling."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from urllib.parse import quote

import pytest
import time_machine
from django.conf import settings as django_settings
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter, PathConverter, StringConverter

from executions.audit.chain import audit_event_append
from executions.audit.models import AuditAction
from executions.converters import ExecutionIdConverter
from executions.dashboards.models import Dashboard, SavedView, Widget
from tests.helpers import sim_execution

pytestmark = pytest.mark.django_db


@pytest.fixture
def board(admin, team) -> Dashboard:  # type: ignore[no-untyped-def]
    """A dashboard owned by a team the logged-in user belongs to."""
    admin.groups.add(team)
    dashboard = Dashboard.objects.create(name="Invoices on fire", team=team, refresh_seconds=30, created_by=admin)
    Widget.objects.create(dashboard=dashboard, position=0, title="Running now", kind="count",
                          view={"status": ["RUNNING"]})
    return dashboard


def _pages(kodexa, board: Dashboard) -> list[str]:  # type: ignore[no-untyped-def]
    running = sim_execution(kodexa, "status:'RUNNING'")["id"]
    failed = sim_execution(kodexa, "status:'FAILED'")["id"]
    audit_event_append(action=AuditAction.CANCEL_DENIED, execution_id=running, reason="seen")
    return [
        "/", "/executions/", "/executions/?status=RUNNING&live=1", f"/executions/{running}/",
        f"/executions/{failed}/", f"/executions/{running}/?part=live", f"/executions/{running}/?part=children",
        "/executions/00000000-0000-4000-8000-000000000000/", "/audit/", "/dashboards/", "/views/",
        f"/dashboards/{board.pk}/", f"/dashboards/{board.pk}/edit/", f"/dashboards/{board.pk}/widgets/",
        "/admin/", "/does-not-exist/", "/healthz", "/readyz", "/metrics",
    ]


def _other_responses(kodexa, admin_client: Client, admin) -> dict[str, HttpResponse]:  # type: ignore[no-untyped-def]
    """Pages a logged-in GET does not reach: anonymous, POST flows, a CSRF failure, a bad host, exports."""
    running = sim_execution(kodexa, "status:'RUNNING'")["id"]
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin)
    responses = {
        "login (anonymous)": Client().get(reverse("login")),
        "bulk-cancel confirm": admin_client.post(reverse("executions:bulk_cancel"), {"ids": [running]}),
        "CSRF failure": strict.post(reverse("executions:bulk_cancel"), {"ids": [running]}),
        "bad host (400)": admin_client.get("/", HTTP_HOST="evil.example"),
        "audit export CSV": admin_client.get(reverse("audit:export_csv")),
        "audit export JSON": admin_client.get(reverse("audit:export_json")),
    }
    expected = {"login (anonymous)": 200, "bulk-cancel confirm": 200, "CSRF failure": 403, "bad host (400)": 400,
                "audit export CSV": 200, "audit export JSON": 200}
    assert {label: r.status_code for label, r in responses.items()} == expected
    return responses


def _assert_security_headers(response: HttpResponse, label: str) -> None:
    csp = response.get("Content-Security-Policy", "")
    for directive in ("default-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'",
                      "form-action 'self'", "style-src 'self'"):
        assert directive in csp, (label, directive)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, label
    if response["Content-Type"].startswith("text/html") and response.content.lstrip().startswith(b"<!doctype"):
        # Every full page of ours loads scripts with the nonce (the admin's do not use it).
        assert label.startswith("/admin/") or re.search(r"script-src [^;]*'nonce-[^']+'", csp), (label, csp)
    assert response["X-Content-Type-Options"] == "nosniff", label
    assert response["Referrer-Policy"] == "same-origin", label
    assert response["X-Frame-Options"] == "DENY", label
    assert response["Cross-Origin-Opener-Policy"] == "same-origin", label
    assert re.fullmatch(r"[A-Za-z0-9._-]{8,64}", response["X-Request-ID"]), label


def test_every_page_sends_the_security_headers(admin_client, kodexa, board, admin):
    for url in _pages(kodexa, board):
        response = admin_client.get(url)
        assert response.status_code < 500, url
        _assert_security_headers(response, url)
    for label, response in _other_responses(kodexa, admin_client, admin).items():
        _assert_security_headers(response, label)


def test_markup_is_csp_clean(admin_client, kodexa, board, admin):
    """No inline style attributes or handlers; scripts come from our own static files or carry the nonce."""
    pages = {url: admin_client.get(url) for url in _pages(kodexa, board)}
    for url, response in {**pages, **_other_responses(kodexa, admin_client, admin)}.items():
        if not response["Content-Type"].startswith("text/html") or url.startswith("/admin/"):
            continue
        html = response.content.decode()
        nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])
        for tag in re.findall(r"<script\b[^>]*>", html):
            same_origin = re.search(r'src="/static/', tag)
            assert same_origin or (nonce and f'nonce="{nonce.group(1)}"' in tag), (url, tag)
        assert "<style" not in html and not re.search(r"\sstyle=", html), url
        assert not re.search(r"\son[a-z]+=", html), url
        assert "hx-on" not in html, url


def test_the_api_key_never_appears_in_pages_headers_or_logs(admin_client, kodexa, board, caplog):
    caplog.set_level(logging.DEBUG)
    pages = _pages(kodexa, board)
    kodexa.control.add_fault("GET /api/executions", status=500, times=1)  # an error page is walked too
    for url in pages:
        response = admin_client.get(url)
        assert kodexa.api_key not in response.content.decode(errors="replace"), url
        assert all(kodexa.api_key not in str(v) for v in response.headers.values()), url
    assert kodexa.api_key not in caplog.text


def test_session_lasts_one_shift_and_cookies_are_http_only():
    assert django_settings.SESSION_COOKIE_AGE == 8 * 3600
    assert django_settings.SESSION_COOKIE_HTTPONLY and django_settings.CSRF_COOKIE_HTTPONLY


def test_logout_is_post_only(bob_client):
    assert bob_client.get(reverse("logout")).status_code == 405


class TestLoginThrottling:
    def _attempt(self, client: Client, password: str):  # type: ignore[no-untyped-def]
        return client.post(reverse("login"), {"username": "bob", "password": password},
                           REMOTE_ADDR="192.0.2.10")

    def test_lockout_after_five_failures_then_cool_off(self, bob):
        client = Client()
        for _ in range(4):
            assert self._attempt(client, "wrong").status_code == 200
        assert self._attempt(client, "wrong").status_code == 429  # the fifth failure locks the pair
        locked = self._attempt(client, "bob-pass-123")
        assert locked.status_code == 429 and "Too many failed sign-ins" in locked.content.decode()
        with time_machine.travel(timedelta(minutes=16)):
            assert self._attempt(client, "bob-pass-123").status_code == 302

    def test_unknown_user_and_wrong_password_look_the_same(self, bob):
        wrong_password = Client().post(reverse("login"), {"username": "bob", "password": "nope"})
        unknown_user = Client().post(reverse("login"), {"username": "nobody", "password": "nope"})
        strip = lambda r: re.sub(  # noqa: E731  (tokens, nonces and request ids differ per response)
            r'value="[^"]*"|request <code>[^<]*</code>|nonce="[^"]*"|"X-CSRFToken": "[^"]*"', "", r.content.decode())
        assert wrong_password.status_code == unknown_user.status_code == 200
        assert strip(wrong_password).replace("bob", "X") == strip(unknown_user).replace("nobody", "X")


def test_an_unexpected_error_is_a_plain_500_page_with_the_request_id(bob, kodexa, monkeypatch):
    def explode(**kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internals /srv/app/settings.py")

    monkeypatch.setattr("executions.browse.selectors.execution_list", explode)
    client = Client(raise_request_exception=False)
    client.force_login(bob)
    response = client.get(reverse("executions:list"))
    body = response.content.decode()
    assert response.status_code == 500
    assert response["X-Request-ID"] in body
    assert "Traceback" not in body and "secret internals" not in body and kodexa.api_key not in body


def test_a_csrf_failure_is_our_page_with_the_request_id_and_a_way_back(bob):
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    form_page = "http://testserver/views/?from=the-form"
    response = client.post(reverse("dashboards:view_create"), {"name": "x", "params": ""},
                           headers={"Referer": form_page})
    body = response.content.decode()
    assert response.status_code == 403
    assert "This form has expired" in body and "cookies are allowed" in body
    assert response["X-Request-ID"] in body
    assert f'<a href="{form_page.replace("&", "&amp;")}">Reload the form</a>' in body
    assert "<style" not in body and not re.search(r"\sstyle=", body)  # Django's own page has an inline <style>
    assert "csrftoken" in response.cookies  # a fresh token, so the reloaded form can be sent
    assert not SavedView.objects.exists()


def test_the_csrf_page_links_back_only_to_this_site(bob):
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    response = client.post(reverse("dashboards:view_create"), headers={"Referer": "https://evil.example/phish"})
    assert response.status_code == 403 and "This form has expired" in response.content.decode()
    assert "evil.example" not in response.content.decode()


def test_a_bad_request_is_our_page_with_the_request_id(client):
    response = client.get("/", HTTP_HOST="evil.example")  # DisallowedHost is a SuspiciousOperation: 400
    body = response.content.decode()
    assert response.status_code == 400
    assert "Bad request" in body and response["X-Request-ID"] in body
    assert "<style" not in body and "evil.example" not in body


# Views that must answer without a login. Everything else must send an anonymous visitor to the login page.
PUBLIC_URL_NAMES = {"login", "healthz", "readyz", "metrics", "admin:login"}  # static files are whitenoise's, not URLs
# A value for each kind of URL argument; any converter not listed here fails the walk until one is added.
DUMMY_ARGUMENTS: dict[type, object] = {
    IntConverter: 1, StringConverter: "1", PathConverter: "1",
    ExecutionIdConverter: "00000000-0000-4000-8000-000000000000",
}


def _named_urls(patterns: list[URLPattern | URLResolver], namespace: str = "",
                converters: dict[str, object] | None = None) -> dict[str, str]:
    """Every named pattern of the project (included apps and the admin too), reversed with dummy arguments."""
    urls: dict[str, str] = {}
    for pattern in patterns:
        found = {**(converters or {}), **getattr(pattern.pattern, "converters", {})}
        if isinstance(pattern, URLResolver):
            prefix = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            urls.update(_named_urls(pattern.url_patterns, prefix, found))
        elif pattern.name:
            kwargs = {name: DUMMY_ARGUMENTS[type(converter)] for name, converter in found.items()}
            kwargs.update({group: "auth" for group in pattern.pattern.regex.groupindex if group not in kwargs})
            urls[f"{namespace}{pattern.name}"] = reverse(f"{namespace}{pattern.name}", kwargs=kwargs)
    return urls


def test_every_url_needs_a_login_unless_it_is_explicitly_public(client):
    urls = _named_urls(get_resolver().url_patterns)
    # The walk really reaches the project's views, their arguments filled in, and every public name exists.
    assert {"home", "logout", "executions:cancel", "dashboards:widget_move", "audit:export_csv",
            "admin:app_list", "admin:auth_user_change"} <= urls.keys()
    assert urls.keys() >= PUBLIC_URL_NAMES
    for name, url in urls.items():
        response = client.get(url)
        if name in PUBLIC_URL_NAMES:
            assert response.status_code == 200, (name, url, response.status_code)
        else:
            # The admin site's own views (index, app list) send visitors to the admin's login page instead.
            logins = {reverse("login"), reverse("admin:login")} if name.startswith("admin:") else {reverse("login")}
            assert response.status_code == 302, (name, url, response.status_code)
            assert response["Location"] in {f"{login}?next={quote(url)}" for login in logins}, (name, url)


def test_a_session_older_than_one_shift_is_no_longer_accepted(bob):
    client = Client()
    assert client.post(reverse("login"), {"username": "bob", "password": "bob-pass-123"}).status_code == 302
    page = reverse("dashboards:views")
    with time_machine.travel(timedelta(hours=8, minutes=-1)):
        assert client.get(page).status_code == 200  # still the same shift
    with time_machine.travel(timedelta(hours=8, minutes=1)):
        # The cached copy of the session expires on the cache's own clock: Redis (the CI's second run) has long
        # dropped it by then in real life, but time-machine cannot move Redis's clock, so drop it here.
        from django.conf import settings
        from django.contrib.sessions.backends.cached_db import KEY_PREFIX
        from django.core.cache import caches

        caches[settings.SESSION_CACHE_ALIAS].delete(KEY_PREFIX + client.cookies[settings.SESSION_COOKIE_NAME].value)
        expired = client.get(page)
        assert expired.status_code == 302 and expired["Location"] == f"{reverse('login')}?next={quote(page)}"
