"""Writes for saved views and dashboards. Callers pass objects they already checked access to (the
selectors return 404 for anything a user may not see); these functions enforce the rules of the data."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Literal

from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction
from django.db.models import F

from executions.browse.query import ExecutionQuery
from executions.dashboards.io import DashboardSpec, dashboard_spec_dump, view_to_query
from executions.dashboards.models import WIDGETS_PER_DASHBOARD_MAX, Dashboard, SavedView, Widget, WidgetKind


class DashboardPermissionDenied(Exception):
    pass


class DashboardFull(Exception):
    """The dashboard already has WIDGETS_PER_DASHBOARD_MAX widgets."""

    def __init__(self) -> None:
        super().__init__(f"A dashboard holds at most {WIDGETS_PER_DASHBOARD_MAX} widgets: remove one first.")


# --- saved views --------------------------------------------------------------------------------------

def saved_view_create(*, owner: AbstractBaseUser, name: str, query: ExecutionQuery,
                      team: Group | None = None) -> SavedView:
    """Save a query under a name; shared with `team` (one of the owner's) or private."""
    if team is not None and not owner.groups.filter(pk=team.pk).exists():
        raise DashboardPermissionDenied("You can only share a view with a team you belong to.")
    # Page is where the user happened to be, not part of what they want to watch.
    return SavedView.objects.create(owner=owner, name=name.strip(), team=team, view=query.to_view())


def saved_view_rename(*, user: AbstractBaseUser, saved_view: SavedView, name: str) -> SavedView:
    if saved_view.owner_id != user.pk:
        raise DashboardPermissionDenied("Only the owner can rename a saved view.")
    saved_view.name = name.strip()
    saved_view.save(update_fields=["name", "updated_at"])
    return saved_view


@transaction.atomic
def saved_view_delete(*, user: AbstractBaseUser, saved_view: SavedView) -> int:
    """Delete a view; dashboards that use it keep working with a copy of its query. Returns that count."""
    if saved_view.owner_id != user.pk:
        raise DashboardPermissionDenied("Only the owner can delete a saved view.")
    kept = Widget.objects.filter(saved_view=saved_view).update(saved_view=None, view=saved_view.view)
    saved_view.delete()
    return kept


# --- dashboards ---------------------------------------------------------------------------------------

def dashboard_create(*, user: AbstractBaseUser, name: str, team: Group, refresh_seconds: int = 30) -> Dashboard:
    return Dashboard.objects.create(name=name.strip(), team=team, refresh_seconds=refresh_seconds, created_by=user)


def dashboard_update(*, dashboard: Dashboard, name: str, refresh_seconds: int) -> Dashboard:
    dashboard.name = name.strip()
    dashboard.refresh_seconds = refresh_seconds
    dashboard.save(update_fields=["name", "refresh_seconds", "updated_at"])
    return dashboard


def dashboard_delete(*, dashboard: Dashboard) -> None:
    dashboard.delete()


def _touch(dashboard: Dashboard) -> None:
    dashboard.save(update_fields=["updated_at"])


@transaction.atomic
def widget_add(*, dashboard: Dashboard, title: str, kind: str, limit: int = 10,
               saved_view: SavedView | None = None, query: ExecutionQuery | None = None,
               trend: bool = False) -> Widget:
    """Append a widget showing a saved view or an inline query (exactly one of the two)."""
    if (saved_view is None) == (query is None):
        raise ValueError("A widget shows either a saved view or an inline query.")
    # The dashboard's row lock makes two members adding the 24th widget at once take turns.
    Dashboard.objects.select_for_update().filter(pk=dashboard.pk).values_list("pk", flat=True).first()
    if dashboard.widgets.count() >= WIDGETS_PER_DASHBOARD_MAX:
        raise DashboardFull
    last = dashboard.widgets.order_by("-position").values_list("position", flat=True).first()
    widget = Widget.objects.create(
        dashboard=dashboard, position=0 if last is None else last + 1, title=title.strip(), kind=kind, limit=limit,
        saved_view=saved_view, view=query.to_view() if query is not None else None,
        trend=trend and kind == WidgetKind.COUNT,
    )
    _touch(dashboard)
    return widget


def widget_update(*, widget: Widget, title: str, kind: str, limit: int, trend: bool = False) -> Widget:
    widget.title, widget.kind, widget.limit = title.strip(), kind, limit
    widget.trend = trend and kind == WidgetKind.COUNT  # only a count has a trend line
    widget.save(update_fields=["title", "kind", "limit", "trend"])
    _touch(widget.dashboard)
    return widget


@transaction.atomic
def widget_move(*, widget: Widget, direction: Literal["up", "down"]) -> None:
    """Swap the widget with its neighbour; positions are renumbered 0..n-1 so gaps never accumulate."""
    ordered = list(Widget.objects.select_for_update().filter(dashboard_id=widget.dashboard_id)
                   .order_by("position", "id"))
    index = next(i for i, w in enumerate(ordered) if w.pk == widget.pk)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(ordered):
        ordered[index], ordered[other] = ordered[other], ordered[index]
    for position, item in enumerate(ordered):
        if item.position != position:
            Widget.objects.filter(pk=item.pk).update(position=position)
    _touch(widget.dashboard)


@transaction.atomic
def widget_delete(*, widget: Widget) -> None:
    dashboard = widget.dashboard
    Widget.objects.filter(dashboard=dashboard, position__gt=widget.position).update(position=F("position") - 1)
    widget.delete()
    _touch(dashboard)


# --- import and export --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ImportResult:
    dashboard: Dashboard
    created: bool
    team_created: bool


def dashboard_import_errors(*, team: str, create_team: bool) -> list[str]:
    """What the database says about a file (checked even when its shape has errors, so one run reports all):
    the team must exist unless we may create it."""
    if create_team or Group.objects.filter(name=team).exists():
        return []
    return [f'team: no team named "{team}" (create it first, or pass --create-team)']


@transaction.atomic
def dashboard_import(*, spec: DashboardSpec, create_team: bool = False,
                     user: AbstractBaseUser | None = None) -> ImportResult:
    """Create the dashboard, or update the team's dashboard of that name in place (its widgets are replaced
    by the file's), so a file kept in version control can be imported again and again."""
    if len(spec.widgets) > WIDGETS_PER_DASHBOARD_MAX:
        raise DashboardFull
    if create_team:
        team, team_created = Group.objects.get_or_create(name=spec.team)
    else:
        team, team_created = Group.objects.get(name=spec.team), False
    # Names match as the forms compare them, ignoring case: "Invoices on fire" is updated by "invoices on fire".
    dashboard = Dashboard.objects.select_for_update().filter(team=team, name__iexact=spec.name).first()
    created = dashboard is None
    if dashboard is None:
        dashboard = Dashboard.objects.create(team=team, name=spec.name, refresh_seconds=spec.refresh_seconds,
                                             created_by=user)
    else:
        dashboard.name, dashboard.refresh_seconds = spec.name, spec.refresh_seconds
        dashboard.save(update_fields=["name", "refresh_seconds", "updated_at"])
        dashboard.widgets.all().delete()
    Widget.objects.bulk_create(
        Widget(dashboard=dashboard, position=i, title=w.title, kind=w.kind, limit=w.limit, view=w.view,
               trend=w.trend)
        for i, w in enumerate(spec.widgets)
    )
    return ImportResult(dashboard=dashboard, created=created, team_created=team_created)


def dashboard_export(*, dashboard: Dashboard) -> dict[str, object]:
    """The JSON form (docs/dashboards.md); widgets that use a saved view carry a copy of its query."""
    widgets = []
    trends = set()
    for widget in dashboard.widgets.select_related("saved_view").order_by("position", "id"):
        if widget.trend and widget.kind == WidgetKind.COUNT:
            trends.add(len(widgets))
        view = widget.effective_view
        # Normalized as an import would store it; an invalid one is exported as stored, to show what is wrong.
        with contextlib.suppress(ValueError):
            view = view_to_query(view).to_view()
        widgets.append((widget.title, widget.kind, widget.limit, view))
    return dashboard_spec_dump(name=dashboard.name, team=dashboard.team.name,
                               refresh_seconds=dashboard.refresh_seconds, widgets=widgets,
                               trends=frozenset(trends))
