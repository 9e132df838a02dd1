"""The chart geometry: pure functions, no Django needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from executions.charts.geometry import (
    DAY,
    HOUR,
    MAX_BUCKETS,
    MIN_BAR,
    Window,
    bucket_runs,
    choose_bucket,
    gantt,
    nice_max,
    sparkline,
    stacked_bars,
    window_for,
)

NOW = datetime(2026, 11, 29, 14, 30, tzinfo=UTC)
STATUSES = ["SUCCEEDED", "FAILED", "RUNNING"]


@pytest.mark.parametrize(("value", "expected"), [(0, 1), (1, 1), (2, 2), (3, 5), (7, 10), (10, 10), (11, 20),
                                                 (49, 50), (51, 100), (1234, 2000), (10**12 + 1, 2 * 10**12)])
def test_nice_max_is_the_next_round_number(value, expected):
    assert nice_max(value) == expected


def test_a_window_is_the_query_window_or_the_last_24_hours():
    assert window_for(now=NOW).start == NOW - timedelta(hours=24)
    assert window_for(now=NOW).bucket_seconds == HOUR
    week = window_for(now=NOW, within_hours=24 * 7)
    assert (week.start, week.bucket_seconds) == (NOW - timedelta(days=7), DAY)
    month = window_for(now=NOW, within_hours=24 * 30)
    assert month.bucket_seconds == DAY
    assert month.label == "the last 30 days"
    after = NOW - timedelta(hours=3)
    assert window_for(now=NOW, after=after).start == after
    before = NOW - timedelta(days=2)
    earlier = window_for(now=NOW, before=before)
    assert (earlier.end, earlier.ends_now) == (before, False)
    assert earlier.phrase == "from 2026-11-26 14:30 to 2026-11-27 14:30 UTC"
    assert window_for(now=NOW).phrase == "in the last 24 hours"


def test_a_window_that_ends_before_it_starts_is_the_day_before_its_end():
    before = NOW - timedelta(days=3)
    window = window_for(now=NOW, within_hours=24, before=before)
    assert (window.start, window.end) == (before - timedelta(hours=24), before)
    assert window_for(now=NOW, after=NOW + timedelta(hours=1)).start == NOW - timedelta(hours=24)


def test_a_huge_window_keeps_its_latest_buckets():
    window = window_for(now=NOW, after=datetime(1000, 1, 1, tzinfo=UTC))
    assert (window.end - window.start).total_seconds() <= window.bucket_seconds * MAX_BUCKETS
    assert choose_bucket(10**12) == window.bucket_seconds


def _window(hours: int = 24) -> Window:
    return Window(start=NOW - timedelta(hours=hours), end=NOW, bucket_seconds=HOUR)


def test_runs_are_counted_per_bucket_and_status():
    points = [(NOW - timedelta(minutes=10), "FAILED"), (NOW - timedelta(minutes=20), "FAILED"),
              (NOW - timedelta(minutes=40), "SUCCEEDED"), (NOW - timedelta(hours=5), "RUNNING"),
              (NOW - timedelta(hours=30), "FAILED"),  # outside the window
              (NOW - timedelta(minutes=5), "CANCELLED")]  # a status not charted
    buckets = bucket_runs(points, _window(), STATUSES)
    # Aligned on the hour: 13:00 holds the 13:50 run; 14:00 (so far) holds 14:10 and 14:20 and 14:25.
    assert buckets[-1].start == datetime(2026, 11, 29, 14, tzinfo=UTC)
    assert dict(buckets[-1].counts) == {"SUCCEEDED": 0, "FAILED": 2, "RUNNING": 0}
    assert dict(buckets[-2].counts) == {"SUCCEEDED": 1, "FAILED": 0, "RUNNING": 0}
    assert sum(b.total for b in buckets) == 4
    assert all(b.covered for b in buckets)
    assert len(buckets) == 25  # 24 hours, not on the hour: a part bucket at each end


def test_a_truncated_read_marks_older_buckets_as_not_read():
    points = [(NOW - timedelta(minutes=10), "FAILED"), (NOW - timedelta(hours=2, minutes=20), "SUCCEEDED")]
    buckets = bucket_runs(points, _window(), STATUSES, truncated=True)
    oldest = NOW - timedelta(hours=2, minutes=20)
    assert [b.covered for b in buckets] == [b.end > oldest for b in buckets]
    # The bucket holding the oldest run read (12:00, from 12:10) is read only in part; older ones not at all.
    assert [b.start.hour for b in buckets if b.partial] == [12]
    assert buckets[-1].covered and not buckets[-1].partial and not buckets[0].covered


def test_empty_data_is_an_empty_chart_with_an_axis():
    buckets = bucket_runs([], _window(), STATUSES)
    bars = stacked_bars(buckets)
    assert bars.axis_max == 1
    assert all(c.segments == () for c in bars.columns)
    assert [t.value for t in bars.ticks] == [0, 1]


def test_stacks_are_scaled_to_the_axis_and_stacked_bottom_up():
    window = Window(start=NOW - timedelta(hours=2), end=NOW - timedelta(minutes=1), bucket_seconds=HOUR)
    points = [(NOW - timedelta(minutes=30), "SUCCEEDED")] * 30 + [(NOW - timedelta(minutes=30), "FAILED")] * 10
    bars = stacked_bars(bucket_runs(points, window, STATUSES))
    assert bars.axis_max == 50
    last = bars.columns[-1]
    succeeded, failed = last.segments
    assert (succeeded.status, succeeded.y, succeeded.height) == ("SUCCEEDED", 40.0, 60.0)
    assert (failed.status, failed.y, failed.height) == ("FAILED", 20.0, 20.0)
    assert last.top == 20.0
    assert [(t.value, t.y) for t in bars.ticks] == [(0, 100.0), (25, 50.0), (50, 0.0)]
    # Columns share the width evenly, with a gap, and never leave the plot.
    assert all(c.x >= 0 and c.x + c.width <= 100 for c in bars.columns)


def test_one_bucket_fills_the_width():
    window = Window(start=NOW - timedelta(minutes=30), end=NOW - timedelta(minutes=1), bucket_seconds=HOUR)
    bars = stacked_bars(bucket_runs([(NOW - timedelta(minutes=5), "RUNNING")], window, STATUSES))
    assert len(bars.columns) == 1
    assert bars.columns[0].width > 80
    assert bars.x_labels == ((0.0, bars.columns[0].bucket.start),)


def test_huge_numbers_stay_in_the_plot():
    from executions.charts.geometry import Bucket
    bucket = Bucket(start=NOW, end=NOW + timedelta(hours=1), counts=(("SUCCEEDED", 10**15), ("FAILED", 1)))
    bars = stacked_bars([bucket])
    assert bars.axis_max == 2 * 10**15
    assert all(0 <= s.y <= 100 and 0 <= s.height <= 100 for s in bars.columns[0].segments)


def test_sparkline_runs_from_left_to_right_and_peaks_at_the_top():
    line = sparkline([0, 5, 10])
    assert line.points == "0,29 50,15 100,1"
    assert (line.peak, line.last) == (10, 10)
    assert line.area.startswith("0,30 ") and line.area.endswith(" 100,30")
    assert sparkline([0, 0]).points == "0,29 100,29"
    assert sparkline([7]).points == "0,1 100,1"
    assert sparkline([]).points == ""


def test_gantt_bars_share_one_axis_and_a_running_step_runs_to_now():
    t0 = NOW - timedelta(minutes=10)
    spans = [(t0, t0 + timedelta(minutes=5), False), (t0 + timedelta(minutes=5), None, True), (None, None, False)]
    bars, axis = gantt(spans, now=NOW)
    assert (axis.start, axis.end) == (t0, NOW)
    assert (bars[0].x, bars[0].width) == (0.0, 50.0)
    assert (bars[1].x, bars[1].width, bars[1].running) == (50.0, 50.0, True)
    assert bars[2].x is None
    assert [x for x, _ in axis.ticks] == [0.0, 50.0, 100.0]


def test_gantt_gives_an_instant_step_a_visible_bar_and_no_steps_no_axis():
    bars, _ = gantt([(NOW - timedelta(hours=1), NOW, False), (NOW, NOW, False)], now=NOW)
    assert bars[1].width == MIN_BAR and bars[1].x + bars[1].width <= 100
    bars, axis = gantt([(None, None, False)], now=NOW)
    assert axis.start is None and bars[0].x is None
