"""The one read path, with a counting fetch: freshness, coalescing, stale-while-revalidate, failures, live reads
that keep their last good value, 404s remembered, and the policy table."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache as django_cache

from executions.kodexa import KodexaAuthError, KodexaNotFound, KodexaServerError
from executions.upstream import cache
from executions.upstream.cache import POLICIES, ReadKind, cache_key
from executions.upstream.problems import CachedReadFailed


def key_of(key: str, kind: ReadKind = ReadKind.WIDGET) -> str:
    return cache_key(kind, {"key": key})


def cached_read(*, key: str, fetch, fresh_for: float, kind: ReadKind = ReadKind.WIDGET):  # type: ignore[no-untyped-def]
    return cache.read(kind, {"key": key}, fetch, fresh_for=fresh_for)


class Upstream:
    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay
        self.fail = False
        self._lock = threading.Lock()

    def __call__(self) -> dict:
        with self._lock:
            self.calls += 1
            n = self.calls
        time.sleep(self.delay)
        if self.fail:
            raise KodexaServerError("boom", status=500)
        return {"n": n}


@pytest.fixture
def clock(monkeypatch):  # type: ignore[no-untyped-def]
    """Moves the cache's wall clock without sleeping."""
    state = {"offset": 0.0}
    monkeypatch.setattr(cache, "wall_clock", lambda: time.time() + state["offset"])
    return state


def test_keys_are_stable_and_order_independent(settings):
    op = ReadKind.WIDGET
    assert cache_key(op, {"a": 1, "b": [1, 2]}) == cache_key(op, {"b": [1, 2], "a": 1})
    assert cache_key(op, {"a": 1}) != cache_key(op, {"a": 2})
    assert cache_key(op, {"a": 1}) != cache_key(ReadKind.EXECUTION, {"a": 1})
    before = cache_key(op, {"a": 1})
    settings.KODEXA_URL = "http://other.example"
    assert cache_key(op, {"a": 1}) != before


def test_fresh_values_are_served_from_the_cache(clock):
    upstream = Upstream()
    first = cached_read(key="k", fetch=upstream, fresh_for=10)
    second = cached_read(key="k", fetch=upstream, fresh_for=10)
    assert upstream.calls == 1 and first.value == second.value == {"n": 1}
    clock["offset"] = 11
    third = cached_read(key="k", fetch=upstream, fresh_for=10)
    assert upstream.calls == 2 and third.value == {"n": 2} and not third.is_stale


def test_cold_cache_many_threads_one_upstream_call():
    upstream = Upstream(delay=0.15)
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: cached_read(key="cold", fetch=upstream, fresh_for=30), range(20)))
    assert upstream.calls == 1
    assert {r.value["n"] for r in results} == {1}


def test_stale_value_many_threads_one_refresh_others_serve_stale(clock):
    upstream = Upstream(delay=0.15)
    cached_read(key="warm", fetch=upstream, fresh_for=30)
    clock["offset"] = 31
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: cached_read(key="warm", fetch=upstream, fresh_for=30), range(20)))
    assert upstream.calls == 2  # the first fill, then exactly one refresh
    assert {r.value["n"] for r in results} <= {1, 2}
    assert not any(r.problem for r in results)


def test_a_failed_refresh_serves_the_last_good_value_and_is_remembered(clock):
    upstream = Upstream()
    cached_read(key="k", fetch=upstream, fresh_for=10)
    upstream.fail = True
    clock["offset"] = 100
    stale = cached_read(key="k", fetch=upstream, fresh_for=10)
    assert stale.value == {"n": 1} and stale.problem is not None and stale.is_stale
    assert stale.fetched_at_dt.timestamp() < time.time()
    calls = upstream.calls
    again = cached_read(key="k", fetch=upstream, fresh_for=10)  # within the failure memory: no new call
    assert upstream.calls == calls and again.problem is not None and again.value == {"n": 1}


def test_with_no_value_the_error_is_raised_and_not_cached(clock):
    upstream = Upstream()
    upstream.fail = True
    with pytest.raises(CachedReadFailed) as failure:
        cached_read(key="k", fetch=upstream, fresh_for=10)
    assert failure.value.problem.title == "Kodexa error"
    with pytest.raises(CachedReadFailed):
        cached_read(key="k", fetch=upstream, fresh_for=10)
    assert upstream.calls == 1  # remembered for a moment, not hammered
    django_cache.delete(key_of("k") + ":fail")  # the memory has expired
    upstream.fail = False
    assert cached_read(key="k", fetch=upstream, fresh_for=10).value == {"n": 2}


def test_bugs_propagate_and_release_the_lock():
    def broken() -> dict:
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError):
        cached_read(key="k", fetch=broken, fresh_for=10)
    assert cached_read(key="k", fetch=lambda: {"ok": True}, fresh_for=10).value == {"ok": True}


def test_losers_give_up_after_waiting(monkeypatch):
    monkeypatch.setattr(cache, "_upstream_budget", lambda: 0.2)
    django_cache.add(key_of("held") + ":lock", "someone-else", timeout=30)  # a winner that never finishes
    started = time.monotonic()
    with pytest.raises(CachedReadFailed):
        cached_read(key="held", fetch=lambda: {"x": 1}, fresh_for=10)
    assert time.monotonic() - started < 1.5


def test_a_refresher_releases_only_its_own_lock():
    """Had the lock expired mid-refresh and been won by another caller, that caller's lock must survive."""
    lock = key_of("k") + ":lock"

    def slow_and_overtaken() -> dict:
        django_cache.set(lock, "the next winner", timeout=30)  # ours expired; someone else took the lock
        return {"n": 1}

    cached_read(key="k", fetch=slow_and_overtaken, fresh_for=10)
    assert django_cache.get(lock) == "the next winner"


def test_the_refresh_lock_outlives_a_whole_upstream_call_with_retries(settings):
    settings.KODEXA_CONNECT_TIMEOUT, settings.KODEXA_READ_TIMEOUT, settings.KODEXA_TOTAL_TIMEOUT = 3, 10, 20
    assert cache._upstream_budget() > 20


# --- live reads (list and detail pages) -----------------------------------------------------------------


def test_a_live_read_asks_kodexa_every_time():
    upstream = Upstream()
    values = [cached_read(key="page", fetch=upstream, fresh_for=0, kind=ReadKind.EXECUTION_PAGE).value
              for _ in range(3)]
    assert upstream.calls == 3 and values == [{"n": 1}, {"n": 2}, {"n": 3}]


def test_a_failed_live_read_shows_the_last_good_value_marked_stale(clock):
    upstream = Upstream()
    cached_read(key="page", fetch=upstream, fresh_for=0, kind=ReadKind.EXECUTION_PAGE)
    upstream.fail = True
    clock["offset"] = 60
    stale = cached_read(key="page", fetch=upstream, fresh_for=0, kind=ReadKind.EXECUTION_PAGE)
    assert stale.value == {"n": 1} and stale.problem is not None and stale.problem.title == "Kodexa error"
    assert stale.age >= 59 and stale.is_stale
    assert upstream.calls == 2  # it did ask


@pytest.mark.parametrize("error", [KodexaNotFound("gone", status=404), KodexaAuthError("no", status=401)])
def test_a_404_or_a_refused_key_is_never_covered_by_an_old_value(error):
    answers = iter([{"n": 1}])

    def fetch() -> dict:
        value = next(answers, None)
        if value is None:
            raise error
        return value

    cached_read(key="page", fetch=fetch, fresh_for=0, kind=ReadKind.EXECUTION)
    with pytest.raises(type(error)):
        cached_read(key="page", fetch=fetch, fresh_for=0, kind=ReadKind.EXECUTION)


def test_a_failed_live_read_with_nothing_kept_raises_the_kodexa_error():
    upstream = Upstream()
    upstream.fail = True
    with pytest.raises(KodexaServerError):
        cached_read(key="page", fetch=upstream, fresh_for=0, kind=ReadKind.EXECUTION_PAGE)


# --- names: a 404 is remembered briefly ---------------------------------------------------------------


def test_a_404_name_is_remembered_for_missing_for_then_asked_again(clock):
    calls = []

    def fetch() -> str:
        calls.append(1)
        raise KodexaNotFound("no such assistant", status=404)

    first = cached_read(key="a1", fetch=fetch, fresh_for=600, kind=ReadKind.ASSISTANT_NAME)
    again = cached_read(key="a1", fetch=fetch, fresh_for=600, kind=ReadKind.ASSISTANT_NAME)
    assert first.missing and again.missing and first.value is None and len(calls) == 1
    clock["offset"] = POLICIES[ReadKind.ASSISTANT_NAME].missing_for + 1
    cached_read(key="a1", fetch=fetch, fresh_for=600, kind=ReadKind.ASSISTANT_NAME)
    assert len(calls) == 2


def test_offline_reads_serve_whatever_is_kept_and_ask_nothing():
    upstream = Upstream()
    cached_read(key="a1", fetch=upstream, fresh_for=600, kind=ReadKind.ASSISTANT_NAME)
    reads = [cache.Read(ReadKind.ASSISTANT_NAME, {"key": k}, upstream) for k in ("a1", "a2")]
    kept, unknown = cache.read_many(reads, offline=True)
    assert kept.value == {"n": 1} and isinstance(unknown, CachedReadFailed) and upstream.calls == 1


def test_every_kind_of_read_has_a_policy_and_live_kinds_are_not_shared():
    assert set(POLICIES) == set(ReadKind)
    assert not POLICIES[ReadKind.EXECUTION_PAGE].shared and not POLICIES[ReadKind.EXECUTION].shared
    assert all(p.keep_for >= p.fresh_for for p in POLICIES.values())


# --- this process's copies (names, the assistant list) -----------------------------------------------------


def test_names_are_reused_in_process_for_local_for_then_read_again(monkeypatch):
    """A 50-row list shows a hundred names: after the first read they cost no cache round trip for a while, and
    a change made elsewhere is seen once that while has passed."""
    upstream = Upstream()
    first = cached_read(key="a1", fetch=upstream, fresh_for=600, kind=ReadKind.ASSISTANT_NAME)
    reads = []
    real_get_many = django_cache.get_many
    monkeypatch.setattr(django_cache, "get_many", lambda keys: reads.append(list(keys)) or real_get_many(keys))
    again = cached_read(key="a1", fetch=upstream, fresh_for=600, kind=ReadKind.ASSISTANT_NAME)
    assert again.value == first.value and reads == [] and upstream.calls == 1
    django_cache.set(key_of("a1", ReadKind.ASSISTANT_NAME), cache._Entry({"n": 99}, time.time()), 60)  # elsewhere
    clock = time.monotonic() + POLICIES[ReadKind.ASSISTANT_NAME].local_for + 1
    monkeypatch.setattr(cache.time, "monotonic", lambda: clock)
    later = cached_read(key="a1", fetch=upstream, fresh_for=600, kind=ReadKind.ASSISTANT_NAME)
    assert later.value == {"n": 99} and len(reads) == 1 and upstream.calls == 1


def test_live_reads_and_widgets_are_never_kept_in_process():
    assert not POLICIES[ReadKind.EXECUTION].local_for and not POLICIES[ReadKind.EXECUTION_PAGE].local_for
    assert not POLICIES[ReadKind.WIDGET].local_for  # dashboards must agree across workers within a refresh
