"""Save a view from the list, build a team dashboard from it, see it as a teammate, and not as an outsider."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _logout(page) -> None:  # type: ignore[no-untyped-def]
    page.locator("header.app-header").get_by_role("button", name="Log out").click()


def test_save_a_view_build_a_dashboard_and_share_it(page, live_server, kodexa, alice, bob, charlie, login,
                                                     console_errors):
    login("alice", "alice-pass-123")
    # No dashboard yet: home is the execution list.
    expect(page).to_have_url(re.compile(r"/executions/"))
    page.goto(f"{live_server.url}/executions/?status=FAILED")
    page.get_by_text("Save these filters as a view").click()
    page.get_by_placeholder("View name, e.g. Failed today").fill("Failed work")
    page.get_by_label("Share with").select_option(label="Team Support EU")
    page.get_by_role("button", name="Save view").click()
    expect(page.locator(".flash-success")).to_contain_text("Saved view “Failed work”, shared with Support EU")

    page.locator("header.app-header").get_by_role("link", name="Dashboards").click()
    page.get_by_label("Name").fill("Support board")
    # Role groups are groups too: alice, an Operator, picks her support team among her teams.
    page.get_by_label("Team").select_option(label="Support EU")
    page.get_by_label("Refresh every (seconds)").fill("20")
    page.get_by_role("button", name="Create dashboard").click()
    expect(page).to_have_url(re.compile(r"/dashboards/\d+/edit/"))
    dashboard_url = page.url.replace("edit/", "")

    add = page.locator("form[action$='/widgets/new/']")
    add.get_by_label("Title").fill("Failures")
    add.get_by_label("Show as").select_option("table")
    add.get_by_label("Rows (tables)").fill("5")
    add.get_by_label("Saved view").select_option(label="Failed work")
    add.get_by_role("button", name="Add widget").click()
    expect(page.locator(".flash-success")).to_contain_text("Added widget “Failures”")
    add = page.locator("form[action$='/widgets/new/']")
    add.get_by_label("Title").fill("By status")
    add.get_by_label("Show as").select_option("status_breakdown")
    add.get_by_role("button", name="Add widget").click()

    page.get_by_role("button", name="View dashboard").click()
    widget = page.locator("article[data-widget-kind='table']")
    expect(widget.get_by_role("heading", name="Failures")).to_be_visible()
    expect(widget.locator("tbody tr")).to_have_count(5)
    expect(page.locator("#widgets")).to_have_attribute("hx-trigger", "every 20s, panel:visible")
    expect(page.locator(".breakdown progress").first).to_be_visible()
    _logout(page)

    login("bob", "bob-pass-123")
    # A teammate's home is the team's dashboard.
    expect(page.get_by_role("heading", name="Support board")).to_be_visible()
    expect(page.locator("article[data-widget-kind='table'] tbody tr")).to_have_count(5)
    page.locator("article[data-widget-kind='status_breakdown'] .breakdown a").first.click()
    expect(page).to_have_url(re.compile(r"/executions/\?status="))
    _logout(page)

    assert console_errors == []

    login("charlie", "charlie-pass-123")
    response = page.goto(dashboard_url)
    assert response is not None and response.status == 404
    expect(page.get_by_text("Support board")).to_have_count(0)
