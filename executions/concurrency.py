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
_THREAD_PREFIX = "kodexa-read"
_POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix=_THREAD_PREFIX)


def submit(fn: Callable[[], T]) -> Future[T]:
    context = contextvars.copy_context()
    return _POOL.submit(context.run, fn)


def run_parallel(tasks: Iterable[Callable[[], T]]) -> list[T | BaseException]:
    """Run the tasks at once; results in order, an exception in place of a failed task's result."""
    if threading.current_thread().name.startswith(_THREAD_PREFIX):
        # Already inside the pool: waiting on it from here could exhaust it and deadlock, so run inline.
        return [_call(task) for task in tasks]
    futures = [submit(task) for task in tasks]
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
