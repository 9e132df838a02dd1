"""Sign-in against a real OpenID Connect provider (node-oidc-provider on loopback, its own login page)."""

from __future__ import annotations

import socket
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from executions.audit.chain import audit_chain_verify
from executions.audit.models import AuditAction, AuditEvent
from executions.dashboards.selectors import team_list
from executions.sso.models import SsoIdentity
from tests.oidc_fixtures import PROVIDER_ACCOUNTS, provider_login

pytestmark = [pytest.mark.oidc, pytest.mark.django_db]
User = get_user_model()


def start(client: Client, next_url: str = "") -> str:
    response = client.get(reverse("oidc_authentication_init") + (f"?next={next_url}" if next_url else ""))
    assert response.status_code == 302, response.content[:300]
    return response["Location"]


def callback_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def sign_in(client: Client, username: str, password: str, capture, next_url: str = ""):  # type: ignore[no-untyped-def]
    callback = provider_login(start(client, next_url), username, password)
    with capture(execute=True):
        return client.get(callback_path(callback))


def groups_of(user) -> set[str]:  # type: ignore[no-untyped-def]
    return set(user.groups.values_list("name", flat=True))


def access_events() -> list[tuple[str, str, str]]:
    return [(e.action, e.details["user"], e.details["group"])
            for e in AuditEvent.objects.filter(action__startswith="access.").order_by("id")]


def test_the_start_asks_for_a_code_with_state_nonce_and_pkce(client, sso):
    query = parse_qs(urlsplit(start(client)).query)
    assert query["response_type"] == ["code"]
    assert query["client_id"] == [sso.client_id]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    assert query["scope"] == ["openid email profile groups"]


def test_first_sign_in_creates_the_person_with_the_providers_roles_and_teams(
        client, sso, django_capture_on_commit_callbacks):
    response = sign_in(client, "dora", "dora-idp-pass", django_capture_on_commit_callbacks, next_url="/executions/")

    assert response.status_code == 302 and response["Location"] == "/executions/"
    identity = SsoIdentity.objects.get(issuer=sso.issuer, subject="dora")
    dora = identity.user
    assert (dora.username, dora.email, dora.first_name, dora.last_name) == (
        "dora", "dora@example.test", "Dora", "Diaz")
    assert not dora.has_usable_password()
    # Operators from kodexa-operators; team-support-eu is a team; "everyone" matches no setting and is ignored.
    assert groups_of(dora) == {"Operators", "team-support-eu"}
    assert [g.name for g in team_list(user=dora)] == ["team-support-eu"]  # a role is never offered as a team
    assert dora.has_perm("executions.cancel_execution")
    # The session is the person's, and it ends at a fixed time however active it is.
    assert int(client.session["_auth_user_id"]) == dora.pk
    assert isinstance(client.session.get("_session_expiry"), str)  # an absolute date, not a sliding age
    assert client.get("/executions/").status_code in (200, 502, 503)  # signed in (Kodexa may be unset here)
    assert access_events() == [
        (AuditAction.ACCESS_OPERATOR_GRANTED, "dora", "Operators"),
        (AuditAction.ACCESS_TEAM_JOINED, "dora", "team-support-eu"),
    ]
    granted = AuditEvent.objects.get(action=AuditAction.ACCESS_OPERATOR_GRANTED)
    assert granted.actor_id is None and granted.actor_username == "Test IdP (identity provider)"
    assert granted.details["source"] == "identity provider" and granted.client_ip == "127.0.0.1"
    login = AuditEvent.objects.get(action=AuditAction.AUTH_SSO_LOGIN)
    assert login.actor_id == dora.pk and login.details["created"] is True and login.details["subject"] == "dora"
    assert audit_chain_verify().ok


def test_roles_and_teams_are_revoked_at_the_next_sign_in(client, sso, django_capture_on_commit_callbacks):
    sign_in(client, "dora", "dora-idp-pass", django_capture_on_commit_callbacks)
    dora = User.objects.get(username="dora")
    assert groups_of(dora) == {"Operators", "team-support-eu"}

    accounts = {**PROVIDER_ACCOUNTS, "dora": {**PROVIDER_ACCOUNTS["dora"], "groups": ["team-support-us"],
                                               "email": "dora.diaz@example.test"}}
    sso.set_accounts(accounts)
    client.post(reverse("logout"))
    response = sign_in(Client(), "dora", "dora-idp-pass", django_capture_on_commit_callbacks)

    assert response.status_code == 302
    dora.refresh_from_db()
    assert groups_of(dora) == {"team-support-us"}
    assert not dora.has_perm("executions.cancel_execution")
    assert dora.email == "dora.diaz@example.test"  # refreshed at each sign-in
    assert access_events()[2:] == [
        (AuditAction.ACCESS_OPERATOR_REVOKED, "dora", "Operators"),
        (AuditAction.ACCESS_TEAM_LEFT, "dora", "team-support-eu"),
        (AuditAction.ACCESS_TEAM_JOINED, "dora", "team-support-us"),
    ]
    assert User.objects.filter(username__startswith="dora").count() == 1  # the same person, by iss + sub
    assert audit_chain_verify().ok


def test_roles_not_set_from_the_provider_stay_managed_in_admin(client, sso, settings, roles,
                                                                django_capture_on_commit_callbacks):
    settings.OIDC_AUDITOR_GROUPS = []  # Auditors are assigned by hand
    sign_in(client, "dora", "dora-idp-pass", django_capture_on_commit_callbacks)
    dora = User.objects.get(username="dora")
    dora.groups.add(roles["Auditors"])
    client.post(reverse("logout"))
    sign_in(Client(), "dora", "dora-idp-pass", django_capture_on_commit_callbacks)
    assert "Auditors" in groups_of(dora)


def test_a_local_account_with_the_same_email_or_name_is_never_taken_over(client, sso, django_user_model,
                                                                          django_capture_on_commit_callbacks):
    # Someone new: a local account that happens to share the provider person's username and e-mail.
    local = django_user_model.objects.create_user("dora", email="dora@example.test", password="local-pass-123")
    sign_in(client, "dora", "dora-idp-pass", django_capture_on_commit_callbacks)
    identity = SsoIdentity.objects.get(subject="dora")
    assert identity.user != local and identity.user.username == "dora-2"
    assert groups_of(local) == set()


def test_a_replayed_callback_fails_without_a_session(client, sso, django_capture_on_commit_callbacks):
    callback = provider_login(start(client), "dora", "dora-idp-pass")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(callback_path(callback)).status_code == 302
    client.post(reverse("logout"))

    with django_capture_on_commit_callbacks(execute=True):
        replay = client.get(callback_path(callback))
    assert replay.status_code == 400
    assert b"Sign-in failed: this sign-in link was already used" in replay.content
    assert replay["X-Request-ID"].encode() in replay.content
    assert "_auth_user_id" not in client.session
    failed = AuditEvent.objects.get(action=AuditAction.AUTH_SSO_FAILED)
    assert failed.reason_category == "state" and failed.request_id == replay["X-Request-ID"]


def test_a_replayed_code_is_refused_by_the_provider(client, sso, django_capture_on_commit_callbacks):
    first = provider_login(start(client), "dora", "dora-idp-pass")
    with django_capture_on_commit_callbacks(execute=True):
        client.get(callback_path(first))
    client.post(reverse("logout"))
    old_code = parse_qs(urlsplit(first).query)["code"][0]

    other = Client()
    fresh_state = parse_qs(urlsplit(start(other)).query)["state"][0]  # a valid state of a new attempt
    with django_capture_on_commit_callbacks(execute=True):
        response = other.get(reverse("oidc_authentication_callback") + f"?code={old_code}&state={fresh_state}")
    assert response.status_code == 400
    assert b"refused the sign-in code" in response.content
    assert "_auth_user_id" not in other.session
    assert AuditEvent.objects.get(action=AuditAction.AUTH_SSO_FAILED).reason_category == "code_rejected"


def test_a_tampered_state_fails(client, sso, django_capture_on_commit_callbacks):
    callback = provider_login(start(client), "dora", "dora-idp-pass")
    tampered = callback_path(callback).replace("state=", "state=x")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(tampered)
    assert response.status_code == 400 and b"Sign-in failed" in response.content
    assert not User.objects.filter(username="dora").exists()


def test_the_providers_error_answer_fails_cleanly(client, sso, django_capture_on_commit_callbacks):
    state = parse_qs(urlsplit(start(client)).query)["state"][0]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(reverse("oidc_authentication_callback") + f"?error=access_denied&state={state}")
    assert response.status_code == 400
    assert b"did not sign you in (access_denied)" in response.content
    assert AuditEvent.objects.get(action=AuditAction.AUTH_SSO_FAILED).reason_category == "provider_error"


def test_a_missing_groups_claim_fails_and_creates_nobody(client, sso, settings, django_capture_on_commit_callbacks):
    settings.OIDC_RP_SCOPES = "openid email profile"  # the provider then sends no groups
    response = sign_in(client, "dora", "dora-idp-pass", django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert b"sent no &#x27;groups&#x27; claim" in response.content
    assert not User.objects.filter(username="dora").exists() and not SsoIdentity.objects.exists()
    assert not Group.objects.filter(name__startswith="team-").exists()
    assert "_auth_user_id" not in client.session


def test_an_unreachable_provider_is_a_clear_page(client, sso, settings, django_capture_on_commit_callbacks):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.OIDC_ISSUER = f"http://127.0.0.1:{port}"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(reverse("oidc_authentication_init"))
    assert response.status_code == 502
    assert b"Sign-in failed: the identity provider could not be reached." in response.content
    assert response["X-Request-ID"].encode() in response.content
    assert AuditEvent.objects.get(action=AuditAction.AUTH_SSO_FAILED).reason_category == "provider_unavailable"


def test_logout_ends_the_providers_session_too(client, sso, django_capture_on_commit_callbacks):
    sign_in(client, "dora", "dora-idp-pass", django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("logout"))
    # A page that moves on to the provider by itself: a redirect would break the logout form's CSP form-action.
    assert response.status_code == 200
    url = response.context["end_session_url"]
    assert f'<meta http-equiv="refresh" content="0;url={url.replace("&", "&amp;")}">' in response.content.decode()
    end = urlsplit(url)
    assert f"{end.scheme}://{end.netloc}" == sso.issuer and end.path.endswith("/session/end")
    query = parse_qs(end.query)
    assert query["post_logout_redirect_uri"] == ["http://testserver/accounts/login/"]
    assert query["id_token_hint"][0].count(".") == 2
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action=AuditAction.AUTH_SSO_LOGOUT).count() == 1
