"""Cancel views: parse the form, call the cancel service, word its result. The permission is checked (and a refusal
audited) by the service alone."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from executions.audit.chain import RequestMeta
from executions.browse import selectors
from executions.cancel.forms import BulkCancelForm, BulkSelectionForm, CancelForm
from executions.cancel.services import (
    CancelNotAllowed,
    CancelOutcome,
    cancel_permission_require,
    cancel_token_new,
    execution_cancel,
    execution_cancel_bulk,
)
from executions.kodexa import KodexaError
from executions.upstream.problems import problem_response

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


@require_POST
def execution_cancel_view(request: HttpRequest, execution_id: str) -> HttpResponse:
    if not _allowed(request, [execution_id]):
        return _forbidden(request)
    form = CancelForm(request.POST)
    if not form.is_valid():
        context = {"nav_section": "executions", "execution_id": execution_id, "form": form,
                   "then_reprocess_offered": bool(form["then_reprocess"].value())}  # keep the choice made
        return render(request, "cancel/invalid.html", context, status=400)
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


@require_POST
def execution_bulk_cancel(request: HttpRequest) -> HttpResponse:
    """Step 1 (ids only): confirm. Step 2 (confirm=1, with a reason): cancel and show one row per item."""
    selection = BulkSelectionForm(request.POST)
    if not _allowed(request, selection.cleaned_data["ids"] if selection.is_valid() else []):
        return _forbidden(request)
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
        return render(request, "cancel/bulk_result.html", {**context, "batch": batch})
    try:
        context["selection"] = selectors.execution_selection(execution_ids=ids)
    except KodexaError as exc:
        return problem_response(request, exc, "cancel/bulk_confirm.html", {**context, "form": form, "ids": ids})
    context.update({"form": form, "ids": ids})
    return render(request, "cancel/bulk_confirm.html", context, status=400 if confirming else 200)
