"""Transport plumbing under the client: deadline-aware retries, the key holder, error introspection."""

from __future__ import annotations

import email.utils
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import requests
import urllib3.exceptions as u3
from urllib3.util.retry import Retry

# The current call's overall deadline, per thread (sessions are per thread, calls are synchronous), and
# `attempt_floor`: the time a retry after a connect timeout needs to be worth starting (the connect timeout).
call_deadline = threading.local()


class DeadlineRetry(Retry):
    """urllib3 Retry that also stops retrying, and stops sleeping, at the call's overall deadline.

    Without it, GET read retries alone could take (1 + retries) x read_timeout, longer than a gunicorn
    worker is allowed to live.
    """

    def is_exhausted(self) -> bool:
        deadline: float | None = getattr(call_deadline, "value", None)
        if deadline is not None and time.monotonic() >= deadline:
            return True
        return super().is_exhausted()

    def increment(self, method: str | None = None, url: str | None = None, response: Any = None,
                  error: Exception | None = None, _pool: Any = None, _stacktrace: Any = None) -> DeadlineRetry:
        deadline: float | None = getattr(call_deadline, "value", None)
        if isinstance(error, u3.ConnectTimeoutError) and deadline is not None:
            # A host that ignores SYNs will most likely make the next attempt wait its whole connect timeout
            # too: one started with less than that left (after its backoff) would overrun the deadline.
            floor = getattr(call_deadline, "attempt_floor", 0.0)
            if time.monotonic() + self.get_backoff_time() + floor > deadline:
                raise u3.MaxRetryError(_pool, url or "", error) from error
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def sleep(self, response: Any = None) -> None:
        wait: float | None = None
        if self.respect_retry_after_header and response is not None:
            wait = self.get_retry_after(response)
        if not wait:
            wait = self.get_backoff_time()
        deadline: float | None = getattr(call_deadline, "value", None)
        if deadline is not None:
            wait = min(wait, max(0.0, deadline - time.monotonic()))
        if wait > 0:
            time.sleep(wait)


class Secret:
    """Holds the API key so that no repr, traceback local or debug dump shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__


def socket_of(raw: Any) -> socket.socket | None:
    connection = getattr(raw, "connection", None)
    sock = getattr(connection, "sock", None)
    return sock if isinstance(sock, socket.socket) else None


def retries_used(response: requests.Response) -> int:
    retries = getattr(response.raw, "retries", None)
    history = getattr(retries, "history", None)
    return len(history) if history else 0


def causes(exc: BaseException) -> Iterator[BaseException]:
    """Every exception wrapped inside a requests error (MaxRetryError reasons, args, causes)."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, u3.MaxRetryError):
            stack.append(current.reason)
        stack.extend(a for a in current.args if isinstance(a, BaseException))
        stack.append(current.__cause__)
        stack.append(current.__context__)


def never_connected(exc: BaseException) -> bool:
    """True when the failure happened before any byte of the request could have been sent."""
    never = (
        u3.NewConnectionError,
        u3.ConnectTimeoutError,
        u3.NameResolutionError,
        ConnectionRefusedError,
        socket.gaierror,
    )
    return any(isinstance(c, never) for c in causes(exc))


def read_timed_out(exc: BaseException) -> bool:
    # After GET read retries are exhausted, requests reports a ReadTimeoutError as a ConnectionError.
    return any(isinstance(c, u3.ReadTimeoutError) for c in causes(exc))


def status_from_retry_error(exc: BaseException) -> int | None:
    match = re.search(r"too many (\d{3}) error responses", str(exc))
    return int(match.group(1)) if match else None


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), 86_400))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())
