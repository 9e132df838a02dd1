from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings

from executions.kodexa import ExecutionStatus
from executions.templatetags.panel import (
    STATUS_TONES,
    ago,
    copy_id,
    duration,
    progress_bar,
    relative_text,
    status_badge,
    timetag,
)


def test_every_status_has_its_own_colour_in_light_and_dark_mode():
    tones = {STATUS_TONES[status] for status in ExecutionStatus}
    assert len(tones) == len(ExecutionStatus)
    css = (settings.BASE_DIR / "static" / "css" / "app.css").read_text()
    light, dark = css.split("@media (prefers-color-scheme: dark)", 1)
    colours = {tone: re.search(rf"--tone-{tone}: (#[0-9a-f]{{6}})", light) for tone in tones}
    assert all(colours.values()), colours
    assert len({match.group(1) for match in colours.values()}) == len(tones)
    for tone in tones:
        assert f".tone-{tone} {{ color: var(--tone-{tone}); }}" in css
        assert f"progress.tone-{tone} {{" in css
        assert dark.count(f"--tone-{tone}:") == 2  # the media query and the explicit dark theme


def test_badge_escapes_labels():
    html = status_badge(ExecutionStatus.UNKNOWN, "<b>NEW</b>")
    assert "&lt;b&gt;NEW&lt;/b&gt;" in html and 'data-status="UNKNOWN"' in html


def test_progress_bar():
    assert 'value="42"' in progress_bar(42) and "42%" in progress_bar(42)
    assert "—" in progress_bar(None)


@pytest.mark.parametrize(("delta", "text"), [
    (timedelta(milliseconds=850), "850 ms"), (timedelta(seconds=12), "12 s"),
    (timedelta(minutes=3, seconds=7), "3 min 07 s"), (timedelta(hours=1, minutes=2), "1 h 02 min")])
def test_duration(delta, text):
    assert duration(delta) == text


def test_duration_of_nothing():
    assert duration(None) == "—"


def test_times_carry_utc_for_the_script_and_hover():
    moment = datetime(2026, 2, 25, 10, 0, 5, tzinfo=UTC)
    html = timetag(moment)
    assert 'datetime="2026-02-25T10:00:05Z"' in html and "data-local" in html and "2026-02-25 10:00:05 UTC" in html
    assert "data-relative" in ago(moment)


@pytest.mark.parametrize(("seconds", "text"), [(10, "just now"), (180, "3 min ago"), (7200, "2 h ago"),
                                                (3 * 86400, "3 days ago"), (-600, "in 10 min")])
def test_relative_text(seconds, text):
    now = datetime(2026, 11, 28, tzinfo=UTC)
    assert relative_text(now - timedelta(seconds=seconds), now) == text


def test_copy_id_escapes_and_shortens():
    html = copy_id("0f6c1e9a-3a7d-4c1e-9f0e-2b8f6d7a1c01")
    assert ">0f6c1e9a<" in html and 'data-copy="0f6c1e9a-3a7d-4c1e-9f0e-2b8f6d7a1c01"' in html
    assert "&quot;" in copy_id('x"><script>')


def test_every_audit_action_has_a_tone_and_every_category_reads_as_words():
    from executions.audit.models import AuditAction
    from executions.cancel.services import ReasonCategory
    from executions.reprocess.services import ReprocessCategory
    from executions.templatetags.panel import ACTION_TONES, reason_label

    assert set(ACTION_TONES) == set(AuditAction)
    for category in (*ReasonCategory, *ReprocessCategory):
        # A value both kinds use ("other", "customer_request") must mean the same in both.
        assert reason_label(category.value) == category.label and "_" not in reason_label(category.value)
    assert reason_label("brand_new_kind") == "Brand new kind"


def test_paths_break_after_slashes_and_stay_escaped():
    from executions.templatetags.panel import path_breaks

    assert str(path_breaks("invoices/2026/<q1>.pdf")) == "invoices/<wbr>2026/<wbr>&lt;q1&gt;.pdf"
    assert str(path_breaks(None)) == ""


def test_a_finished_rows_progress_sits_in_the_same_column_as_a_running_one():
    from executions.kodexa import Execution
    from executions.templatetags.panel import execution_progress

    finished = Execution.from_api({"id": "e1", "status": "SUCCEEDED", "steps": []})
    html = str(execution_progress(finished))
    assert html == '<span class="progress done"><span class="pct">100%</span></span>'  # no steps: all done


def test_a_document_path_wraps_at_its_slashes_and_a_name_does_not_change():
    from executions.browse.selectors import Ref
    from executions.templatetags.panel import ref_label

    path = str(ref_label(Ref(id="f1", label="invoices/2026/<scan>.pdf"), "document"))
    assert path == ('<span class="doc-path" title="invoices/2026/&lt;scan&gt;.pdf">'
                    "invoices/<wbr>2026/<wbr>&lt;scan&gt;.pdf</span>")
    assert str(ref_label(Ref(id="a1", label="Invoice Extractor"), "assistant")) == (
        '<span title="Invoice Extractor">Invoice Extractor</span>')
