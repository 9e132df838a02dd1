"""Start-up checks: a misconfigured Kodexa URL must stop the panel, not leak the API key later."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Warning, register

from executions.kodexa import FilterDialect
from executions.kodexa.client import SORT_SEPARATORS


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
    if settings.KODEXA_FILTER_DIALECT not in {d.value for d in FilterDialect}:
        problems.append(Error("KODEXA_FILTER_DIALECT must be 'spring' or 'eq'.", id="executions.E004"))
    if settings.KODEXA_SORT_SEPARATOR not in SORT_SEPARATORS:
        problems.append(Error("KODEXA_SORT_SEPARATOR must be ',' or ':'.", id="executions.E005"))
    return problems
