"""Parallel upstream reads. One shared, bounded pool per process; each task keeps the request's context
(request id in logs) because it runs in a copy of the caller's contextvars."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

# Bounded so a burst of dashboard views cannot open hundreds of upstream connections per worker.
_THREAD_PREFIX = "kodexa-"
READ_POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix=f"{_THREAD_PREFIX}read")
# Cancels get their own, smaller pool: a bulk cancel of 100 must neither starve page reads nor hit Kodexa
# with 100 simultaneous PUTs.
CANCEL_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix=f"{_THREAD_PREFIX}cancel")


def submit(fn: Callable[[], T], *, pool: ThreadPoolExecutor = READ_POOL) -> Future[T]:
    context = contextvars.copy_context()
    return pool.submit(context.run, fn)


def run_parallel(tasks: Iterable[Callable[[], T]], *, pool: ThreadPoolExecutor = READ_POOL) -> list[T | BaseException]:
    """Run the tasks at once; results in order, an exception in place of a failed task's result."""
    if threading.current_thread().name.startswith(_THREAD_PREFIX):
        # Already inside the pool: waiting on it from here could exhaust it and deadlock, so run inline.
        return [_call(task) for task in tasks]
    futures = [submit(task, pool=pool) for task in tasks]
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
