"""Permissions and flows of the saved view and dashboard pages (no Kodexa needed unless named)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from executions.dashboards.models import Dashboard, SavedView, Widget
from tests.helpers import sim_executions


def test_home_redirects_to_the_list_without_dashboards(charlie_client):
    response = charlie_client.get("/")
    assert response.status_code == 302 and response["Location"] == reverse("executions:list")


def test_home_shows_the_first_dashboard(kodexa, dashboard, alice_client):
    response = alice_client.get("/")
    assert response.status_code == 200
    assert b"Invoices on fire" in response.content and b'id="widgets"' in response.content


def test_outsiders_get_404_everywhere(dashboard, charlie_client):
    client = charlie_client
    widget = dashboard.widgets.first()
    for url in (reverse("dashboards:edit", args=[dashboard.pk]), reverse("dashboards:widgets", args=[dashboard.pk])):
        assert client.get(url).status_code == 404, url
    # In no team at all: the dashboard's page says how to join one (and nothing of the dashboard).
    page = client.get(reverse("dashboards:detail", args=[dashboard.pk])).content.decode()
    assert "Join a team" in page and dashboard.name not in page
    for url in (reverse("dashboards:delete", args=[dashboard.pk]),
                reverse("dashboards:widget_add", args=[dashboard.pk]),
                reverse("dashboards:widget_delete", args=[dashboard.pk, widget.pk]),
                reverse("dashboards:widget_move", args=[dashboard.pk, widget.pk])):
        assert client.post(url, {"direction": "up", "title": "x", "kind": "count", "limit": 1}).status_code == 404
    assert Dashboard.objects.filter(pk=dashboard.pk).exists() and dashboard.widgets.count() == 3


def test_a_superuser_sees_any_dashboard(kodexa, dashboard, admin_client):
    assert admin_client.get(reverse("dashboards:detail", args=[dashboard.pk])).status_code == 200


def test_mutations_are_post_only(dashboard, alice_client, private_view):
    client = alice_client
    widget = dashboard.widgets.first()
    for url in (reverse("dashboards:delete", args=[dashboard.pk]),
                reverse("dashboards:widget_delete", args=[dashboard.pk, widget.pk]),
                reverse("dashboards:view_delete", args=[private_view.pk]),
                reverse("dashboards:view_create")):
        assert client.get(url).status_code == 405, url


def test_mutations_need_csrf(dashboard, alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(reverse("dashboards:delete", args=[dashboard.pk]))
    assert response.status_code == 403
    assert Dashboard.objects.filter(pk=dashboard.pk).exists()


def test_save_a_view_from_the_list_and_open_it(alice, alice_client, team):
    client = alice_client
    params = "status=FAILED&status=RUNNING&sort=createdOn%2Casc&page=3"
    response = client.post(reverse("dashboards:view_create"), {"name": "Broken", "team": team.pk, "params": params})
    assert response.status_code == 302
    saved = SavedView.objects.get(name="Broken")
    assert saved.team == team and saved.owner == alice
    assert saved.view == {"status": ["FAILED", "RUNNING"], "sort": "createdOn,asc"}  # the page is not kept
    opened = client.get(reverse("dashboards:view_open", args=[saved.pk]))
    assert opened.status_code == 302
    location = urlsplit(opened["Location"])
    assert location.path == reverse("executions:list")
    assert parse_qs(location.query) == {"status": ["FAILED", "RUNNING"], "sort": ["createdOn,asc"]}


def test_saving_refuses_bad_filters_and_foreign_teams(alice_client):
    from django.contrib.auth.models import Group

    other_team = Group.objects.create(name="Elsewhere")
    client = alice_client
    client.post(reverse("dashboards:view_create"), {"name": "Bad", "params": "status=EXPLODED"})
    client.post(reverse("dashboards:view_create"), {"name": "Foreign", "team": other_team.pk, "params": ""})
    assert not SavedView.objects.exists()


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ("stauts=FAILED", 'unknown filter "stauts"'),
        ("status", '"status" is not of the form name=value'),
        ("%%%", '"%%%" is not of the form name=value'),
        ("=FAILED", 'unknown filter ""'),
        ("status=FAILED&colour=red", 'unknown filter "colour"'),
        ("status=FAILED&created_after=yesterday", "created_after: Enter a valid date/time."),
    ],
)
def test_saving_refuses_filters_that_do_not_parse_and_says_why(alice_client, params, error):
    from django.contrib.messages import get_messages

    response = alice_client.post(reverse("dashboards:view_create"), {"name": "Odd", "params": params})
    assert response.status_code == 302
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert len(said) == 1 and said[0].startswith("The view was not saved: these filters are not valid: ")
    assert error in said[0]
    assert not SavedView.objects.exists()  # never saved as "all executions"


def test_saving_ignores_the_page_and_live_flag_and_blank_fields(alice_client):
    response = alice_client.post(reverse("dashboards:view_create"),
                                 {"name": "Ok", "params": "status=FAILED&q=&page=4&live=1"})
    assert response.status_code == 302
    assert SavedView.objects.get().view == {"status": ["FAILED"]}


def test_only_the_owner_renames_and_deletes(shared_view, alice_client, bob_client):
    other = bob_client
    assert other.post(reverse("dashboards:view_rename", args=[shared_view.pk]), {"name": "x"}).status_code == 404
    assert other.post(reverse("dashboards:view_delete", args=[shared_view.pk])).status_code == 404
    assert other.get(reverse("dashboards:view_open", args=[shared_view.pk])).status_code == 302
    owner = alice_client
    owner.post(reverse("dashboards:view_rename", args=[shared_view.pk]), {"name": "Renamed"})
    shared_view.refresh_from_db()
    assert shared_view.name == "Renamed"
    assert owner.post(reverse("dashboards:view_delete", args=[shared_view.pk])).status_code == 302
    assert not SavedView.objects.exists()


def test_deleting_a_used_view_keeps_its_query_in_widgets(dashboard, shared_view, alice_client):
    widget = Widget.objects.create(dashboard=dashboard, position=9, title="From view", saved_view=shared_view)
    alice_client.post(reverse("dashboards:view_delete", args=[shared_view.pk]))
    widget.refresh_from_db()
    assert widget.saved_view is None and widget.view == {"status": ["RUNNING"]}


def test_saved_views_page_lists_visible_views(private_view, shared_view, bob_client):
    content = bob_client.get(reverse("dashboards:views")).content.decode()
    assert "Team running" in content and "Mine" not in content
    assert "Rename" not in content  # not the owner


def test_only_views_this_team_may_know_can_go_on_its_dashboard(dashboard, alice, alice_client, charlie, private_view,
                                                                  shared_view):
    from django.contrib.auth.models import Group

    other_team = Group.objects.create(name="Another team")
    alice.groups.add(other_team)
    elsewhere = SavedView.objects.create(owner=charlie, name="Theirs",
                                         team=other_team, view={"status": ["FAILED"]})
    client = alice_client
    page = client.get(reverse("dashboards:edit", args=[dashboard.pk])).content.decode()
    assert "Team running" in page and "Mine" in page and "Theirs" not in page
    add = reverse("dashboards:widget_add", args=[dashboard.pk])
    response = client.post(add, {"title": "Leak", "kind": "count", "limit": 10, "saved_view": elsewhere.pk})
    assert response.status_code == 400
    assert not dashboard.widgets.filter(title="Leak").exists()


def test_create_a_dashboard_and_build_it(alice_client, team, shared_view):
    client = alice_client
    response = client.post(reverse("dashboards:list"), {"name": "Ops", "team": team.pk, "refresh_seconds": 15})
    board = Dashboard.objects.get(name="Ops")
    assert response.status_code == 302 and response["Location"] == reverse("dashboards:edit", args=[board.pk])
    add = reverse("dashboards:widget_add", args=[board.pk])
    client.post(add, {"title": "Shared", "kind": "count", "limit": 10, "saved_view": shared_view.pk})
    client.post(add, {"title": "Inline", "kind": "table", "limit": 7, "f-status": ["FAILED"],
                      "f-sort": "createdOn,asc"})
    response = client.post(add, {"title": "Broken", "kind": "count", "limit": 10, "f-status": ["EXPLODED"]})
    assert response.status_code == 400
    first, second = board.widgets.all()
    assert (first.title, first.saved_view) == ("Shared", shared_view)
    assert (second.title, second.kind, second.limit, second.view) == (
        "Inline", "table", 7, {"status": ["FAILED"], "sort": "createdOn,asc"})
    client.post(reverse("dashboards:widget_move", args=[board.pk, second.pk]), {"direction": "up"})
    assert [w.title for w in board.widgets.all()] == ["Inline", "Shared"]
    client.post(reverse("dashboards:widget_update", args=[board.pk, first.pk]),
                {f"w{first.pk}-title": "Renamed", f"w{first.pk}-kind": "status_breakdown", f"w{first.pk}-limit": 3})
    first.refresh_from_db()
    assert (first.title, first.kind, first.limit) == ("Renamed", "status_breakdown", 3)
    client.post(reverse("dashboards:widget_delete", args=[board.pk, second.pk]))
    assert [(w.title, w.position) for w in board.widgets.all()] == [("Renamed", 0)]
    client.post(reverse("dashboards:edit", args=[board.pk]), {"name": "Ops 2", "refresh_seconds": 60})
    board.refresh_from_db()
    assert (board.name, board.refresh_seconds) == ("Ops 2", 60)
    client.post(reverse("dashboards:delete", args=[board.pk]))
    assert not Dashboard.objects.filter(pk=board.pk).exists()


def test_members_cannot_create_dashboards_for_other_teams(alice_client):
    from django.contrib.auth.models import Group

    other = Group.objects.create(name="Elsewhere")
    response = alice_client.post(reverse("dashboards:list"), {"name": "X", "team": other.pk, "refresh_seconds": 30})
    assert response.status_code == 400 and not Dashboard.objects.exists()


def test_edit_page_renders(dashboard, alice_client, shared_view):
    response = alice_client.get(reverse("dashboards:edit", args=[dashboard.pk]))
    assert response.status_code == 200
    assert b"Add a widget" in response.content and b"Team running" in response.content


@pytest.mark.parametrize("path", ["/dashboards/", "/views/"])
def test_pages_need_login(client, path):
    assert client.get(path).status_code == 302


def test_dashboard_renders_widgets_with_data(kodexa, dashboard, alice_client):
    kodexa.control.configure(speed=0)
    response = alice_client.get(reverse("dashboards:detail", args=[dashboard.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert 'class="big-number"' in content and 'data-widget-kind="table"' in content
    # One bar per status that has executions: a status with none is not shown.
    present = {e["status"] for e in sim_executions(kodexa)}
    assert content.count("<progress class=\"tone-") == len(present)
    assert 'hx-trigger="every 30s, panel:visible"' in content and "data-live" in content
    assert "/executions/?status=RUNNING" in content
    fragment = alice_client.get(reverse("dashboards:widgets", args=[dashboard.pk]))
    assert fragment.status_code == 200 and b"<html" not in fragment.content


def test_dashboard_without_kodexa_says_so_and_never_500s(settings, dashboard, alice_client):
    settings.KODEXA_URL = ""
    response = alice_client.get(reverse("dashboards:detail", args=[dashboard.pk]))
    assert response.status_code == 200
    assert response.content.decode().count("Panel not configured") == 3


def test_list_page_offers_save_view(kodexa, alice_client, team):
    content = alice_client.get(reverse("executions:list") + "?status=FAILED").content.decode()
    assert 'action="/views/new/"' in content and 'value="status=FAILED"' in content and "Team Support EU" in content
