"""Saved views and team dashboards.

A `view` JSON is the form of docs/dashboards.md (ExecutionQuery.to_view()); it is validated by io.py before it is
stored, and again when it is read, so a rule change cannot crash a page.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

NAME_MAX_LENGTH = 100  # names of views and dashboards, titles of widgets
DEFAULT_REFRESH_SECONDS = 30
REFRESH_MIN_SECONDS = 10
REFRESH_MAX_SECONDS = 3600
DEFAULT_WIDGET_LIMIT = 10
WIDGET_LIMIT_MAX = 50
# Every widget costs Kodexa reads on every refresh (a status breakdown one per status): the forms, the services
# and the importer refuse more than this, and a render never reads for more (see dashboards/selectors.py).
WIDGETS_PER_DASHBOARD_MAX = 24


class SavedView(models.Model):
    """A named /executions/ query: private to its owner, or shared with one of the owner's teams."""

    name = models.CharField(max_length=NAME_MAX_LENGTH)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    # A deleted team makes its shared views private again rather than deleting someone's work.
    team = models.ForeignKey("auth.Group", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="saved_views", help_text="Empty = private to the owner.")
    view = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="savedview_owner_name_unique")]

    def __str__(self) -> str:
        return self.name


class Dashboard(models.Model):
    """A team's set of widgets; every member of the team may see and edit it."""

    name = models.CharField(max_length=NAME_MAX_LENGTH)
    # PROTECT: deleting a team must not silently take its dashboards with it.
    team = models.ForeignKey("auth.Group", on_delete=models.PROTECT, related_name="dashboards")
    refresh_seconds = models.PositiveIntegerField(default=DEFAULT_REFRESH_SECONDS)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="dashboard_team_name_unique"),
            models.CheckConstraint(
                condition=models.Q(refresh_seconds__gte=REFRESH_MIN_SECONDS, refresh_seconds__lte=REFRESH_MAX_SECONDS),
                name="dashboard_refresh_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.team.name})"


class WidgetKind(models.TextChoices):
    COUNT = "count", "Count"
    TABLE = "table", "Table"
    STATUS_BREAKDOWN = "status_breakdown", "Status breakdown"
    RUNS_OVER_TIME = "runs_over_time", "Runs over time"


class Widget(models.Model):
    """One panel of a dashboard: a saved view or an inline view, shown as a count, a table or a breakdown."""

    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="widgets")
    position = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=NAME_MAX_LENGTH)
    kind = models.CharField(max_length=20, choices=WidgetKind.choices, default=WidgetKind.COUNT)
    limit = models.PositiveSmallIntegerField(default=DEFAULT_WIDGET_LIMIT, help_text="Rows shown by a table widget.")
    # A count widget's trend line: its count per bucket over the query's window (one more shared read).
    trend = models.BooleanField(default=False, help_text="Count widgets: show a trend line over the window.")
    # PROTECT: deleting a saved view first copies its query into the widgets that use it (see services).
    saved_view = models.ForeignKey(SavedView, null=True, blank=True, on_delete=models.PROTECT, related_name="widgets")
    view = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(saved_view__isnull=False, view__isnull=True)
                           | models.Q(saved_view__isnull=True, view__isnull=False)),
                name="widget_one_source",
            ),
            models.CheckConstraint(condition=models.Q(limit__gte=1, limit__lte=WIDGET_LIMIT_MAX),
                                   name="widget_limit_range"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def effective_view(self) -> dict:
        return dict(self.saved_view.view) if self.saved_view_id else dict(self.view or {})
