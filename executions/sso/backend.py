"""Sign-in through OpenID Connect: mozilla-django-oidc's authorization code flow (state, nonce, PKCE), with the
endpoints from discovery, the ID token checked strictly, and people matched by issuer and subject.

The library's backend reads fixed endpoint settings at construction (Django constructs backends for every
permission check) and checks neither the issuer nor the audience of the ID token; this subclass resolves the
endpoints when a sign-in happens and checks every claim OpenID Connect Core 1.0, 3.1.3.7 asks for.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import jwt
import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from executions.audit.chain import RequestMeta
from executions.sso.access import AccessContext, access_context, access_plan, access_sync
from executions.sso.config import SsoConfig, sso_config
from executions.sso.discovery import ProviderMetadata, get_json, provider_metadata, signing_keys, timeout
from executions.sso.errors import FailureKind, SsoFailure
from executions.sso.models import SsoIdentity

logger = logging.getLogger("executions.sso")

ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256")
LEEWAY_SECONDS = 60
USERNAME_MAX = get_user_model()._meta.get_field("username").max_length


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: AbstractBaseUser
    created: bool
    claims: dict[str, Any]
    id_token: str


class SsoBackend(OIDCAuthenticationBackend):
    """Used by the callback view (never by a password form); also resolves the session's user like ModelBackend."""

    def __init__(self, *args: object, **kwargs: object) -> None:  # no settings, no network: built per perm check
        self.UserModel = get_user_model()

    # Permissions come from ModelBackend, listed before this one; answering them twice would only cost time.
    def has_perm(self, user_obj: object, perm: str, obj: object = None) -> bool:
        return False

    def has_module_perms(self, user_obj: object, app_label: str) -> bool:
        return False

    def get_all_permissions(self, user_obj: object, obj: object = None) -> set[str]:
        return set()

    def authenticate(self, request: HttpRequest | None = None, **kwargs: object) -> None:
        return None  # never through django.contrib.auth.authenticate(): see sign_in()

    # --- the flow ---------------------------------------------------------------------------------------------

    def sign_in(self, request: HttpRequest, *, code: str, nonce: str, code_verifier: str | None) -> SignedIn:
        config = sso_config()
        metadata = provider_metadata()
        self.request = request
        tokens = self._exchange(config, metadata, request, code, code_verifier)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise SsoFailure(FailureKind.PROVIDER_MISBEHAVED, "the identity provider sent no ID token.")
        claims = self.verify_id_token(id_token, config=config, metadata=metadata, nonce=nonce)
        access_token = tokens.get("access_token")
        if metadata.userinfo_endpoint and isinstance(access_token, str) and access_token:
            userinfo = get_json(metadata.userinfo_endpoint, headers={"Authorization": f"Bearer {access_token}"})
            if userinfo.get("sub") != claims["sub"]:  # Core 1.0, 5.3.2: else the answer is about someone else
                raise SsoFailure(FailureKind.TOKEN_INVALID, "the identity provider's user information is about "
                                 "someone else.", "userinfo sub differs from the ID token's")
            claims = {**userinfo, **claims}  # the signed ID token wins
        groups = self._groups(claims, config)
        user, created = self._user_for(claims, groups, config, metadata, request)
        return SignedIn(user=user, created=created, claims=claims, id_token=id_token)

    def _exchange(self, config: SsoConfig, metadata: ProviderMetadata, request: HttpRequest, code: str,
                  code_verifier: str | None) -> dict[str, Any]:
        data = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": request.build_absolute_uri(reverse("oidc_authentication_callback"))}
        if code_verifier:
            data["code_verifier"] = code_verifier
        auth = None
        if metadata.token_auth_basic:
            # RFC 6749, 2.3.1: both are form-encoded before Basic encoding (a no-op for the usual secrets, which use
            # unreserved characters only; a ':' or '%' in a secret would otherwise be misread).
            auth = requests.auth.HTTPBasicAuth(quote(config.client_id, safe=""), quote(config.client_secret, safe=""))
        else:
            data.update(client_id=config.client_id, client_secret=config.client_secret)
        try:
            response = requests.post(metadata.token_endpoint, data=data, auth=auth, timeout=timeout(),
                                     allow_redirects=False)
        except requests.RequestException as exc:
            raise SsoFailure(FailureKind.PROVIDER_UNAVAILABLE, "the identity provider could not be reached.",
                             f"token endpoint: {type(exc).__name__}") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200:
            error = body.get("error", "") if isinstance(body, dict) else ""
            if error == "invalid_grant":
                raise SsoFailure(FailureKind.CODE_REJECTED, "the identity provider refused the sign-in code "
                                 "(already used, or expired). Please sign in again.", "invalid_grant")
            raise SsoFailure(FailureKind.PROVIDER_MISBEHAVED,
                             f"the identity provider refused to issue tokens ({response.status_code}).",
                             f"token endpoint error={error!r}")
        if not isinstance(body, dict):
            raise SsoFailure(FailureKind.PROVIDER_MISBEHAVED, "the identity provider's token answer was not JSON.")
        return body

    def verify_id_token(self, id_token: str, *, config: SsoConfig, metadata: ProviderMetadata,
                        nonce: str) -> dict[str, Any]:
        """Signature by the issuer's key (JWKS), iss, aud (and azp), exp, iat, nonce and sub: Core 1.0, 3.1.3.7."""
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError as exc:
            raise SsoFailure(FailureKind.TOKEN_INVALID, "the ID token could not be read.", str(exc)) from exc
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:  # never "none", never a symmetric algorithm keyed by the client secret
            raise SsoFailure(FailureKind.TOKEN_INVALID, "the ID token is signed with an algorithm the panel does "
                             "not accept.", f"alg={algorithm!r}")
        key = self._signing_key(metadata, header)
        try:
            claims = jwt.decode(
                id_token, key=key, algorithms=[algorithm], audience=config.client_id, issuer=metadata.issuer,
                leeway=LEEWAY_SECONDS, options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise SsoFailure(FailureKind.TOKEN_INVALID, "the ID token has expired (is the panel's clock right?).",
                             str(exc)) from exc
        except jwt.InvalidAudienceError as exc:
            raise SsoFailure(FailureKind.TOKEN_INVALID, "the ID token was issued for another application.",
                             str(exc)) from exc
        except jwt.InvalidIssuerError as exc:
            raise SsoFailure(FailureKind.TOKEN_INVALID, "the ID token was issued by another identity provider.",
                             str(exc)) from exc
        except jwt.InvalidSignatureError as exc:
            raise SsoFailure(FailureKind.TOKEN_INVALID, "the ID token's signature is not the identity provider's.",
                             str(exc)) from exc
        except jwt.PyJWTError as exc:
            raise SsoFailure(FailureKind.TOKEN_INVALID, "the ID token is not valid.", str(exc)) from exc
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != config.client_id:
            raise SsoFailure(FailureKind.TOKEN_INVALID, "the ID token was issued for another application.",
                             "several audiences and azp is not this client")
        if not nonce or claims.get("nonce") != nonce:
            raise SsoFailure(FailureKind.TOKEN_INVALID, "the ID token does not answer this sign-in (nonce).",
                             "nonce mismatch")
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            raise SsoFailure(FailureKind.TOKEN_INVALID, "the ID token names nobody (sub).")
        return claims

    def _signing_key(self, metadata: ProviderMetadata, header: dict[str, Any]) -> jwt.PyJWK:
        candidates = self._candidates(signing_keys(metadata.jwks_uri), header)
        if not candidates:  # a key id not seen yet: the provider may have rotated its keys since we asked
            candidates = self._candidates(signing_keys(metadata.jwks_uri, refresh=True), header)
        if len(candidates) != 1:
            raise SsoFailure(FailureKind.TOKEN_INVALID, "the ID token's signing key is not among the identity "
                             "provider's keys.", f"kid={header.get('kid')!r}, {len(candidates)} candidates")
        try:
            return jwt.PyJWK(candidates[0], algorithm=header.get("alg"))
        except jwt.PyJWTError as exc:
            raise SsoFailure(FailureKind.PROVIDER_MISBEHAVED, "the identity provider's signing key is unusable.",
                             str(exc)) from exc

    @staticmethod
    def _candidates(keys: list[dict], header: dict[str, Any]) -> list[dict]:
        kid = header.get("kid")
        return [k for k in keys if k.get("use", "sig") == "sig" and (kid is None or k.get("kid") == kid)
                and k.get("alg") in (None, header.get("alg"))]

    def _groups(self, claims: dict[str, Any], config: SsoConfig) -> list[str]:
        if not config.needs_groups:
            return []
        groups = claims.get(config.groups_claim)
        if groups is None:
            # Treating a missing claim as "no groups" would strip everyone's roles when the provider is
            # misconfigured; refusing the sign-in says what is wrong instead.
            raise SsoFailure(FailureKind.CLAIMS, f"the identity provider sent no '{config.groups_claim}' claim, "
                             "which says your roles and teams. Ask your identity provider's administrator.")
        if isinstance(groups, str):
            groups = [groups]
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise SsoFailure(FailureKind.CLAIMS, f"the '{config.groups_claim}' claim is not a list of names.")
        return groups

    # --- the person -------------------------------------------------------------------------------------------

    def _username(self, claims: dict[str, Any], taken_by_other: callable) -> str:  # type: ignore[valid-type]
        wanted = str(claims.get("preferred_username") or claims.get("email") or claims["sub"])[:USERNAME_MAX]
        candidate, n = wanted, 1
        while taken_by_other(candidate):  # a local account or another issuer's person has this name already
            n += 1
            suffix = f"-{n}"
            candidate = wanted[: USERNAME_MAX - len(suffix)] + suffix
        return candidate

    def _user_for(self, claims: dict[str, Any], groups: list[str], config: SsoConfig, metadata: ProviderMetadata,
                  request: HttpRequest) -> tuple[AbstractBaseUser, bool]:
        """Find or create the user of (iss, sub), refresh their name and e-mail, and set their roles and teams:
        all or nothing, so a failure leaves no half-created user."""
        context = AccessContext(source="identity provider", actor_name=f"{config.provider_name} (identity provider)",
                                meta=RequestMeta.of(request))
        try:
            with transaction.atomic(), access_context(context):
                identity = (SsoIdentity.objects.select_for_update().select_related("user")
                            .filter(issuer=metadata.issuer, subject=claims["sub"]).first())
                created = identity is None
                if identity is None:
                    user = self.UserModel(username=self._username(
                        claims, lambda name: self.UserModel.objects.filter(username=name).exists()))
                    user.set_unusable_password()  # signs in through the provider only
                else:
                    user = identity.user
                    user.username = self._username(claims, lambda name: self.UserModel.objects.filter(
                        username=name).exclude(pk=user.pk).exists())
                if not user.is_active:
                    raise SsoFailure(FailureKind.INACTIVE, "your panel account is deactivated. Ask an administrator.")
                user.email = str(claims.get("email") or "")[:254]
                user.first_name = str(claims.get("given_name") or claims.get("name") or "")[:150]
                user.last_name = str(claims.get("family_name") or "")[:150]
                user.save()
                if identity is None:
                    identity = SsoIdentity(issuer=metadata.issuer, subject=claims["sub"], user=user)
                identity.last_login_at = timezone.now()
                identity.save()
                access_sync(user, access_plan(groups, config))
        except IntegrityError as exc:  # two first sign-ins of one person at once: the other one won
            raise SsoFailure(FailureKind.CLAIMS, "a sign-in for the same person happened at the same time; "
                             "please sign in again.", str(exc)) from exc
        return user, created
