"""Django finds an app's models here; each lives beside the feature that owns it."""

from executions.audit.models import AuditAction, AuditEvent, AuditEventQuerySet
from executions.dashboards.models import (
    REFRESH_MAX_SECONDS,
    REFRESH_MIN_SECONDS,
    WIDGET_LIMIT_MAX,
    WIDGETS_PER_DASHBOARD_MAX,
    Dashboard,
    SavedView,
    Widget,
    WidgetKind,
)
from executions.preferences.models import Preference

__all__ = [
    "REFRESH_MAX_SECONDS",
    "REFRESH_MIN_SECONDS",
    "WIDGETS_PER_DASHBOARD_MAX",
    "WIDGET_LIMIT_MAX",
    "AuditAction",
    "AuditEvent",
    "AuditEventQuerySet",
    "Dashboard",
    "Preference",
    "SavedView",
    "Widget",
    "WidgetKind",
]
