"""One URL table: each feature's views, under the namespaces the templates use."""

from django.urls import include, path, register_converter

from executions.audit import views as audit
from executions.browse import views as browse
from executions.cancel import views as cancel
from executions.converters import ExecutionIdConverter
from executions.dashboards import views as dashboards
from executions.preferences import views as preferences
from executions.reprocess import views as reprocess

register_converter(ExecutionIdConverter, "execution_id")

execution_patterns = [
    path("", browse.execution_list, name="list"),
    path("<execution_id:execution_id>/", browse.execution_detail, name="detail"),
    path("bulk-cancel/", cancel.execution_bulk_cancel, name="bulk_cancel"),
    path("<execution_id:execution_id>/cancel/", cancel.execution_cancel_view, name="cancel"),
    path("<execution_id:execution_id>/reprocess/", reprocess.execution_reprocess_view, name="reprocess"),
    path("<execution_id:execution_id>/reprocess/<int:event_id>/", reprocess.execution_reprocess_result,
         name="reprocess_result"),
    path("<execution_id:execution_id>/cancel/<int:event_id>/then-reprocess/", reprocess.execution_cancel_then_reprocess,
         name="cancel_then_reprocess"),
]

audit_patterns = [
    path("", audit.audit_list, name="list"),
    path("export.csv", audit.audit_export, {"export_format": "csv"}, name="export_csv"),
    path("export.json", audit.audit_export, {"export_format": "json"}, name="export_json"),
]

urlpatterns = [
    path("", dashboards.home, name="home"),
    path("executions/", include((execution_patterns, "executions"))),
    path("audit/", include((audit_patterns, "audit"))),
    path("preferences/clock/", preferences.set_clock, name="set_clock"),
    path("", include("executions.dashboards.urls")),
]
