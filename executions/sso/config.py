"""Single sign-on settings, read from Django's settings each time (tests change them), as one typed value."""

from __future__ import annotations

import fnmatch
import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_allowed(url: str) -> bool:
    """https, or http on loopback only: tokens and the client secret travel over these URLs."""
    parts = urlsplit(url)
    if not parts.hostname or parts.username or parts.password:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname))


@dataclass(frozen=True, slots=True)
class SsoConfig:
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    groups_claim: str
    operator_groups: frozenset[str]
    auditor_groups: frozenset[str]
    team_patterns: tuple[str, ...]
    provider_name: str
    only: bool

    @property
    def enabled(self) -> bool:
        return bool(self.issuer)

    @property
    def needs_groups(self) -> bool:
        """Whether the provider decides any role or team (then a missing groups claim is an error)."""
        return bool(self.operator_groups or self.auditor_groups or self.team_patterns)

    def is_team_group(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.team_patterns)


def sso_config() -> SsoConfig:
    return SsoConfig(
        issuer=settings.OIDC_ISSUER.strip(),
        client_id=settings.OIDC_RP_CLIENT_ID,
        client_secret=settings.OIDC_RP_CLIENT_SECRET,
        scopes=settings.OIDC_RP_SCOPES,
        groups_claim=settings.OIDC_GROUPS_CLAIM,
        operator_groups=frozenset(settings.OIDC_OPERATOR_GROUPS),
        auditor_groups=frozenset(settings.OIDC_AUDITOR_GROUPS),
        team_patterns=tuple(settings.OIDC_TEAM_GROUPS),
        provider_name=settings.OIDC_PROVIDER_NAME,
        only=settings.OIDC_ONLY and bool(settings.OIDC_ISSUER),
    )
