"""Runs over time on the list page, against the stand-in: its numbers, its text alternative, its cost."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from executions.kodexa.dates import parse_datetime
from tests.helpers import reset_calls, sim_executions

pytestmark = pytest.mark.django_db
URL = reverse("executions:list")


def _chart(html: str) -> str:
    start = html.index('data-testid="runs-chart"')
    return html[start:html.index("</figure>", start)]


def test_the_list_page_shows_runs_over_time_with_its_numbers_as_a_table(bob_client, kodexa):
    kodexa.control.configure(speed=0)  # nothing moves while the test compares numbers
    html = bob_client.get(URL).content.decode()
    chart = _chart(html)
    since = datetime.now(UTC) - timedelta(hours=24)
    truth = [e for e in sim_executions(kodexa) if parse_datetime(e["createdOn"]) > since]
    assert f"{len(truth)} runs in the last 24 hours, per hour" in chart
    by_status = Counter(e["status"] for e in truth)
    # The table's "All" column adds up to the window's runs, and each status column to its count.
    table = chart[chart.index('data-testid="chart-table"'):]
    headers = re.findall(r'<th scope="col" class="num">([^<]+)</th>', table)
    assert headers[-1] == "All"
    rows = re.findall(r"<tr><th scope=\"row\">[^<]+</th>(.*?)</tr>", table, re.S)
    cells = [[int(n.replace(",", "")) for n in re.findall(r'<td class="num">([\d,]+)</td>', r)] for r in rows]
    assert sum(r[-1] for r in cells) == len(truth)
    for column, label in enumerate(headers[:-1]):
        status = label.upper().replace(" ", "_")
        assert sum(r[column] for r in cells) == by_status[status], label
    assert "Data from" in html


def test_the_chart_follows_the_list_filters(bob_client, kodexa):
    kodexa.control.configure(speed=0)  # nothing moves while the test compares numbers
    chart = _chart(bob_client.get(URL, {"status": "FAILED"}).content.decode())
    since = datetime.now(UTC) - timedelta(hours=24)
    failed = [e for e in sim_executions(kodexa, "status:'FAILED'") if parse_datetime(e["createdOn"]) > since]
    assert f"{len(failed)} run{'s' if len(failed) != 1 else ''} in the last 24 hours" in chart
    assert "Succeeded" not in chart


def test_a_window_larger_than_one_read_says_what_it_is_based_on(bob_client, kodexa, monkeypatch):
    kodexa.control.configure(speed=0)  # nothing moves while the test compares numbers
    from executions.charts import selectors
    monkeypatch.setattr(selectors, "SAMPLE_SIZE", 5)
    chart = _chart(bob_client.get(URL, {"created_within_hours": "720"}).content.decode())
    total = len([e for e in sim_executions(kodexa)
                 if parse_datetime(e["createdOn"]) > datetime.now(UTC) - timedelta(days=30)])
    assert total > 5
    assert f"Based on the latest 5 of {total:,}" in chart
    assert "per day" in chart
    assert "not read" in chart and chart.count('data-testid="not-read"') == 1  # one row, not one per day


def test_the_list_page_costs_one_upstream_call_per_view_once_the_chart_is_warm(bob_client, kodexa):
    bob_client.get(URL)  # cold: the page, the chart's sample, names
    reset_calls(kodexa)
    for _ in range(2):
        response = bob_client.get(URL)
        assert response.status_code == 200
        assert 'data-testid="runs-chart"' in response.content.decode()
    calls = kodexa.control.calls()
    assert calls["total"] == 2, calls  # one per view: the chart's read is shared and fresh for a minute
    assert calls["by_route"].get("GET /api/executions") == 2


def test_a_new_filter_costs_one_more_list_read_for_its_chart(bob_client, kodexa):
    bob_client.get(URL)  # the assistant list and the default chart warm
    reset_calls(kodexa)
    bob_client.get(URL, {"status": "RUNNING"})
    calls = kodexa.control.calls()
    assert calls["by_route"].get("GET /api/executions") == 2, calls  # the page, and the chart's one sample


def test_the_chart_is_left_out_when_kodexa_fails_and_the_page_explains_itself(bob_client, kodexa):
    kodexa.control.add_fault("GET /api/executions", status=503, times=-1)
    response = bob_client.get(URL, {"status": "SKIPPED"})
    html = response.content.decode()
    assert 'data-testid="runs-chart"' not in html
    assert "Kodexa" in html


def test_a_chart_is_computed_once_per_sample_however_many_views(bob_client, kodexa, monkeypatch):
    from executions.charts import selectors

    made = []
    real = selectors.runs_chart
    monkeypatch.setattr(selectors, "runs_chart", lambda *a, **k: made.append(1) or real(*a, **k))
    pages = [bob_client.get(URL, {"status": "PENDING"}).content.decode() for _ in range(3)]
    assert len(made) == 1
    assert len({_chart(p) for p in pages}) == 1


def test_a_window_with_dates_is_charted_between_them_and_says_so(bob_client, kodexa):
    kodexa.control.configure(speed=0)
    before = (datetime.now(UTC) - timedelta(days=1)).replace(second=0, microsecond=0)
    after = before - timedelta(hours=6)
    params = {"created_after": f"{after:%Y-%m-%dT%H:%M}", "created_before": f"{before:%Y-%m-%dT%H:%M}"}
    chart = _chart(bob_client.get(URL, params, follow=True).content.decode())
    truth = [e for e in sim_executions(kodexa) if after < parse_datetime(e["createdOn"]) < before]
    assert (f"{len(truth)} run{'s' if len(truth) != 1 else ''} from {after:%Y-%m-%d %H:%M} to "
            f"{before:%Y-%m-%d %H:%M} UTC, per 15 minutes") in chart
