"""Reprocess views: the form (a page, so it works without JavaScript), and the result, which looks for the executions
the reprocess started. The permission is checked (and a refusal audited) by the service alone."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from executions.audit.chain import RequestMeta
from executions.audit.models import AuditEvent
from executions.browse import selectors as browse
from executions.cancel.services import cancel_token_new
from executions.kodexa import KodexaError, KodexaNotFound
from executions.reprocess.forms import ReprocessForm
from executions.reprocess.selectors import (
    FOLLOWUP_WINDOW,
    reprocess_followups,
    reprocess_options,
    reprocess_request,
)
from executions.reprocess.services import (
    REPROCESS_PERMISSION,
    ReprocessNotAllowed,
    ReprocessOutcome,
    ReprocessRepeat,
    execution_reprocess,
    reprocess_permission_require,
    reprocessable,
)
from executions.upstream.problems import describe_upstream_error, log_upstream_problem, problem_response

FOLLOWUP_REFRESH_SECONDS = 3


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "errors/403.html", {}, status=403)


@require_http_methods(["GET", "HEAD", "POST"])
def execution_reprocess_view(request: HttpRequest, execution_id: str) -> HttpResponse:
    """GET: the form. POST: reprocess, then the result page (or the form again, saying what to fix)."""
    context: dict[str, object] = {"nav_section": "executions", "execution_id": execution_id}
    if request.method == "POST":
        try:  # before the form: a refused attempt is audited even when its form is incomplete
            reprocess_permission_require(user=request.user, execution_id=execution_id, meta=RequestMeta.of(request),
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
