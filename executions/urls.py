from django.urls import include, path, register_converter

from executions import views
from executions.converters import ExecutionIdConverter

register_converter(ExecutionIdConverter, "execution_id")

execution_patterns = [
    path("", views.execution_list, name="list"),
    path("<execution_id:execution_id>/", views.execution_detail, name="detail"),
]

audit_patterns = [
    path("", views.audit_list, name="list"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("executions/", include((execution_patterns, "executions"))),
    path("audit/", include((audit_patterns, "audit"))),
]
