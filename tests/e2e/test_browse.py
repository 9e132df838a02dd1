import re

import pytest
from playwright.sync_api import expect

from tests.helpers import sim_execution

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_filter_the_list_and_share_the_link(page, live_server, kodexa, viewer, login, console_errors):
    login("viewer", "viewer-pass-123")
    page.goto(f"{live_server.url}/executions/")
    page.get_by_label("Failed", exact=True).check()
    page.get_by_label("Sort").select_option("createdOn,asc")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"status=FAILED.*sort=createdOn%2Casc"))
    badges = page.locator("#results tbody .badge")
    expect(badges.first).to_be_visible()
    assert set(badges.all_inner_texts()) == {"FAILED"}
    # The URL is the view: opening it again gives the same filters.
    page.goto(page.url)
    expect(page.get_by_label("Failed", exact=True)).to_be_checked()
    assert console_errors == []


def test_a_running_execution_progresses_without_a_reload(page, live_server, kodexa, viewer, login, console_errors):
    execution = kodexa.control.add_execution(status="RUNNING", description="watch me run")
    login("viewer", "viewer-pass-123")
    page.goto(f"{live_server.url}/executions/?q=watch+me+run")
    page.get_by_role("link", name=execution["id"][:8]).click()
    expect(page).to_have_url(re.compile(execution["id"]))
    progress = page.get_by_test_id("progress").locator("progress")
    before = progress.get_attribute("value")
    page.evaluate("window.__notReloaded = true")
    kodexa.control.advance(25)  # simulated time: the pipeline moves on
    expect(progress).not_to_have_attribute("value", before, timeout=15_000)
    assert page.evaluate("window.__notReloaded") is True
    expect(page.locator("#live-status")).to_contain_text("updated")
    assert console_errors == []


def test_follow_a_parent_link(page, live_server, kodexa, viewer, login):
    child = sim_execution(kodexa, "parentExecutionId>'0'")
    login("viewer", "viewer-pass-123")
    page.goto(f"{live_server.url}/executions/{child['id']}/")
    page.locator("[data-parent-link]").click()
    expect(page).to_have_url(re.compile(child["parentExecutionId"]))
    expect(page.get_by_test_id("children")).to_contain_text(child["id"][:8])
