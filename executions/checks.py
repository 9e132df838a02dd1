"""Start-up checks: a misconfigured Kodexa URL must stop the panel, not leak the API key later."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from executions.kodexa import AUTO, FilterDialect
from executions.kodexa.tenant import PAGE_BASES, SORT_SEPARATORS
from kodexa_admin.audit_key import derived_chain_key
from kodexa_admin.client_ip import parse_networks


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@register()
def kodexa_settings_check(app_configs: object, **kwargs: object) -> list[Error | Warning]:
    problems: list[Error | Warning] = []
    url = settings.KODEXA_URL
    if not url:
        problems.append(Warning("KODEXA_URL is not set: execution pages will say the panel is not configured.",
                                id="executions.W001"))
    else:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(Error(f"KODEXA_URL must be an http(s) URL, got {parts.scheme!r}.", id="executions.E001"))
        elif parts.scheme != "https" and not _is_loopback(parts.hostname):
            problems.append(Error("KODEXA_URL must use https unless it points at a loopback address: "
                                  "the API key travels in a header.", id="executions.E002"))
        elif parts.username or parts.password or parts.query or parts.fragment:
            problems.append(Error("KODEXA_URL must not carry credentials, a query or a fragment.",
                                  id="executions.E003"))
        if not settings.KODEXA_API_KEY:
            problems.append(Warning("KODEXA_API_KEY is not set.", id="executions.W002"))
    if settings.KODEXA_FILTER_DIALECT not in {AUTO, *(d.value for d in FilterDialect)}:
        problems.append(Error("KODEXA_FILTER_DIALECT must be 'auto', 'spring' or 'eq'.", id="executions.E004"))
    if settings.KODEXA_SORT_SEPARATOR not in {AUTO, *SORT_SEPARATORS}:
        problems.append(Error("KODEXA_SORT_SEPARATOR must be 'auto', ',' or ':'.", id="executions.E005"))
    if str(settings.KODEXA_PAGE_BASE) not in {AUTO, *(str(b) for b in PAGE_BASES)}:
        problems.append(Error("KODEXA_PAGE_BASE must be 'auto', '1' or '0'.", id="executions.E006"))
    return problems


@register(Tags.security, deploy=True)
def audit_chain_key_check(app_configs: object, **kwargs: object) -> list[Warning]:
    # A key derived from the secret key sits wherever that secret does (`make run` keeps it next to the
    # database): whoever can write the database could then rewrite the chain and its hashes.
    key = settings.AUDIT_CHAIN_KEY
    if settings.DEBUG or (key and key != derived_chain_key(settings.SECRET_KEY)):
        return []
    return [Warning("AUDIT_CHAIN_KEY is not set: the audit chain's key derives from the secret key.",
                    hint="Set AUDIT_CHAIN_KEY to a long random value, the same on every instance, kept where the "
                         "database host cannot read it (a secret manager or the app servers' environment).",
                    id="executions.W003")]


def _network_problems(setting: str, entries: list[str], code: int) -> list[Error]:
    # A typo must stop the panel: silently dropping a bad entry would change whose addresses are believed.
    try:
        networks = parse_networks(entries)
    except ValueError as exc:
        return [Error(f"{setting}: {exc}.", hint="Give addresses or CIDR networks, comma-separated, e.g. "
                      "127.0.0.1,10.0.0.0/24 (no host bits set in a network).", id=f"kodexa_admin.E{code:03d}")]
    if any(network.prefixlen == 0 for network in networks):
        return [Error(f"{setting} contains a network that matches every address.",
                      hint="List the proxies (or the networks they sit in), never 0.0.0.0/0 or ::/0.",
                      id=f"kodexa_admin.E{code + 1:03d}")]
    return []


MIN_METRICS_TOKEN = 32


@register()
def reverse_proxy_check(app_configs: object, **kwargs: object) -> list[Error]:
    return _network_problems("TRUSTED_PROXIES", list(settings.TRUSTED_PROXIES), 1)


@register()
def metrics_access_check(app_configs: object, **kwargs: object) -> list[Error]:
    problems = _network_problems("METRICS_ALLOWED_NETWORKS", list(settings.METRICS_ALLOWED_NETWORKS), 3)
    token = settings.METRICS_TOKEN
    if token and (len(token) < MIN_METRICS_TOKEN or any(c.isspace() for c in token)):
        problems.append(Error(f"METRICS_TOKEN must be at least {MIN_METRICS_TOKEN} characters without spaces.",
                              hint="Generate one: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'",
                              id="kodexa_admin.E005"))
    return problems
