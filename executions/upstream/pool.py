"""Parallel upstream reads. One shared, bounded pool per process; each task logs under its caller's request
id and client address.

Tasks run in their pool thread's own context, with only the request id and client address carried over.
Running them in a copy of the caller's context (contextvars.copy_context) looks equivalent but is not: Django keeps its
per-thread cache clients in asgiref Locals, which ignore storage copied from another thread, so every task
built a new cache client with a new connection pool and a new Redis connection, about a millisecond each.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from kodexa_admin.logging import client_ip_var, request_id_var

T = TypeVar("T")

# Bounded so a burst of dashboard views cannot open hundreds of upstream connections per worker.
_THREAD_PREFIX = "kodexa-"
READ_POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix=f"{_THREAD_PREFIX}read")
# Cancels get their own, smaller pool: a bulk cancel of 100 must neither starve page reads nor hit Kodexa
# with 100 simultaneous PUTs.
CANCEL_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix=f"{_THREAD_PREFIX}cancel")


def submit(fn: Callable[[], T], *, pool: ThreadPoolExecutor = READ_POOL) -> Future[T]:
    return pool.submit(_as_request, request_id_var.get(), client_ip_var.get(), fn)


def _as_request(request_id: str, client_ip: str, fn: Callable[[], T]) -> T:
    token, ip_token = request_id_var.set(request_id), client_ip_var.set(client_ip)
    try:
        return fn()
    finally:
        request_id_var.reset(token)
        client_ip_var.reset(ip_token)


def run_parallel(tasks: Iterable[Callable[[], T]], *, pool: ThreadPoolExecutor = READ_POOL,
                 meanwhile: Callable[[], object] | None = None) -> list[T | BaseException]:
    """Run the tasks at once; results in order, an exception in place of a failed task's result.

    `meanwhile` runs in the calling thread while the tasks are in flight: the database reads a page needs
    anyway (its connection belongs to the request's thread) then cost no time of their own.
    """
    if threading.current_thread().name.startswith(_THREAD_PREFIX):
        # Already inside the pool: waiting on it from here could exhaust it and deadlock, so run inline.
        if meanwhile is not None:
            meanwhile()
        return [_call(task) for task in tasks]
    futures = [submit(task, pool=pool) for task in tasks]
    if meanwhile is not None:
        meanwhile()
    results: list[T | BaseException] = []
    for future in futures:
        try:
            results.append(future.result())
        except Exception as exc:  # handed back to the caller, which decides per task
            results.append(exc)
    return results


def _call(task: Callable[[], T]) -> T | BaseException:
    try:
        return task()
    except Exception as exc:
        return exc
