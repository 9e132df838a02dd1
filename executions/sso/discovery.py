"""The identity provider's metadata, from OIDC_ISSUER/.well-known/openid-configuration: fetched once, kept.

Kept in this process for the process's life and in the shared cache for a day, so a worker asks at most once and
a provider outage does not stop sign-ins by people whose worker already knows the endpoints. A failed fetch is
not kept: the next sign-in asks again.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import requests
from django.conf import settings
from django.core.cache import cache

from executions.sso.config import sso_config, url_allowed
from executions.sso.errors import FailureKind, SsoFailure

logger = logging.getLogger("executions.sso")

CACHE_SECONDS = 24 * 3600
MAX_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str = ""
    end_session_endpoint: str = ""
    token_auth_basic: bool = True  # client_secret_basic, else client_secret_post


_lock = threading.Lock()
_known: dict[str, ProviderMetadata] = {}


def _cache_key(issuer: str) -> str:
    return f"sso:discovery:{issuer}"


def timeout() -> tuple[float, float]:
    return (settings.OIDC_CONNECT_TIMEOUT, settings.OIDC_READ_TIMEOUT)


def get_json(url: str, **kwargs: object) -> dict:
    """GET a JSON object from the provider; any failure is an SsoFailure naming what went wrong."""
    try:
        response = requests.get(url, timeout=timeout(), allow_redirects=False, **kwargs)  # type: ignore[arg-type]
    except requests.RequestException as exc:
        raise SsoFailure(FailureKind.PROVIDER_UNAVAILABLE, "the identity provider could not be reached.",
                         f"GET {url}: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise SsoFailure(FailureKind.PROVIDER_MISBEHAVED,
                         f"the identity provider answered {response.status_code}.", f"GET {url}")
    if len(response.content) > MAX_BYTES:
        raise SsoFailure(FailureKind.PROVIDER_MISBEHAVED, "the identity provider sent an oversized answer.",
                         f"GET {url}")
    try:
        body = response.json()
    except ValueError as exc:
        raise SsoFailure(FailureKind.PROVIDER_MISBEHAVED, "the identity provider's answer was not JSON.",
                         f"GET {url}") from exc
    if not isinstance(body, dict):
        raise SsoFailure(FailureKind.PROVIDER_MISBEHAVED, "the identity provider's answer was not a JSON object.",
                         f"GET {url}")
    return body


def _parse(issuer: str, doc: dict) -> ProviderMetadata:
    # OpenID Connect Discovery 1.0, 4.3: the issuer in the document must be the one we asked (a trailing slash
    # aside, which some providers' documentation adds or drops); every endpoint must be https (or loopback).
    if not isinstance(doc.get("issuer"), str) or doc["issuer"].rstrip("/") != issuer.rstrip("/"):
        raise SsoFailure(FailureKind.PROVIDER_MISBEHAVED, "the identity provider's metadata names another issuer.",
                         f"expected {issuer}, got {doc.get('issuer')!r}")
    required = ("authorization_endpoint", "token_endpoint", "jwks_uri")
    optional = ("userinfo_endpoint", "end_session_endpoint")
    values: dict[str, str] = {}
    for name in (*required, *optional):
        value = doc.get(name)
        if value is None and name in optional:
            continue
        if not isinstance(value, str) or not url_allowed(value):
            raise SsoFailure(FailureKind.PROVIDER_MISBEHAVED,
                             "the identity provider's metadata lacks an endpoint or names an insecure one.",
                             f"{name}={value!r}")
        values[name] = value
    methods = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    return ProviderMetadata(issuer=doc["issuer"], **values,
                            token_auth_basic="client_secret_basic" in methods or "client_secret_post" not in methods)


def provider_metadata() -> ProviderMetadata:
    issuer = sso_config().issuer
    if not url_allowed(issuer):
        raise SsoFailure(FailureKind.PROVIDER_MISBEHAVED, "the panel's OIDC_ISSUER is not an https URL.", issuer)
    if (known := _known.get(issuer)) is not None:
        return known
    with _lock:
        if (known := _known.get(issuer)) is not None:
            return known
        cached = cache.get(_cache_key(issuer))
        if isinstance(cached, ProviderMetadata):
            _known[issuer] = cached
            return cached
        metadata = _parse(issuer, get_json(issuer.rstrip("/") + "/.well-known/openid-configuration"))
        cache.set(_cache_key(issuer), metadata, CACHE_SECONDS)
        _known[issuer] = metadata
        logger.info("identity provider metadata fetched", extra={"issuer": issuer})
        return metadata


JWKS_SECONDS = 3600
_jwks: dict[str, tuple[float, list[dict]]] = {}


def signing_keys(jwks_uri: str, *, refresh: bool = False) -> list[dict]:
    """The provider's public keys, kept an hour in this process; `refresh` asks again (a key id we do not know
    yet means the provider rotated its keys)."""
    kept = _jwks.get(jwks_uri)
    if kept is not None and not refresh and time.monotonic() - kept[0] < JWKS_SECONDS:
        return kept[1]
    keys = get_json(jwks_uri).get("keys")
    keys = [k for k in keys if isinstance(k, dict)] if isinstance(keys, list) else []
    _jwks[jwks_uri] = (time.monotonic(), keys)
    return keys


def forget_provider_metadata() -> None:
    """Tests, and a provider that moved its endpoints (restart the panel, or call this)."""
    with _lock:
        for issuer in list(_known):
            cache.delete(_cache_key(issuer))
        _known.clear()
        _jwks.clear()
