"""The ID token and the provider's answers, checked against a hand-written fake provider (`responses`): every
way a token or an answer can be wrong ends on the sign-in failed page, with no user and no session."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import responses
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from executions.audit.models import AuditAction, AuditEvent
from executions.sso.discovery import forget_provider_metadata
from executions.sso.models import SsoIdentity

pytestmark = pytest.mark.django_db
User = get_user_model()

ISSUER = "https://idp.example.test"
CLIENT_ID = "kodexa-admin"
NONCE = "n" * 32
STATE = "s" * 32


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeIdP:
    """Discovery, JWKS, token and userinfo endpoints of a provider, each answer settable per test."""

    def __init__(self, mocked: responses.RequestsMock) -> None:
        self.mocked = mocked
        self.key = _key()
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        self.jwks = {"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}
        self.discovery = {
            "issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/auth", "token_endpoint": f"{ISSUER}/token",
            "jwks_uri": f"{ISSUER}/jwks", "userinfo_endpoint": f"{ISSUER}/me",
            "end_session_endpoint": f"{ISSUER}/logout",
        }
        self.discovery_call = mocked.get(f"{ISSUER}/.well-known/openid-configuration", json=self.discovery)
        self.jwks_call = mocked.get(f"{ISSUER}/jwks", json=self.jwks)

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": CLIENT_ID, "sub": "frank-1", "exp": now + 300, "iat": now, "nonce": NONCE,
                  "email": "frank@example.test", "preferred_username": "frank", "groups": ["ops"]}
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def id_token(self, key: Any = None, algorithm: str = "RS256", kid: str = "k1", **overrides: Any) -> str:
        return jwt.encode(self.claims(**overrides), key or self.key, algorithm=algorithm, headers={"kid": kid})

    def answer(self, id_token: str, userinfo: dict[str, Any] | None = None) -> None:
        self.mocked.post(f"{ISSUER}/token", json={"id_token": id_token, "access_token": "at", "token_type": "Bearer"})
        self.mocked.get(f"{ISSUER}/me", json=userinfo if userinfo is not None else {"sub": "frank-1"})


@pytest.fixture
def idp(settings, roles) -> Iterator[FakeIdP]:  # type: ignore[no-untyped-def]
    settings.OIDC_ISSUER = ISSUER
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = "client-secret-for-tests-0123456789abcdef"
    settings.OIDC_OPERATOR_GROUPS = ["ops"]
    settings.OIDC_AUDITOR_GROUPS = []
    settings.OIDC_TEAM_GROUPS = []
    forget_provider_metadata()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        yield FakeIdP(mocked)
    forget_provider_metadata()


def callback(client, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    session = client.session
    session["oidc_states"] = {STATE: {"nonce": NONCE, "code_verifier": "v" * 64, "added_on": time.time()}}
    session.save()
    with django_capture_on_commit_callbacks(execute=True):
        return client.get(reverse("oidc_authentication_callback") + f"?code=the-code&state={STATE}")


def assert_failed(response, text: str, kind: str = "token_invalid", status: int = 400) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content[:500]
    body = response.content.decode()
    assert "Sign-in failed: " in body and text in body, body
    assert response["X-Request-ID"] in body
    assert not User.objects.exists() and not SsoIdentity.objects.exists()
    assert "_auth_user_id" not in response.wsgi_request.session
    event = AuditEvent.objects.get(action=AuditAction.AUTH_SSO_FAILED)
    assert event.reason_category == kind and event.request_id == response["X-Request-ID"]


def test_a_good_token_signs_in(client, idp, django_capture_on_commit_callbacks):
    idp.answer(idp.id_token())
    response = callback(client, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    frank = User.objects.get(username="frank")
    assert frank.groups.filter(name="Operators").exists()
    token_call = next(c for c in idp.mocked.calls if c.request.url == f"{ISSUER}/token")
    body = token_call.request.body
    assert "code_verifier=" + "v" * 64 in body and "grant_type=authorization_code" in body  # PKCE sent
    assert token_call.request.headers["Authorization"].startswith("Basic ")  # client_secret_basic by default
    assert "client_secret" not in body


def test_the_client_secret_is_form_encoded_for_basic_auth(client, idp, settings, django_capture_on_commit_callbacks):
    import base64

    settings.OIDC_RP_CLIENT_SECRET = "a:b%c+d"
    idp.answer(idp.id_token())
    assert callback(client, django_capture_on_commit_callbacks).status_code == 302
    token_call = next(c for c in idp.mocked.calls if c.request.url == f"{ISSUER}/token")
    sent = base64.b64decode(token_call.request.headers["Authorization"].removeprefix("Basic ")).decode()
    assert sent == "kodexa-admin:a%3Ab%25c%2Bd"


@pytest.mark.parametrize(("overrides", "text"), [
    ({"iss": "https://evil.example.test"}, "issued by another identity provider"),
    ({"aud": "another-app"}, "issued for another application"),
    ({"aud": [CLIENT_ID, "another-app"]}, "issued for another application"),  # several audiences, no azp
    ({"nonce": "m" * 32}, "does not answer this sign-in (nonce)"),
    ({"nonce": None}, "does not answer this sign-in (nonce)"),
    ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "has expired"),
    ({"iat": None}, "is not valid"),
    ({"iat": int(time.time()) + 3600}, "is not valid"),  # issued in the future
    ({"sub": None}, "is not valid"),
])
def test_a_token_with_a_wrong_claim_fails(client, idp, overrides, text, django_capture_on_commit_callbacks):
    idp.answer(idp.id_token(**overrides))
    assert_failed(callback(client, django_capture_on_commit_callbacks), text)


def test_keys_are_fetched_once_and_again_when_the_provider_rotates_them(client, idp,
                                                                       django_capture_on_commit_callbacks):
    for _ in range(2):
        idp.answer(idp.id_token())
        assert callback(Client(), django_capture_on_commit_callbacks).status_code == 302
    assert idp.jwks_call.call_count == 1
    rotated = _key()
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(rotated.public_key(), as_dict=True)
    idp.mocked.replace(responses.GET, f"{ISSUER}/jwks", json={"keys": [{**jwk, "kid": "k2", "alg": "RS256"}]})
    idp.answer(idp.id_token(key=rotated, kid="k2"))
    assert callback(Client(), django_capture_on_commit_callbacks).status_code == 302


def test_a_token_signed_by_another_key_fails(client, idp, django_capture_on_commit_callbacks):
    idp.answer(idp.id_token(key=_key()))
    assert_failed(callback(client, django_capture_on_commit_callbacks), "signature is not the identity provider")


def test_a_token_with_an_unknown_key_id_fails(client, idp, django_capture_on_commit_callbacks):
    idp.answer(idp.id_token(kid="k2"))
    assert_failed(callback(client, django_capture_on_commit_callbacks), "signing key is not among")


def test_a_token_signed_with_the_client_secret_or_unsigned_fails(client, idp, django_capture_on_commit_callbacks):
    # The classic confusion: HS256 keyed with something the attacker might know, or no signature at all.
    idp.answer(idp.id_token(key="client-secret-for-tests-0123456789abcdef", algorithm="HS256"))
    assert_failed(callback(client, django_capture_on_commit_callbacks), "algorithm the panel does not accept")


def test_an_unsigned_token_fails(client, idp, django_capture_on_commit_callbacks):
    idp.answer(jwt.encode(idp.claims(), None, algorithm="none"))
    assert_failed(callback(client, django_capture_on_commit_callbacks), "algorithm the panel does not accept")


def test_userinfo_about_someone_else_fails(client, idp, django_capture_on_commit_callbacks):
    idp.answer(idp.id_token(), userinfo={"sub": "someone-else", "groups": ["ops"]})
    assert_failed(callback(client, django_capture_on_commit_callbacks), "about someone else")


def test_groups_that_are_not_a_list_of_names_fail(client, idp, django_capture_on_commit_callbacks):
    idp.answer(idp.id_token(groups={"ops": True}))
    assert_failed(callback(client, django_capture_on_commit_callbacks), "not a list of names", kind="claims")


def test_a_token_endpoint_error_fails(client, idp, django_capture_on_commit_callbacks):
    idp.mocked.post(f"{ISSUER}/token", status=500, body="<html>oops</html>")
    assert_failed(callback(client, django_capture_on_commit_callbacks), "refused to issue tokens (500)",
                  kind="provider_misbehaved", status=502)


def test_a_provider_that_times_out_mid_sign_in_fails(client, idp, django_capture_on_commit_callbacks):
    import requests

    idp.mocked.post(f"{ISSUER}/token", body=requests.exceptions.ReadTimeout("slow"))
    assert_failed(callback(client, django_capture_on_commit_callbacks), "could not be reached",
                  kind="provider_unavailable", status=502)


def test_a_token_answer_without_an_id_token_fails(client, idp, django_capture_on_commit_callbacks):
    idp.mocked.post(f"{ISSUER}/token", json={"access_token": "at"})
    assert_failed(callback(client, django_capture_on_commit_callbacks), "sent no ID token",
                  kind="provider_misbehaved", status=502)


def test_a_deactivated_person_is_refused(client, idp, django_capture_on_commit_callbacks):
    idp.answer(idp.id_token())
    assert callback(client, django_capture_on_commit_callbacks).status_code == 302
    User.objects.filter(username="frank").update(is_active=False)
    idp.answer(idp.id_token())
    response = callback(Client(), django_capture_on_commit_callbacks)
    assert response.status_code == 400 and b"deactivated" in response.content
    assert "_auth_user_id" not in response.wsgi_request.session


# --- discovery ----------------------------------------------------------------------------------------------


def start(client, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        return client.get(reverse("oidc_authentication_init"))


def test_discovery_is_fetched_once(client, idp, django_capture_on_commit_callbacks):
    for _ in range(3):
        response = start(client, django_capture_on_commit_callbacks)
        assert response.status_code == 302 and response["Location"].startswith(f"{ISSUER}/auth?")
    assert idp.discovery_call.call_count == 1


@pytest.mark.parametrize(("answer", "text"), [
    ({"status": 500, "body": "down"}, "answered 500"),
    ({"body": "<html>not json</html>"}, "was not JSON"),
    ({"json": ["a", "list"]}, "not a JSON object"),
])
def test_a_misbehaving_discovery_is_a_clear_page(client, idp, answer, text, django_capture_on_commit_callbacks):
    idp.mocked.replace(responses.GET, f"{ISSUER}/.well-known/openid-configuration", **answer)
    response = start(client, django_capture_on_commit_callbacks)
    assert_failed(response, text, kind="provider_misbehaved", status=502)


def test_discovery_naming_another_issuer_or_an_insecure_endpoint_is_refused(client, idp,
                                                                             django_capture_on_commit_callbacks):
    idp.mocked.replace(responses.GET, f"{ISSUER}/.well-known/openid-configuration",
                       json={**idp.discovery, "issuer": "https://other.example.test"})
    assert_failed(start(client, django_capture_on_commit_callbacks), "names another issuer",
                  kind="provider_misbehaved", status=502)
    idp.mocked.replace(responses.GET, f"{ISSUER}/.well-known/openid-configuration",
                       json={**idp.discovery, "token_endpoint": "http://idp.example.test/token"})
    response = start(client, django_capture_on_commit_callbacks)
    assert response.status_code == 502 and b"names an insecure one" in response.content


def test_an_http_issuer_off_loopback_is_refused_at_start_up(settings):
    from executions.sso.checks import sso_settings_check

    settings.OIDC_ISSUER = "http://idp.example.test"
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET = "id", "secret"
    assert [e.id for e in sso_settings_check(None)] == ["sso.E001"]
    settings.OIDC_ISSUER = "http://127.0.0.1:9999"
    assert sso_settings_check(None) == []
    settings.OIDC_RP_CLIENT_SECRET = ""
    assert [e.id for e in sso_settings_check(None)] == ["sso.E003"]


def test_without_group_settings_no_groups_claim_is_needed(client, idp, settings, django_capture_on_commit_callbacks):
    settings.OIDC_OPERATOR_GROUPS = []  # e.g. Google: roles and teams are assigned in /admin/
    idp.answer(idp.id_token(groups=None))
    assert callback(client, django_capture_on_commit_callbacks).status_code == 302
    assert User.objects.get(username="frank").groups.count() == 0


def test_name_and_email_follow_the_provider_but_the_person_stays_the_same(client, idp,
                                                                          django_capture_on_commit_callbacks):
    idp.answer(idp.id_token())
    callback(client, django_capture_on_commit_callbacks)
    idp.answer(idp.id_token(preferred_username="franka", email="franka@example.test", name="Franka Stein"))
    assert callback(Client(), django_capture_on_commit_callbacks).status_code == 302
    (person,) = User.objects.all()
    assert (person.username, person.email, person.first_name) == ("franka", "franka@example.test", "Franka Stein")


def test_without_an_end_session_endpoint_logout_ends_the_panels_session_only(client, idp,
                                                                             django_capture_on_commit_callbacks):
    idp.discovery.pop("end_session_endpoint")
    idp.mocked.replace(responses.GET, f"{ISSUER}/.well-known/openid-configuration", json=idp.discovery)
    idp.answer(idp.id_token())
    callback(client, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert AuditEvent.objects.get(action=AuditAction.AUTH_SSO_LOGOUT).details == {"provider_logout": False}


def test_an_sso_session_ends_at_a_fixed_time_however_active(client, idp, django_capture_on_commit_callbacks):
    from datetime import timedelta

    import time_machine
    from django.conf import settings
    from django.contrib.sessions.backends.cached_db import KEY_PREFIX
    from django.core.cache import caches

    idp.answer(idp.id_token())
    callback(client, django_capture_on_commit_callbacks)
    page = reverse("dashboards:views")
    for hours in (2, 5, 7.9):  # activity, and a session that is modified along the way
        with time_machine.travel(timedelta(hours=hours)):
            assert client.get(page).status_code == 200
            session = client.session
            session["touched"] = hours
            session.save()
    with time_machine.travel(timedelta(hours=8, minutes=1)):
        caches[settings.SESSION_CACHE_ALIAS].delete(KEY_PREFIX + client.cookies[settings.SESSION_COOKIE_NAME].value)
        assert client.get(page).status_code == 302
