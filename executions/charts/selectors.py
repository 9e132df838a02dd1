"""Runs over time: ONE shared, bounded upstream read per chart query, bucketed here.

The read is a list of the latest SAMPLE_SIZE executions created in the chart's window (newest first), with the
window's total (`totalElements`). Its cost is one Kodexa call per distinct query per freshness window
(ReadKind.RUNS_SAMPLE: 60 s on the list page, the dashboard's refresh on a dashboard), shared by every viewer
and worker through the cache. When the window held more executions than one read returns, the chart says so
("based on the latest 200 of 1,234") and marks the older buckets as not read rather than showing them empty.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from django.utils import timezone

from executions.browse.query import DEFAULT_PAGE_SIZE, DEFAULT_SORT, ExecutionQuery
from executions.charts.geometry import Bucket, StackedBars, Window, bucket_runs, stacked_bars, window_for
from executions.kodexa import ExecutionStatus, KodexaError
from executions.upstream.cache import Cached, Read, ReadKind, read_many
from executions.upstream.problems import UpstreamProblem, describe_upstream_error, log_upstream_problem
from executions.upstream.tenant import tenant_list_executions

SAMPLE_SIZE = 200  # the panel's largest page (docs/kodexa-api.md: pageSize at most 200)
V = TypeVar("V")


class Memo:
    """A small per-process memory of values computed from one shared sample: everyone looking at the same
    chart in the same minute gets the same bars, so they are computed (and drawn) once. Bounded, thread-safe;
    values are immutable."""

    def __init__(self, size: int = 128) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._values: dict[Hashable, object] = {}

    def get(self, key: Hashable, make: Callable[[], V]) -> V:
        found = self._values.get(key, self)
        if found is not self:
            return found  # type: ignore[return-value]
        value = make()
        with self._lock:
            if len(self._values) >= self._size:
                self._values.clear()  # crude and rare: a chart per query and minute
            self._values[key] = value
        return value

# Bottom to top: finished runs under the ones still moving, failures next to successes so they stand out.
STACK_ORDER = (
    ExecutionStatus.SUCCEEDED, ExecutionStatus.REPROCESSED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED,
    ExecutionStatus.CANCELLING, ExecutionStatus.SKIPPED, ExecutionStatus.PENDING_REPROCESSING,
    ExecutionStatus.RUNNING, ExecutionStatus.REQUESTED, ExecutionStatus.PENDING, ExecutionStatus.UNKNOWN,
)


@dataclass(frozen=True, slots=True)
class RunsSample:
    """What one read returned, as stored in the shared cache (plain, picklable)."""

    window: Window
    total: int  # executions Kodexa counts in the window
    points: tuple[tuple[datetime, str], ...]  # (created, status) of the latest ones, at most SAMPLE_SIZE

    @property
    def truncated(self) -> bool:
        return self.total > len(self.points)


@dataclass(frozen=True, slots=True)
class RunsChart:
    window: Window
    buckets: tuple[Bucket, ...]
    bars: StackedBars
    statuses: tuple[ExecutionStatus, ...]  # in the legend: those with at least one run, stack order
    totals: tuple[tuple[ExecutionStatus, int], ...]  # per status, over the buckets read
    total: int  # Kodexa's count for the window
    read: int  # executions the chart is built from
    fetched_at: datetime
    age_seconds: float
    stale: bool = False
    key: str = ""  # the sample's cache key and time, and the statuses: the same key, the same chart

    @property
    def truncated(self) -> bool:
        return self.total > self.read

    @property
    def rows(self) -> tuple[tuple[Bucket, tuple[int, ...]], ...]:
        """The data table: each bucket read, with its counts for the legend's statuses, in its order."""
        wanted = [s.value for s in self.statuses]
        return tuple((b, tuple(dict(b.counts)[s] for s in wanted)) for b in self.buckets if b.covered)

    @property
    def not_read(self) -> tuple[datetime, datetime] | None:
        """From when to when the buckets were not read (the oldest ones, when one read held only the latest): one
        row in the table rather than one per bucket."""
        missing = [b for b in self.buckets if not b.covered]
        return (missing[0].start, missing[-1].end) if missing else None

    @property
    def busiest(self) -> Bucket | None:
        return max(self.buckets, key=lambda b: b.total, default=None) if any(b.total for b in self.buckets) else None


@dataclass(frozen=True, slots=True)
class ChartResult:
    chart: RunsChart | None = None
    problem: UpstreamProblem | None = None


def _sample_query(query: ExecutionQuery) -> ExecutionQuery:
    # Sort, page and page size of the list do not change what the chart counts: one cache entry for them all.
    return replace(query, sort=DEFAULT_SORT, page=1, page_size=DEFAULT_PAGE_SIZE)


def runs_read(query: ExecutionQuery, fresh_for: float | None = None) -> Read[RunsSample]:
    base = _sample_query(query)
    # The view keeps a relative window relative ("last 24 h"): the key does not change as time moves.
    params = {"view": base.to_view(), "size": SAMPLE_SIZE}
    return Read(ReadKind.RUNS_SAMPLE, params, lambda: _fetch(base), fresh_for)


def _fetch(query: ExecutionQuery) -> RunsSample:
    now = timezone.now()
    window = window_for(now=now, within_hours=query.created_within_hours, after=query.created_after,
                        before=query.created_before)
    bounded = replace(query, created_within_hours=None, created_after=window.start)
    page = tenant_list_executions(page=1, page_size=SAMPLE_SIZE, filters=bounded.clauses(now=now),
                                  query=query.text, sort=(DEFAULT_SORT,))
    points = tuple((e.created_on, e.status.value) for e in page.items[:SAMPLE_SIZE] if e.created_on is not None)
    return RunsSample(window=window, total=max(page.total_elements, len(points)), points=points)


def runs_chart(sample: Cached[RunsSample], statuses: tuple[ExecutionStatus, ...] = ()) -> RunsChart:
    """The chart of a sample. `statuses` (the query's) narrows the stack; none means every status."""
    value = sample.value
    order = tuple(s for s in STACK_ORDER if not statuses or s in statuses)
    buckets = bucket_runs(value.points, value.window, [s.value for s in order], truncated=value.truncated)
    totals = tuple((s, sum(dict(b.counts)[s.value] for b in buckets)) for s in order)
    return RunsChart(window=value.window, buckets=tuple(buckets), bars=stacked_bars(buckets),
                     statuses=tuple(s for s, n in totals if n), totals=tuple((s, n) for s, n in totals if n),
                     total=value.total, read=len(value.points), fetched_at=sample.fetched_at_dt,
                     age_seconds=sample.age, stale=sample.is_stale)


_charts = Memo()


def runs_chart_shared(read: Read[RunsSample], sample: Cached[RunsSample],
                      statuses: tuple[ExecutionStatus, ...] = ()) -> RunsChart:
    """runs_chart, computed once per process for each sample (a list page shows it on every view)."""
    key = f"{read.key}:{sample.fetched_at}:{','.join(statuses)}"
    chart = _charts.get(key, lambda: replace(runs_chart(sample, statuses), key=key))
    return replace(chart, age_seconds=sample.age, stale=sample.is_stale)


def runs_chart_for_list(query: ExecutionQuery) -> ChartResult:
    """The list page's chart of its filters; never raises for Kodexa (the chart is not the page)."""
    read = runs_read(query)
    [outcome] = read_many([read])
    if isinstance(outcome, Cached):
        return ChartResult(chart=runs_chart_shared(read, outcome, query.statuses))
    if isinstance(outcome, KodexaError):
        problem = describe_upstream_error(outcome)
        log_upstream_problem(outcome, problem)
        return ChartResult(problem=problem)
    raise outcome
