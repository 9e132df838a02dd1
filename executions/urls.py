from django.urls import include, path, register_converter

from executions.audit import views as audit_views
from executions.browse import views
from executions.converters import ExecutionIdConverter
from executions.dashboards import views as dashboard_views

register_converter(ExecutionIdConverter, "execution_id")

execution_patterns = [
    path("", views.execution_list, name="list"),
    path("bulk-cancel/", views.execution_bulk_cancel, name="bulk_cancel"),
    path("<execution_id:execution_id>/", views.execution_detail, name="detail"),
    path("<execution_id:execution_id>/cancel/", views.execution_cancel_view, name="cancel"),
]

audit_patterns = [
    path("", audit_views.audit_list, name="list"),
    path("export.csv", audit_views.audit_export, {"export_format": "csv"}, name="export_csv"),
    path("export.json", audit_views.audit_export, {"export_format": "json"}, name="export_json"),
]

urlpatterns = [
    path("", dashboard_views.home, name="home"),
    path("executions/", include((execution_patterns, "executions"))),
    path("audit/", include((audit_patterns, "audit"))),
    path("", include("executions.dashboards.urls")),
]
