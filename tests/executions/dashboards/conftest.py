"""Dashboard data for the cast (tests/conftest.py): alice's dashboard for team "Support EU", her private
saved view and a view she shares with the team."""

from __future__ import annotations

import pytest

from executions.dashboards.models import Dashboard, SavedView, Widget


@pytest.fixture
def dashboard(team, alice) -> Dashboard:  # type: ignore[no-untyped-def]
    board = Dashboard.objects.create(name="Invoices on fire", team=team, refresh_seconds=30, created_by=alice)
    Widget.objects.create(dashboard=board, position=0, title="Running now", kind="count", view={"status": ["RUNNING"]})
    Widget.objects.create(dashboard=board, position=1, title="Failed", kind="table", limit=5,
                          view={"status": ["FAILED"], "sort": "createdOn,desc"})
    Widget.objects.create(dashboard=board, position=2, title="All by status", kind="status_breakdown", view={})
    return board


@pytest.fixture
def private_view(alice) -> SavedView:  # type: ignore[no-untyped-def]
    return SavedView.objects.create(name="Mine", owner=alice, view={"status": ["FAILED"]})


@pytest.fixture
def shared_view(alice, team) -> SavedView:  # type: ignore[no-untyped-def]
    return SavedView.objects.create(name="Team running", owner=alice, team=team, view={"status": ["RUNNING"]})
