"""A dashboard is bounded: at most WIDGETS_PER_DASHBOARD_MAX widgets (forms, services, import), a fixed budget
of upstream reads per render (even for a dashboard saved before the limit), and a cache that holds them."""

from __future__ import annotations

import io
import json
import tracemalloc

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from executions.browse.query import FILTERABLE_STATUSES, ExecutionQuery
from executions.dashboards import selectors, services
from executions.dashboards.io import DashboardSpec, WidgetSpec, dashboard_spec_check
from executions.dashboards.models import WIDGETS_PER_DASHBOARD_MAX, Dashboard, Widget
from executions.management.commands.dashboard_import import MAX_FILE_BYTES
from tests.helpers import reset_calls, upstream_calls

LIMIT = WIDGETS_PER_DASHBOARD_MAX


def _fill(dashboard: Dashboard, up_to: int, *, kind: str = "count") -> None:
    """Widgets written straight to the database, as a dashboard saved before the limit may have them; each
    its own assistant, so no two share a read."""
    start = dashboard.widgets.count()
    Widget.objects.bulk_create(Widget(dashboard=dashboard, position=i, title=f"w{i}", kind=kind,
                                      view={"assistant": f"assistant-{dashboard.pk}-{i}"})
                               for i in range(start, up_to))


def _file(widgets: int) -> dict[str, object]:
    return {"name": "Big", "team": "Support EU",
            "widgets": [{"title": "w", "kind": "count", "view": {}}] * widgets}


def test_the_limit_is_24():
    assert LIMIT == 24


def test_the_add_form_refuses_a_widget_beyond_the_limit(dashboard, alice_client):
    _fill(dashboard, LIMIT)
    response = alice_client.post(reverse("dashboards:widget_add", args=[dashboard.pk]),
                                 {"title": "One more", "kind": "count", "limit": 10})
    assert response.status_code == 400
    assert f"A dashboard holds at most {LIMIT} widgets" in response.content.decode()
    assert dashboard.widgets.count() == LIMIT


def test_the_add_form_still_takes_the_last_one(dashboard, alice_client):
    _fill(dashboard, LIMIT - 1)
    response = alice_client.post(reverse("dashboards:widget_add", args=[dashboard.pk]),
                                 {"title": "Last", "kind": "count", "limit": 10})
    assert response.status_code == 302 and dashboard.widgets.count() == LIMIT


def test_the_service_refuses_a_widget_beyond_the_limit(dashboard):
    _fill(dashboard, LIMIT)
    with pytest.raises(services.DashboardFull):
        services.widget_add(dashboard=dashboard, title="x", kind="count", query=ExecutionQuery())
    assert dashboard.widgets.count() == LIMIT


def test_a_file_over_the_limit_is_one_error_found_before_any_widget_is_checked():
    spec, errors = dashboard_spec_check(_file(2_000))
    assert spec is None
    assert errors == [f"widgets: at most {LIMIT} widgets per dashboard (this file has 2000)"]


def test_the_import_service_refuses_a_spec_over_the_limit(team):
    spec = DashboardSpec(name="Big", team=team.name, refresh_seconds=30,
                         widgets=(WidgetSpec(title="w", kind="count", limit=10, view={}),) * (LIMIT + 1))
    with pytest.raises(services.DashboardFull):
        services.dashboard_import(spec=spec)
    assert not Dashboard.objects.exists()


def test_the_import_command_refuses_a_file_over_the_limit(tmp_path, team):
    path = tmp_path / "big.json"
    path.write_text(json.dumps(_file(LIMIT + 1)))
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 error; nothing was imported"):
        call_command("dashboard_import", str(path), stderr=err)
    assert f"{path}: widgets: at most {LIMIT} widgets per dashboard (this file has {LIMIT + 1})" in err.getvalue()
    path.write_text(json.dumps(_file(LIMIT)))
    call_command("dashboard_import", str(path), stdout=io.StringIO())
    assert Dashboard.objects.get().widgets.count() == LIMIT


def test_the_import_command_refuses_a_big_file_without_reading_it(tmp_path, db):
    path = tmp_path / "huge.json"
    with path.open("wb") as f:
        f.truncate(64 * 1024 * 1024)  # sparse: costs no disk
    tracemalloc.start()
    try:
        with pytest.raises(CommandError) as caught:
            call_command("dashboard_import", str(path), stderr=io.StringIO())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(caught.value) == f"{path}: larger than {MAX_FILE_BYTES // 1024} KiB; not a dashboard file"
    assert peak < 4 * MAX_FILE_BYTES


def test_a_full_dashboard_file_fits_the_size_limit():
    widget = {"title": "t" * 100, "kind": "table", "limit": 50,
              "view": {"status": [s.value for s in FILTERABLE_STATUSES], "assistant": "a" * 64, "q": "q" * 200,
                       "created_after": "2026-01-01T00:00:00+00:00", "created_before": "2026-02-01T00:00:00+00:00",
                       "sort": "createdOn,asc", "page_size": 200}}
    text = json.dumps({"name": "n" * 100, "team": "t" * 150, "refresh_seconds": 30, "widgets": [widget] * LIMIT},
                      indent=4)
    assert len(text.encode()) < MAX_FILE_BYTES


# --- reads per render ---------------------------------------------------------------------------------

def test_the_budget_is_the_limit_times_the_dearest_widget():
    assert selectors.UPSTREAM_READS_PER_RENDER_MAX == 24 * 10 + 1  # ten statuses, + the assistant names


def test_a_dashboard_over_the_limit_renders_its_first_widgets_within_the_budget(kodexa, dashboard, alice, alice_client):
    _fill(dashboard, LIMIT + 6, kind="status_breakdown")  # 30 breakdowns of 10 counts each, all distinct
    board = selectors.dashboard_get_visible(user=alice, dashboard_id=dashboard.pk)
    reset_calls(kodexa)
    data = selectors.dashboard_data(dashboard=board)
    assert len(data.panels) == LIMIT and data.hidden_widgets == 6
    assert data.upstream_reads <= selectors.UPSTREAM_READS_PER_RENDER_MAX
    assert upstream_calls(kodexa) <= selectors.UPSTREAM_READS_PER_RENDER_MAX
    page = alice_client.get(reverse("dashboards:detail", args=[dashboard.pk]))
    assert page.status_code == 200
    assert f"6 more widgets are not shown: a dashboard shows at most {LIMIT}" in page.content.decode()


def test_a_widget_that_would_pass_the_budget_is_not_read(kodexa, dashboard, alice, monkeypatch):
    monkeypatch.setattr(selectors, "UPSTREAM_READS_PER_RENDER_MAX", 5)
    board = selectors.dashboard_get_visible(user=alice, dashboard_id=dashboard.pk)
    reset_calls(kodexa)
    count, table, breakdown = selectors.dashboard_data(dashboard=board).panels  # 1 + 1 (+ names) + 10 reads
    assert count.problem is None and table.problem is None
    assert breakdown.problem is not None and "too many Kodexa reads" in breakdown.problem.message
    assert upstream_calls(kodexa) <= 5


def test_repeated_statuses_cost_one_read_and_one_bar_each(kodexa, dashboard, alice):
    Widget.objects.filter(dashboard=dashboard, kind="status_breakdown").update(view={"status": ["FAILED"] * 50})
    board = selectors.dashboard_get_visible(user=alice, dashboard_id=dashboard.pk)
    breakdown = selectors.dashboard_data(dashboard=board).panels[2]
    assert [b.status.value for b in breakdown.bars] == ["FAILED"]


# --- the default cache --------------------------------------------------------------------------------

def test_the_default_cache_keeps_a_few_full_dashboards_warm(kodexa, team, alice):
    boards = []
    for n in range(3):
        board = Dashboard.objects.create(name=f"Full {n}", team=team, refresh_seconds=3600)
        _fill(board, LIMIT, kind="status_breakdown")
        boards.append(selectors.dashboard_get_visible(user=alice, dashboard_id=board.pk))
    for board in boards:
        assert selectors.dashboard_data(dashboard=board).upstream_reads == LIMIT * len(FILTERABLE_STATUSES)
    reset_calls(kodexa)
    for board in boards:
        selectors.dashboard_data(dashboard=board)
    assert upstream_calls(kodexa) == 0  # every read of all three still cached
