"""Views parse input, call one selector or service, and render. They never talk HTTP to Kodexa."""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_safe

from executions.audit import selectors as audit_queries
from executions.browse import selectors
from executions.browse.forms import ExecutionFilterForm
from executions.browse.query import CREATED_PRESETS, STUCK_AFTER_MINUTES, ExecutionQuery
from executions.cancel.forms import CancelForm
from executions.cancel.services import (
    CANCEL_PERMISSION,
    MAX_BATCH,
    cancel_token_new,
)
from executions.charts.selectors import runs_chart_for_list
from executions.dashboards.selectors import team_list
from executions.kodexa import ExecutionStatus, KodexaError, KodexaFilterRejected, KodexaNotFound
from executions.reprocess.selectors import reprocess_origin
from executions.reprocess.services import REPROCESS_PERMISSION, reprocessable
from executions.templatetags.panel import STATUS_TONES
from executions.upstream.problems import describe_upstream_error, log_upstream_problem, problem_response

LIST_REFRESH_SECONDS = 10
# How old the status chips' counts may be on a page that is opened rather than refreshed live (the live refresh
# keeps them within LIST_REFRESH_SECONDS). Ten counts per window on top of one page per view would break the
# list's budget of one Kodexa call per view for anyone who opens pages faster than one a second; a minute keeps
# them at about 1 % of a busy desk's calls, and the chips say how old they are.
COUNTS_MAX_AGE_ON_OPEN = 60
DETAIL_REFRESH_SECONDS = 3


@dataclass(frozen=True, slots=True)
class StatusChip:
    """A status above the list, with how many the other filters match; a link that applies or removes it."""

    status: ExecutionStatus
    tone: str
    count: int | None  # None: the count could not be read ("—")
    active: bool
    href: str


def status_chips(query: ExecutionQuery, counts: tuple[tuple[ExecutionStatus, int | None], ...], *, base: str,
                 live: bool) -> list[StatusChip]:
    chips = []
    for status, count in counts:
        active = status in query.statuses
        toggled = tuple(s for s in query.statuses if s is not status) if active else (*query.statuses, status)
        params = replace(query, statuses=toggled, page=1).to_params() + ([("live", "1")] if live else [])
        chips.append(StatusChip(status=status, tone=STATUS_TONES[status], count=count, active=active,
                                href=f"{base}?{urlencode(params)}" if params else base))
    return chips


@dataclass(frozen=True, slots=True)
class TimeChip:
    """A created-time preset as a link beside the status chips: one click, no Apply."""

    label: str
    active: bool
    href: str


def time_chips(query: ExecutionQuery, *, base: str, live: bool) -> list[TimeChip]:
    chips = []
    for hours, label in ((None, "Any time"), *CREATED_PRESETS):
        active = query.created_within_hours == hours and (hours is not None or not (query.created_after
                                                                                    or query.created_before))
        chosen = replace(query, created_within_hours=hours, created_after=None, created_before=None, page=1)
        params = chosen.to_params() + ([("live", "1")] if live else [])
        chips.append(TimeChip(label=label, active=active, href=f"{base}?{urlencode(params)}" if params else base))
    return chips


# One click to what support staff look for most, keeping the assistant and search already chosen: with the
# assistant select applying itself (app.js), "failed runs of one assistant in the last 24 hours" is three clicks.
QUICK_VIEWS: tuple[tuple[str, dict[str, object]], ...] = (
    ("Failed in the last 24 hours", {"statuses": (ExecutionStatus.FAILED,), "created_within_hours": 24,
                                     "stalled_minutes": None}),
    ("Stuck now", {"statuses": (ExecutionStatus.RUNNING,), "stalled_minutes": STUCK_AFTER_MINUTES,
                   "created_within_hours": None}),
)


def quick_views(query: ExecutionQuery, *, base: str, live: bool) -> list[TimeChip]:
    chips = []
    for label, changes in QUICK_VIEWS:
        chosen = replace(query, **changes, created_after=None, created_before=None, page=1)  # type: ignore[arg-type]
        active = (query.statuses, query.created_within_hours, query.stalled_minutes) == (
            chosen.statuses, chosen.created_within_hours, chosen.stalled_minutes) and not query.created_after \
            and not query.created_before
        params = chosen.to_params() + ([("live", "1")] if live else [])
        chips.append(TimeChip(label=label, active=active, href=f"{base}?{urlencode(params)}"))
    return chips


def _note_stale(stale: selectors.Stale | None, context: dict[str, object]) -> None:
    """A page built from what the panel last saw says so, and its 'updated' time is when that was live."""
    if stale is None:
        return
    context["stale_problem"] = stale.problem
    context["now"] = stale.since


@require_safe
def execution_list(request: HttpRequest) -> HttpResponse:
    form = ExecutionFilterForm(request.GET)
    live = request.GET.get("live") == "1"
    context: dict[str, object] = {"nav_section": "executions", "form": form, "live": live,
                                  "refresh_seconds": LIST_REFRESH_SECONDS, "now": timezone.now()}
    if not form.is_valid():
        form.offer_assistants(selectors.assistant_list_or_empty())
        context["query"] = ExecutionQuery()
        return render(request, "browse/list.html", context, status=400)
    if pasted_id := form.pasted_execution_id:
        return redirect("executions:detail", execution_id=pasted_id)
    if prefix := form.id_prefix:
        return _id_prefix_search(request, prefix, context)
    query = form.to_query()
    canonical = query.to_params() + ([("live", "1")] if live else [])
    if not request.htmx and sorted(canonical) != sorted((k, v) for k, vs in request.GET.lists() for v in vs):
        # A submitted form sends every field, empty ones too; the shareable link names only what is set.
        return redirect(f"{request.path}?{urlencode(canonical)}" if canonical else request.path)
    context["query"] = query
    context["stuck_after"] = query.stalled_minutes or STUCK_AFTER_MINUTES
    context["sort_by_update"] = "updatedOn,asc" if query.sort == "updatedOn,desc" else "updatedOn,desc"

    def database_reads() -> None:  # while Kodexa answers
        # The first permission check loads them all (two queries), for the navigation and buttons too.
        context["can_cancel"] = request.user.has_perm(CANCEL_PERMISSION)
        context["can_reprocess"] = request.user.has_perm(REPROCESS_PERMISSION)
        if not request.htmx:  # the full page's "save view" form offers the user's teams
            context["teams"] = list(team_list(user=request.user))
            context["runs_chart"] = runs_chart_for_list(query)  # shared, fresh for a minute: no call when warm

    try:
        # An htmx refresh that fails keeps the rows already on screen (and says so) rather than older ones.
        listing = selectors.execution_list(query=query, with_assistants=not request.htmx, stale_ok=not request.htmx,
                                           with_counts=True,
                                           counts_fresh_for=None if request.htmx else COUNTS_MAX_AGE_ON_OPEN,
                                           meanwhile=database_reads)
    except KodexaError as exc:
        form.offer_assistants(selectors.assistant_list_or_empty())
        return problem_response(request, exc, "browse/list.html", context)
    form.offer_assistants(listing.assistants)
    context["listing"] = listing
    context["chips"] = status_chips(query, listing.status_counts, base=request.path, live=live)
    context["time_chips"] = time_chips(query, base=request.path, live=live)
    context["quick_views"] = quick_views(query, base=request.path, live=live)
    context["counts_age"] = int(listing.counts_age) if listing.counts_age > LIST_REFRESH_SECONDS else None
    context["bulk_limit"] = MAX_BATCH
    _note_stale(listing.stale, context)
    template = "browse/_results.html" if request.htmx else "browse/list.html"
    return render(request, template, context)


def _id_prefix_search(request: HttpRequest, prefix: str, context: dict[str, object]) -> HttpResponse:
    """The start of an id in the search box: its execution's page when exactly one of the newest has it, else
    the ones that do, or a page that says none of the newest does."""
    form = context["form"]
    query = form.to_query()  # type: ignore[attr-defined]
    context["query"] = query
    context["can_cancel"] = request.user.has_perm(CANCEL_PERMISSION)
    try:
        found = selectors.execution_id_prefix_search(prefix=prefix)
    except KodexaError as exc:
        form.offer_assistants(selectors.assistant_list_or_empty())  # type: ignore[attr-defined]
        return problem_response(request, exc, "browse/list.html", context)
    if len(found.rows) == 1 and not request.htmx:
        return redirect("executions:detail", execution_id=found.rows[0].execution.id)
    form.offer_assistants(selectors.assistant_list_or_empty())  # type: ignore[attr-defined]
    context["id_search"] = found
    context["stuck_after"] = STUCK_AFTER_MINUTES
    return render(request, "browse/list.html", context)


@require_safe
def execution_detail(request: HttpRequest, execution_id: str) -> HttpResponse:
    part = request.GET.get("part")
    if part in _PARTS:
        return _PARTS[part](request, execution_id)
    context: dict[str, object] = {"nav_section": "executions", "execution_id": execution_id,
                                  "refresh_seconds": DETAIL_REFRESH_SECONDS, "now": timezone.now()}

    def database_reads() -> None:  # while Kodexa answers
        # The first permission check loads them all (two queries), for the navigation and buttons too.
        context["can_cancel"] = request.user.has_perm(CANCEL_PERMISSION)
        context["can_reprocess"] = request.user.has_perm(REPROCESS_PERMISSION)
        context["activity"] = audit_queries.audit_events_for_execution(execution_id=execution_id)

    try:
        context["detail"] = selectors.execution_get(execution_id=execution_id, meanwhile=database_reads)
    except KodexaNotFound:
        raise Http404(f"Kodexa does not know execution {execution_id}.") from None
    except KodexaError as exc:
        return problem_response(request, exc, "browse/detail.html", context)
    _note_stale(context["detail"].stale, context)
    context["kodexa_ui_link"] = _kodexa_ui_link(execution_id)
    execution = context["detail"].execution
    if execution.status is ExecutionStatus.CANCELLING:
        # Kodexa stamps updatedOn at each transition: when it started cancelling, if nothing moved since.
        context["cancelling_since"] = execution.updated_on
    if context["can_cancel"] and execution.status.accepts_cancel:
        context["cancel_form"] = CancelForm(initial={"token": cancel_token_new()})
    context["reprocess_offered"] = context["can_reprocess"] and reprocessable(execution) is None
    # Cancel, then reprocess: for a run that will be reprocessable once stopped.
    context["then_reprocess_offered"] = bool(context["can_reprocess"] and execution.document_family_id
                                             and execution.assistant_id)
    context["reprocess_origin"] = reprocess_origin(execution)
    return render(request, "browse/detail.html", context)


def _kodexa_ui_link(execution_id: str) -> str | None:
    """KODEXA_UI_URL is a base (…/executions/<id> is appended) or a template containing {id}."""
    base = settings.KODEXA_UI_URL
    if not base or not base.lower().startswith(("https://", "http://")):
        return None
    return base.replace("{id}", execution_id) if "{id}" in base else f"{base.rstrip('/')}/executions/{execution_id}"


def _detail_live(request: HttpRequest, execution_id: str) -> HttpResponse:
    """Status, progress, steps and messages of a running execution (polled by htmx)."""
    context: dict[str, object] = {"execution_id": execution_id, "refresh_seconds": DETAIL_REFRESH_SECONDS}
    try:
        live = selectors.execution_live(execution_id=execution_id)
    except KodexaNotFound:
        raise Http404(f"Kodexa does not know execution {execution_id}.") from None
    except KodexaError as exc:
        return problem_response(request, exc, "browse/detail.html", context)
    context.update({"execution": live.execution, "messages_feed": live.messages,
                    "messages_error": live.messages_error, "now": timezone.now()})
    return render(request, "browse/_live.html", context)


def _detail_children(request: HttpRequest, execution_id: str) -> HttpResponse:
    context: dict[str, object] = {"execution_id": execution_id}
    try:
        context["children"] = selectors.execution_children(execution_id=execution_id)
    except KodexaFilterRejected:
        # Not an outage, and not this page's fault: the execution stands, without its children.
        context["unsupported"] = True
    except KodexaError as exc:
        problem = describe_upstream_error(exc)
        log_upstream_problem(exc, problem)
        context["problem"] = problem
    return render(request, "browse/_children.html", context)


_PARTS = {"live": _detail_live, "children": _detail_children}
