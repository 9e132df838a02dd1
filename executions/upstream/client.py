"""The one place that turns Django settings into a configured Kodexa client."""

from __future__ import annotations

import functools

from django.conf import settings

from executions.kodexa import KodexaClient, KodexaNotConfigured
from executions.kodexa.redact import Redactor
from executions.upstream.circuit import GuardedClient
from kodexa_admin.logging import current_request_id
from kodexa_admin.metrics import record_kodexa_call

PROBE_TIMEOUT = 5.0  # a readiness probe answers within a load balancer's usual timeout


def _missing_settings() -> list[str]:
    return [name for name in ("KODEXA_URL", "KODEXA_API_KEY") if not getattr(settings, name)]


def _configured_client(**overrides: float | int) -> KodexaClient:
    if missing := _missing_settings():
        raise KodexaNotConfigured(f"KODEXA_URL and KODEXA_API_KEY must both be set (missing: {', '.join(missing)}).")
    options: dict[str, float | int] = {
        "connect_timeout": settings.KODEXA_CONNECT_TIMEOUT,
        "read_timeout": settings.KODEXA_READ_TIMEOUT,
        "total_timeout": settings.KODEXA_TOTAL_TIMEOUT,
        **overrides,
    }
    return KodexaClient(
        settings.KODEXA_URL,
        settings.KODEXA_API_KEY,
        request_id_provider=current_request_id,
        on_call=record_kodexa_call,
        **options,  # type: ignore[arg-type]
    )


@functools.cache
def kodexa_client() -> GuardedClient:
    """A process-wide client (its sessions are thread-local) behind the shared circuit breaker; rebuilt when
    settings change in tests."""
    return GuardedClient(_configured_client())


@functools.cache
def kodexa_probe_client() -> KodexaClient:
    """For health checks only: outside the circuit breaker (a probe must never open it for everyone), without
    retries (one probe, one request) and with a short deadline."""
    return _configured_client(
        connect_timeout=min(settings.KODEXA_CONNECT_TIMEOUT, PROBE_TIMEOUT),
        read_timeout=min(settings.KODEXA_READ_TIMEOUT, PROBE_TIMEOUT),
        total_timeout=min(settings.KODEXA_TOTAL_TIMEOUT, PROBE_TIMEOUT),
        max_retries=0,
    )


@functools.lru_cache(maxsize=4)
def _redactor(api_key: str) -> Redactor:
    return Redactor(api_key)


def redact_api_key(text: str) -> str:
    """`text` without the configured API key or any long fragment of it: the last guard before text is kept
    where it can never be removed (the audit log) or leaves the process (logs)."""
    key = settings.KODEXA_API_KEY
    return _redactor(key)(text) if key and text else text
