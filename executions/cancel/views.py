"""Cancel views: parse the form, call the cancel service, word its result. The permission is checked (and a refusal
audited) by the service alone."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from executions.audit.chain import RequestMeta
from executions.audit.views import AUDIT_PERMISSION
from executions.browse import selectors
from executions.browse.query import ExecutionQuery
from executions.cancel.forms import BulkCancelForm, BulkSelectionForm, CancelForm
from executions.cancel.selectors import (
    RESULT_REFRESH_SECONDS,
    WATCH_LIMIT,
    BatchProgress,
    batch_progress,
    batch_progress_sent,
    execution_matching,
)
from executions.cancel.services import (
    CANCEL_PERMISSION,
    MAX_BATCH,
    CancelNotAllowed,
    CancelOutcome,
    cancel_permission_require,
    cancel_token_new,
    execution_cancel,
    execution_cancel_bulk,
)
from executions.kodexa import ExecutionStatus, KodexaError, KodexaNotFound
from executions.reprocess.services import REPROCESS_PERMISSION
from executions.upstream.problems import describe_upstream_error, problem_response

_OUTCOME_LEVELS = {
    CancelOutcome.SUCCEEDED: messages.SUCCESS,
    CancelOutcome.FAILED: messages.ERROR,
    CancelOutcome.UNKNOWN: messages.WARNING,
    CancelOutcome.SKIPPED: messages.INFO,
    CancelOutcome.PENDING: messages.INFO,
}


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "errors/403.html", {}, status=403)


def _allowed(request: HttpRequest, execution_ids: list[str]) -> bool:
    """Checked before the form, so that a refused attempt is audited even when its form is incomplete."""
    try:
        cancel_permission_require(user=request.user, execution_ids=execution_ids, meta=RequestMeta.of(request),
                                  reason_text=request.POST.get("reason", ""))
    except CancelNotAllowed:
        return False
    return True


def _cancel_page(request: HttpRequest, execution_id: str, form: CancelForm, *, status: int = 200) -> HttpResponse:
    """The cancel form as a page, with what it would stop (one read, shared with the detail page's cache). A
    failed read still shows the form: the cancel reads the execution again before sending anything."""
    context: dict[str, object] = {"nav_section": "executions", "execution_id": execution_id, "form": form,
                                  # A refused form keeps the choice made.
                                  "then_reprocess_offered": form.is_bound and bool(form["then_reprocess"].value())}
    try:
        detail = selectors.execution_get(execution_id=execution_id)
    except KodexaNotFound:
        raise Http404(f"Kodexa does not know execution {execution_id}.") from None
    except KodexaError as exc:
        context["problem"] = describe_upstream_error(exc)
    else:
        execution = detail.execution
        context["detail"] = detail
        context["finished"] = not execution.status.accepts_cancel
        # Cancel, then reprocess: offered as on the execution's page (executions/browse/views.py).
        if request.user.has_perm(REPROCESS_PERMISSION) and execution.document_family_id and execution.assistant_id:
            context["then_reprocess_offered"] = True
        if execution.status is ExecutionStatus.CANCELLING:
            context["cancelling_since"] = execution.updated_on
    return render(request, "cancel/page.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
def execution_cancel_view(request: HttpRequest, execution_id: str) -> HttpResponse:
    if request.method != "POST":
        # Showing the form is not an attempt: a user without the permission is refused, not audited.
        if not request.user.has_perm(CANCEL_PERMISSION):
            return _forbidden(request)
        return _cancel_page(request, execution_id, CancelForm(initial={"token": cancel_token_new()}))
    if not _allowed(request, [execution_id]):
        return _forbidden(request)
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _cancel_page(request, execution_id, form, status=400)
    try:
        result = execution_cancel(user=request.user, execution_id=execution_id, reason=form.to_reason(),
                                  meta=RequestMeta.of(request), token=form.cleaned_data["token"])
    except CancelNotAllowed:  # the permission was withdrawn a moment ago
        return _forbidden(request)
    messages.add_message(request, _OUTCOME_LEVELS[result.outcome], result.message)
    if form.cleaned_data["then_reprocess"] and result.request_event_id is not None:
        # The reprocess waits for the cancel to take effect, on a page that watches the execution.
        return redirect("executions:cancel_then_reprocess", execution_id=execution_id,
                        event_id=result.request_event_id)
    return redirect("executions:detail", execution_id=execution_id)


def list_url(query: ExecutionQuery | None) -> str:
    """The list with the filters a bulk action came from (canonical, never the posted text as such)."""
    base = reverse("executions:list")
    querystring = query.querystring() if query is not None else ""
    return f"{base}?{querystring}" if querystring else base


@require_POST
def execution_bulk_cancel(request: HttpRequest) -> HttpResponse:
    """Step 1 (ticked ids, or the list's filters as `matching`): confirm. Step 2 (confirm=1, with a reason and the
    ids shown at step 1): cancel and show one row per item, live until every item has settled."""
    selection = BulkSelectionForm(request.POST)
    valid = selection.is_valid()
    if not _allowed(request, selection.cleaned_data["ids"] if valid else []):
        return _forbidden(request)
    if not valid:
        errors = [e for field_errors in selection.errors.values() for e in field_errors]
        messages.error(request, " ".join(errors) or "Nothing selected.")
        return redirect(list_url(selection.cleaned_data.get("matching")))
    query = selection.query
    context: dict[str, object] = {"nav_section": "executions", "back_url": list_url(query), "query": query}
    by_query = selection.cleaned_data["by_query"]
    confirming = request.POST.get("confirm") == "1" and not by_query
    if confirming:
        form = BulkCancelForm(request.POST)
        if form.is_valid():
            batch = execution_cancel_bulk(user=request.user, execution_ids=form.cleaned_data["ids"],
                                          reason=form.to_reason(), meta=RequestMeta.of(request),
                                          token=form.cleaned_data["token"])
            return _bulk_result(request, batch_progress_sent(batch), context)
        ids = selection.cleaned_data["ids"]
        matched = form.cleaned_data.get("matched") if hasattr(form, "cleaned_data") else None
    elif by_query:
        try:
            matching = execution_matching(query=query)
        except KodexaError as exc:
            return problem_response(request, exc, "cancel/bulk_confirm.html", {**context, "ids": []})
        if matching is None or not matching.ids:
            messages.info(request, "No execution matching these filters can be cancelled.")
            return redirect(list_url(query))
        ids, matched = matching.ids, matching.total
        context["selection"] = matching.listing
    else:
        ids, matched = selection.cleaned_data["ids"], None
    if not confirming:
        form = BulkCancelForm(initial={"ids": ids, "token": cancel_token_new(), "matched": matched,
                                       "matching": query.querystring() if query is not None else ""})
    if "selection" not in context:
        try:
            context["selection"] = selectors.execution_selection(execution_ids=ids)
        except KodexaError as exc:
            return problem_response(request, exc, "cancel/bulk_confirm.html", {**context, "form": form, "ids": ids})
    context.update({"form": form, "ids": ids, "matched": matched, "capped": bool(matched and matched > len(ids)),
                    "max_batch": MAX_BATCH})
    return render(request, "cancel/bulk_confirm.html", context, status=400 if confirming else 200)


def _bulk_result(request: HttpRequest, progress: BatchProgress, context: dict[str, object]) -> HttpResponse:
    context = {**context, "nav_section": "executions", "progress": progress, "batch": progress.batch,
               "refresh_seconds": RESULT_REFRESH_SECONDS, "watch_minutes": int(WATCH_LIMIT.total_seconds() // 60)}
    template = "cancel/_bulk_live.html" if request.htmx else "cancel/bulk_result.html"
    return render(request, template, context)


@require_safe
def execution_bulk_result(request: HttpRequest, batch_id: uuid.UUID) -> HttpResponse:
    """A bulk cancel's results, polled by its page until every item has settled. Its sender sees it, and anyone
    who may read the whole audit log; to anyone else it does not exist."""
    found = batch_progress(batch_id=batch_id)
    if found is None:
        raise Http404("No such bulk cancel.")
    progress, actor_id = found
    if actor_id != request.user.pk and not request.user.has_perm(AUDIT_PERMISSION):
        raise Http404("No such bulk cancel.")
    return _bulk_result(request, progress, {"back_url": reverse("executions:list")})
