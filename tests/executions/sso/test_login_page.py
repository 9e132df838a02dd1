"""The login page with SSO on or off, OIDC_ONLY, and the audited break-glass path."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from executions.audit.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def sso_on(settings):  # type: ignore[no-untyped-def]
    settings.OIDC_ISSUER = "https://idp.example.test"
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET = "kodexa-admin", "secret"
    settings.OIDC_PROVIDER_NAME = "Okta"
    return settings


def test_without_an_issuer_the_login_page_is_as_before(client, bob):
    page = client.get(reverse("login"))
    assert b"Sign in with" not in page.content and b'name="password"' in page.content
    assert client.post(reverse("login"), {"username": "bob", "password": "bob-pass-123"}).status_code == 302
    assert AuditEvent.objects.count() == 0  # password sign-ins are not audited (as before)


def test_with_sso_the_button_comes_first_and_passwords_still_work(client, sso_on, bob):
    page = client.get(reverse("login") + "?next=/executions/")
    body = page.content.decode()
    assert 'href="/oidc/authenticate/?next=/executions/"' in body and "Sign in with Okta" in body
    assert body.index("Sign in with Okta") < body.index('name="password"')
    assert client.post(reverse("login"), {"username": "bob", "password": "bob-pass-123"}).status_code == 302


def test_oidc_only_hides_and_refuses_password_sign_in(client, sso_on, bob, admin):
    sso_on.OIDC_ONLY = True
    page = client.get(reverse("login"))
    assert b"Sign in with Okta" in page.content and b'name="password"' not in page.content
    for username in ("bob", "admin"):  # not even a superuser, on this page
        refused = client.post(reverse("login"), {"username": username, "password": f"{username}-pass-123"})
        assert refused.status_code == 403 and b"Password sign-in is turned off" in refused.content
        assert "_auth_user_id" not in client.session


def test_break_glass_lets_a_superuser_in_and_is_audited(sso_on, admin):
    sso_on.OIDC_ONLY = True
    client = Client()
    response = client.post(reverse("break_glass"), {"username": "admin", "password": "admin-pass-123"},
                           REMOTE_ADDR="10.9.8.7")
    assert response.status_code == 302 and int(client.session["_auth_user_id"]) == admin.pk
    event = AuditEvent.objects.get(action=AuditAction.AUTH_BREAK_GLASS_LOGIN)
    assert event.actor_id == admin.pk and event.client_ip == "10.9.8.7"


def test_break_glass_refuses_everyone_else_and_records_each_attempt(sso_on, bob, admin):
    sso_on.OIDC_ONLY = True
    client = Client()
    refused = client.post(reverse("break_glass"), {"username": "bob", "password": "bob-pass-123"})
    assert refused.status_code == 200 and b"Only a superuser may sign in with a password here." in refused.content
    wrong = client.post(reverse("break_glass"), {"username": "admin", "password": "guess"})
    assert wrong.status_code == 200 and b"role=\"alert\"" in wrong.content
    assert "_auth_user_id" not in client.session
    assert list(AuditEvent.objects.filter(action=AuditAction.AUTH_BREAK_GLASS_FAILED).order_by("id")
                .values_list("actor_username", flat=True)) == ["bob", "admin"]
