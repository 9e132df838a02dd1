from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from executions.dashboards.models import Dashboard, Widget


def test_it_requires_exactly_one_widget_source(dashboard, shared_view):
    with pytest.raises(IntegrityError), transaction.atomic():
        Widget.objects.create(dashboard=dashboard, title="both", saved_view=shared_view, view={})
    with pytest.raises(IntegrityError), transaction.atomic():
        Widget.objects.create(dashboard=dashboard, title="neither")
    Widget.objects.create(dashboard=dashboard, title="view only", saved_view=shared_view)


def test_it_bounds_refresh_and_limit(team, dashboard):
    with pytest.raises(IntegrityError), transaction.atomic():
        Dashboard.objects.create(name="too fast", team=team, refresh_seconds=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        Widget.objects.create(dashboard=dashboard, title="big", kind="table", limit=51, view={})


def test_it_keeps_dashboard_names_unique_per_team(team, dashboard):
    with pytest.raises(IntegrityError), transaction.atomic():
        Dashboard.objects.create(name=dashboard.name, team=team)


def test_effective_view_follows_the_saved_view(dashboard, shared_view):
    widget = Widget.objects.create(dashboard=dashboard, title="w", saved_view=shared_view)
    assert widget.effective_view == {"status": ["RUNNING"]}
