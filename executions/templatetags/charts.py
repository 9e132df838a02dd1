"""Template tags for the inline SVG charts (templates/charts/): the geometry comes from executions.charts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django import template

from executions.charts.geometry import DAY, HOUR, GanttAxis, GanttBar, Window, gantt, sparkline
from executions.charts.selectors import RunsChart
from executions.kodexa import Execution, ExecutionStatus, Step
from executions.templatetags.panel import STATUS_TONES

register = template.Library()


@register.filter
def pct(value: float) -> str:
    """A percentage for an SVG attribute, whatever the locale's decimal separator."""
    return f"{float(value):g}%"


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


@register.inclusion_tag("charts/_runs.html")
def runs_chart(chart: RunsChart, title: str = "Runs over time", chart_id: object = "runs") -> dict[str, object]:
    return {"chart": chart, "title": title, "chart_id": f"chart-{chart_id}"}


@register.inclusion_tag("charts/_sparkline.html")
def trend_line(values: Sequence[int], window: Window) -> dict[str, object]:
    caption = f"Trend over {window.label}, per {window.bucket_label}"
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
