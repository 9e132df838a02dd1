"""How many refused cancel attempts of a user are recorded one by one, and the count of the others.

Refusals cost the refused user nothing, and each recorded one is a permanent row, so a user gets at most
LIMIT recorded refusals per WINDOW-second clock window. Past that, attempts are only counted in the shared
cache, and the user's first recorded refusal of a later window is preceded by one event with those counts:
every attempt is accounted for, and rows are bounded by LIMIT + 1 per user and window.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.core.cache import cache

logger = logging.getLogger("executions.cancel")

LIMIT = 10
WINDOW = 600
PENDING_TTL = 7 * 24 * 3600  # counts wait this long for the user's next refusal to be written out


@dataclass(frozen=True, slots=True)
class Pending:
    """Refusals counted but not recorded individually."""

    attempts: int
    execution_ids: int
    since: float | None  # epoch seconds of the first of them


@dataclass(frozen=True, slots=True)
class Admission:
    record: bool  # write this refusal as its own event
    pending: Pending | None  # write these counts first (once per window, by the window's first refusal)


def _keys(user_pk: object) -> tuple[str, str, str]:
    prefix = f"kx:cancel-denied:{user_pk}"
    return f"{prefix}:attempts", f"{prefix}:ids", f"{prefix}:since"


def _incr(key: str, delta: int, ttl: int) -> int:
    cache.add(key, 0, ttl)
    try:
        return cache.incr(key, delta)
    except ValueError:  # expired between add and incr
        cache.set(key, delta, ttl)
        return delta


def refusal_admit(*, user_pk: object, execution_ids: int) -> Admission:
    """Count one refused attempt naming `execution_ids` executions and say what to write."""
    try:
        window = int(time.time()) // WINDOW
        seen = _incr(f"kx:cancel-denied:{user_pk}:window:{window}", 1, WINDOW + 60)
        if seen > LIMIT:
            attempts_key, ids_key, since_key = _keys(user_pk)
            cache.add(since_key, time.time(), PENDING_TTL)
            _incr(attempts_key, 1, PENDING_TTL)
            _incr(ids_key, execution_ids, PENDING_TTL)
            return Admission(record=False, pending=None)
        # Only the window's first refusal (one request, the counter is atomic) writes out earlier counts.
        return Admission(record=True, pending=_take_pending(user_pk) if seen == 1 else None)
    except Exception:  # no cache: record every refusal rather than lose one
        logger.exception("cancel refusals: counting failed; recording this refusal individually")
        return Admission(record=True, pending=None)


def _take_pending(user_pk: object) -> Pending | None:
    attempts_key, ids_key, since_key = _keys(user_pk)
    found = cache.get_many([attempts_key, ids_key, since_key])
    attempts, ids = int(found.get(attempts_key) or 0), int(found.get(ids_key) or 0)
    if not attempts:
        return None
    # Subtract what is taken rather than delete: a late attempt of the previous window stays counted.
    cache.decr(attempts_key, attempts)
    cache.decr(ids_key, ids)
    cache.delete(since_key)
    return Pending(attempts=attempts, execution_ids=ids, since=found.get(since_key))
