"""A cast for dashboards: two members of team "Support EU", an outsider, a superuser, and a dashboard."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from executions.dashboards.models import Dashboard, SavedView, Widget


@pytest.fixture
def team(db) -> Group:  # type: ignore[no-untyped-def]
    return Group.objects.create(name="Support EU")


@pytest.fixture
def member(django_user_model, team):  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_user("alice", password="alice-pass-123")
    user.groups.add(team)
    return user


@pytest.fixture
def member2(django_user_model, team):  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_user("bob", password="bob-pass-123")
    user.groups.add(team)
    return user


@pytest.fixture
def outsider(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user("mallory", password="mallory-pass-123")


@pytest.fixture
def superuser(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_superuser("root", password="root-pass-123")


@pytest.fixture
def dashboard(team, member) -> Dashboard:  # type: ignore[no-untyped-def]
    board = Dashboard.objects.create(name="Invoices on fire", team=team, refresh_seconds=30, created_by=member)
    Widget.objects.create(dashboard=board, position=0, title="Running now", kind="count", view={"status": ["RUNNING"]})
    Widget.objects.create(dashboard=board, position=1, title="Failed", kind="table", limit=5,
                          view={"status": ["FAILED"], "sort": "createdOn,desc"})
    Widget.objects.create(dashboard=board, position=2, title="All by status", kind="status_breakdown", view={})
    return board


@pytest.fixture
def private_view(member) -> SavedView:  # type: ignore[no-untyped-def]
    return SavedView.objects.create(name="Mine", owner=member, view={"status": ["FAILED"]})


@pytest.fixture
def shared_view(member, team) -> SavedView:  # type: ignore[no-untyped-def]
    return SavedView.objects.create(name="Team running", owner=member, team=team, view={"status": ["RUNNING"]})
