"""Template tags for the inline SVG charts (templates/charts/): the geometry comes from executions.charts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from executions.charts.geometry import DAY, HOUR, GanttAxis, GanttBar, Window, gantt, sparkline
from executions.charts.selectors import Memo, RunsChart
from executions.kodexa import Execution, ExecutionStatus, Step
from executions.templatetags.panel import STATUS_TONES, _e, _html

register = template.Library()


@register.filter
def pct(value: float) -> str:
    """A percentage for an SVG attribute, whatever the locale's decimal separator."""
    return f"{float(value):g}%"


@register.filter
def num(value: int) -> str:
    """1,234: humanize's intcomma goes through localisation, about 20 times slower, and a chart has dozens."""
    return f"{int(value):,}"


@register.filter
def status_tone(value: str | ExecutionStatus) -> str:
    return STATUS_TONES[ExecutionStatus.parse(str(value))]


@register.filter
def status_label(value: str) -> str:
    return ExecutionStatus.parse(value).label


@register.filter
def bucket_time(value: datetime, bucket_seconds: int) -> str:
    """A bucket's start as an axis reads it (UTC): 14:00 within a day, Nov 28 for days."""
    value = value.astimezone(UTC)
    if bucket_seconds >= DAY:
        return f"{value:%b} {value.day}"
    return f"{value:%H:%M}"


@register.filter
def bucket_span(value: datetime, bucket_seconds: int) -> str:
    """A bucket in words for the data table: "2026-11-28 14:00 to 15:00 UTC", "2026-11-28 (UTC)"."""
    start = value.astimezone(UTC)
    end = start + timedelta(seconds=bucket_seconds)
    if bucket_seconds == DAY:
        return f"{start:%Y-%m-%d} (UTC)"
    if bucket_seconds > DAY:
        return f"{start:%Y-%m-%d} to {end - timedelta(days=1):%Y-%m-%d} (UTC)"
    if bucket_seconds >= HOUR and bucket_seconds % HOUR == 0 and end.date() != start.date():
        return f"{start:%Y-%m-%d %H:%M} to 24:00 UTC"
    return f"{start:%Y-%m-%d %H:%M} to {end:%H:%M} UTC"


@register.filter
def data_age(seconds: float | None) -> str:
    """How old data is, to the second while it is young: "12 s ago", "3 min ago"."""
    if seconds is None:
        return ""
    seconds = int(seconds)
    if seconds < 1:
        return "just now"
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


_drawn = Memo()


@register.simple_tag
def runs_chart(chart: RunsChart, title: str = "Runs over time", chart_id: object = "runs") -> SafeString:
    """The whole figure (templates/charts/_runs.html). A chart with a key is drawn once per process: every
    viewer of the list page in the same minute sees the same bars."""
    def draw() -> SafeString:
        return render_to_string("charts/_runs.html", {"chart": chart, "title": title, "chart_id": f"chart-{chart_id}"})

    if not chart.key:
        return draw()
    return _drawn.get((chart.key, title, str(chart_id)), draw)


@register.inclusion_tag("charts/_sparkline.html")
def trend_line(values: Sequence[int], window: Window) -> dict[str, object]:
    caption = f"Trend {window.phrase}, per {window.bucket_label}"
    return {"line": sparkline(values), "values": values, "caption": caption}


@dataclass(frozen=True, slots=True)
class GanttRow:
    step: Step
    bar: GanttBar
    tone: str


@register.inclusion_tag("charts/_gantt.html")
def steps_gantt(execution: Execution, now: datetime | None = None) -> dict[str, object]:
    """The step timeline: one bar per step from its start to its end (now while it runs), by status colour."""
    now = now or datetime.now(UTC)
    spans = [(s.start, s.end, s.status.is_active) for s in execution.steps]
    bars, axis = gantt(spans, now=now)
    rows = [GanttRow(step=s, bar=b, tone="skipped-grey" if s.status is ExecutionStatus.SKIPPED
                     else STATUS_TONES[s.status]) for s, b in zip(execution.steps, bars, strict=True)]
    return {"rows": rows, "axis": axis, "has_bars": any(b.x is not None for b in bars),
            "running": any(b.running for b in bars),
            "total": (axis.end - axis.start) if isinstance(axis, GanttAxis) and axis.start and axis.end else None}


# --- the repeated parts of a runs chart, built in Python ---------------------------------------------------
# Through the template engine, the bars, their hover titles and the table cost about 10 ms per chart (a few
# hundred filter calls); the list page is budgeted in single milliseconds. Every value is escaped with `_e`.

def _n(value: int) -> str:
    return f"{value:,}"


def _runs(value: int) -> str:
    return f"{_n(value)} run{'s' if value != 1 else ''}"


@register.simple_tag
def runs_plot(chart: RunsChart) -> SafeString:
    """The bars (stacked by status), the dashed buckets not read, and one hover target per bucket with its
    counts in words."""
    size = chart.window.bucket_seconds
    parts = [f'<line class="grid" x1="0" x2="100%" y1="{t.y:g}%" y2="{t.y:g}%"></line>' for t in chart.bars.ticks]
    for col in chart.bars.columns:
        x, width = f"{col.x:g}%", f"{col.width:g}%"
        bucket = col.bucket
        if not bucket.covered or bucket.partial:
            parts.append(f'<rect class="not-read" x="{x}" y="0" width="{width}" height="100%"></rect>')
        parts.extend(f'<rect class="tone-{STATUS_TONES[ExecutionStatus.parse(s.status)]}" fill="currentColor" '
                     f'x="{x}" y="{s.y:g}%" width="{width}" height="{s.height:g}%"></rect>' for s in col.segments)
        if bucket.covered:
            detail = "".join(f" · {ExecutionStatus.parse(s).label} {_n(n)}" for s, n in bucket.counts if n)
            words = f"{_runs(bucket.total)}{detail}{' (partly read)' if bucket.partial else ''}"
        else:
            words = "not read"
        parts.append(f'<rect class="hit" x="{x}" y="0" width="{width}" height="100%"><title>'
                     f'{_e(bucket_span(bucket.start, size))}: {_e(words)}</title></rect>')
    return _html("".join(parts))


@register.simple_tag
def runs_table_rows(chart: RunsChart) -> SafeString:
    """The data table's body: the buckets not read as one row, then each bucket read with its counts."""
    size = chart.window.bucket_seconds
    rows = []
    if chart.not_read:
        start, end = chart.not_read
        rows.append(f'<tr class="muted" data-testid="not-read"><th scope="row">{start:%Y-%m-%d %H:%M} to '
                    f'{end:%Y-%m-%d %H:%M} UTC</th><td colspan="{len(chart.statuses) + 1}">not read (older than '
                    f'the latest {_n(chart.read)})</td></tr>')
    for bucket, counts in chart.rows:
        cells = "".join(f'<td class="num">{_n(n)}</td>' for n in counts)
        partly = " (partly read)" if bucket.partial else ""
        rows.append(f'<tr><th scope="row">{_e(bucket_span(bucket.start, size))}{partly}</th>{cells}'
                    f'<td class="num">{_n(bucket.total)}</td></tr>')
    return _html("".join(rows))
