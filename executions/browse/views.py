"""Views parse input, call one selector or service, and render. They never talk HTTP to Kodexa."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from executions.audit import selectors as audit_queries
from executions.audit.chain import RequestMeta
from executions.browse import selectors
from executions.browse.forms import BulkCancelForm, BulkSelectionForm, CancelForm, ExecutionFilterForm
from executions.browse.query import ExecutionQuery
from executions.cancel.services import (
    CANCEL_PERMISSION,
    CancelNotAllowed,
    CancelOutcome,
    cancel_refusal_record,
    cancel_token_new,
    execution_cancel,
    execution_cancel_bulk,
)
from executions.kodexa import KodexaError, KodexaNotFound
from executions.upstream.client import KodexaNotConfigured
from executions.upstream.problems import describe_upstream_error, log_upstream_problem

LIST_REFRESH_SECONDS = 10
DETAIL_REFRESH_SECONDS = 3


def _upstream_problem(request: HttpRequest, exc: KodexaError | KodexaNotConfigured, template: str,
                      context: dict[str, object]) -> HttpResponse:
    """The page keeps its layout and says what is wrong; an htmx refresh keeps the last good content."""
    problem = describe_upstream_error(exc)
    log_upstream_problem(exc, problem)
    if request.htmx:
        response = render(request, "executions/_refresh_failed.html", {"problem": problem, "now": timezone.now()})
        response["HX-Reswap"] = "none"  # only the out-of-band status line is updated
        return response
    response = render(request, template, {**context, "problem": problem}, status=problem.http_status)
    if problem.retry_after:
        response["Retry-After"] = str(int(problem.retry_after))
    return response


def _note_stale(stale: selectors.Stale | None, context: dict[str, object]) -> None:
    """A page built from what the panel last saw says so, and its 'updated' time is when that was live."""
    if stale is None:
        return
    problem = describe_upstream_error(stale.error)
    log_upstream_problem(stale.error, problem)
    context["stale_problem"] = problem
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
        return render(request, "executions/list.html", context, status=400)
    if pasted_id := form.pasted_execution_id:
        return redirect("executions:detail", execution_id=pasted_id)
    query = form.to_query()
    canonical = query.to_params() + ([("live", "1")] if live else [])
    if not request.htmx and sorted(canonical) != sorted((k, v) for k, vs in request.GET.lists() for v in vs):
        # A submitted form sends every field, empty ones too; the shareable link names only what is set.
        return redirect(f"{request.path}?{urlencode(canonical)}" if canonical else request.path)
    context["query"] = query

    def database_reads() -> None:  # while Kodexa answers
        # The first permission check loads them all (two queries), for the navigation and buttons too.
        context["can_cancel"] = request.user.has_perm(CANCEL_PERMISSION)
        if not request.htmx:  # the full page's "save view" form offers the user's teams
            context["teams"] = list(request.user.groups.all())

    try:
        # An htmx refresh that fails keeps the rows already on screen (and says so) rather than older ones.
        listing = selectors.execution_list(query=query, with_assistants=not request.htmx, stale_ok=not request.htmx,
                                           meanwhile=database_reads)
    except (KodexaError, KodexaNotConfigured) as exc:
        form.offer_assistants(selectors.assistant_list_or_empty())
        return _upstream_problem(request, exc, "executions/list.html", context)
    form.offer_assistants(listing.assistants)
    context["listing"] = listing
    _note_stale(listing.stale, context)
    template = "executions/_results.html" if request.htmx else "executions/list.html"
    return render(request, template, context)


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
        context["activity"] = audit_queries.audit_events_for_execution(execution_id=execution_id)

    try:
        context["detail"] = selectors.execution_get(execution_id=execution_id, meanwhile=database_reads)
    except KodexaNotFound:
        raise Http404(f"Kodexa does not know execution {execution_id}.") from None
    except (KodexaError, KodexaNotConfigured) as exc:
        return _upstream_problem(request, exc, "executions/detail.html", context)
    _note_stale(context["detail"].stale, context)
    context["kodexa_ui_link"] = _kodexa_ui_link(execution_id)
    if context["can_cancel"] and context["detail"].execution.status.is_cancellable:
        context["cancel_form"] = CancelForm(initial={"token": cancel_token_new()})
    return render(request, "executions/detail.html", context)


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
    except (KodexaError, KodexaNotConfigured) as exc:
        return _upstream_problem(request, exc, "executions/detail.html", context)
    context.update({"execution": live.execution, "messages_feed": live.messages,
                    "messages_error": live.messages_error, "now": timezone.now()})
    return render(request, "executions/_live.html", context)


def _detail_children(request: HttpRequest, execution_id: str) -> HttpResponse:
    context: dict[str, object] = {"execution_id": execution_id}
    try:
        context["children"] = selectors.execution_children(execution_id=execution_id)
    except (KodexaError, KodexaNotConfigured) as exc:
        problem = describe_upstream_error(exc)
        log_upstream_problem(exc, problem)
        context["problem"] = problem
    return render(request, "executions/_children.html", context)


_PARTS = {"live": _detail_live, "children": _detail_children}


_OUTCOME_LEVELS = {
    CancelOutcome.SUCCEEDED: messages.SUCCESS,
    CancelOutcome.FAILED: messages.ERROR,
    CancelOutcome.UNKNOWN: messages.WARNING,
    CancelOutcome.SKIPPED: messages.INFO,
    CancelOutcome.PENDING: messages.INFO,
}


def _refuse(request: HttpRequest, execution_ids: list[str]) -> HttpResponse:
    cancel_refusal_record(user=request.user, execution_ids=execution_ids, reason_text=request.POST.get("reason", ""),
                          meta=RequestMeta.of(request))
    return render(request, "errors/403.html", {}, status=403)


@require_POST
def execution_cancel_view(request: HttpRequest, execution_id: str) -> HttpResponse:
    if not request.user.has_perm(CANCEL_PERMISSION):
        return _refuse(request, [execution_id])
    form = CancelForm(request.POST)
    if not form.is_valid():
        context = {"nav_section": "executions", "execution_id": execution_id, "form": form}
        return render(request, "executions/cancel_invalid.html", context, status=400)
    try:
        result = execution_cancel(user=request.user, execution_id=execution_id, reason=form.to_reason(),
                                  meta=RequestMeta.of(request), token=form.cleaned_data["token"])
    except CancelNotAllowed:
        return render(request, "errors/403.html", {}, status=403)
    messages.add_message(request, _OUTCOME_LEVELS[result.outcome], result.message)
    return redirect("executions:detail", execution_id=execution_id)


@require_POST
def execution_bulk_cancel(request: HttpRequest) -> HttpResponse:
    """Step 1 (ids only): confirm. Step 2 (confirm=1, with a reason): cancel and show one row per item."""
    selection = BulkSelectionForm(request.POST)
    if not request.user.has_perm(CANCEL_PERMISSION):
        return _refuse(request, selection.cleaned_data["ids"] if selection.is_valid() else [])
    context: dict[str, object] = {"nav_section": "executions"}
    if not selection.is_valid():
        messages.error(request, " ".join(selection.errors.get("ids", ["Nothing selected."])))
        return redirect("executions:list")
    ids = selection.cleaned_data["ids"]
    confirming = request.POST.get("confirm") == "1"
    form = BulkCancelForm(request.POST) if confirming else BulkCancelForm(
        initial={"ids": ids, "token": cancel_token_new()})
    if confirming and form.is_valid():
        batch = execution_cancel_bulk(user=request.user, execution_ids=ids, reason=form.to_reason(),
                                      meta=RequestMeta.of(request), token=form.cleaned_data["token"])
        return render(request, "executions/bulk_result.html", {**context, "batch": batch})
    try:
        context["selection"] = selectors.execution_selection(execution_ids=ids)
    except (KodexaError, KodexaNotConfigured) as exc:
        return _upstream_problem(request, exc, "executions/bulk_confirm.html", {**context, "form": form, "ids": ids})
    context.update({"form": form, "ids": ids})
    return render(request, "executions/bulk_confirm.html", context, status=400 if confirming else 200)
