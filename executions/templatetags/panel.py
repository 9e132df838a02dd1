"""Template helpers for status badges, progress bars, times, durations and copyable ids.

Everything goes through format_html, so upstream strings are always escaped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from executions.kodexa import Execution, ExecutionStatus
from executions.selectors import ExecutionRow

register = template.Library()
COPY_ICON = mark_safe(
    '<svg aria-hidden="true" viewBox="0 0 16 16" width="13" height="13" fill="none" stroke="currentColor" '
    'stroke-width="1.5"><rect x="5" y="5" width="9" height="9" rx="1.5"/>'
    '<path d="M11 5V3.5A1.5 1.5 0 0 0 9.5 2h-6A1.5 1.5 0 0 0 2 3.5v6A1.5 1.5 0 0 0 3.5 11H5"/></svg>'
)
_DASH = mark_safe('<span class="muted">—</span>')


@register.simple_tag
def status_badge(status: ExecutionStatus | None, label: str | None = None) -> SafeString:
    status = status or ExecutionStatus.UNKNOWN
    text = label or status.label
    return format_html('<span class="badge tone-{}" data-status="{}">{}</span>', status.tone, status.value, text)


@register.simple_tag
def progress_bar(percent: int | None, label: str = "Progress") -> SafeString:
    if percent is None:
        return _DASH
    return format_html(
        '<span class="progress"><progress value="{}" max="100" aria-label="{}"></progress>'
        '<span class="pct">{}%</span></span>',
        percent, label, percent,
    )


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


@register.simple_tag
def ref_label(ref: object, what: str) -> SafeString:
    """A resolved name (assistant, document path), or the id marked unknown when Kodexa does not know it.

    A tag rather than an include: it renders twice per row of 50-row tables, where includes cost real time.
    """
    if ref is None:
        return _DASH
    if ref.known:  # type: ignore[attr-defined]
        return format_html('<span title="{}">{}</span>', ref.display, ref.display)  # type: ignore[attr-defined]
    return format_html('<span class="unknown-ref" title="Kodexa does not know this {}">{}… (unknown)</span>',
                       what, ref.id[:8])  # type: ignore[attr-defined]


@register.simple_tag
def execution_progress(execution: Execution) -> SafeString:
    """A bar while it runs; afterwards only the figure it stopped at, muted."""
    if execution.status.is_active:
        return progress_bar(execution.percent)
    if execution.percent is None:
        return _DASH
    return format_html('<span class="muted">{}%</span>', execution.percent)


@register.filter
def timetag(value: datetime | None) -> SafeString:
    """Absolute time: UTC in the HTML, the viewer's local time once the page's script runs; UTC on hover."""
    if not isinstance(value, datetime):
        return _DASH
    utc = _utc(value)
    return format_html('<time datetime="{}" data-local title="{} UTC">{} UTC</time>',
                       utc.isoformat().replace("+00:00", "Z"), utc.strftime("%Y-%m-%d %H:%M:%S"),
                       utc.strftime("%Y-%m-%d %H:%M:%S"))


@register.filter
def ago(value: datetime | None) -> SafeString:
    """Relative time ("3 min ago"), computed on the server and kept fresh by the page's script."""
    if not isinstance(value, datetime):
        return _DASH
    utc = _utc(value)
    return format_html('<time datetime="{}" data-relative title="{} UTC">{}</time>',
                       utc.isoformat().replace("+00:00", "Z"), utc.strftime("%Y-%m-%d %H:%M:%S"),
                       relative_text(utc))


def relative_text(value: datetime, now: datetime | None = None) -> str:
    seconds = int(((now or datetime.now(UTC)) - value).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 45:
        text = "just now" if not future else "in a moment"
        return text
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            amount = round(seconds / size)
            name = f"{unit}s" if unit == "day" and amount != 1 else unit
            return f"in {amount} {name}" if future else f"{amount} {name} ago"
    return "just now"


@register.filter
def duration(value: timedelta | None) -> str:
    """1 h 02 min, 3 min 07 s, 12 s, 850 ms."""
    if not isinstance(value, timedelta):
        return "—"
    total_ms = int(value.total_seconds() * 1000)
    if total_ms < 1000:
        return f"{max(total_ms, 0)} ms"
    seconds = total_ms // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


@register.filter
def milliseconds(value: int | None) -> timedelta | None:
    return timedelta(milliseconds=value) if isinstance(value, int) else None


@register.simple_tag
def copy_id(value: str | None, short: bool = True) -> SafeString:
    if not value:
        return _DASH
    shown = value[:8] if short and len(value) > 12 else value
    return format_html(
        '<span class="id-cell"><code title="{}">{}</code>'
        '<button type="button" class="copy" data-copy="{}" aria-label="Copy id {}" title="Copy id">{}</button></span>',
        value, shown, value, value, COPY_ICON,
    )


@register.simple_tag(takes_context=True)
def querystring_with(context: template.Context, **changes: object) -> str:
    """The current query with some parameters replaced (pagination and sorting links)."""
    query = context["query"]
    return "?" + query.querystring(**changes)


@register.simple_tag
def copy_icon() -> SafeString:
    return COPY_ICON


@register.filter
def urlencode_dict(params: dict[str, str]) -> str:
    return urlencode(params)


@register.simple_tag
def execution_list_row(row: ExecutionRow, detail_prefix: str, can_cancel: bool) -> SafeString:
    """One row of the execution list, built in Python.

    Django's template engine spends about a millisecond per row on variable lookups alone; a 50-row page paid
    more for its table than Kodexa took to answer. Every value still goes through format_html (escaped).
    """
    e = row.execution
    select = ""
    if can_cancel:
        box = format_html('<input type="checkbox" name="ids" value="{}" aria-label="Select execution {}">', e.id,
                          e.id[:8]) if e.status.is_cancellable else ""
        select = format_html('<td class="select">{}</td>', box)
    description = e.description or ""
    return format_html(
        '<tr data-execution-id="{id}">{select}<td>{badge}</td>'
        '<td><span class="id-cell"><a href="{prefix}{id}/" title="{id}"><code>{short}</code></a>'
        '<button type="button" class="copy" data-copy="{id}" aria-label="Copy id {id}" title="Copy id">{icon}</button>'
        '</span></td><td class="assistant">{assistant}</td><td class="desc">{family}</td>'
        '<td class="desc" title="{title}">{text}</td><td class="nowrap">{created}</td><td class="nowrap">{started}</td>'
        '<td class="num nowrap">{duration}</td><td>{progress}</td></tr>',
        id=e.id, select=select, badge=status_badge(e.status, e.status_display), prefix=detail_prefix,
        short=e.id[:8], icon=COPY_ICON, assistant=ref_label(row.assistant, "assistant"),
        family=ref_label(row.family, "document family"), title=_clip(description, 300),
        text=_clip(description, 120) or "—", created=ago(e.created_on), started=ago(e.start_date),
        duration=duration(e.duration), progress=execution_progress(e),
    )


def _clip(text: str, limit: int) -> str:
    # Truncator normalises unicode on every call; plain slicing is enough for a table cell.
    return text if len(text) <= limit else text[: limit - 1] + "…"
