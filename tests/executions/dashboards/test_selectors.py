from __future__ import annotations

import pytest
from django.http import Http404

from executions.dashboards import selectors
from executions.dashboards.models import SavedView


def test_members_see_their_team_dashboards_and_outsiders_do_not(dashboard, alice, bob, charlie, admin):
    assert list(selectors.dashboard_list_visible(user=alice)) == [dashboard]
    assert selectors.dashboard_get_visible(user=bob, dashboard_id=dashboard.pk) == dashboard
    assert list(selectors.dashboard_list_visible(user=charlie)) == []
    with pytest.raises(Http404):
        selectors.dashboard_get_visible(user=charlie, dashboard_id=dashboard.pk)
    assert selectors.dashboard_get_visible(user=admin, dashboard_id=dashboard.pk) == dashboard


def test_saved_views_are_private_or_shared_with_the_team(private_view, shared_view, alice, bob, charlie):
    other_private = SavedView.objects.create(name="Bob's", owner=bob, view={})
    assert set(selectors.saved_view_list_visible(user=alice)) == {private_view, shared_view}
    assert set(selectors.saved_view_list_visible(user=bob)) == {shared_view, other_private}
    assert list(selectors.saved_view_list_visible(user=charlie)) == []
    with pytest.raises(Http404):
        selectors.saved_view_get_visible(user=bob, view_id=private_view.pk)
    # Team members may open a shared view but not change it.
    assert selectors.saved_view_get_visible(user=bob, view_id=shared_view.pk) == shared_view
    with pytest.raises(Http404):
        selectors.saved_view_get_owned(user=bob, view_id=shared_view.pk)


def test_saved_view_rows_describe_the_filters(alice, shared_view):
    shared_view.view = {"status": ["FAILED", "RUNNING"], "created_within_hours": 24}
    shared_view.save()
    [row] = selectors.saved_view_rows(user=alice)
    assert row.is_owner
    assert row.summary == ("status: Failed, Running", "last 24 h")


def test_roles_are_never_teams(alice, charlie, admin, team):
    """alice is an Operator and in Support EU; charlie is an Auditor: the team pickers offer only real teams."""
    assert [g.name for g in selectors.team_list(user=alice)] == ["Support EU"]
    assert list(selectors.team_list(user=charlie)) == []
    assert [g.name for g in selectors.team_list_for_dashboards(user=admin)] == ["Support EU"]


def test_the_dashboard_form_and_the_save_view_form_offer_no_role(alice_client, kodexa):
    page = alice_client.get("/dashboards/").content.decode()
    assert "Support EU" in page and ">Operators<" not in page
    listing = alice_client.get("/executions/").content.decode()
    assert "Support EU" in listing and ">Operators<" not in listing
