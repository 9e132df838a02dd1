"""Dashboards, issue 14: the runs-over-time widget, a count's trend line, one stale banner, zero statuses
hidden, data age, changed numbers, the page for someone in no team, and the JSON form of the new fields."""

from __future__ import annotations

import io
import json
import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse

from executions.dashboards import selectors
from executions.dashboards.io import dashboard_spec_check
from executions.dashboards.models import Dashboard, Widget
from executions.kodexa.dates import parse_datetime
from executions.upstream import cache
from tests.helpers import reset_calls, sim_executions

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):  # type: ignore[no-untyped-def]
    state = {"offset": 0.0}
    monkeypatch.setattr(cache, "wall_clock", lambda: time.time() + state["offset"])
    return state


@pytest.fixture
def chart_board(team, alice) -> Dashboard:  # type: ignore[no-untyped-def]
    board = Dashboard.objects.create(name="Charts", team=team, refresh_seconds=30, created_by=alice)
    Widget.objects.create(dashboard=board, position=0, title="Runs today", kind="runs_over_time", view={})
    Widget.objects.create(dashboard=board, position=1, title="Failed, trend", kind="count", trend=True,
                          view={"status": ["FAILED"], "created_within_hours": 24})
    Widget.objects.create(dashboard=board, position=2, title="Failed and cancelled", kind="status_breakdown",
                          view={"status": ["FAILED", "CANCELLED", "REPROCESSED"]})
    return board


def _since(hours: int) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours)


def test_the_runs_over_time_widget_shows_the_window_by_status(kodexa, chart_board, alice_client):
    kodexa.control.configure(speed=0)  # nothing moves while the test compares numbers
    html = alice_client.get(reverse("dashboards:detail", args=[chart_board.pk])).content.decode()
    truth = [e for e in sim_executions(kodexa) if parse_datetime(e["createdOn"]) > _since(24)]
    widget = html[html.index('data-widget-kind="runs_over_time"'):]
    widget = widget[:widget.index("</article>")]
    assert f"{len(truth)} runs in the last 24 hours, per hour" in widget
    for status, n in Counter(e["status"] for e in truth).items():
        label = status.replace("_", " ").capitalize()
        assert f"{label} {n}" in widget, status
    assert 'data-testid="chart-table"' in widget and "<svg" in widget


def test_a_count_with_a_trend_line_sums_to_its_count_in_a_window(kodexa, chart_board, alice):
    kodexa.control.configure(speed=0)  # nothing moves while the test compares numbers
    board = selectors.dashboard_get_visible(user=alice, dashboard_id=chart_board.pk)
    _, count, _ = selectors.dashboard_data(dashboard=board).panels
    failed = [e for e in sim_executions(kodexa, "status:'FAILED'") if parse_datetime(e["createdOn"]) > _since(24)]
    assert count.total == len(failed)
    assert sum(count.trend) == len(failed) and len(count.trend) == 25  # hourly, over 24 h


def test_the_trend_line_text_alternative_lists_its_numbers(kodexa, chart_board, alice_client):
    kodexa.control.configure(speed=0)  # nothing moves while the test compares numbers
    html = alice_client.get(reverse("dashboards:detail", args=[chart_board.pk])).content.decode()
    values = re.search(r'data-testid="sparkline-values">Counts, oldest first: ([\d, ]+)\.', html).group(1)
    failed = [e for e in sim_executions(kodexa, "status:'FAILED'") if parse_datetime(e["createdOn"]) > _since(24)]
    assert sum(int(v) for v in values.split(", ")) == len(failed)


def test_a_breakdown_hides_zero_statuses_and_links_each_row_to_the_filtered_list(kodexa, chart_board, alice):
    kodexa.control.configure(speed=0)  # nothing moves while the test compares numbers
    board = selectors.dashboard_get_visible(user=alice, dashboard_id=chart_board.pk)
    breakdown = selectors.dashboard_data(dashboard=board).panels[2]
    counts = Counter(e["status"] for e in sim_executions(kodexa))
    shown = {b.status.value: b.count for b in breakdown.bars}
    assert shown == {s: counts[s] for s in ("FAILED", "CANCELLED", "REPROCESSED") if counts[s]}
    assert all(b.count > 0 for b in breakdown.bars)
    assert all(b.querystring == f"status={b.status.value}" for b in breakdown.bars)


def test_a_breakdown_with_no_execution_says_so(kodexa, team, alice_client):
    board = Dashboard.objects.create(name="Empty", team=team)
    Widget.objects.create(dashboard=board, title="Nothing", kind="status_breakdown",
                          view={"status": ["FAILED"], "assistant": "no-such-assistant-0000"})
    html = alice_client.get(reverse("dashboards:detail", args=[board.pk])).content.decode()
    assert "No executions match." in html and "<progress" not in html


def test_the_breakdown_rows_link_to_the_list(kodexa, chart_board, alice_client):
    html = alice_client.get(reverse("dashboards:detail", args=[chart_board.pk])).content.decode()
    assert 'href="/executions/?status=FAILED"' in html


def test_data_age_is_the_cache_entrys_age_in_seconds(kodexa, chart_board, alice_client, clock):
    url = reverse("dashboards:detail", args=[chart_board.pk])
    alice_client.get(url)
    clock["offset"] = 12
    html = alice_client.get(url).content.decode()
    ages = re.findall(r'data-testid="data-age">Data from (\d+) s ago', html)
    assert ages and all(int(a) in (12, 13) for a in ages), ages


def test_one_stale_banner_however_many_widgets_are_stale(kodexa, chart_board, alice_client, clock):
    url = reverse("dashboards:detail", args=[chart_board.pk])
    alice_client.get(url)
    kodexa.control.add_fault("GET /api/executions", status=503, times=None)
    clock["offset"] = 120
    html = alice_client.get(url).content.decode()
    assert html.count('data-testid="dashboard-stale"') == 1
    assert html.count('class="stale-mark"') == 3


def test_a_number_that_changed_since_the_last_render_is_highlighted(kodexa, chart_board, alice, alice_client):
    board = selectors.dashboard_get_visible(user=alice, dashboard_id=chart_board.pk)
    data = selectors.dashboard_data(dashboard=board)
    count = data.panels[1]
    url = reverse("dashboards:widgets", args=[chart_board.pk])
    same = alice_client.get(url, {"prev": data.numbers}).content.decode()
    assert "changed" not in re.sub(r'hx-vals=\'[^\']*\'', "", same)
    previous = data.numbers.replace(f"{count.id}={count.total}", f"{count.id}={count.total + 1}")
    moved = alice_client.get(url, {"prev": previous}).content.decode()
    assert 'class="big-number changed"' in moved
    # The fragment carries its own numbers for the next poll to compare with.
    sent = json.loads(re.search(r"hx-vals='([^']*)'", moved).group(1))
    assert sent == {"prev": data.numbers}


def test_garbage_previous_numbers_are_ignored(kodexa, chart_board, alice_client):
    url = reverse("dashboards:widgets", args=[chart_board.pk])
    response = alice_client.get(url, {"prev": "x=1;;=;9999999999999999999999=1;a=b" * 50})
    assert response.status_code == 200 and "changed" not in re.sub(r"hx-vals='[^']*'", "", response.content.decode())


def test_the_chart_widgets_cost_one_shared_read_each(kodexa, chart_board, alice, clock):
    board = selectors.dashboard_get_visible(user=alice, dashboard_id=chart_board.pk)
    reset_calls(kodexa)
    data = selectors.dashboard_data(dashboard=board)
    # runs: 1 sample; count with trend: 1 count + 1 sample; breakdown: 3 counts.
    assert data.upstream_reads == 6
    assert kodexa.control.calls()["total"] == 6
    reset_calls(kodexa)
    selectors.dashboard_data(dashboard=board)
    assert kodexa.control.calls()["total"] == 0  # warm: nothing until the refresh window passes


def test_someone_in_no_team_is_told_how_to_join_one(kodexa, chart_board, charlie_client, admin):
    admin.email = "ops@example.com"
    admin.save()
    for url in (reverse("dashboards:detail", args=[chart_board.pk]), reverse("dashboards:detail", args=[999])):
        response = charlie_client.get(url)
        html = response.content.decode()
        assert response.status_code == 200
        assert "Join a team" in html and "ask an administrator to add you to a team" in html
        assert "ops@example.com" in html and "Charts" not in html.split("<main", 1)[1]
    listing = charlie_client.get(reverse("dashboards:list")).content.decode()
    assert 'data-testid="join-team"' in listing


# --- the JSON form --------------------------------------------------------------------------------------

def _export(dashboard_id: int) -> dict:
    out = io.StringIO()
    call_command("dashboard_export", str(dashboard_id), stdout=out)
    return json.loads(out.getvalue())


def test_the_new_kind_and_the_trend_round_trip(tmp_path, chart_board):
    exported = _export(chart_board.pk)
    assert exported["widgets"][0] == {"title": "Runs today", "kind": "runs_over_time", "view": {}}
    assert exported["widgets"][1]["trend"] is True and "trend" not in exported["widgets"][2]
    path = tmp_path / "board.json"
    path.write_text(json.dumps(exported))
    call_command("dashboard_import", str(path), stdout=io.StringIO())
    assert Dashboard.objects.count() == 1
    assert _export(chart_board.pk) == exported
    assert Widget.objects.get(dashboard=chart_board, position=1).trend is True


def test_a_trend_is_a_boolean_on_a_count_only(db):
    _, errors = dashboard_spec_check({"name": "x", "team": "t", "widgets": [
        {"title": "a", "kind": "count", "trend": "yes", "view": {}},
        {"title": "b", "kind": "table", "trend": True, "view": {}},
    ]})
    assert errors == ["widgets[0].trend: must be true or false",
                      "widgets[1].trend: only a count widget has a trend line"]


def test_the_editor_adds_a_runs_widget_and_a_trend(kodexa, team, alice_client):
    board = Dashboard.objects.create(name="Editor", team=team)
    url = reverse("dashboards:widget_add", args=[board.pk])
    alice_client.post(url, {"title": "Runs", "kind": "runs_over_time", "limit": 10})
    alice_client.post(url, {"title": "Count", "kind": "count", "limit": 10, "trend": "on"})
    alice_client.post(url, {"title": "Table", "kind": "table", "limit": 10, "trend": "on"})
    kinds = [(w.kind, w.trend) for w in board.widgets.all()]
    assert kinds == [("runs_over_time", False), ("count", True), ("table", False)]
    edit = alice_client.get(reverse("dashboards:edit", args=[board.pk])).content.decode()
    assert "Runs over time" in edit and "trend line" in edit
