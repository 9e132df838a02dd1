"""A dashboard's reads against the live stand-in: parallel, coalesced across viewers, stale during outages."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.urls import reverse

from executions.dashboards import selectors
from executions.upstream import cache
from tests.helpers import reset_calls, sim_executions, sim_get, upstream_calls

VIEWERS = 20


@pytest.fixture
def clock(monkeypatch):  # type: ignore[no-untyped-def]
    state = {"offset": 0.0}
    monkeypatch.setattr(cache, "wall_clock", lambda: time.time() + state["offset"])
    return state


def _render_concurrently(dashboard_id: int, alice) -> list[selectors.DashboardData]:  # type: ignore[no-untyped-def]
    # Loaded once here: the viewer threads must not need the test's (uncommitted) database.
    board = selectors.dashboard_get_visible(user=alice, dashboard_id=dashboard_id)
    with ThreadPoolExecutor(VIEWERS) as pool:
        return list(pool.map(lambda _: selectors.dashboard_data(dashboard=board), range(VIEWERS)))


def test_widget_values_match_upstream(kodexa, dashboard, alice):
    board = selectors.dashboard_get_visible(user=alice, dashboard_id=dashboard.pk)
    count, table, breakdown = selectors.dashboard_data(dashboard=board).panels
    running = len(sim_executions(kodexa, "status:'RUNNING'"))
    assert count.total == running and count.querystring == "status=RUNNING"
    assert len(table.rows) == 5 and all(r.execution.status == "FAILED" for r in table.rows)
    assert all(r.assistant is None or r.assistant.label for r in table.rows)
    assert breakdown.total == sim_get(kodexa, "/api/executions", pageSize=1)["totalElements"]
    assert {b.status.value for b in breakdown.bars} >= {"RUNNING", "FAILED", "SUCCEEDED"}
    assert max(b.share for b in breakdown.bars) == 100


def test_one_upstream_call_per_distinct_query_with_a_cold_cache(kodexa, dashboard, alice):
    kodexa.control.configure(latency_ms=80)  # long enough for every viewer to arrive during the first fetch
    reset_calls(kodexa)
    results = _render_concurrently(dashboard.pk, alice)
    distinct = results[0].upstream_reads
    assert distinct == 12  # 10 status counts (one shared with the count widget), 1 table, 1 assistant list
    assert upstream_calls(kodexa) == distinct
    assert all(not r.stale for r in results)


def test_one_refresh_per_distinct_query_when_the_cache_is_stale(kodexa, dashboard, alice, clock):
    board = selectors.dashboard_get_visible(user=alice, dashboard_id=dashboard.pk)
    selectors.dashboard_data(dashboard=board)
    kodexa.control.configure(latency_ms=80)
    reset_calls(kodexa)
    clock["offset"] = 31  # past the 30 s refresh window, well within the stale retention
    results = _render_concurrently(dashboard.pk, alice)
    lists = 11  # the assistant list is fresh for 5 minutes
    assert upstream_calls(kodexa) == lists
    assert all(not r.stale for r in results)


def test_an_outage_keeps_the_last_good_data_with_a_stale_banner(kodexa, dashboard, alice, alice_client, clock):
    client = alice_client
    url = reverse("dashboards:detail", args=[dashboard.pk])
    good = client.get(url).content.decode()
    assert "Stale since" not in good
    kodexa.control.add_fault("GET /api/executions", status=500, times=None)
    clock["offset"] = 120
    response = client.get(url)
    content = response.content.decode()
    assert response.status_code == 200
    # One banner for the dashboard, not one per widget; each stale widget is marked in its footer.
    assert content.count("Stale since") == 1
    assert "3 widgets show the last good data" in content
    assert content.count('class="stale-mark"') == 3
    assert 'class="big-number"' in content and 'data-widget-kind="table"' in content
    board = selectors.dashboard_get_visible(user=alice, dashboard_id=dashboard.pk)
    data = selectors.dashboard_data(dashboard=board)
    assert data.stale and all(p.stale_since and p.total is not None for p in data.panels)


def test_an_outage_with_no_data_ever_shows_the_error(kodexa, dashboard, alice_client):
    kodexa.control.add_fault("GET /api/executions", status=500, times=None)
    client = alice_client
    response = client.get(reverse("dashboards:detail", args=[dashboard.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert content.count("Kodexa had an internal error (HTTP 500)") == 3
    assert "Stale since" not in content


def test_while_the_breaker_is_open_the_dashboard_shows_its_last_data_without_calling(kodexa, dashboard, alice_client,
                                                                                     clock):
    from executions.kodexa import KodexaServerError
    from executions.upstream.circuit import FAILURE_THRESHOLD
    from executions.upstream.client import kodexa_client

    client = alice_client
    url = reverse("dashboards:detail", args=[dashboard.pk])
    assert "Stale since" not in client.get(url).content.decode()
    kodexa.control.add_fault("GET /api/account/me", status=500, times=-1)
    for _ in range(FAILURE_THRESHOLD):
        with pytest.raises(KodexaServerError):
            kodexa_client().get_account()
    reset_calls(kodexa)
    clock["offset"] = 120  # every widget is due for a refresh
    content = client.get(url).content.decode()
    assert content.count("Stale since") == 1 and 'class="big-number"' in content
    assert upstream_calls(kodexa) == 0
