"""The step timeline on an execution's page: from the data the page already has, one bar per started step."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.helpers import reset_calls, sim_execution

pytestmark = pytest.mark.django_db


def _gantt(html: str) -> str:
    start = html.index('data-testid="gantt"')
    return html[start:html.index("</figure>", start)]


def test_each_step_is_a_row_and_each_started_step_a_bar_with_its_times(bob_client, kodexa):
    kodexa.control.configure(speed=0)
    execution = sim_execution(kodexa, "status:'FAILED'")
    url = reverse("executions:detail", args=[execution["id"]])
    bob_client.get(url)  # names warm
    reset_calls(kodexa)
    gantt = _gantt(bob_client.get(url).content.decode())
    assert kodexa.control.calls()["total"] == 1  # the page's own read: the timeline costs nothing more
    steps = execution["pipeline"]["steps"]
    rows = re.findall(r'<li class="gantt-row" data-step-status="([A-Z_]+)">(.*?)</li>', gantt, re.S)
    assert [status for status, _ in rows] == [s["status"] for s in steps]
    for step, (_, row) in zip(steps, rows, strict=True):
        if step.get("start"):
            assert step["start"][11:19] in row and step["end"][11:19] in row
            assert re.search(r'<rect class="tone-[a-z-]+" fill="currentColor" x="[\d.]+%"', row)
        else:
            assert "not started" in row and "<rect" not in row
    # The first bar starts at the left edge, and every bar stays inside the track.
    xs = [(float(x), float(w)) for x, w in re.findall(r'x="([\d.]+)%" y="15%" width="([\d.]+)%"', gantt)]
    assert xs[0][0] == 0.0 and all(x + w <= 100.001 for x, w in xs)


def test_a_skipped_step_is_grey(bob_client, kodexa):
    from executions.kodexa import Execution
    from executions.templatetags.charts import steps_gantt

    execution = Execution.from_api({"id": "e1", "status": "FAILED", "pipeline": {"steps": [
        {"name": "a", "status": "SUCCEEDED", "start": "2026-11-29T10:00:00Z", "end": "2026-11-29T10:00:05Z"},
        {"name": "b", "status": "SKIPPED", "start": "2026-11-29T10:00:05Z", "end": "2026-11-29T10:00:05Z"}]}})
    rows = steps_gantt(execution)["rows"]
    assert [r.tone for r in rows] == ["success", "skipped-grey"]
