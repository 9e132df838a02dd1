"""One clock: the user's choice (UTC or their browser's zone) is remembered, shown on every time, and used to read
typed date filters; links and Kodexa filters stay in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import reverse

from executions.audit.forms import AuditFilterForm
from executions.preferences.clock import ClockChoice, using, valid_zone
from executions.preferences.models import Preference
from executions.templatetags.panel import ago, timetag

pytestmark = pytest.mark.django_db
NEW_YORK = "America/New_York"


def _set(client: Client, clock: str, zone: str | None = None, next_url: str = "/executions/"):
    data = {"clock": clock, "next": next_url}
    if zone is not None:
        data["zone"] = zone
    return client.post(reverse("set_clock"), data)


@pytest.mark.parametrize("name", ["Europe/Berlin", NEW_YORK, "Asia/Kolkata"])
def test_real_zone_names_are_accepted(name):
    assert valid_zone(name) == name


@pytest.mark.parametrize("name", ["", None, "Mars/Olympus", "../../etc/passwd", "/etc/localtime", "localtime",
                                  "Europe/Berlin\x00", "x" * 100, 42])
def test_anything_else_is_refused(name):
    assert valid_zone(name) is None


def test_switching_to_local_is_remembered_for_the_user_across_sessions(bob, bob_client):
    response = _set(bob_client, "local", NEW_YORK, next_url="/executions/?status=FAILED")
    assert response.status_code == 302 and response["Location"] == "/executions/?status=FAILED"
    assert Preference.objects.get(user=bob).clock == "local"
    another_browser = Client()
    another_browser.force_login(bob)
    page = another_browser.get(reverse("executions:list")).content.decode()
    assert f'data-clock="local" data-zone="{NEW_YORK}"' in page
    assert f"Created after ({NEW_YORK})" in page


def test_back_to_utc(bob_client):
    _set(bob_client, "local", NEW_YORK)
    _set(bob_client, "utc", NEW_YORK)
    page = bob_client.get(reverse("executions:list")).content.decode()
    assert 'data-clock="utc"' in page and "Created after (UTC)" in page


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", ""])
def test_only_a_local_next_is_followed(bob_client, target):
    assert _set(bob_client, "utc", next_url=target)["Location"] == "/"


def test_an_unknown_zone_means_utc(bob_client):
    _set(bob_client, "local", "Mars/Olympus")
    page = bob_client.get(reverse("executions:list")).content.decode()
    assert 'data-clock="utc"' in page and "Created after (UTC)" in page


def test_without_javascript_the_zone_learned_before_is_kept(bob, bob_client):
    _set(bob_client, "local", NEW_YORK)
    _set(bob_client, "utc", NEW_YORK)
    _set(bob_client, "local", "")  # the no-JS form sends the zone it was rendered with, or none
    assert Preference.objects.get(user=bob).time_zone == NEW_YORK
    assert 'data-clock="local"' in bob_client.get(reverse("executions:list")).content.decode()


def test_the_switch_is_a_post(bob_client):
    assert bob_client.get(reverse("set_clock")).status_code == 405


@pytest.mark.parametrize(("clock", "expected"), [("utc", "2026-03-01T12%3A00Z"), ("local", "2026-03-01T17%3A00Z")])
def test_a_typed_date_is_read_in_the_users_clock_and_linked_in_utc(bob_client, kodexa, clock, expected):
    _set(bob_client, clock, NEW_YORK)
    response = bob_client.get(reverse("executions:list"), {"created_after": "2026-03-01T12:00"})
    assert response.status_code == 302 and response["Location"].endswith(f"?created_after={expected}")
    page = bob_client.get(response["Location"]).content.decode()
    # The input shows it back as typed, in the user's clock.
    assert 'value="2026-03-01T12:00"' in page


def test_a_link_with_an_offset_means_the_same_instant_on_every_clock(bob_client, kodexa):
    _set(bob_client, "local", NEW_YORK)
    response = bob_client.get(reverse("executions:list"), {"created_after": "2026-03-01T17:00Z"})
    assert response.status_code == 200
    assert 'value="2026-03-01T12:00"' in response.content.decode()


def test_audit_filters_read_dates_in_the_users_clock():
    with using(ClockChoice(mode="local", zone_name=NEW_YORK)):
        form = AuditFilterForm({"since": "2026-07-01T08:00"})
        assert form.is_valid(), form.errors
        assert form.to_filters().since == datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # EDT, UTC-4
        assert form["since"].label == f"From ({NEW_YORK})"
    with using(ClockChoice()):
        assert AuditFilterForm({})["since"].label == "From (UTC)"


def test_times_say_their_zone_in_either_clock():
    moment = datetime(2026, 1, 15, 17, 30, 5, tzinfo=UTC)
    with using(ClockChoice()):
        assert ">2026-01-15 17:30:05 UTC</time>" in timetag(moment)
    with using(ClockChoice(mode="local", zone_name=NEW_YORK)):
        html = timetag(moment)
        assert ">2026-01-15 12:30:05 EST</time>" in html and 'title="2026-01-15 17:30:05 UTC"' in html
        assert 'title="2026-01-15 12:30:05 EST (2026-01-15 17:30:05 UTC)"' in ago(moment)


def test_the_audit_page_shows_times_in_the_users_clock(charlie, charlie_client):
    _set(charlie_client, "local", "Asia/Kolkata")
    page = charlie_client.get(reverse("audit:list")).content.decode()
    assert "From (Asia/Kolkata)" in page and "Until (Asia/Kolkata)" in page


def test_a_dashboard_file_date_without_offset_stays_utc_whatever_the_users_clock():
    from executions.dashboards.io import view_check

    with using(ClockChoice(mode="local", zone_name=NEW_YORK)):
        query, errors = view_check({"created_after": "2026-02-01T09:30"})
    assert errors == [] and query.created_after == datetime(2026, 2, 1, 9, 30, tzinfo=UTC)


def test_date_inputs_show_a_utc_link_value_in_the_users_clock_and_a_typo_as_typed():
    from executions.preferences.clock import ZonedDateTimeInput

    widget = ZonedDateTimeInput()
    with using(ClockChoice(mode="local", zone_name=NEW_YORK)):
        assert widget.format_value("2026-03-01T17:00Z") == "2026-03-01T12:00"
        assert widget.format_value("2026-03-01T12:00") == "2026-03-01T12:00"  # as typed, in this clock
        assert widget.format_value("yesterday") == "yesterday"  # beside its error
        assert widget.format_value(datetime(2026, 3, 1, 17, tzinfo=UTC)) == "2026-03-01T12:00"
    with using(ClockChoice()):
        assert widget.format_value("2026-03-01T17:00Z") == "2026-03-01T17:00"
