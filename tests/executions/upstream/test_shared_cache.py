"""shared_cache semantics with a counting fetch: freshness, coalescing, stale-while-revalidate, failures."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from executions.kodexa import KodexaServerError
from executions.upstream import shared_cache
from executions.upstream.shared_cache import CachedReadFailed, cache_key, cached_read


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
    """Moves shared_cache's wall clock without sleeping."""
    state = {"offset": 0.0}
    monkeypatch.setattr(shared_cache, "wall_clock", lambda: time.time() + state["offset"])
    return state


def test_keys_are_stable_and_order_independent(settings):
    assert cache_key("op", {"a": 1, "b": [1, 2]}) == cache_key("op", {"b": [1, 2], "a": 1})
    assert cache_key("op", {"a": 1}) != cache_key("op", {"a": 2})
    settings.KODEXA_URL = "http://other.example"
    assert cache_key("op", {"a": 1}) != cache_key("op", {"b": [1, 2], "a": 1})


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
    from django.core.cache import cache

    cache.delete("k:fail")  # the memory has expired
    upstream.fail = False
    assert cached_read(key="k", fetch=upstream, fresh_for=10).value == {"n": 2}


def test_bugs_propagate_and_release_the_lock():
    def broken() -> dict:
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError):
        cached_read(key="k", fetch=broken, fresh_for=10)
    assert cached_read(key="k", fetch=lambda: {"ok": True}, fresh_for=10).value == {"ok": True}


def test_losers_give_up_after_waiting():
    from django.core.cache import cache

    cache.add("held:lock", "someone-else", timeout=30)  # a winner that never finishes
    started = time.monotonic()
    with pytest.raises(CachedReadFailed):
        cached_read(key="held", fetch=lambda: {"x": 1}, fresh_for=10, wait_for=0.2)
    assert time.monotonic() - started < 1.5


def test_a_refresher_releases_only_its_own_lock():
    """Had the lock expired mid-refresh and been won by another caller, that caller's lock must survive."""
    from django.core.cache import cache

    def slow_and_overtaken() -> dict:
        cache.set("k:lock", "the next winner", timeout=30)  # ours expired; someone else took the lock
        return {"n": 1}

    cached_read(key="k", fetch=slow_and_overtaken, fresh_for=10)
    assert cache.get("k:lock") == "the next winner"


def test_the_refresh_lock_outlives_a_whole_upstream_call_with_retries(settings):
    settings.KODEXA_CONNECT_TIMEOUT, settings.KODEXA_READ_TIMEOUT, settings.KODEXA_TOTAL_TIMEOUT = 3, 10, 20
    assert shared_cache._upstream_budget() > 20
