"""dashboard_import / dashboard_export: the JSON form of docs/dashboards.md, round trips and error reports."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from executions.dashboards.io import dashboard_spec_check
from executions.dashboards.models import Dashboard, Widget

DESIGN_EXAMPLE = {
    "name": "Invoices on fire", "team": "Support EU", "refresh_seconds": 30,
    "widgets": [
        {"title": "Running now", "kind": "count", "view": {"status": ["RUNNING"]}},
        {"title": "Failed today", "kind": "table", "limit": 10,
         "view": {"status": ["FAILED"], "created_within_hours": 24, "sort": "createdOn,desc"}},
        {"title": "All by status", "kind": "status_breakdown", "view": {"assistant": "a1b2c3"}},
    ],
}


def _import(tmp_path, data, *args: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    path = tmp_path / "board.json"
    path.write_text(json.dumps(data))
    out, err = io.StringIO(), io.StringIO()
    call_command("dashboard_import", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _export(dashboard_id: int) -> dict:
    out = io.StringIO()
    call_command("dashboard_export", str(dashboard_id), stdout=out)
    return json.loads(out.getvalue())


def test_the_design_example_round_trips(tmp_path, team):
    out, _ = _import(tmp_path, DESIGN_EXAMPLE)
    assert out.startswith("Created dashboard")
    board = Dashboard.objects.get()
    exported = _export(board.pk)
    # The default sort is implied, so it is not written back; everything else is as given.
    expected = json.loads(json.dumps(DESIGN_EXAMPLE))
    del expected["widgets"][1]["view"]["sort"]
    assert exported == expected
    _import(tmp_path, exported)
    assert _export(board.pk) == exported


def test_export_of_a_built_dashboard_round_trips(tmp_path, dashboard, shared_view):
    Widget.objects.create(dashboard=dashboard, position=3, title="From a saved view", saved_view=shared_view)
    first = _export(dashboard.pk)
    assert first["widgets"][3] == {"title": "From a saved view", "kind": "count", "view": {"status": ["RUNNING"]}}
    out, _ = _import(tmp_path, first)
    assert out.startswith("Updated dashboard") and Dashboard.objects.count() == 1
    assert _export(dashboard.pk) == first


def test_import_updates_in_place_and_replaces_widgets(tmp_path, dashboard):
    data = {**DESIGN_EXAMPLE, "refresh_seconds": 60, "widgets": DESIGN_EXAMPLE["widgets"][:1]}
    _import(tmp_path, data)
    dashboard.refresh_from_db()
    assert dashboard.refresh_seconds == 60 and [w.title for w in dashboard.widgets.all()] == ["Running now"]


def test_every_error_is_reported_with_its_path_and_nothing_is_written(tmp_path, team):
    bad = {
        "name": "", "team": "Support EU", "refresh_seconds": 5, "colour": "red",
        "widgets": [
            {"title": "ok", "kind": "count", "view": {}},
            {"title": "x", "kind": "pie", "limit": 0, "view": {"status": "RUNNING"}},
            {"title": "y", "kind": "table", "view": {"status": ["FAILED", "EXPLODED"], "sort": "nope",
                                                     "created_within_hours": "24", "extra": 1}},
            "not an object",
        ],
    }
    with pytest.raises(CommandError, match="11 errors; nothing was imported"):
        _import(tmp_path, bad)
    _, spec_errors = dashboard_spec_check(bad)
    assert set(spec_errors) == {
        "colour: unknown field (expected one of name, team, refresh_seconds, widgets)",
        "name: required, a non-empty string",
        "refresh_seconds: must be an integer from 10 to 3600",
        "widgets[1].kind: must be one of count, runs_over_time, status_breakdown, table",
        "widgets[1].limit: must be an integer from 1 to 50",
        "widgets[1].view.status: must be a list",
        'widgets[2].view.status[1]: unknown status "EXPLODED"',
        "widgets[2].view.created_within_hours: must be an integer",
        "widgets[2].view.extra: unknown field (expected one of status, assistant, q, created_after, created_before, "
        "created_within_hours, stalled, sort, page_size)",
        "widgets[2].view.sort: Select a valid choice. nope is not one of the available choices.",
        "widgets[3]: must be an object with title, kind and view",
    }
    assert not Dashboard.objects.exists()


def test_the_team_must_exist_unless_created(tmp_path, db):
    with pytest.raises(CommandError, match="1 error"):
        _import(tmp_path, DESIGN_EXAMPLE)
    assert not Dashboard.objects.exists()
    out, _ = _import(tmp_path, DESIGN_EXAMPLE, "--create-team")
    assert "(team created)" in out and Group.objects.filter(name="Support EU").exists()


def test_a_missing_team_is_reported_with_the_shape_errors(tmp_path, db):
    path = tmp_path / "board.json"
    path.write_text(json.dumps({**DESIGN_EXAMPLE, "team": "Nobody's team", "refresh_seconds": 5}))
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 errors"):
        call_command("dashboard_import", str(path), stderr=err)
    assert "refresh_seconds: must be an integer" in err.getvalue()
    assert 'team: no team named "Nobody\'s team"' in err.getvalue()


def test_import_matches_a_dashboard_name_ignoring_case(tmp_path, team):
    _import(tmp_path, DESIGN_EXAMPLE)
    out, _ = _import(tmp_path, {**DESIGN_EXAMPLE, "name": DESIGN_EXAMPLE["name"].upper()})
    assert out.startswith("Updated dashboard")
    assert list(Dashboard.objects.values_list("name", flat=True)) == [DESIGN_EXAMPLE["name"].upper()]


def test_bad_json_and_unknown_ids_are_clear_errors(tmp_path, db):
    path = tmp_path / "broken.json"
    path.write_text("{nope")
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("dashboard_import", str(path))
    with pytest.raises(CommandError, match="no dashboard with id 999"):
        call_command("dashboard_export", "999")


def test_export_to_a_file(tmp_path, dashboard):
    target = tmp_path / "out.json"
    call_command("dashboard_export", str(dashboard.pk), "-o", str(target), stderr=io.StringIO())
    assert json.loads(target.read_text())["name"] == "Invoices on fire"


def test_a_deeply_nested_file_is_a_clear_error_naming_the_file(tmp_path, db):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(CommandError) as caught:
        call_command("dashboard_import", str(path), stderr=io.StringIO())
    assert str(caught.value) == f"{path}: nested too deeply to be a dashboard file"
    assert not Dashboard.objects.exists()


def test_a_deeply_nested_file_on_the_command_line_prints_no_traceback(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    path = tmp_path / "deep.json"
    path.write_text('{"widgets": ' + "[" * 100_000 + "]" * 100_000 + "}")
    manage = Path(__file__).resolve().parents[3] / "manage.py"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kodexa_admin.settings_test"}
    done = subprocess.run([sys.executable, str(manage), "dashboard_import", str(path)], capture_output=True,
                          text=True, env=env, timeout=60, check=False)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "RecursionError" not in done.stderr
    assert f"CommandError: {path}: nested too deeply to be a dashboard file" in done.stderr


def test_import_reads_standard_input_when_the_file_is_a_dash(team, monkeypatch):
    """`-` is offered by --help: from a shell it is the process's standard input (no stdin option given)."""
    import io
    import sys

    from django.core.management import call_command

    from executions.dashboards.models import Dashboard

    spec = {"name": "From stdin", "team": team.name, "widgets": [
        {"title": "Running", "kind": "count", "view": {"status": ["RUNNING"]}}]}
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(spec)))
    call_command("dashboard_import", "-", stdout=io.StringIO())
    assert Dashboard.objects.get(name="From stdin").widgets.count() == 1
