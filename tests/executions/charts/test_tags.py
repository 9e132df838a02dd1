"""The chart's markup: the text alternative holds the same numbers as the bars, and words read right."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

from django.template.loader import render_to_string

from executions.charts.geometry import HOUR, Window
from executions.charts.selectors import RunsSample, runs_chart
from executions.kodexa import ExecutionStatus
from executions.templatetags.charts import bucket_span, data_age, runs_plot, runs_table_rows
from executions.upstream.cache import Cached

END = datetime(2026, 11, 29, 14, 30, tzinfo=UTC)


def _chart(points, total=None, statuses=()):  # type: ignore[no-untyped-def]
    window = Window(start=END - timedelta(hours=3), end=END, bucket_seconds=HOUR)
    sample = RunsSample(window=window, total=total if total is not None else len(points), points=tuple(points))
    now = time.time()
    return runs_chart(Cached(sample, now - 12, 60, now=now), statuses)


POINTS = [(END - timedelta(minutes=10), "FAILED"), (END - timedelta(minutes=15), "FAILED"),
          (END - timedelta(minutes=50), "SUCCEEDED"), (END - timedelta(hours=2, minutes=5), "RUNNING")]


def test_the_table_holds_the_numbers_of_the_bars():
    chart = _chart(POINTS)
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', str(runs_table_rows(chart)))
    assert [label for label, _ in rows] == ["2026-11-29 11:00 to 12:00 UTC", "2026-11-29 12:00 to 13:00 UTC",
                                            "2026-11-29 13:00 to 14:00 UTC", "2026-11-29 14:00 to 15:00 UTC"]
    # Columns: the legend's statuses in stack order (Succeeded, Failed, Running), then all.
    assert [s.value for s in chart.statuses] == ["SUCCEEDED", "FAILED", "RUNNING"]
    cells = [[int(n) for n in re.findall(r'<td class="num">(\d+)</td>', r)] for _, r in rows]
    assert cells == [[0, 0, 0, 0], [0, 0, 1, 1], [1, 0, 0, 1], [0, 2, 0, 2]]
    titles = re.findall(r"<title>([^<]+)</title>", str(runs_plot(chart)))
    assert titles[-1] == "2026-11-29 14:00 to 15:00 UTC: 2 runs · Failed 2"
    assert titles[1] == "2026-11-29 12:00 to 13:00 UTC: 1 run · Running 1"
    html = render_to_string("charts/_runs.html", {"chart": chart, "title": "Runs", "chart_id": "chart-x"})
    assert "4 runs in the last 3 hours, per hour: Succeeded 1, Failed 2, Running 1." in html
    assert html.count('class="tone-danger"') == 2  # one bar segment, one legend swatch


def test_a_truncated_chart_says_so_and_lists_what_was_not_read_once():
    chart = _chart(POINTS[:2], total=1234)
    html = render_to_string("charts/_runs.html", {"chart": chart, "title": "", "chart_id": "chart-x"})
    assert "Based on the latest 2 of 1,234" in html
    # 11:00 to 14:00 not read (one row); 14:00 read from 14:15 on, so partly: its runs count, and it says so.
    assert html.count('data-testid="not-read"') == 1 and html.count('class="not-read"') == 4
    assert "2026-11-29 11:00 to 2026-11-29 14:00 UTC" in html
    assert re.search(r'14:00 to 15:00 UTC \(partly read\)</th><td class="num">2</td><td class="num">2</td>', html)


def test_a_query_for_some_statuses_charts_only_those():
    chart = _chart(POINTS, statuses=(ExecutionStatus.FAILED,))
    assert [s.value for s in chart.statuses] == ["FAILED"] and chart.totals == ((ExecutionStatus.FAILED, 2),)


def test_no_runs_is_said_in_words():
    html = render_to_string("charts/_runs.html", {"chart": _chart([]), "title": "", "chart_id": "chart-x"})
    assert "0 runs in the last 3 hours" in html and "No runs in the last 3 hours." in html and "<svg" not in html


def test_words():
    assert data_age(0.4) == "just now" and data_age(12.7) == "12 s ago" and data_age(600) == "10 min ago"
    assert data_age(3 * 3600) == "3 h ago"
    assert bucket_span(datetime(2026, 11, 29, 23, tzinfo=UTC), HOUR) == "2026-11-29 23:00 to 24:00 UTC"
    assert bucket_span(datetime(2026, 11, 29, tzinfo=UTC), 86400) == "2026-11-29 (UTC)"
