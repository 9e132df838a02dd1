"""Dates at the edges of what Python can hold (year 1, year 9999, with an offset) are form errors on every
entry point that takes one, never a 500 or a link that cannot be read back."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from executions.audit.models import AuditEvent
from executions.dashboards.models import Dashboard, SavedView

OUT_OF_RANGE = "between 1000-01-01 and 9998-12-31"
FAR_DATES = [
    "0001-01-01T00:00:00+05:00",  # UTC is in year 0: OverflowError when converted
    "9999-12-31T23:59:59-05:00",  # UTC is in year 10000
    "0001-01-01",  # representable, but %Y writes it as "1", a link nobody can read back
    "0999-12-31T23:59",
]


@pytest.mark.parametrize("value", FAR_DATES)
@pytest.mark.parametrize("field", ["created_after", "created_before"])
def test_execution_list_answers_400_with_the_reason(bob_client, kodexa, field, value):
    response = bob_client.get(reverse("executions:list"), {field: value})
    assert response.status_code == 400
    assert OUT_OF_RANGE in response.content.decode()


def test_execution_list_still_normalizes_four_digit_years(bob_client, kodexa):
    response = bob_client.get(reverse("executions:list"), {"created_after": "1000-01-01"})
    assert response.status_code == 302
    assert response["Location"].endswith("?created_after=1000-01-01T00%3A00Z")  # UTC, said so


@pytest.mark.parametrize("value", FAR_DATES)
@pytest.mark.parametrize("field", ["since", "until"])
def test_audit_list_answers_400_with_the_reason(charlie_client, field, value):
    response = charlie_client.get(reverse("audit:list"), {field: value})
    assert response.status_code == 400
    assert OUT_OF_RANGE in response.content.decode()


@pytest.mark.parametrize("export", ["audit:export_json", "audit:export_csv"])
def test_audit_export_answers_400_and_records_nothing(charlie_client, export):
    response = charlie_client.get(reverse(export), {"until": "9999-12-31T23:59:59-05:00"})
    assert response.status_code == 400
    assert OUT_OF_RANGE in response.content.decode()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("value", FAR_DATES)
def test_saving_a_view_refuses_the_date(alice_client, value):
    params = f"created_after={value.replace('+', '%2B')}"
    response = alice_client.post(reverse("dashboards:view_create"), {"name": "Far", "params": params}, follow=True)
    assert OUT_OF_RANGE in response.content.decode()
    assert not SavedView.objects.exists()


@pytest.mark.parametrize("value", FAR_DATES)
def test_adding_a_widget_refuses_the_date(alice_client, team, kodexa, value):
    board = Dashboard.objects.create(name="Board", team=team)
    response = alice_client.post(reverse("dashboards:widget_add", args=[board.pk]),
                                 {"title": "Far", "kind": "count", "limit": 10, "f-created_before": value})
    assert response.status_code == 400
    assert OUT_OF_RANGE in response.content.decode()
    assert not board.widgets.exists()


@pytest.mark.parametrize("value", FAR_DATES)
def test_dashboard_import_reports_the_date_with_its_path(tmp_path, db, value):
    path = tmp_path / "board.json"
    path.write_text(json.dumps({"name": "Far", "team": "T", "widgets": [
        {"title": "Far", "kind": "count", "view": {"created_after": value}}]}))
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("dashboard_import", str(path), "--create-team", stdout=io.StringIO(), stderr=err)
    assert f"{path}: widgets[0].view.created_after: Enter a date {OUT_OF_RANGE}" in err.getvalue()
    assert not Dashboard.objects.exists()
