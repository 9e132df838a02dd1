"""Reprocess views: the form (a page, so it works without JavaScript), and the result, which looks for the executions
the reprocess started. The permission is checked (and a refusal audited) by the service alone."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from executions.audit.chain import RequestMeta
from executions.audit.models import AuditAction, AuditEvent
from executions.browse import selectors as browse
from executions.browse.query import ExecutionQuery
from executions.cancel.services import cancel_token_new
from executions.cancel.views import list_url
from executions.kodexa import KodexaError, KodexaNotFound
from executions.reprocess.forms import BulkReprocessForm, ReprocessForm
from executions.reprocess.selectors import (
    FOLLOWUP_WINDOW,
    reprocess_followups,
    reprocess_options,
    reprocess_request,
)
from executions.reprocess.services import (
    CATEGORY_AFTER_CANCEL,
    REPROCESS_PERMISSION,
    ReprocessCategory,
    ReprocessNotAllowed,
    ReprocessOutcome,
    ReprocessRepeat,
    execution_reprocess,
    execution_reprocess_bulk,
    reprocess_permission_require,
    reprocess_token_after_cancel,
    reprocessable,
)
from executions.upstream.problems import describe_upstream_error, log_upstream_problem, problem_response

FOLLOWUP_REFRESH_SECONDS = 3
# How long the cancel-then-reprocess page waits for the cancel to take effect before it stops watching.
AFTER_CANCEL_WAIT = timedelta(minutes=10)


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "errors/403.html", {}, status=403)


@require_http_methods(["GET", "HEAD", "POST"])
def execution_reprocess_view(request: HttpRequest, execution_id: str) -> HttpResponse:
    """GET: the form. POST: reprocess, then the result page (or the form again, saying what to fix)."""
    context: dict[str, object] = {"nav_section": "executions", "execution_id": execution_id}
    if request.method == "POST":
        try:  # before the form: a refused attempt is audited even when its form is incomplete
            reprocess_permission_require(user=request.user, execution_ids=[execution_id], meta=RequestMeta.of(request),
                                         reason_text=request.POST.get("reason", ""),
                                         reason_category=request.POST.get("reason_category", ""))
        except ReprocessNotAllowed:
            return _forbidden(request)
    elif not request.user.has_perm(REPROCESS_PERMISSION):
        return _forbidden(request)
    try:
        detail = browse.execution_get(execution_id=execution_id)
    except KodexaNotFound:
        raise Http404(f"Kodexa does not know execution {execution_id}.") from None
    except KodexaError as exc:
        return problem_response(request, exc, "reprocess/form.html", context)
    execution = detail.execution
    context.update(detail=detail, execution=execution, why_not=reprocessable(execution))
    options = reprocess_options(execution, browse.assistant_list_or_empty())
    if request.method != "POST" or context["why_not"]:
        form = ReprocessForm(options=options, initial={"token": cancel_token_new(),
                                                       "assistants": [execution.assistant_id]})
        return render(request, "reprocess/form.html", {**context, "form": form},
                      status=400 if request.method == "POST" else 200)
    form = ReprocessForm(request.POST, options=options)
    if not form.is_valid():
        return render(request, "reprocess/form.html", {**context, "form": form}, status=400)
    try:
        result = execution_reprocess(user=request.user, execution_id=execution_id,
                                     assistant_ids=form.cleaned_data["assistants"], reason=form.to_reason(),
                                     meta=RequestMeta.of(request), token=form.cleaned_data["token"],
                                     confirm_repeat=form.cleaned_data["confirm_repeat"])
    except ReprocessNotAllowed:  # the permission was withdrawn a moment ago
        return _forbidden(request)
    except ReprocessRepeat as repeat:
        data = request.POST.copy()
        data["confirm_repeat"] = "true"
        context.update(form=ReprocessForm(data, options=options), previous=repeat.previous)
        return render(request, "reprocess/form.html", context, status=409)
    after_cancel = request.POST.get("after_cancel", "")
    if after_cancel.isdigit():  # sent by the cancel-then-reprocess page: back there, where both steps show
        return redirect("executions:cancel_then_reprocess", execution_id=execution_id, event_id=int(after_cancel))
    return redirect("executions:reprocess_result", execution_id=execution_id, event_id=result.request_event_id)


@require_safe
def execution_reprocess_result(request: HttpRequest, execution_id: str, event_id: int) -> HttpResponse:
    """The recorded outcome, and the executions the reprocess started (looked for during FOLLOWUP_WINDOW)."""
    requested = reprocess_request(execution_id=execution_id, event_id=event_id)
    if requested is None:
        raise Http404("No such reprocess of this execution.")
    outcomes = list(requested.outcomes.all())
    context: dict[str, object] = {"nav_section": "executions", "execution_id": execution_id, "requested": requested,
                                  "outcome": outcomes[0] if outcomes else None,
                                  "refresh_seconds": FOLLOWUP_REFRESH_SECONDS}
    accepted = bool(outcomes) and outcomes[0].action in _TAKES_EFFECT
    if accepted:
        context.update(_followups(requested))
    if request.htmx and request.GET.get("part") == "inline":  # a line of the old execution's Activity
        template = "reprocess/_inline.html"
    else:
        template = "reprocess/_followups.html" if request.htmx else "reprocess/result.html"
    return render(request, template, context)


_TAKES_EFFECT = {f"reprocess.{ReprocessOutcome.SUCCEEDED.value}", f"reprocess.{ReprocessOutcome.UNKNOWN.value}"}


def _followups(requested: AuditEvent) -> dict[str, object]:
    details = requested.details
    context: dict[str, object] = {"accepted": True, "followups": (),
                                  "looking": timezone.now() < requested.occurred_at + FOLLOWUP_WINDOW}
    try:
        context["followups"] = reprocess_followups(
            family_id=str(details.get("family_id") or ""), since=requested.occurred_at,
            assistant_ids=[str(a) for a in details.get("assistant_ids") or ()], replaced_id=requested.execution_id)
    except KodexaError as exc:
        problem = describe_upstream_error(exc)
        log_upstream_problem(exc, problem)
        context["problem"] = problem
    if context["followups"]:
        context["looking"] = False
    return context


@require_safe
def execution_cancel_then_reprocess(request: HttpRequest, execution_id: str, event_id: int) -> HttpResponse:
    """After a cancel with "then reprocess": watch the execution until the cancel has taken effect, then send the
    reprocess with the cancel's reason (the form submits itself with JavaScript; without, it is one button). Only
    the person who cancelled sees this page: it acts in their name."""
    cancel_request = (AuditEvent.objects.filter(pk=event_id, execution_id=execution_id.lower(),
                                                action=AuditAction.CANCEL_REQUESTED, actor_id=request.user.pk)
                      .prefetch_related("outcomes").first())
    if cancel_request is None:
        raise Http404("No such cancel of yours for this execution.")
    outcomes = list(cancel_request.outcomes.all())
    token = reprocess_token_after_cancel(cancel_request)
    context: dict[str, object] = {
        "nav_section": "executions", "execution_id": execution_id, "cancel_request": cancel_request,
        "cancel_outcome": outcomes[0] if outcomes else None, "refresh_seconds": FOLLOWUP_REFRESH_SECONDS,
        "may_reprocess": request.user.has_perm(REPROCESS_PERMISSION),
        "sent": AuditEvent.objects.filter(idempotency_key=f"reprocess:{request.user.pk}:{token}:{execution_id}",
                                          action=AuditAction.REPROCESS_REQUESTED).first(),
    }
    failed = bool(outcomes) and outcomes[0].action == AuditAction.CANCEL_FAILED
    if (sent := context["sent"]) is not None:
        sent_outcomes = list(sent.outcomes.all())
        context.update(requested=sent, outcome=sent_outcomes[0] if sent_outcomes else None,
                       accepted=bool(sent_outcomes) and sent_outcomes[0].action in _TAKES_EFFECT)
        if context["accepted"]:
            context.update(_followups(sent))
    elif not failed and context["may_reprocess"]:
        context.update(_after_cancel(cancel_request, execution_id, token))
    template = "reprocess/_after_cancel.html" if request.htmx else "reprocess/after_cancel.html"
    return render(request, template, context)


def _after_cancel(cancel_request: AuditEvent, execution_id: str, token: str) -> dict[str, object]:
    """Waiting (the execution still runs), ready (with the reprocess form's data), or a problem reading it."""
    try:
        execution = browse.execution_get(execution_id=execution_id).execution
    except KodexaError as exc:
        problem = describe_upstream_error(exc)
        log_upstream_problem(exc, problem)
        return {"problem": problem, "waiting": True}
    if not execution.status.is_terminal:
        return {"execution": execution,
                "waiting": timezone.now() < cancel_request.occurred_at + AFTER_CANCEL_WAIT,
                "gave_up": timezone.now() >= cancel_request.occurred_at + AFTER_CANCEL_WAIT}
    category = CATEGORY_AFTER_CANCEL.get(cancel_request.reason_category, ReprocessCategory.OTHER)
    return {"execution": execution, "why_not": reprocessable(execution),
            "reprocess": {"reason_category": category.value, "reason": cancel_request.reason, "token": token,
                          "assistant": execution.assistant_id}}


@require_POST
def execution_bulk_reprocess(request: HttpRequest) -> HttpResponse:
    """Step 1 (the ticked ids): confirm, saying which documents will be reprocessed and which skipped. Step 2
    (confirm=1, with a reason): reprocess in parallel and show one row per item."""
    confirming = request.POST.get("confirm") == "1"
    form = BulkReprocessForm(request.POST)
    valid = form.is_valid()
    ids: list[str] = form.cleaned_data.get("ids") or [] if hasattr(form, "cleaned_data") else []
    if confirming or ids:
        try:  # before the form's verdict: a refused attempt is audited even when its form is incomplete
            reprocess_permission_require(user=request.user, execution_ids=ids, meta=RequestMeta.of(request),
                                         reason_text=request.POST.get("reason", ""),
                                         reason_category=request.POST.get("reason_category", ""))
        except ReprocessNotAllowed:
            return _forbidden(request)
    query = form.cleaned_data.get("matching") if hasattr(form, "cleaned_data") else None
    context: dict[str, object] = {"nav_section": "executions", "ids": ids,
                                  "back_url": list_url(query if isinstance(query, ExecutionQuery) else None)}
    if not ids:
        messages.error(request, "Tick the finished executions to reprocess (at most 100).")
        return redirect(context["back_url"])
    if confirming and valid:
        try:
            batch = execution_reprocess_bulk(user=request.user, execution_ids=ids, reason=form.to_reason(),
                                             meta=RequestMeta.of(request), token=form.cleaned_data["token"],
                                             confirm_repeat=form.cleaned_data["confirm_repeat"])
        except ReprocessNotAllowed:
            return _forbidden(request)
        except ReprocessRepeat as repeat:
            data = request.POST.copy()
            data["confirm_repeat"] = "true"
            context.update(form=BulkReprocessForm(data), previous=repeat.previous)
            return _bulk_confirm(request, context, status=409)
        return render(request, "reprocess/bulk_result.html", {**context, "batch": batch})
    if not confirming:
        form = BulkReprocessForm(initial={"ids": ids, "token": cancel_token_new(),
                                          "matching": query.querystring() if isinstance(query, ExecutionQuery)
                                          else ""})
    context["form"] = form
    return _bulk_confirm(request, context, status=400 if confirming else 200)


def _bulk_confirm(request: HttpRequest, context: dict[str, object], *, status: int) -> HttpResponse:
    try:
        listing = browse.execution_selection(execution_ids=context["ids"])  # type: ignore[arg-type]
    except KodexaError as exc:
        return problem_response(request, exc, "reprocess/bulk_confirm.html", context)
    context["rows"] = [(row, reprocessable(row.execution)) for row in listing.rows]
    context["missing"] = len(context["ids"]) - len(listing.rows)  # type: ignore[arg-type]
    return render(request, "reprocess/bulk_confirm.html", context, status=status)
