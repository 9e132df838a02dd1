"""A small in-process cache in front of the shared one, for values that rarely change (assistant names,
document paths, the assistant list).

A warm 50-row list page used to fetch its hundred names from Redis on every view: a round trip and a
hundred unpickles, for values that change perhaps once a month. Kept here, they cost a dictionary lookup.
The shared cache stays the source every process fills and reads on a miss, so a process lags the others by
at most NEAR_TTL seconds. Only immutable values belong here: every caller gets the same object.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from cachetools import TTLCache
from django.core.cache import cache

NEAR_TTL = 30  # seconds; shorter than any TTL the shared cache uses for these values
MAX_ENTRIES = 20_000  # a few MB at most: names are short strings

_store: TTLCache[str, Any] = TTLCache(maxsize=MAX_ENTRIES, ttl=NEAR_TTL)
_lock = threading.Lock()  # TTLCache is not thread-safe, and gunicorn workers run threads
_ABSENT = object()


def get_many(keys: Iterable[str]) -> dict[str, Any]:
    """Values for the keys, from this process when it has them, else from the shared cache (and kept)."""
    keys = list(keys)
    with _lock:
        # One lookup per key: `key in _store` then `_store[key]` could straddle the moment an entry expires.
        near = {key: _store.get(key, _ABSENT) for key in keys}
    found = {key: value for key, value in near.items() if value is not _ABSENT}
    missing = [key for key in keys if key not in found]
    if missing:
        shared = cache.get_many(missing)
        _keep(shared)
        found.update(shared)
    return found


def get(key: str) -> Any | None:
    return get_many([key]).get(key)


def set_many(values: Mapping[str, Any], timeout: int) -> None:
    """Store in the shared cache for `timeout` seconds, and here."""
    cache.set_many(dict(values), timeout)
    _keep(values)


def clear() -> None:
    """Forget this process's copies (tests do, along with clearing the shared cache)."""
    with _lock:
        _store.clear()


def _keep(values: Mapping[str, Any]) -> None:
    with _lock:
        _store.update(values)
