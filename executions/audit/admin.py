"""The audit log in /admin/: read-only, as everywhere else."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from executions.audit.models import AuditEvent
from executions.templatetags.panel import reason_label


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log is append-only, in the admin as everywhere else."""

    list_display = ("id", "occurred_at", "action", "actor_username", "execution_id", "upstream_status", "batch_id")
    list_filter = ("action",)
    search_fields = ("execution_id", "actor_username", "=batch_id", "=request_id")
    date_hierarchy = "occurred_at"
    show_full_result_count = False  # COUNT(*) over a million events on every page view is not worth it
    readonly_fields = [f.name for f in AuditEvent._meta.get_fields() if getattr(f, "concrete", False)] + [
        "reason_category_words"]

    @admin.display(description="Reason category (as words)")
    def reason_category_words(self, event: AuditEvent) -> str:
        # The stored code stays visible above (it is part of the hashed record); people read the words.
        return reason_label(event.reason_category) or "—"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
