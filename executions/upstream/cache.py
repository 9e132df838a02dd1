"""The one path for reads from Kodexa: every read goes through here, under the policy of its kind.

The store is Django's cache (CACHE_URL): Redis in a team deployment, so every worker and host shares the values,
the refresh locks and the memory of failures; local memory in the embedded default. One table says, per kind of
read, how long a value is served without asking Kodexa, how long it is kept to be shown when Kodexa fails, and
whether one read serves every viewer:

* a *shared* read (dashboards, names, the assistant list) is served from the cache while fresh. When it ages,
  ONE caller across all workers (the winner of an atomic ``cache.add`` lock) refreshes it while the others serve
  the old value at once; with no value at all the others wait for the winner instead of calling Kodexa too.
  A failed refresh is remembered for a few seconds, so a Kodexa that is down is not asked by every viewer;
* a *live* read (the list and detail pages) asks Kodexa every time, and keeps the answer so that a page can
  still show it, marked stale with its time, while Kodexa fails or the circuit breaker pauses calls.

A 404 or a refused key is never papered over with an old value. Values must pickle (Redis pickles them).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.core.cache import cache

from executions.kodexa import (
    KodexaBadResponse,
    KodexaConnectionError,
    KodexaError,
    KodexaNotFound,
    KodexaRateLimited,
    KodexaServerError,
    KodexaTimeout,
)
from executions.upstream.pool import run_parallel
from executions.upstream.problems import (
    CachedReadFailed,
    UpstreamProblem,
    describe_upstream_error,
    log_upstream_problem,
)
from kodexa_admin.metrics import record_cache_reads

T = TypeVar("T")
logger = logging.getLogger("executions.upstream")

# Bumped whenever a cached type changes shape (v4: Assistant.project_id): instances of a new release must not load
# values pickled by the old one from a shared cache.
KEY_PREFIX = "kx:v4"
DAY = 24 * 3600
FAILURE_MEMORY = 2.0  # seconds a failed refresh is remembered: spares Kodexa, short enough to recover quickly
MAX_FAILURE_MEMORY = 30.0  # cap for a rate limit's Retry-After
POLL_FIRST, POLL_MAX = 0.01, 0.1


class ReadKind(StrEnum):
    EXECUTION_PAGE = "execution-page"  # a page of the execution list
    EXECUTION = "execution"  # one execution, for its detail page
    ASSISTANTS = "assistants"  # every assistant: the list's filter, names on dashboards
    ASSISTANT_NAME = "assistant-name"
    FAMILY_PATH = "family-path"
    WIDGET = "widget"  # a dashboard widget's count or rows
    STATUS_COUNT = "status-count"  # how many executions of one status the list's other filters match (its chips)
    TENANT = "tenant"  # what the tenant reads: filter dialect, sort form, page base, text search
    RUNS_SAMPLE = "runs-sample"  # the latest executions of a window, for runs-over-time charts and trend lines


@dataclass(frozen=True, slots=True)
class Policy:
    fresh_for: float  # seconds a value is served without asking Kodexa (a widget uses its dashboard's refresh)
    keep_for: float  # seconds a value is kept, to be shown (marked stale) while Kodexa fails
    shared: bool  # one read serves every viewer while fresh; otherwise each view asks Kodexa
    missing_for: float = 0.0  # seconds a 404 is remembered (0: not remembered)
    # Seconds a process reuses a fresh value it has seen, without asking the shared cache: only for values that
    # rarely change and that a page needs many of (a 50-row list shows a hundred names). 0: never.
    local_for: float = 0.0


POLICIES: Mapping[ReadKind, Policy] = {
    ReadKind.EXECUTION_PAGE: Policy(fresh_for=0, keep_for=DAY, shared=False),
    ReadKind.EXECUTION: Policy(fresh_for=0, keep_for=DAY, shared=False),
    ReadKind.ASSISTANTS: Policy(fresh_for=300, keep_for=DAY, shared=True, local_for=30),
    ReadKind.ASSISTANT_NAME: Policy(fresh_for=600, keep_for=DAY, shared=True, missing_for=60, local_for=30),
    ReadKind.FAMILY_PATH: Policy(fresh_for=600, keep_for=DAY, shared=True, missing_for=60, local_for=30),
    ReadKind.WIDGET: Policy(fresh_for=30, keep_for=DAY, shared=True),
    # The list's refresh window (browse.views.LIST_REFRESH_SECONDS): however many people watch a list, Kodexa is
    # asked each status's count at most once per window, and a warm list view costs only its page. A page opened
    # (not refreshed live) accepts older counts (browse.views.COUNTS_MAX_AGE_ON_OPEN). Kept in-process while
    # fresh: ten per view, and the list must not pay a cache round trip for them.
    ReadKind.STATUS_COUNT: Policy(fresh_for=10, keep_for=DAY, shared=True, local_for=10),
    ReadKind.TENANT: Policy(fresh_for=DAY, keep_for=7 * DAY, shared=True, local_for=30),
    # One list read per chart query (dashboards use their own refresh): a list page's chart costs Kodexa nothing
    # while fresh, however many people look, so the page stays at one call per view.
    ReadKind.RUNS_SAMPLE: Policy(fresh_for=60, keep_for=DAY, shared=True),
}


def wall_clock() -> float:
    """Seconds since the epoch: wall time, because the timestamps are compared across hosts. Tests patch it."""
    return time.time()


def _upstream_budget() -> float:
    """How long one upstream read may take (the client enforces KODEXA_TOTAL_TIMEOUT): a refresh lock outlives
    it, and a caller waiting for another's refresh gives up after it."""
    return float(settings.KODEXA_TOTAL_TIMEOUT) + 1.0


@dataclass(frozen=True, slots=True)
class Cached(Generic[T]):
    """A value as a page gets it, with what the page must say about its age."""

    value: T
    fetched_at: float
    fresh_for: float
    problem: UpstreamProblem | None = None  # the latest read failed: `value` is the last good one
    now: float = 0.0
    missing: bool = False  # Kodexa answered 404 (recently): `value` is None

    @property
    def fetched_at_dt(self) -> datetime:
        return datetime.fromtimestamp(self.fetched_at, tz=UTC)

    @property
    def age(self) -> float:
        return max(0.0, self.now - self.fetched_at)

    @property
    def is_stale(self) -> bool:
        """Worth a banner: the read failed, or nobody managed to refresh a shared value for a while."""
        return self.problem is not None or self.age > 2 * self.fresh_for + _upstream_budget()


@dataclass(frozen=True, slots=True)
class Read(Generic[T]):
    kind: ReadKind
    params: Mapping[str, object]
    fetch: Callable[[], T]
    fresh_for: float | None = None  # overrides the policy's (a dashboard's own refresh window)

    @property
    def key(self) -> str:
        return cache_key(self.kind, self.params)

    @property
    def policy(self) -> Policy:
        return POLICIES[self.kind]

    @property
    def freshness(self) -> float:
        return self.policy.fresh_for if self.fresh_for is None else self.fresh_for


@dataclass(frozen=True, slots=True)
class _Entry:
    value: Any
    fetched_at: float
    missing: bool = False


class _Local:
    """This process's copies of values whose policy has `local_for`: a bounded dict, no I/O, no pickling. Values
    are immutable, so every caller may share one object."""

    MAX_ENTRIES = 20_000  # a few MB at most: names are short strings

    def __init__(self) -> None:
        self._lock = threading.Lock()  # gunicorn's gthread workers read from many threads
        self._entries: dict[str, tuple[float, _Entry]] = {}

    def get(self, key: str) -> _Entry | None:
        found = self._entries.get(key)  # a dict read is atomic; a stale tuple is only ever replaced whole
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, items: Mapping[str, _Entry], local_for: float) -> None:
        until = time.monotonic() + local_for
        with self._lock:
            if len(self._entries) + len(items) > self.MAX_ENTRIES:
                self._entries.clear()  # crude, and rare: every entry is re-read from the shared cache once
            self._entries.update((key, (until, entry)) for key, entry in items.items())

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def discard(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)


_local = _Local()


def forget_local_copies() -> None:
    """Forget this process's copies (tests do, along with clearing the shared cache)."""
    _local.clear()


# One encoder for every key: json.dumps() with options builds a new one per call, and a list page makes a hundred.
_KEY_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)


def cache_key(kind: ReadKind, params: Mapping[str, object]) -> str:
    """Same kind and parameters, same key, on every host. The Kodexa URL is part of it, so two panels sharing
    one Redis never mix their tenants' data."""
    payload = _KEY_JSON.encode([settings.KODEXA_URL, params])
    return f"{KEY_PREFIX}:{kind}:{hashlib.blake2b(payload.encode(), digest_size=20).hexdigest()}"


def read(kind: ReadKind, params: Mapping[str, object], fetch: Callable[[], T], *,
         fresh_for: float | None = None) -> Cached[T]:
    """One read under its kind's policy; raises a KodexaError when there is nothing to show."""
    [result] = read_many([Read(kind, params, fetch, fresh_for)])
    if isinstance(result, BaseException):
        raise result
    return result


def read_many(reads: Sequence[Read[Any]], *, offline: bool = False,
              meanwhile: Callable[[], object] | None = None) -> list[Cached[Any] | BaseException]:
    """Several reads at once: one cache round trip finds what can be served as is; the rest ask Kodexa in
    parallel. Results in order, an exception (a KodexaError, or a bug's) in place of a value.

    `offline` asks Kodexa for nothing (the page already knows Kodexa is failing): what the cache holds is
    served, however old, and the rest fail. `meanwhile` runs in the caller's thread while Kodexa answers."""
    keys = [r.key for r in reads]
    now = wall_clock()
    local = {key: entry for key, r in zip(keys, reads, strict=True)
             if r.policy.local_for and (entry := _local.get(key)) is not None and _fresh(entry, r, now)}
    # A live read's kept copy is looked at only if Kodexa fails: loading it (a whole page of executions) on every
    # view would cost more than the page.
    wanted = [k for k, r in zip(keys, reads, strict=True) if k not in local and (r.policy.shared or offline)]
    found = cache.get_many(wanted + [f"{k}:fail" for k in wanted]) if wanted else {}
    _keep_local(reads, keys, found)
    found.update(local)
    results: list[Cached[Any] | BaseException | None] = [None] * len(reads)
    tasks: dict[int, Callable[[], Cached[Any]]] = {}
    for index, (read_, key) in enumerate(zip(reads, keys, strict=True)):
        entry = _entry(found.get(key))
        if offline:
            results[index] = (_served(entry, read_, now) if entry is not None
                              else CachedReadFailed(UpstreamProblem("Kodexa unavailable", "Not asked: Kodexa is "
                                                                    "failing.", 503)))
        elif read_.policy.shared and entry is not None and _fresh(entry, read_, now):
            results[index] = _served(entry, read_, now)
        else:
            failure = found.get(f"{key}:fail")
            tasks[index] = _task(read_, key, entry, failure if isinstance(failure, UpstreamProblem) else None)
    if tasks or meanwhile is not None:
        for index, outcome in zip(tasks, run_parallel(list(tasks.values()), meanwhile=meanwhile), strict=True):
            results[index] = outcome
    record_cache_reads((str(r.kind), _result_label(result)) for r, result in zip(reads, results, strict=True))
    return results  # type: ignore[return-value]


def _result_label(result: Cached[Any] | BaseException | None) -> str:
    """For the metrics: hit (served as kept), stale (kept value shown because Kodexa failed), miss (fetched now),
    error (nothing to show)."""
    if not isinstance(result, Cached):
        return "error"
    if result.problem is not None:
        return "stale"
    return "miss" if result.now == result.fetched_at else "hit"  # _store serves what it fetched with now=fetched_at


def store_many(kind: ReadKind, values_by_id: Mapping[str, Any]) -> None:
    """Keep values learnt from another read (names from the assistant list) as if read on their own by id."""
    now = wall_clock()
    policy = POLICIES[kind]
    entries = {cache_key(kind, {"id": key}): _Entry(value, now) for key, value in values_by_id.items()}
    cache.set_many(entries, timeout=int(policy.keep_for))
    if policy.local_for:
        _local.put(entries, policy.local_for)


def forget(kind: ReadKind, params: Mapping[str, object]) -> None:
    """Drop a value everywhere: the next read asks Kodexa (other processes' own copies age out within
    `local_for`)."""
    key = cache_key(kind, params)
    _local.discard(key)
    cache.delete(key)


def _keep_local(reads: Sequence[Read[Any]], keys: Sequence[str], found: Mapping[str, object]) -> None:
    """Values that came from the shared cache, kept in this process where their policy says so."""
    for read_, key in zip(reads, keys, strict=True):
        entry = _entry(found.get(key))
        if read_.policy.local_for and entry is not None:
            _local.put({key: entry}, read_.policy.local_for)


def _entry(value: object) -> _Entry | None:
    return value if isinstance(value, _Entry) else None


def _fresh(entry: _Entry, read_: Read[Any], now: float) -> bool:
    fresh_for = read_.policy.missing_for if entry.missing else read_.freshness
    return now - entry.fetched_at < fresh_for


def _served(entry: _Entry, read_: Read[Any], now: float, problem: UpstreamProblem | None = None) -> Cached[Any]:
    return Cached(entry.value, entry.fetched_at, read_.freshness, problem=problem, now=now, missing=entry.missing)


def _task(read_: Read[T], key: str, entry: _Entry | None,
          failure: UpstreamProblem | None) -> Callable[[], Cached[T]]:
    if read_.policy.shared:
        return lambda: _shared(read_, key, entry, failure)
    return lambda: _live(read_, key)


_OUTAGES = (KodexaConnectionError, KodexaTimeout, KodexaServerError, KodexaRateLimited, KodexaBadResponse)


def _may_show_stale(exc: KodexaError) -> bool:
    """Only an outage is covered with old data. Kodexa saying the thing is gone, refusing the panel's key or
    refusing the request itself must be loud."""
    return isinstance(exc, _OUTAGES)



def _live(read_: Read[T], key: str) -> Cached[T]:
    try:
        value = read_.fetch()
    except KodexaError as exc:
        if not _may_show_stale(exc) or (entry := _kept(key)) is None:
            raise
        problem = describe_upstream_error(exc)
        log_upstream_problem(exc, problem)
        return _served(entry, read_, wall_clock(), problem)
    return _store(read_, key, value)


def _kept(key: str) -> _Entry | None:
    try:
        return _entry(cache.get(key))
    except Exception:  # an unreadable copy (or cache) leaves the page with its error, as without a copy
        logger.warning("could not read a kept value", exc_info=True)
        return None


def _store(read_: Read[T], key: str, value: T, *, missing: bool = False) -> Cached[T]:
    fetched_at = wall_clock()
    entry = _Entry(value, fetched_at, missing)
    if read_.policy.local_for:
        _local.put({key: entry}, read_.policy.local_for)
    try:
        cache.set(key, entry, timeout=int(read_.policy.keep_for))
    except Exception:  # a value that will not pickle (absurdly deep JSON), a cache that is down: the read stands
        logger.warning("could not keep a value read from Kodexa", extra={"read_kind": str(read_.kind)}, exc_info=True)
    return Cached(value, fetched_at, read_.freshness, now=fetched_at, missing=missing)


def _shared(read_: Read[T], key: str, entry: _Entry | None, failure: UpstreamProblem | None) -> Cached[T]:
    """Serve, or refresh as the one caller that holds the lock, or wait for that caller's value."""
    lock_key = f"{key}:lock"
    budget = _upstream_budget()
    deadline = time.monotonic() + budget
    delay = POLL_FIRST
    first_pass = True
    while True:
        now = wall_clock()
        if not first_pass:  # the caller read the cache for the first pass
            entry, failure = _pair(key)
        first_pass = False
        if (settled := _settled(read_, entry, failure, now)) is not None:
            return settled
        token = secrets.token_hex(8)
        if cache.add(lock_key, token, timeout=max(1, int(budget + 1))):
            try:
                return _refresh(read_, key)
            finally:
                # Only our own lock: had it expired and been taken by another caller, deleting it would let a third
                # one in. (Get-then-delete is not atomic, but the lock outlives any read by design.)
                if cache.get(lock_key) == token:
                    cache.delete(lock_key)
        if entry is not None:
            return _served(entry, read_, now)  # someone else is refreshing: serve what there is
        if time.monotonic() >= deadline:
            raise CachedReadFailed(UpstreamProblem("Kodexa is slow", "Kodexa did not answer in time.", 504))
        time.sleep(delay)
        delay = min(delay * 2, POLL_MAX)


def _settled(read_: Read[T], entry: _Entry | None, failure: UpstreamProblem | None,
             now: float) -> Cached[T] | None:
    """The answer when Kodexa need not be asked: a fresh value, or (it failed a moment ago) the last good value
    with the problem, or the problem itself. None: ask Kodexa."""
    if entry is not None and _fresh(entry, read_, now):
        return _served(entry, read_, now)
    if failure is not None:
        if entry is not None:
            return _served(entry, read_, now, failure)
        raise CachedReadFailed(failure)
    return None


def _pair(key: str) -> tuple[_Entry | None, UpstreamProblem | None]:
    found = cache.get_many([key, f"{key}:fail"])
    failure = found.get(f"{key}:fail")
    return _entry(found.get(key)), failure if isinstance(failure, UpstreamProblem) else None


def _refresh(read_: Read[T], key: str) -> Cached[T]:
    # Another worker may have refreshed between our read and our lock: look again before calling Kodexa.
    entry, failure = _pair(key)
    if (settled := _settled(read_, entry, failure, wall_clock())) is not None:
        return settled
    try:
        value = read_.fetch()
    except KodexaNotFound:
        if not read_.policy.missing_for:
            raise
        return _store(read_, key, None, missing=True)  # type: ignore[arg-type]
    except KodexaError as exc:
        problem = describe_upstream_error(exc)
        log_upstream_problem(exc, problem)
        memory = min(problem.retry_after or FAILURE_MEMORY, MAX_FAILURE_MEMORY)
        cache.set(f"{key}:fail", problem, timeout=max(1, round(memory)))
        if entry is not None and _may_show_stale(exc):
            return _served(entry, read_, wall_clock(), problem)
        raise CachedReadFailed(problem) from exc
    return _store(read_, key, value)
