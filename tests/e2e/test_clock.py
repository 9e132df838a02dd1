"""One clock: the header's UTC / local switch changes what every time shows and how a typed date filter is read."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.browser_context_args(timezone_id="America/New_York", locale="en-US")
def test_switching_to_local_changes_shown_times_and_typed_filters(page, live_server, kodexa, bob, login,
                                                                   console_errors):
    execution = kodexa.control.add_execution(status="SUCCEEDED", createdOn="2026-03-04T10:00:00Z",
                                             description="clock test", _sim={"lifecycle": False})
    login("bob", "bob-pass-123")
    page.goto(f"{live_server.url}/executions/{execution['id']}/")
    created = page.locator('time[datetime="2026-03-04T10:00:00Z"][data-local]').first
    # UTC until the user says otherwise, in the text; their own clock on hover.
    expect(created).to_have_text("2026-03-04 10:00:00 UTC")
    expect(created).to_have_attribute("title", re.compile(r"2026-03-04 05:00:00 EST"))

    page.get_by_role("button", name="Local").click()
    created = page.locator('time[datetime="2026-03-04T10:00:00Z"][data-local]').first
    expect(created).to_have_text("2026-03-04 05:00:00 EST")
    expect(created).to_have_attribute("title", "2026-03-04 10:00:00 UTC")
    expect(page.get_by_role("button", name="Local")).to_have_attribute("aria-pressed", "true")

    page.goto(f"{live_server.url}/executions/")
    page.locator("#id_created_within_hours").select_option("custom")  # the dates show for a custom range
    after = page.get_by_label("Created after (America/New_York)")
    after.fill("2026-03-04T04:30")  # 09:30 UTC: the run, created at 10:00 UTC, is after it
    page.get_by_label("Search").fill("clock test")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"created_after=2026-03-04T09%3A30Z"))
    expect(page.get_by_label("Created after (America/New_York)")).to_have_value("2026-03-04T04:30")
    relative = page.locator('#results time[datetime="2026-03-04T10:00:00Z"][data-relative]').first
    expect(relative).to_have_attribute("title", re.compile(r"^2026-03-04 05:00:00 EST \(2026-03-04 10:00:00 UTC\)$"))

    # The same typed time read in UTC is 04:30 UTC; back on UTC the input shows the stored instant in UTC.
    page.get_by_role("button", name="UTC").click()
    expect(page).to_have_url(re.compile(r"created_after=2026-03-04T09%3A30Z"))
    expect(page.get_by_label("Created after (UTC)")).to_have_value("2026-03-04T09:30")
    expect(page.locator('#results time[datetime="2026-03-04T10:00:00Z"][data-relative]').first).to_have_attribute(
        "title", re.compile(r"^2026-03-04 10:00:00 UTC \(2026-03-04 05:00:00 EST\)$"))
    assert console_errors == []


@pytest.mark.browser_context_args(timezone_id="Asia/Kolkata", locale="en-GB")
def test_a_half_hour_zone_is_converted_not_relabelled(page, live_server, kodexa, bob, login, console_errors):
    """UTC+05:30: no whole-hour offset, so a time that was merely relabelled could not pass."""
    execution = kodexa.control.add_execution(status="SUCCEEDED", createdOn="2026-03-04T10:00:00Z",
                                             _sim={"lifecycle": False})
    login("bob", "bob-pass-123")
    page.goto(f"{live_server.url}/executions/{execution['id']}/")
    page.get_by_role("button", name="Local").click()
    created = page.locator('time[datetime="2026-03-04T10:00:00Z"][data-local]').first
    expect(created).to_have_text("2026-03-04 15:30:00 IST")
    expect(created).to_have_attribute("title", "2026-03-04 10:00:00 UTC")
    assert console_errors == []
