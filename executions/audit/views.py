"""The audit log: every event for Auditors (filtered pages, streamed CSV/JSON exports that verify offline), and
each logged-in user's own actions for everyone else."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_safe

from executions.audit import selectors as audit_queries
from executions.audit.chain import RequestMeta, audit_event_append
from executions.audit.exports import audit_export_csv, audit_export_json
from executions.audit.forms import AuditFilterForm
from executions.audit.models import AuditAction

AUDIT_PERMISSION = "executions.view_auditevent"


@require_safe
def audit_list(request: HttpRequest) -> HttpResponse:
    """Auditors see every event ("My actions" is a quick filter); anyone else logged in sees their own only."""
    can_see_all = request.user.has_perm(AUDIT_PERMISSION)
    form = AuditFilterForm(request.GET, can_see_all=can_see_all)
    context: dict[str, object] = {"nav_section": "audit", "form": form, "can_see_all": can_see_all}
    if not form.is_valid():
        return render(request, "audit/list.html", context, status=400)
    filters = form.to_filters(user=request.user)
    page = audit_queries.audit_event_page(filters=filters, before_id=form.cleaned_data.get("before"))
    params = filters.as_params()
    everyone = {k: v for k, v in params.items() if k != "mine"}
    context.update({"page": page, "filters": filters, "params": params, "first_page": not form.cleaned_data.get(
        "before"), "quick_all": urlencode(everyone), "quick_mine": urlencode({**everyone, "mine": "1"})})
    return render(request, "audit/list.html", context)


@require_GET
@permission_required(AUDIT_PERMISSION, raise_exception=True)
def audit_export(request: HttpRequest, export_format: str) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "audit/list.html", {"nav_section": "audit", "form": form, "can_see_all": True},
                      status=400)
    filters = form.to_filters(user=request.user)
    # The export is itself audited, before it starts: who took a copy of what.
    audit_event_append(action=AuditAction.AUDIT_EXPORTED, actor=request.user, meta=RequestMeta.of(request),
                       details={"format": export_format, "filters": filters.as_params()})
    rows = audit_queries.audit_export_rows(filters=filters)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    if export_format == "csv":
        response = StreamingHttpResponse(audit_export_csv(rows=rows, columns=audit_queries.EXPORT_COLUMNS),
                                         content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(audit_export_json(rows=rows, filters=filters.as_params()),
                                         content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="kodexa-admin-audit-{stamp}.{export_format}"'
    response["Cache-Control"] = "no-store"
    return response
