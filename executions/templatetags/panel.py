"""Template helpers for status badges, progress bars, times, durations and copyable ids.

Each piece of markup is built once, by a plain function that escapes every value with `_e` (the standard
library's html.escape, which is what Django's escape does, minus its lazy-string wrapper: format_html costs
about 25 µs a call, and a 50-row list made some 400 calls). Tags wrap the result in mark_safe."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from executions.audit.models import AuditAction
from executions.browse.query import STUCK_AFTER_MINUTES, is_execution_id
from executions.browse.selectors import ExecutionRow
from executions.cancel.services import CancelOutcome, ReasonCategory
from executions.kodexa import Execution, ExecutionStatus
from executions.preferences.clock import user_zone
from executions.reprocess.services import ReprocessCategory, ReprocessOutcome

register = template.Library()
COPY_ICON = mark_safe(
    '<svg aria-hidden="true" viewBox="0 0 16 16" width="13" height="13" fill="none" stroke="currentColor" '
    'stroke-width="1.5"><rect x="5" y="5" width="9" height="9" rx="1.5"/>'
    '<path d="M11 5V3.5A1.5 1.5 0 0 0 9.5 2h-6A1.5 1.5 0 0 0 2 3.5v6A1.5 1.5 0 0 0 3.5 11H5"/></svg>'
)
_DASH = mark_safe('<span class="muted">—</span>')


def _e(value: object) -> str:
    """Escaped text for HTML content and quoted attributes."""
    return html.escape(str(value), quote=True)


def _html(markup: str) -> SafeString:
    """Markup from this module's builders, which pass every value they insert through `_e`."""
    return mark_safe(markup)  # noqa: S308


# Every colour the panel gives a status, an audit action or a cancel outcome, by CSS token (static/css/app.css
# defines each, light and dark). One colour per execution status: support staff read the list by colour; the
# semantic tones (success, danger...) are shared with audit actions and outcomes.
STATUS_TONES = {
    ExecutionStatus.PENDING: "neutral",
    ExecutionStatus.REQUESTED: "queued",
    ExecutionStatus.RUNNING: "progress",
    ExecutionStatus.SUCCEEDED: "success",
    ExecutionStatus.FAILED: "danger",
    ExecutionStatus.SKIPPED: "skipped",
    ExecutionStatus.CANCELLING: "warning",
    ExecutionStatus.CANCELLED: "muted",
    ExecutionStatus.PENDING_REPROCESSING: "info",
    ExecutionStatus.REPROCESSED: "reprocessed",
    ExecutionStatus.UNKNOWN: "unknown",
}
ACTION_TONES = {
    AuditAction.CANCEL_REQUESTED: "info",
    AuditAction.CANCEL_SUCCEEDED: "success",
    AuditAction.CANCEL_FAILED: "danger",
    AuditAction.CANCEL_UNKNOWN: "warning",
    AuditAction.CANCEL_DENIED: "danger",
    AuditAction.CANCEL_SKIPPED: "muted",
    AuditAction.CANCEL_RECONCILED: "warning",
    AuditAction.REPROCESS_REQUESTED: "info",
    AuditAction.REPROCESS_SUCCEEDED: "success",
    AuditAction.REPROCESS_FAILED: "danger",
    AuditAction.REPROCESS_UNKNOWN: "warning",
    AuditAction.REPROCESS_DENIED: "danger",
    AuditAction.REPROCESS_SKIPPED: "muted",
    AuditAction.REPROCESS_RECONCILED: "warning",
    AuditAction.AUDIT_EXPORTED: "neutral",
    AuditAction.ACCESS_OPERATOR_GRANTED: "info",
    AuditAction.ACCESS_OPERATOR_REVOKED: "warning",
    AuditAction.ACCESS_AUDITOR_GRANTED: "info",
    AuditAction.ACCESS_AUDITOR_REVOKED: "warning",
    AuditAction.ACCESS_TEAM_JOINED: "neutral",
    AuditAction.ACCESS_TEAM_LEFT: "muted",
    AuditAction.ACCESS_SUPERUSER_GRANTED: "warning",
    AuditAction.ACCESS_SUPERUSER_REVOKED: "warning",
    AuditAction.ACCESS_PERMISSION_GRANTED: "info",
    AuditAction.ACCESS_PERMISSION_REVOKED: "warning",
    AuditAction.ACCESS_GROUP_RENAMED: "neutral",
    AuditAction.AUTH_SSO_LOGIN: "success",
    AuditAction.AUTH_SSO_FAILED: "danger",
    AuditAction.AUTH_SSO_LOGOUT: "muted",
    AuditAction.AUTH_BREAK_GLASS_LOGIN: "warning",
    AuditAction.AUTH_BREAK_GLASS_FAILED: "danger",
}
OUTCOME_TONES = {
    CancelOutcome.SUCCEEDED: "success",
    CancelOutcome.FAILED: "danger",
    CancelOutcome.UNKNOWN: "warning",
    CancelOutcome.SKIPPED: "muted",
    CancelOutcome.PENDING: "neutral",
}


@register.filter
def reason_label(value: str | None) -> str:
    """A cancel or reprocess reason's category as words ("Wrong input or configuration"), whatever was stored."""
    if not value:
        return ""
    for categories in (ReasonCategory, ReprocessCategory):
        try:
            return categories(value).label
        except ValueError:
            pass
    return str(value).replace("_", " ").capitalize()


@register.filter
def tone(value: object) -> str:
    """The CSS token of an execution status, an audit action (or event) or a cancel outcome."""
    if isinstance(value, ExecutionStatus):
        return STATUS_TONES[value]
    if isinstance(value, CancelOutcome | ReprocessOutcome):  # the same outcomes, the same colours
        return OUTCOME_TONES[CancelOutcome(value.value)]
    return ACTION_TONES.get(getattr(value, "action", value), "neutral")


def _badge_html(status: ExecutionStatus | None, label: str | None = None) -> str:
    status = status or ExecutionStatus.UNKNOWN
    return (f'<span class="badge tone-{STATUS_TONES[status]}" data-status="{_e(status.value)}">'
            f'{_e(label or status.label)}</span>')


def _progress_html(percent: int | None, label: str = "Progress") -> str:
    if percent is None:
        return _DASH
    return (f'<span class="progress"><progress value="{int(percent)}" max="100" aria-label="{_e(label)}">'
            f'</progress><span class="pct">{int(percent)}%</span></span>')


def _ref_html(ref: object, what: str) -> str:
    if ref is None:
        return _DASH
    if ref.known:  # type: ignore[attr-defined]
        display = _e(ref.display)  # type: ignore[attr-defined]
        if "/" in ref.display:  # type: ignore[attr-defined]  # a document path: wraps at its slashes
            return f'<span class="doc-path" title="{display}">{_path_breaks_html(ref.display)}</span>'  # type: ignore[attr-defined]
        return f'<span title="{display}">{display}</span>'
    if ref.unavailable:  # type: ignore[attr-defined]
        return (f'<span class="unknown-ref" title="Kodexa could not be asked for this {_e(what)}\'s name just now">'
                f'{_e(ref.id[:8])}… (name unavailable)</span>')  # type: ignore[attr-defined]
    return (f'<span class="unknown-ref" title="Kodexa does not know this {_e(what)}">'
            f'{_e(ref.id[:8])}… (unknown)</span>')  # type: ignore[attr-defined]


def _path_breaks_html(path: str) -> str:
    # Each piece escaped on its own; the only markup added is <wbr> after each slash.
    return "/<wbr>".join(_e(part) for part in path.split("/"))


@register.filter
def path_breaks(value: object) -> SafeString:
    """A path that line-wraps after its slashes ("invoices/<wbr>2026/<wbr>scan.pdf"), never mid-name."""
    if value is None:
        return _html("")
    return _html(_path_breaks_html(str(value)))


def _execution_progress_html(execution: Execution) -> str:
    percent = execution.percent  # computed from the steps on each access
    if execution.status.is_active:
        return _progress_html(percent)
    # Finished: the figure it stopped at (or a dash) where a running row shows its figure, so the column lines up.
    figure = f"{int(percent)}%" if percent is not None else "—"
    return f'<span class="progress done"><span class="pct">{figure}</span></span>'


def _time_html(value: datetime | None, *, relative: bool) -> str:
    if not isinstance(value, datetime):
        return _DASH
    utc = value.astimezone(UTC)
    iso = utc.isoformat()  # 2026-11-28T21:35:34[.123456]+00:00; strftime would cost as much again
    in_utc = f"{iso[:10]} {iso[11:19]} UTC"
    stamp = iso.replace("+00:00", "Z")
    shown = _in_active_zone(utc) or in_utc
    # The other clock on hover: UTC when local is shown; the page's script adds the browser's time in UTC mode.
    title = f"{shown} ({in_utc})" if shown is not in_utc else in_utc
    if relative:
        return f'<time datetime="{stamp}" data-relative title="{title}">{relative_text(utc)}</time>'
    return f'<time datetime="{stamp}" data-local title="{in_utc}">{shown}</time>'


def _in_active_zone(utc: datetime) -> str | None:
    """The time in the user's clock with its zone ("2026-11-28 16:35:34 EST"); None when that clock is UTC."""
    zone = user_zone()
    if zone is UTC:
        return None
    try:
        local = utc.astimezone(zone)
    except OverflowError:  # year 1 or 9999 pushed past the calendar by the offset
        return None
    iso = local.isoformat()
    return f"{iso[:10]} {iso[11:19]} {_e(local.tzname() or '')}".rstrip()


def _copy_id_html(value: str, shown: str, link: str | None = None) -> str:
    safe = _e(value)
    if link:
        target = f'<a href="{_e(link)}" title="{safe}"><code>{_e(shown)}</code></a>'
    else:
        target = f'<code title="{safe}">{_e(shown)}</code>'
    return (f'<span class="id-cell">{target}<button type="button" class="copy" data-copy="{safe}" '
            f'aria-label="Copy id {safe}" title="Copy id">{COPY_ICON}</button></span>')


@register.simple_tag
def execution_link(execution_id: str, parent: bool = False) -> SafeString:
    """A link to an execution's page by its short id, or the id as text: ids come from Kodexa, and one that
    is not UUID-shaped has no page here."""
    shown = _e(execution_id[:8])
    if not is_execution_id(execution_id):
        return _html(f'<code class="unknown-ref" title="Not an execution id: {_e(execution_id)}">{shown}</code>')
    url = reverse("executions:detail", args=[execution_id.strip()])
    marker = " data-parent-link" if parent else ""
    return _html(f'<a href="{_e(url)}" title="{_e(execution_id)}"{marker}><code>{shown}</code></a>')


@register.simple_tag
def status_badge(status: ExecutionStatus | None, label: str | None = None) -> SafeString:
    return _html(_badge_html(status, label))


@register.simple_tag
def progress_bar(percent: int | None, label: str = "Progress") -> SafeString:
    return _html(_progress_html(percent, label))


@register.simple_tag
def ref_label(ref: object, what: str) -> SafeString:
    """A resolved name (assistant, document path), or the id marked unknown when Kodexa does not know it."""
    return _html(_ref_html(ref, what))


@register.simple_tag
def execution_progress(execution: Execution) -> SafeString:
    """A bar while it runs; afterwards only the figure it stopped at, muted."""
    return _html(_execution_progress_html(execution))


@register.filter
def timetag(value: datetime | None) -> SafeString:
    """Absolute time in the user's clock (UTC, or their zone) with the zone's name; the other clock on hover."""
    return _html(_time_html(value, relative=False))


@register.filter
def ago(value: datetime | None) -> SafeString:
    """Relative time ("3 min ago"), computed on the server and kept fresh by the page's script."""
    return _html(_time_html(value, relative=True))


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


@register.simple_tag
def copy_id(value: str | None, short: bool = True) -> SafeString:
    if not value:
        return _DASH
    return _html(_copy_id_html(value, value[:8] if short and len(value) > 12 else value))


@register.simple_tag(takes_context=True)
def querystring_with(context: template.Context, **changes: object) -> str:
    """The current query with some parameters replaced (pagination and sorting links)."""
    query = context["query"]
    return "?" + query.querystring(**changes)


@register.filter
def urlencode_dict(params: dict[str, str]) -> str:
    return urlencode(params)


@register.simple_tag
def list_chips(status_chips: Sequence[object], time_chips: Sequence[object], counts_age: int | None,
               quick_views: Sequence[object] = ()) -> SafeString:
    """The status chips (with counts) and the time presets above the list, built in Python like its rows: fourteen
    links through the template engine cost more than the rest of the page's head. Each chip is a plain link that
    applies or removes its filter; an applied one is pressed (aria-current and a check mark)."""
    check = '<span aria-hidden="true">✓ </span>'

    def chip(href: str, classes: str, active: bool, inner: str, extra: str = "") -> str:
        current = ' aria-current="true"' if active else ""
        return f'<li><a href="{_e(href)}" class="{classes}{" active" if active else ""}"{extra}{current}>' \
               f'{check if active else ""}{inner}</a></li>'

    parts = ['<nav class="status-chips" aria-label="Filter by status (counts within the other filters)"><ul>']
    for c in status_chips:
        count = c.count  # type: ignore[attr-defined]
        label = c.status.label  # type: ignore[attr-defined]
        shown = '<span title="The count could not be read just now">—</span>' if count is None else f"{count:,}"
        title = "Remove this status from the filter" if c.active else f"Show {label} executions too"  # type: ignore[attr-defined]
        parts.append(chip(c.href, f'chip tone-{c.tone}{" zero" if count == 0 else ""}',  # type: ignore[attr-defined]
                          c.active, f'{_e(label)} <span class="chip-count">{shown}</span>',  # type: ignore[attr-defined]
                          f' data-status="{_e(c.status.value)}" title="{_e(title)}"'))  # type: ignore[attr-defined]
    if counts_age:
        parts.append(f'<li class="counts-age muted">counts from {int(counts_age)} s ago</li>')
    parts.append('</ul></nav><nav class="status-chips time-chips" aria-label="Created"><ul>'
                 '<li class="chips-label muted" aria-hidden="true">Created</li>')
    parts.extend(chip(t.href, "chip plain", t.active, _e(t.label)) for t in time_chips)  # type: ignore[attr-defined]
    parts.append("</ul></nav>")
    if quick_views:
        parts.append('<nav class="status-chips time-chips" aria-label="Quick views"><ul>'
                     '<li class="chips-label muted" aria-hidden="true">Quick</li>')
        parts.extend(chip(q.href, "chip plain", q.active, _e(q.label), ' data-quick-view')  # type: ignore[attr-defined]
                     for q in quick_views)
        parts.append("</ul></nav>")
    return _html("".join(parts))


@register.simple_tag
def execution_list_rows(rows: Sequence[ExecutionRow], detail_prefix: str, can_cancel: bool,
                        stuck_after: int = STUCK_AFTER_MINUTES, can_reprocess: bool = False) -> SafeString:
    """The execution list's table body, built in Python in one call: through the template engine, variable
    lookups alone cost about a millisecond per row, more for a 50-row page than Kodexa took to answer."""
    quiet_since = datetime.now(UTC) - timedelta(minutes=stuck_after)
    return _html("".join(_list_row_html(row, detail_prefix, can_cancel, quiet_since, can_reprocess) for row in rows))


def _list_row_html(row: ExecutionRow, detail_prefix: str, can_cancel: bool, quiet_since: datetime,
                   can_reprocess: bool = False) -> str:
    e = row.execution
    eid = _e(e.id)
    valid_id = is_execution_id(e.id)  # Kodexa could send anything: only a real id gets a link or a checkbox
    select = ""
    if can_cancel or can_reprocess:
        # A running one may be stopped, a finished one reprocessed: the bulk bar counts each kind (data-kind).
        kind = ("cancel" if can_cancel and e.status.is_cancellable
                else "reprocess" if can_reprocess and e.status.is_terminal else "")
        box = (f'<input type="checkbox" name="ids" value="{eid}" data-kind="{kind}" '
               f'aria-label="Select execution {_e(e.id[:8])}">' if valid_id and kind else "")
        select = f'<td class="select">{box}</td>'
    description = e.description or ""
    why = e.error_title if e.status is ExecutionStatus.FAILED else None
    # Why it failed, without opening it: the error's first words under the badge.
    reason = f'<small class="error-title" title="{_e(_clip(why, 300))}">{_e(_clip(why, 60))}</small>' if why else ""
    updated = e.updated_on
    if e.status is ExecutionStatus.RUNNING and updated is not None and updated < quiet_since:
        # Marked with an icon and words, not colour alone.
        minutes = int((datetime.now(UTC) - updated).total_seconds() // 60)
        reason = f'<small class="stuck-mark" data-stuck>⚠ No progress for {minutes} min</small>'
    classes = " ".join(name for name, applies in (("row-link", valid_id),
                                                  ("stuck", reason.startswith('<small class="stuck-mark"'))) if applies)
    # data-href: app.js opens it on a click anywhere in the row (not on its checkbox, links or buttons); the id stays
    # the real link, for the keyboard and without JavaScript. data-label names each cell where rows are cards.
    href = f' data-href="{_e(detail_prefix)}{eid}/"' if valid_id else ""
    class_attr = f' class="{classes}"' if classes else ""
    return (
        f'<tr data-execution-id="{eid}"{class_attr}{href}>{select}'
        f'<td data-label="Status">{_badge_html(e.status, e.status_display)}{reason}</td>'
        f'<td data-label="Id">{_copy_id_html(e.id, e.id[:8], link=f"{detail_prefix}{e.id}/" if valid_id else None)}'
        f'</td><td class="assistant" data-label="Assistant">{_ref_html(row.assistant, "assistant")}</td>'
        f'<td class="desc" data-label="Document">{_ref_html(row.family, "document family")}</td>'
        f'<td class="desc" data-label="Description" title="{_e(_clip(description, 300))}">'
        f'{_e(_clip(description, 120) or "—")}</td>'
        f'<td class="nowrap" data-label="Created">{_time_html(e.created_on, relative=True)}</td>'
        f'<td class="nowrap" data-label="Started">{_time_html(e.start_date, relative=True)}</td>'
        f'<td class="nowrap" data-label="Last update">{_time_html(e.updated_on, relative=True)}</td>'
        f'<td class="num nowrap" data-label="Duration">{duration(e.duration)}</td>'
        f'<td data-label="Progress">{_execution_progress_html(e)}</td></tr>'
    )


def _clip(text: str, limit: int) -> str:
    # Truncator normalises unicode on every call; plain slicing is enough for a table cell.
    return text if len(text) <= limit else text[: limit - 1] + "…"
