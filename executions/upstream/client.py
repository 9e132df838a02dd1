"""The one place that turns Django settings into a configured Kodexa client."""

from __future__ import annotations

import functools

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from executions.kodexa import FilterDialect, KodexaClient
from executions.upstream.circuit import GuardedClient
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
