"""The one place that turns Django settings into a configured Kodexa client."""

from __future__ import annotations

import functools

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from executions.circuit import GuardedClient
from executions.kodexa import FilterDialect, KodexaClient
from executions.kodexa.redact import Redactor
from kodexa_admin.logging import current_request_id


class KodexaNotConfigured(ImproperlyConfigured):
    pass


@functools.cache
def kodexa_client() -> KodexaClient:
    """A process-wide client (its sessions are thread-local) behind the shared circuit breaker; rebuilt when
    settings change in tests."""
    if not settings.KODEXA_URL or not settings.KODEXA_API_KEY:
        raise KodexaNotConfigured("KODEXA_URL and KODEXA_API_KEY must both be set.")
    return GuardedClient(KodexaClient(  # type: ignore[return-value]  (same interface)
        settings.KODEXA_URL,
        settings.KODEXA_API_KEY,
        connect_timeout=settings.KODEXA_CONNECT_TIMEOUT,
        read_timeout=settings.KODEXA_READ_TIMEOUT,
        total_timeout=settings.KODEXA_TOTAL_TIMEOUT,
        dialect=FilterDialect(settings.KODEXA_FILTER_DIALECT),
        sort_separator=settings.KODEXA_SORT_SEPARATOR,
        request_id_provider=current_request_id,
    ))


@functools.lru_cache(maxsize=4)
def _redactor(api_key: str) -> Redactor:
    return Redactor(api_key)


def redact_api_key(text: str) -> str:
    """`text` without the configured API key or any long fragment of it: the last guard before text is kept
    where it can never be removed (the audit log) or leaves the process (logs)."""
    key = settings.KODEXA_API_KEY
    return _redactor(key)(text) if key and text else text
