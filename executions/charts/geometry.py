"""Data -> chart geometry, as plain numbers: no Django, no I/O, so every rule is a unit test away.

Charts are inline SVG drawn by templates/charts/. Positions are percentages of the plot (SVG accepts them on
rect, line and text), so one chart fits any width without scaling its text: no viewBox, no script, no inline
style (the CSP forbids both). Colours are CSS classes (`tone-*`, light and dark in app.css).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MINUTE, HOUR, DAY = 60, 3600, 86400
# Bucket sizes a window may be cut into, smallest first; the smallest that gives at most MAX_BUCKETS wins.
BUCKET_SIZES = (5 * MINUTE, 15 * MINUTE, HOUR, 3 * HOUR, DAY, 7 * DAY, 30 * DAY)
MAX_BUCKETS = 48
DEFAULT_WINDOW = timedelta(hours=24)


def _pct(value: float) -> float:
    """A percentage for an SVG attribute: three decimals are finer than any screen."""
    return round(min(100.0, max(0.0, value)), 3)


def nice_max(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (an axis top people read at a glance)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover (the loop always returns)


# --- windows and buckets ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Window:
    start: datetime  # executions created after this (strict, as the filter)
    end: datetime
    bucket_seconds: int
    ends_now: bool = True  # False: the query's "created before" ends it earlier

    @property
    def label(self) -> str:
        """"the last 24 hours", "the last 7 days" for a window ending when it was read; else its two ends."""
        if not self.ends_now:
            return f"{self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} UTC"
        hours = round((self.end - self.start).total_seconds() / HOUR)
        if hours % 24 == 0 and hours >= 48:
            return f"the last {hours // 24} days"
        return f"the last {hours} hour{'s' if hours != 1 else ''}"

    @property
    def phrase(self) -> str:
        """The window in a sentence: "in the last 24 hours", "from 2026-11-26 14:30 to 2026-11-27 14:30 UTC"."""
        return f"in {self.label}" if self.ends_now else f"from {self.label}"

    @property
    def bucket_label(self) -> str:
        return bucket_name(self.bucket_seconds)


def bucket_name(seconds: int) -> str:
    names = {5 * MINUTE: "5 minutes", 15 * MINUTE: "15 minutes", HOUR: "hour", 3 * HOUR: "3 hours", DAY: "day",
             7 * DAY: "week", 30 * DAY: "30 days"}
    return names.get(seconds, f"{seconds} s")


def choose_bucket(span_seconds: float) -> int:
    """The smallest bucket that cuts the span into at most MAX_BUCKETS."""
    for size in BUCKET_SIZES:
        if span_seconds / size <= MAX_BUCKETS:
            return size
    return BUCKET_SIZES[-1]


def window_for(*, now: datetime, within_hours: int | None = None, after: datetime | None = None,
               before: datetime | None = None) -> Window:
    """The window a query's chart covers: its relative window, or its dates, else the last 24 hours. A window
    longer than MAX_BUCKETS of the largest bucket keeps its latest part."""
    end = min(before, now) if before else now
    if within_hours:
        start = now - timedelta(hours=within_hours)
    elif after:
        start = after
    else:
        start = end - DEFAULT_WINDOW
    if start >= end:  # "created before" earlier than the window's start: the list is empty; chart the day before
        start = end - DEFAULT_WINDOW
    size = choose_bucket((end - start).total_seconds())
    start = max(start, end - timedelta(seconds=size * MAX_BUCKETS))
    return Window(start=start.astimezone(UTC), end=end.astimezone(UTC), bucket_seconds=size, ends_now=end >= now)


@dataclass(frozen=True, slots=True)
class Bucket:
    start: datetime
    end: datetime
    counts: tuple[tuple[str, int], ...]  # (status, count) in the chart's status order, zeros included
    covered: bool = True  # False: older than the oldest execution read (the read held only the latest ones)
    partial: bool = False  # holds the oldest execution read: its older part was not read

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)


def bucket_edges(window: Window) -> list[tuple[datetime, datetime]]:
    """Buckets aligned on whole units (hours on the hour, days at 00:00 UTC), the first one holding the window's
    start and the last its end (so the last bucket is "so far")."""
    size = window.bucket_seconds
    epoch_end = window.end.timestamp()
    last_start = math.floor(epoch_end / size) * size
    first_start = math.floor(window.start.timestamp() / size) * size
    count = int((last_start - first_start) // size) + 1
    return [(datetime.fromtimestamp(first_start + i * size, tz=UTC),
             datetime.fromtimestamp(first_start + (i + 1) * size, tz=UTC)) for i in range(count)]


def bucket_runs(points: Iterable[tuple[datetime, str]], window: Window, statuses: Sequence[str], *,
                truncated: bool = False) -> list[Bucket]:
    """Count executions (creation time, status) per bucket and status. Points outside the window, or of a
    status not charted, are left out. `truncated`: the points are only the latest executions of the window, so
    buckets older than the oldest point are not covered (and the one holding it only in part)."""
    edges = bucket_edges(window)
    index = {status: i for i, status in enumerate(statuses)}
    grid = [[0] * len(statuses) for _ in edges]
    first = edges[0][0].timestamp()
    size = window.bucket_seconds
    oldest: datetime | None = None
    for created, status in points:
        if oldest is None or created < oldest:
            oldest = created
        if not window.start < created <= window.end or status not in index:
            continue
        slot = int((created.timestamp() - first) // size)
        if 0 <= slot < len(edges):
            grid[slot][index[status]] += 1
    buckets = []
    for (start, end), row in zip(edges, grid, strict=True):
        covered = not truncated or (oldest is not None and end > oldest)
        partial = truncated and covered and oldest is not None and start < oldest
        buckets.append(Bucket(start=start, end=end, counts=tuple(zip(statuses, row, strict=True)), covered=covered,
                              partial=partial))
    return buckets


# --- stacked bars -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Segment:
    status: str
    count: int
    y: float  # percent from the top
    height: float  # percent


@dataclass(frozen=True, slots=True)
class Column:
    bucket: Bucket
    x: float  # percent from the left
    width: float
    segments: tuple[Segment, ...]  # bottom to top, zero counts left out
    top: float  # percent from the top of the whole stack (for its hover target)


@dataclass(frozen=True, slots=True)
class Tick:
    value: int
    y: float  # percent from the top


@dataclass(frozen=True, slots=True)
class StackedBars:
    columns: tuple[Column, ...]
    axis_max: int
    ticks: tuple[Tick, ...]
    x_labels: tuple[tuple[float, datetime], ...]  # (percent from the left, bucket start) for a few buckets


GAP = 0.18  # of a slot, between bars


def stacked_bars(buckets: Sequence[Bucket], *, label_count: int = 4) -> StackedBars:
    """Columns of segments stacked bottom up, scaled so the tallest column reaches a round axis top."""
    axis_max = nice_max(max((b.total for b in buckets), default=0))
    slot = 100.0 / len(buckets) if buckets else 100.0
    columns = []
    for i, bucket in enumerate(buckets):
        bottom = 100.0
        segments = []
        for status, count in bucket.counts:
            if count <= 0:
                continue
            height = 100.0 * count / axis_max
            bottom -= height
            segments.append(Segment(status=status, count=count, y=_pct(bottom), height=_pct(height)))
        columns.append(Column(bucket=bucket, x=_pct(i * slot + slot * GAP / 2), width=_pct(slot * (1 - GAP)),
                              segments=tuple(segments), top=_pct(bottom)))
    ticks = tuple(Tick(value=v, y=_pct(100.0 - 100.0 * v / axis_max))
                  for v in sorted({0, axis_max // 2 if axis_max % 2 == 0 else 0, axis_max}))
    return StackedBars(columns=tuple(columns), axis_max=axis_max, ticks=ticks,
                       x_labels=_x_labels(buckets, slot, label_count))


def _x_labels(buckets: Sequence[Bucket], slot: float, count: int) -> tuple[tuple[float, datetime], ...]:
    if not buckets:
        return ()
    step = max(1, math.ceil(len(buckets) / count))
    return tuple((_pct(i * slot), buckets[i].start) for i in range(0, len(buckets), step))


# --- sparkline ----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Sparkline:
    points: str  # the polyline's "x,y x,y", in a 0-100 by 0-30 box
    area: str  # the same line closed along the bottom
    peak: int
    last: int


SPARK_HEIGHT = 30


def sparkline(values: Sequence[int]) -> Sparkline:
    """A trend line of counts in a 100 x 30 box (drawn with preserveAspectRatio="none": it has no text). The
    line keeps a pixel off the edges; all zeros is a flat line along the bottom."""
    peak = max(values, default=0)
    if not values:
        return Sparkline(points="", area="", peak=0, last=0)
    step = 100.0 / (len(values) - 1) if len(values) > 1 else 0.0
    xy = []
    for i, value in enumerate(values):
        x = round(i * step, 2) if len(values) > 1 else 50.0
        y = round(SPARK_HEIGHT - 1 - (SPARK_HEIGHT - 2) * (value / peak if peak else 0), 2)
        xy.append((x, y))
    if len(xy) == 1:  # one bucket: a short flat line, not an invisible point
        xy = [(0.0, xy[0][1]), (100.0, xy[0][1])]
    points = " ".join(f"{x:g},{y:g}" for x, y in xy)
    area = f"{xy[0][0]:g},{SPARK_HEIGHT} {points} {xy[-1][0]:g},{SPARK_HEIGHT}"
    return Sparkline(points=points, area=area, peak=peak, last=values[-1])


# --- step timeline (Gantt) ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class GanttBar:
    index: int
    x: float | None  # percent from the left; None: the step has no start (not started, skipped)
    width: float
    running: bool  # no end yet: the bar runs to now


@dataclass(frozen=True, slots=True)
class GanttAxis:
    start: datetime | None
    end: datetime | None
    ticks: tuple[tuple[float, datetime], ...]


MIN_BAR = 0.6  # percent: a step of a few milliseconds in an hour-long run is still seen


def gantt(spans: Sequence[tuple[datetime | None, datetime | None, bool]], *, now: datetime,
          tick_count: int = 3) -> tuple[tuple[GanttBar, ...], GanttAxis]:
    """One bar per (start, end, active) step on a shared time axis from the first start to the last end (or
    now, for a step still running)."""
    starts = [s for s, _, _ in spans if s is not None]
    if not starts:
        return tuple(GanttBar(i, None, 0.0, False) for i in range(len(spans))), GanttAxis(None, None, ())
    t0 = min(starts)
    ends = [(e if e is not None else (now if active else s)) for s, e, active in spans if s is not None]
    t1 = max([*ends, t0])
    span = (t1 - t0).total_seconds() or 1.0
    bars = []
    for i, (start, end, active) in enumerate(spans):
        if start is None:
            bars.append(GanttBar(i, None, 0.0, False))
            continue
        running = end is None and active
        stop = end if end is not None else (now if active else start)
        x = 100.0 * (start - t0).total_seconds() / span
        width = max(MIN_BAR, 100.0 * max(0.0, (stop - start).total_seconds()) / span)
        width = min(width, 100.0 - x) if x < 100.0 - MIN_BAR else MIN_BAR
        bars.append(GanttBar(i, _pct(min(x, 100.0 - MIN_BAR)), _pct(width), running))
    ticks = tuple((_pct(100.0 * k / (tick_count - 1)), t0 + (t1 - t0) * k / (tick_count - 1))
                  for k in range(tick_count)) if tick_count > 1 else ((0.0, t0),)
    return tuple(bars), GanttAxis(t0, t1, ticks)
