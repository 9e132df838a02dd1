"""The shared read pool: results in order, the request id carried into tasks, and per-thread resources
(Django's cache connections) reused from task to task rather than rebuilt for each one."""

from __future__ import annotations

import threading

from django.core.cache import caches

from executions.upstream.pool import run_parallel, submit
from kodexa_admin.logging import request_id_var


def test_results_come_back_in_order_with_failures_in_place():
    def boom() -> int:
        raise ValueError("no")

    results = run_parallel([lambda: 1, boom, lambda: 3])
    assert results[0] == 1 and isinstance(results[1], ValueError) and results[2] == 3


def test_tasks_log_under_the_request_id_of_their_caller():
    token = request_id_var.set("req-123")
    try:
        assert run_parallel([request_id_var.get, request_id_var.get]) == ["req-123", "req-123"]
    finally:
        request_id_var.reset(token)
    assert submit(request_id_var.get).result() == "-"  # and it does not stick to the pool's threads


def test_meanwhile_runs_in_the_callers_thread_while_tasks_are_in_flight():
    started, seen = threading.Event(), []

    def task() -> str:
        started.set()
        return "done"

    def meanwhile() -> None:
        seen.append(threading.current_thread() is threading.main_thread())

    assert run_parallel([task], meanwhile=meanwhile) == ["done"] and seen == [True]


def test_a_pool_thread_keeps_one_cache_client_across_tasks():
    """Each task used to run in a copy of its caller's context, where Django's per-thread cache handle is not
    visible: every upstream read built a new cache client, a new connection pool and a new Redis connection."""
    caches["default"]  # the caller has one, as a request thread does after loading the session
    seen: dict[int, set[int]] = {}
    for _ in range(20):
        ident, client = submit(lambda: (threading.get_ident(), id(caches["default"]))).result()
        seen.setdefault(ident, set()).add(client)
    assert all(len(clients) == 1 for clients in seen.values()), seen
