"""Upstream reads through the shared Django cache, with request coalescing and stale-while-revalidate.

The cache (CACHE_URL: Redis in production) is shared by every worker and host, and so are the values and
the refresh locks kept in it. Twenty people watching one dashboard therefore cost about one upstream call
per distinct query per refresh window, wherever their requests land:

* a value younger than ``fresh_for`` is served as is;
* an older one is refreshed by ONE caller, the winner of ``cache.add(lock)`` (atomic SET NX in Redis),
  while everyone else serves the stale value at once;
* with no value at all, the losers wait (polling) for the winner's value instead of calling upstream;
* values are kept for ``keep_for`` (an hour) so an outage shows the last good data, marked stale;
* errors are never stored as values; a failure is remembered for a few seconds only, so a down Kodexa is
  not hammered by every viewer.

Cached values must be picklable (Redis pickles them): callers cache plain dataclasses, not the client's
types, whose MappingProxyType fields do not pickle.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.core.cache import cache

from executions.kodexa import KodexaError
from executions.upstream.pool import run_parallel
from executions.upstream.problems import UpstreamProblem, describe_upstream_error, log_upstream_problem

T = TypeVar("T")
logger = logging.getLogger("executions.shared_cache")

KEY_PREFIX = "kx:sc:v1"
KEEP_FOR = 3600  # seconds a last good value survives, so an outage still shows data
FAILURE_MEMORY = 2.0  # seconds a failed refresh is remembered: long enough to spare Kodexa, short enough to recover
MAX_FAILURE_MEMORY = 30.0  # cap for a rate limit's Retry-After
POLL_FIRST = 0.01
POLL_MAX = 0.1


def wall_clock() -> float:
    """Seconds since the epoch. Wall time, not monotonic: the timestamps are compared across hosts.

    Tests patch this to age the cache without sleeping."""
    return time.time()


def _upstream_budget() -> float:
    """How long one upstream read may take, retries and slow bodies included (the client enforces
    KODEXA_TOTAL_TIMEOUT): the lock lives longer than that, so it cannot expire under a live refresh, and
    losers wait at most that long."""
    return float(settings.KODEXA_TOTAL_TIMEOUT) + 1.0


@dataclass(frozen=True, slots=True)
class Cached(Generic[T]):
    """A value as the cache serves it, with what the page needs to say about its age."""

    value: T
    fetched_at: float
    fresh_for: float
    # Set when the latest refresh failed: `value` is then the last good one.
    problem: UpstreamProblem | None = None
    now: float = 0.0

    @property
    def fetched_at_dt(self) -> datetime:
        return datetime.fromtimestamp(self.fetched_at, tz=UTC)

    @property
    def age(self) -> float:
        return max(0.0, self.now - self.fetched_at)

    @property
    def is_stale(self) -> bool:
        """Worth a banner: the refresh failed, or nobody managed to refresh for a while."""
        return self.problem is not None or self.age > 2 * self.fresh_for + _upstream_budget()


class CachedReadFailed(Exception):
    """No value to serve: the upstream read failed now or a moment ago. Carries what to tell the user."""

    def __init__(self, problem: UpstreamProblem) -> None:
        super().__init__(problem.title)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class _Entry(Generic[T]):
    value: T
    fetched_at: float


def cache_key(operation: str, params: Mapping[str, object]) -> str:
    """A short key for a normalized upstream request: same operation and parameters, same key, on every host.

    The upstream base URL is part of it, so two panels sharing one Redis never mix their tenants' data."""
    payload = json.dumps({"op": operation, "base": settings.KODEXA_URL, "params": params}, sort_keys=True,
                         default=str, separators=(",", ":"))
    return f"{KEY_PREFIX}:{hashlib.sha256(payload.encode()).hexdigest()[:40]}"


@dataclass(frozen=True, slots=True)
class Read(Generic[T]):
    """One upstream read for cached_read_many."""

    key: str
    fetch: Callable[[], T]
    fresh_for: float


def cached_read_many(reads: Sequence[Read[Any]], *,
                     meanwhile: Callable[[], object] | None = None) -> list[Cached[Any] | BaseException]:
    """Several reads at once: ONE cache round trip finds the fresh values; the others run in parallel on the
    read pool (each coalesced as in cached_read). Results in order; a CachedReadFailed (or a bug's exception)
    in place of a value. Call it from the request thread; `meanwhile` runs there while the reads are in
    flight (see run_parallel)."""
    if not reads:
        if meanwhile is not None:
            meanwhile()
        return []
    keys = [r.key for r in reads]
    # One MGET for everything: a warm dashboard then costs one cache round trip and no thread hand-offs.
    found = cache.get_many(keys + [f"{k}:fail" for k in keys])
    now = wall_clock()
    results: list[Cached[Any] | BaseException | None] = []
    pending: list[int] = []
    for index, read in enumerate(reads):
        entry = found.get(read.key)
        if isinstance(entry, _Entry) and now - entry.fetched_at < read.fresh_for:
            results.append(Cached(entry.value, entry.fetched_at, read.fresh_for, now=now))
        else:
            results.append(None)
            pending.append(index)
    tasks = [_read_task(reads[i], found.get(reads[i].key), found.get(f"{reads[i].key}:fail")) for i in pending]
    for index, outcome in zip(pending, run_parallel(tasks, meanwhile=meanwhile), strict=True):
        results[index] = outcome
    return results  # type: ignore[return-value]


def _read_task(read: Read[T], entry: object, failure: object) -> Callable[[], Cached[T]]:
    known = (entry if isinstance(entry, _Entry) else None, failure if isinstance(failure, UpstreamProblem) else None)
    return lambda: cached_read(key=read.key, fetch=read.fetch, fresh_for=read.fresh_for, _known=known)


def cached_read(*, key: str, fetch: Callable[[], T], fresh_for: float, keep_for: float = KEEP_FOR,
                wait_for: float | None = None,
                _known: tuple[_Entry | None, UpstreamProblem | None] | None = None) -> Cached[T]:
    """The value for `key`: cached, refreshed by one caller across all workers, or fetched once and shared.

    Raises CachedReadFailed when there is no value at all and the upstream read fails (or failed moments
    ago). Errors other than Kodexa's (bugs) propagate unchanged and are never remembered.
    """
    lock_key, fail_key = f"{key}:lock", f"{key}:fail"
    budget = _upstream_budget()
    wait_for = budget if wait_for is None else wait_for
    deadline = time.monotonic() + wait_for
    delay = POLL_FIRST
    while True:
        now = wall_clock()
        # The caller may just have read the cache for us (cached_read_many); only the first pass uses it.
        entry, failure = _known if _known is not None else _get_pair(key, fail_key)
        _known = None
        if (settled := _settled(entry, failure, fresh_for, now)) is not None:
            return settled
        token = secrets.token_hex(8)
        if cache.add(lock_key, token, timeout=max(1, int(budget + 1))):
            try:
                return _refresh(key=key, fail_key=fail_key, fetch=fetch, fresh_for=fresh_for, keep_for=keep_for)
            finally:
                # Only our own lock: had it expired and been won by another caller, deleting it would let a
                # third one in. (Get-then-delete is not atomic, but the lock outlives any read by design.)
                if cache.get(lock_key) == token:
                    cache.delete(lock_key)
        if entry is not None:
            # Someone else is refreshing: serve what we have (stale-while-revalidate).
            return Cached(entry.value, entry.fetched_at, fresh_for, now=now)
        if time.monotonic() >= deadline:
            # The winner is taking too long (or died holding the lock): say so rather than pile on.
            raise CachedReadFailed(UpstreamProblem("Kodexa is slow", "Kodexa did not answer in time.", 504))
        time.sleep(delay)
        delay = min(delay * 2, POLL_MAX)


def _settled(entry: _Entry | None, failure: UpstreamProblem | None, fresh_for: float,
             now: float) -> Cached[Any] | None:
    """The answer when no upstream call is due: a fresh value, or (Kodexa failed a moment ago, so do not ask
    again yet) the last good value with the problem, or the problem itself. None means: refresh."""
    if entry is not None and now - entry.fetched_at < fresh_for:
        return Cached(entry.value, entry.fetched_at, fresh_for, now=now)
    if failure is not None:
        if entry is not None:
            return Cached(entry.value, entry.fetched_at, fresh_for, problem=failure, now=now)
        raise CachedReadFailed(failure)
    return None


def _get_pair(key: str, fail_key: str) -> tuple[_Entry | None, UpstreamProblem | None]:
    found = cache.get_many([key, fail_key])
    entry = found.get(key)
    return (entry if isinstance(entry, _Entry) else None), found.get(fail_key)


def _refresh(*, key: str, fail_key: str, fetch: Callable[[], T], fresh_for: float, keep_for: float) -> Cached[T]:
    # Another worker may have refreshed between our read and our lock: check again before calling upstream.
    entry, failure = _get_pair(key, fail_key)
    if (settled := _settled(entry, failure, fresh_for, wall_clock())) is not None:
        return settled
    try:
        value = fetch()
    except KodexaError as exc:
        problem = describe_upstream_error(exc)
        log_upstream_problem(exc, problem)
        memory = min(problem.retry_after or FAILURE_MEMORY, MAX_FAILURE_MEMORY)
        cache.set(fail_key, problem, timeout=max(1, round(memory)))
        if entry is not None:
            return Cached(entry.value, entry.fetched_at, fresh_for, problem=problem, now=wall_clock())
        raise CachedReadFailed(problem) from exc
    fetched_at = wall_clock()
    cache.set(key, _Entry(value, fetched_at), timeout=int(keep_for))
    return Cached(value, fetched_at, fresh_for, now=fetched_at)
