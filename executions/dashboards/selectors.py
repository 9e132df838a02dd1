"""Reads for saved views and dashboards: who may see what (database), and a dashboard's widget data
(upstream, in parallel, through the shared cache)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from executions.browse.query import DEFAULT_SORT, FILTERABLE_STATUSES, ExecutionQuery
from executions.browse.selectors import ASSISTANTS, Ref, refs_resolve
from executions.charts.selectors import RunsChart, runs_chart_shared, runs_read
from executions.dashboards.io import ViewInvalid, view_to_query
from executions.dashboards.models import WIDGETS_PER_DASHBOARD_MAX, Dashboard, SavedView, Widget, WidgetKind
from executions.kodexa import Execution, ExecutionStatus, KodexaError
from executions.roles import ROLE_PERMISSIONS
from executions.upstream.cache import Cached, Read, ReadKind, read_many
from executions.upstream.problems import UpstreamProblem, describe_upstream_error
from executions.upstream.tenant import tenant_list_executions

logger = logging.getLogger("executions.dashboards")
# The most Kodexa reads one render may need: a full dashboard of status breakdowns (one count per status),
# plus the assistant names. A render never asks for more, whatever is stored (see dashboard_data).
UPSTREAM_READS_PER_RENDER_MAX = WIDGETS_PER_DASHBOARD_MAX * len(FILTERABLE_STATUSES) + 1

User = AbstractBaseUser | AnonymousUser


# --- visibility ---------------------------------------------------------------------------------------

def _teams() -> QuerySet[Group]:
    """Every group but the role groups: a role says what someone may do, not whom they work with."""
    return Group.objects.exclude(name__in=ROLE_PERMISSIONS).order_by("name")


def team_list(*, user: User) -> QuerySet[Group]:
    """The teams (groups other than roles) a user belongs to."""
    return _teams().filter(user=user) if user.is_authenticated else Group.objects.none()


def team_administrators(limit: int = 5) -> list[AbstractBaseUser]:
    """Who can add someone to a team (superusers, in /admin/): named on the page of a user who is in none."""
    from django.contrib.auth import get_user_model

    return list(get_user_model().objects.filter(is_superuser=True, is_active=True).order_by("username")[:limit])


def team_list_for_dashboards(*, user: User) -> QuerySet[Group]:
    """Teams a user may create dashboards for: their own; any team for a superuser."""
    return _teams() if user.is_superuser else team_list(user=user)


def saved_view_list_visible(*, user: User) -> QuerySet[SavedView]:
    """The user's own views and those shared with one of their teams."""
    return (SavedView.objects.filter(Q(owner=user) | Q(team__in=team_list(user=user)))
            .select_related("owner", "team").distinct())


def saved_view_list_for_dashboard(*, user: User, dashboard: Dashboard) -> QuerySet[SavedView]:
    """The views a user may put on a team's dashboard: their own, and those shared with that team (not those
    shared with their other teams, which this team may not know)."""
    return (SavedView.objects.filter(Q(owner=user) | Q(team_id=dashboard.team_id))
            .select_related("owner", "team").distinct())


@dataclass(frozen=True, slots=True)
class SavedViewRow:
    saved_view: SavedView
    summary: tuple[str, ...]  # the filters in words, e.g. ("status: Failed, Running", "last 24 h")
    is_owner: bool


def _view_summary(view: dict) -> tuple[str, ...]:
    try:
        query = view_to_query(view)
    except ViewInvalid:
        return ("invalid filters",)
    parts: list[str] = []
    if query.statuses:
        parts.append("status: " + ", ".join(s.label for s in query.statuses))
    if query.assistant_id:
        parts.append(f"assistant {query.assistant_id[:8]}")
    if query.text:
        parts.append(f"“{query.text}”")
    if query.created_within_hours:
        parts.append(f"last {query.created_within_hours} h")
    if query.stalled_minutes:
        parts.append(f"running, no progress for {query.stalled_minutes} min")
    if query.created_after:
        parts.append(f"after {query.created_after:%Y-%m-%d %H:%M}")
    if query.created_before:
        parts.append(f"before {query.created_before:%Y-%m-%d %H:%M}")
    if query.sort != DEFAULT_SORT:
        parts.append(f"sort {query.sort}")
    return tuple(parts)


def saved_view_rows(*, user: User) -> list[SavedViewRow]:
    """The saved views page: each visible view with its filters in words and whether the user may change it."""
    return [SavedViewRow(saved_view=v, summary=_view_summary(v.view), is_owner=v.owner_id == user.pk)
            for v in saved_view_list_visible(user=user)]


def saved_view_get_visible(*, user: User, view_id: int) -> SavedView:
    """A saved view the user may open; 404 otherwise (its existence is not revealed)."""
    try:
        return saved_view_list_visible(user=user).get(pk=view_id)
    except SavedView.DoesNotExist:
        raise Http404("No such saved view.") from None


def saved_view_get_owned(*, user: User, view_id: int) -> SavedView:
    """A saved view the user may change (theirs); a team member gets 404 like an outsider."""
    try:
        return SavedView.objects.select_related("team").get(pk=view_id, owner=user)
    except SavedView.DoesNotExist:
        raise Http404("No such saved view.") from None


def dashboard_list_visible(*, user: User) -> QuerySet[Dashboard]:
    dashboards = Dashboard.objects.select_related("team")
    return dashboards if user.is_superuser else dashboards.filter(team__in=team_list(user=user))


def dashboard_get_visible(*, user: User, dashboard_id: int) -> Dashboard:
    """A dashboard of one of the user's teams (any for superusers), with its widgets; 404 otherwise."""
    widgets = Prefetch("widgets", queryset=Widget.objects.select_related("saved_view"))
    try:
        return dashboard_list_visible(user=user).prefetch_related(widgets).get(pk=dashboard_id)
    except Dashboard.DoesNotExist:
        raise Http404("No such dashboard.") from None


def widget_get(*, dashboard: Dashboard, widget_id: int) -> Widget:
    try:
        return dashboard.widgets.get(pk=widget_id)
    except Widget.DoesNotExist:
        raise Http404("No such widget.") from None


# --- widget data --------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ExecutionSummary:
    """What a table widget shows of an execution. Plain and picklable: it lives in the shared cache."""

    id: str
    status: ExecutionStatus
    status_display: str
    description: str | None
    created_on: datetime | None
    percent: int | None
    assistant_id: str | None

    @classmethod
    def from_execution(cls, execution: Execution) -> ExecutionSummary:
        return cls(id=execution.id, status=execution.status, status_display=execution.status_display,
                   description=execution.description, created_on=execution.created_on,
                   percent=execution.percent, assistant_id=execution.assistant_id)


@dataclass(frozen=True, slots=True)
class ListSnapshot:
    total: int
    items: tuple[ExecutionSummary, ...]


@dataclass(frozen=True, slots=True)
class TableRow:
    execution: ExecutionSummary
    assistant: Ref | None


@dataclass(frozen=True, slots=True)
class StatusBar:
    status: ExecutionStatus
    count: int
    share: int  # percent of the largest bar, for the <progress> length
    querystring: str


@dataclass(frozen=True, slots=True)
class WidgetPanel:
    id: int
    title: str
    kind: str
    limit: int
    querystring: str  # the widget's view on /executions/
    total: int | None = None
    rows: tuple[TableRow, ...] = ()
    bars: tuple[StatusBar, ...] = ()  # statuses with at least one execution (zeros are left out)
    chart: RunsChart | None = None  # runs over time; a count's trend line
    fetched_at: datetime | None = None
    age_seconds: float | None = None  # how old the oldest data of this widget is
    stale_since: datetime | None = None  # set when showing old data because refreshing failed
    problem: UpstreamProblem | None = None  # set when there is no data to show at all
    changed: frozenset[str] = frozenset()  # numbers that differ from the previous render ("total", a status)

    @property
    def numbers(self) -> dict[str, int]:
        """This widget's numbers, to be sent back with the next refresh so changes can be highlighted."""
        found = {"total": self.total} if self.total is not None else {}
        found.update((bar.status.value, bar.count) for bar in self.bars)
        return found

    @property
    def trend(self) -> tuple[int, ...]:
        """A count's trend line: its count per bucket, oldest first (buckets not read are left out)."""
        return tuple(b.total for b in self.chart.buckets if b.covered) if self.chart else ()


@dataclass(frozen=True, slots=True)
class DashboardData:
    panels: tuple[WidgetPanel, ...]
    rendered_at: datetime
    upstream_reads: int  # distinct reads this render needed (each one cached, coalesced, shared)
    hidden_widgets: int = 0  # beyond WIDGETS_PER_DASHBOARD_MAX (saved before there was a limit): not shown

    @property
    def stale(self) -> bool:
        return any(p.stale_since or p.problem for p in self.panels)

    @property
    def stale_since(self) -> datetime | None:
        """The oldest data shown in place of a failed refresh: one banner for the whole dashboard says so."""
        return min((p.stale_since for p in self.panels if p.stale_since), default=None)

    @property
    def stale_count(self) -> int:
        return sum(1 for p in self.panels if p.stale_since)

    @property
    def numbers(self) -> str:
        """Every widget's numbers, compact ("12=40;12.FAILED=3"), for the next refresh to compare with."""
        return ";".join(f"{p.id}{'' if name == 'total' else '.' + name}={n}"
                        for p in self.panels for name, n in p.numbers.items())


def _count_query(query: ExecutionQuery) -> ExecutionQuery:
    # Sort does not change a count: normalizing it lets counts and breakdown bars share cache entries.
    return replace(query, page=1, page_size=1, sort=DEFAULT_SORT)


def _reads_for(widget: Widget, query: ExecutionQuery, fresh_for: float) -> list[Read[object]]:
    """The shared reads a widget needs; their cost is bounded per render by UPSTREAM_READS_PER_RENDER_MAX."""
    kind = widget.kind
    if kind == WidgetKind.TABLE:
        return [_read(replace(query, page=1, page_size=widget.limit), fresh_for)]
    if kind == WidgetKind.STATUS_BREAKDOWN:
        statuses = dict.fromkeys(query.statuses or FILTERABLE_STATUSES)  # a repeated status is one bar
        return [_read(_count_query(replace(query, statuses=(s,))), fresh_for) for s in statuses]
    if kind == WidgetKind.RUNS_OVER_TIME:
        return [runs_read(query, fresh_for)]  # type: ignore[list-item]
    reads: list[Read[object]] = [_read(_count_query(query), fresh_for)]
    if widget.trend:
        reads.append(runs_read(query, fresh_for))  # type: ignore[arg-type]
    return reads


def _read(query: ExecutionQuery, fresh_for: float | None = None) -> Read[ListSnapshot]:
    # The view form keeps relative windows relative ("last 24 h"), so the key does not change every second.
    params = {"view": query.to_view(), "page": query.page, "page_size": query.page_size}
    return Read(ReadKind.WIDGET, params, lambda: _fetch_list(query), fresh_for)


def _fetch_list(query: ExecutionQuery) -> ListSnapshot:
    page = tenant_list_executions(page=query.page, page_size=query.page_size, filters=query.clauses(),
                                           query=query.text, sort=(query.sort,))
    return ListSnapshot(total=page.total_elements,
                        items=tuple(ExecutionSummary.from_execution(e) for e in page.items))


def parse_numbers(text: str | None) -> dict[str, int]:
    """What a previous render sent back (DashboardData.numbers); anything malformed is ignored, as it only
    decides which numbers are highlighted."""
    found: dict[str, int] = {}
    for item in (text or "")[:20_000].split(";"):
        key, sep, value = item.partition("=")
        if sep and key and len(key) <= 40 and value.isdigit() and len(value) <= 18:
            found[key] = int(value)
    return found


def dashboard_data(*, dashboard: Dashboard, meanwhile: Callable[[], object] | None = None,
                   previous: dict[str, int] | None = None) -> DashboardData:
    """Every widget's data: the distinct upstream reads of the whole dashboard run at once, through the
    shared cache (fresh for the dashboard's refresh window), so the page costs one round trip when cold and
    none when warm. A failing read shows its last good value (marked stale) or its error, never a 500.
    `meanwhile` runs in the caller's thread while the reads are in flight. `previous`: the numbers of the
    render on screen (parse_numbers), to mark the ones that changed."""
    stored = list(dashboard.widgets.all())
    widgets = stored[:WIDGETS_PER_DASHBOARD_MAX]
    fresh_for = float(dashboard.refresh_seconds)
    plans: list[tuple[Widget, ExecutionQuery | None, list[Read[object]], str | None]] = []
    reads: dict[str, Read[object]] = {}
    budget = UPSTREAM_READS_PER_RENDER_MAX - 1  # one is kept for the assistant names
    for widget in widgets:
        try:
            query = view_to_query(widget.effective_view)
        except ViewInvalid as exc:
            plans.append((widget, None, [], "; ".join(exc.errors)))
            continue
        needed = _reads_for(widget, query, fresh_for)
        new = {r.key: r for r in needed if r.key not in reads}
        if len(reads) + len(new) > budget:
            plans.append((widget, query, [], _OVER_BUDGET))
            continue
        reads.update(new)
        plans.append((widget, query, needed, None))
    keys = list(reads)
    batch: list[Read[object]] = [reads[key] for key in keys]
    want_names = any(w.kind == WidgetKind.TABLE for w in widgets)
    if want_names:
        batch.append(ASSISTANTS)  # alongside the lists, not after them: table names cost no extra round trip
    results = read_many(batch, meanwhile=meanwhile)
    outcomes = dict(zip(keys, results, strict=False))
    names = results[-1] if want_names else None
    known_names = {a.id: a.name for a in names.value if a.name} if isinstance(names, Cached) else {}
    panels = tuple(_panel(widget, query, needed, invalid, outcomes, known_names, previous)
                   for widget, query, needed, invalid in plans)
    return DashboardData(panels=panels, rendered_at=datetime.now(UTC), upstream_reads=len(batch),
                         hidden_widgets=len(stored) - len(widgets))


_OVER_BUDGET = "over budget"


def _problem_of(outcome: object) -> UpstreamProblem:
    if isinstance(outcome, KodexaError):
        return describe_upstream_error(outcome)
    logger.error("dashboard widget read failed", exc_info=outcome if isinstance(outcome, BaseException) else None)
    return UpstreamProblem("Widget unavailable", "This widget could not be loaded.", 500)


def _panel(widget: Widget, query: ExecutionQuery | None, needed: list[Read[object]], invalid: str | None,
           outcomes: dict[str, object], names: dict[str, str], previous: dict[str, int] | None) -> WidgetPanel:
    base = WidgetPanel(id=widget.pk, title=widget.title, kind=widget.kind, limit=widget.limit,
                       querystring=query.querystring(page=1) if query else "")
    if query is None:
        return replace(base, problem=UpstreamProblem("Invalid query", f"This widget's query is no longer valid: "
                                                     f"{invalid}", 400, retryable=False))
    if invalid is _OVER_BUDGET:
        return replace(base, problem=UpstreamProblem(
            "Not loaded", "This dashboard needs too many Kodexa reads: this widget is left out. Remove a widget "
            "or narrow a status breakdown.", 400, retryable=False))
    parts = [outcomes[r.key] for r in needed]
    failed = [p for p in parts if not isinstance(p, Cached)]
    if failed:
        return replace(base, problem=_problem_of(failed[0]))
    cached: list[Cached[Any]] = parts  # type: ignore[assignment]
    oldest = min(cached, key=lambda c: c.fetched_at)
    stale = [c for c in cached if c.is_stale]
    base = replace(base, fetched_at=oldest.fetched_at_dt, age_seconds=oldest.age,
                   stale_since=min(c.fetched_at_dt for c in stale) if stale else None)
    panel = _filled(widget, query, needed, cached, names, base)
    if previous:
        prefix = str(widget.pk)
        changed = frozenset(name for name, n in panel.numbers.items()
                            if (key := prefix if name == "total" else f"{prefix}.{name}") in previous
                            and previous[key] != n)
        panel = replace(panel, changed=changed)
    return panel


def _filled(widget: Widget, query: ExecutionQuery, needed: list[Read[object]], cached: list[Cached[Any]],
            names: dict[str, str], base: WidgetPanel) -> WidgetPanel:
    if widget.kind == WidgetKind.TABLE:
        snapshot = cached[0].value
        return replace(base, total=snapshot.total, rows=_rows(snapshot.items, names))
    if widget.kind == WidgetKind.STATUS_BREAKDOWN:
        statuses = list(dict.fromkeys(query.statuses or FILTERABLE_STATUSES))
        counts = [(s, c.value.total) for s, c in zip(statuses, cached, strict=True)]
        top = max((n for _, n in counts), default=0)
        # A status with no execution is not a bar: ten rows of which seven say 0 hide the three that matter.
        bars = tuple(StatusBar(status=s, count=n, share=round(100 * n / top) if top else 0,
                               querystring=replace(query, statuses=(s,)).querystring(page=1))
                     for s, n in counts if n)
        return replace(base, total=sum(n for _, n in counts), bars=bars)
    if widget.kind == WidgetKind.RUNS_OVER_TIME:
        chart = runs_chart_shared(needed[0], cached[0], query.statuses)  # type: ignore[arg-type]
        return replace(base, total=chart.total, chart=chart)
    chart = runs_chart_shared(needed[1], cached[1], query.statuses) if len(cached) > 1 else None  # type: ignore[arg-type]
    return replace(base, total=cached[0].value.total, chart=chart)


def _rows(items: tuple[ExecutionSummary, ...], names: dict[str, str]) -> tuple[TableRow, ...]:
    unknown = {e.assistant_id for e in items if e.assistant_id and e.assistant_id not in names}
    # Rare (an assistant missing from the list, or the list unavailable): resolved by id through the name cache.
    refs = refs_resolve(assistant_ids=unknown, family_ids=()) if unknown else {}
    rows = []
    for e in items:
        assistant = None
        if e.assistant_id:
            assistant = Ref(id=e.assistant_id, label=names[e.assistant_id]) if e.assistant_id in names \
                else refs.get(e.assistant_id, Ref(id=e.assistant_id, known=False))
        rows.append(TableRow(execution=e, assistant=assistant))
    return tuple(rows)


def saved_view_query(*, saved_view: SavedView) -> ExecutionQuery:
    """The query of a saved view (raises ViewInvalid when the stored JSON no longer validates)."""
    return view_to_query(saved_view.view)
