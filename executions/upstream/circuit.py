"""A circuit breaker around the Kodexa client, shared through the cache so every worker and host agrees.

After FAILURE_THRESHOLD failures (connection errors, timeouts, 5xx, 429, garbage) within FAILURE_WINDOW
seconds, calls stop for OPEN_SECONDS: pages answer at once from what they have instead of queueing on a dead
upstream. When the pause ends, one failure re-opens it (half-open); one success closes it.

Reading the shared state costs a cache round trip before every call. While it says "closed, no failures on
record", each process trusts that answer for CLOSED_MEMO_SECONDS: a breaker opened by another process is
obeyed here within that second, and a failure seen here drops the memo at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.core.cache import cache

from executions.kodexa import (
    Assistant,
    CancelResponse,
    DocumentFamily,
    Execution,
    KodexaBadResponse,
    KodexaClient,
    KodexaConnectionError,
    KodexaError,
    KodexaRateLimited,
    KodexaServerError,
    KodexaTimeout,
    Page,
    ReprocessResponse,
    StatusMessage,
)
from kodexa_admin.metrics import record_circuit_refusal

T = TypeVar("T")
logger = logging.getLogger("executions.circuit")

FAILURE_THRESHOLD = 5
FAILURE_WINDOW = 30
OPEN_SECONDS = 15
CLOSED_MEMO_SECONDS = 1.0
_FAILURES = "kx:circuit:failures"
_OPEN_UNTIL = "kx:circuit:open-until"


class KodexaCircuitOpen(KodexaConnectionError):
    """Not sent: Kodexa failed repeatedly and the panel is giving it a pause."""

    def __init__(self, retry_in: float) -> None:
        super().__init__(f"Kodexa failed repeatedly; calls are paused for {retry_in:.0f} s", maybe_sent=False)
        self.retry_in = retry_in


def _counts_as_failure(exc: KodexaError) -> bool:
    # 4xx answers (404, 409, auth) prove Kodexa is up; they must not trip the breaker.
    return isinstance(exc, KodexaConnectionError | KodexaTimeout | KodexaServerError | KodexaRateLimited) or (
        isinstance(exc, KodexaBadResponse) and (exc.status is None or exc.status >= 200)
    )


_closed_seen_at = float("-inf")  # monotonic time this process last read "closed, no failures on record"


def _state() -> tuple[float | None, bool]:
    """(open until, failures on record)."""
    global _closed_seen_at
    if time.monotonic() - _closed_seen_at < CLOSED_MEMO_SECONDS:
        return None, False
    found = cache.get_many([_OPEN_UNTIL, _FAILURES])
    until = found.get(_OPEN_UNTIL)
    state = (until if until and until > time.time() else None), bool(found.get(_FAILURES))
    if state == (None, False):
        _closed_seen_at = time.monotonic()
    return state


def circuit_state() -> str:
    """'open', 'closed', or 'failing' (closed with failures on record), from the shared state; no side effects."""
    found = cache.get_many([_OPEN_UNTIL, _FAILURES])
    until = found.get(_OPEN_UNTIL)
    if until and until > time.time():
        return "open"
    return "failing" if found.get(_FAILURES) else "closed"


def forget_local_state() -> None:
    """Read the shared state on the next call (after a failure here; and tests, which clear the cache)."""
    global _closed_seen_at
    _closed_seen_at = float("-inf")


def _record_failure() -> None:
    forget_local_state()
    cache.add(_FAILURES, 0, FAILURE_WINDOW)  # the window starts with its first failure
    try:
        failures = cache.incr(_FAILURES)
    except ValueError:  # expired between add and incr
        cache.set(_FAILURES, 1, FAILURE_WINDOW)
        failures = 1
    if failures >= FAILURE_THRESHOLD:
        until = time.time() + OPEN_SECONDS
        cache.set(_OPEN_UNTIL, until, OPEN_SECONDS)
        # Half-open: after the pause, a single failure is enough to open again.
        cache.set(_FAILURES, FAILURE_THRESHOLD - 1, FAILURE_WINDOW + OPEN_SECONDS)
        logger.error("circuit opened: Kodexa keeps failing, pausing calls", extra={"open_seconds": OPEN_SECONDS,
                                                                                   "failures": failures})


class GuardedClient:
    """The Kodexa calls the panel makes, each through the shared breaker. Spelled out rather than proxied, so a
    reader sees every call that can trip it."""

    def __init__(self, client: KodexaClient) -> None:
        self.client = client

    def __repr__(self) -> str:
        return f"GuardedClient({self.client!r})"

    def list_executions(self, **kwargs: Any) -> Page[Execution]:
        return _guarded(self.client.list_executions, **kwargs)

    def get_execution(self, execution_id: str, **kwargs: Any) -> Execution:
        return _guarded(self.client.get_execution, execution_id, **kwargs)

    def cancel_execution(self, execution_id: str, **kwargs: Any) -> CancelResponse:
        return _guarded(self.client.cancel_execution, execution_id, **kwargs)

    def reprocess_document_family(self, family_id: str, assistant_ids: Sequence[str],
                                  **kwargs: Any) -> ReprocessResponse:
        return _guarded(self.client.reprocess_document_family, family_id, assistant_ids, **kwargs)

    def list_status_messages(self, execution_id: str, **kwargs: Any) -> tuple[StatusMessage, ...]:
        return _guarded(self.client.list_status_messages, execution_id, **kwargs)

    def get_assistant(self, assistant_id: str, **kwargs: Any) -> Assistant:
        return _guarded(self.client.get_assistant, assistant_id, **kwargs)

    def list_assistants(self, **kwargs: Any) -> Page[Assistant]:
        return _guarded(self.client.list_assistants, **kwargs)

    def get_document_family(self, family_id: str, **kwargs: Any) -> DocumentFamily:
        return _guarded(self.client.get_document_family, family_id, **kwargs)

    def get_account(self, **kwargs: Any) -> dict[str, Any]:
        return _guarded(self.client.get_account, **kwargs)


def _guarded(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    until, failures_on_record = _state()
    if until is not None:
        record_circuit_refusal()
        raise KodexaCircuitOpen(until - time.time())
    try:
        result = call(*args, **kwargs)
    except KodexaError as exc:
        if _counts_as_failure(exc):
            _record_failure()
        raise
    if failures_on_record:  # a success closes the breaker; with nothing on record there is nothing to write
        cache.delete(_FAILURES)
    return result
