"""Django's admin autodiscovery imports this module; each feature registers its own models."""

from executions.audit import admin as audit_admin  # noqa: F401
from executions.dashboards import admin as dashboards_admin  # noqa: F401
