"""What the list and detail pages last saw, kept in the shared cache so that when Kodexa fails (or the circuit
breaker has paused calls) a page shows that, marked stale, instead of only an error.

Pages stay one live round trip: the copy is written after the answer, on one background thread, as the JSON
Kodexa sent (orjson, a fraction of a millisecond; parsed dataclasses do not pickle). It is read only when
the live read failed. Several workers and hosts share it through CACHE_URL like every other cached value.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from django.core.cache import cache

T = TypeVar("T")
logger = logging.getLogger("executions.last_good")

KEEP_FOR = 24 * 3600  # an outage outlasting a day is not helped by day-old data
MAX_PENDING = 32  # writes waiting for the cache; beyond this they are dropped (the cache is slow or down)

_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="last-good")
_pending = threading.BoundedSemaphore(MAX_PENDING)


def _plain(value: object) -> object:
    # Execution.raw and context are read-only views of dicts: orjson wants the dict.
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def remember(key: str, payload: object) -> None:
    """Keep `payload` (JSON-shaped) under `key`, after the response, off the request thread."""
    if not _pending.acquire(blocking=False):
        return  # a backlog means the cache is struggling: a missed copy only costs a stale page later

    def write() -> None:
        try:
            cache.set(key, (time.time(), orjson.dumps(payload, default=_plain)), KEEP_FOR)
        except Exception:  # the copy is a convenience: never let it disturb anything
            logger.warning("could not keep the last good copy", exc_info=True)
        finally:
            _pending.release()

    _writer.submit(write)


def recall(key: str, parse: Callable[[Any], T]) -> tuple[T, datetime] | None:
    """The remembered value for `key`, parsed as the live one would be, and when it was live; or None."""
    try:
        entry = cache.get(key)
        if entry is None:
            return None
        stamp, body = entry
        return parse(orjson.loads(body)), datetime.fromtimestamp(stamp, tz=UTC)
    except Exception:  # an unreadable copy (or cache) leaves the page with its error, as without a copy
        logger.warning("could not read the last good copy", exc_info=True)
        return None


def flush() -> None:
    """Wait for the copies already handed over (tests: before the cache is cleared between tests)."""
    _writer.submit(lambda: None).result()
