import re

import pytest
from playwright.sync_api import expect

from tests.helpers import sim_execution

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_filter_the_list_and_share_the_link(page, live_server, kodexa, bob, login, console_errors):
    login("bob", "bob-pass-123")
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


def test_a_running_execution_progresses_without_a_reload(page, live_server, kodexa, bob, login, console_errors):
    execution = kodexa.control.add_execution(status="RUNNING", description="watch me run")
    login("bob", "bob-pass-123")
    page.goto(f"{live_server.url}/executions/?q=watch+me+run")
    page.get_by_role("link", name=execution["id"][:8]).click()
    expect(page).to_have_url(re.compile(execution["id"]))
    progress = page.get_by_test_id("progress").locator("progress")
    before = progress.get_attribute("value")
    updated = page.locator("#live-status time")
    updated_before = updated.get_attribute("datetime")
    page.evaluate("window.__notReloaded = true")
    kodexa.control.advance(25)  # simulated time: the pipeline moves on
    expect(progress).not_to_have_attribute("value", before, timeout=15_000)
    assert page.evaluate("window.__notReloaded") is True
    expect(page.locator("#live-status")).to_contain_text("updated")
    assert updated.get_attribute("datetime") != updated_before  # "last updated" moved with the data
    assert console_errors == []


def test_follow_a_parent_link(page, live_server, kodexa, bob, login):
    child = sim_execution(kodexa, "parentExecutionId>'0'")
    login("bob", "bob-pass-123")
    page.goto(f"{live_server.url}/executions/{child['id']}/")
    page.locator("[data-parent-link]").click()
    expect(page).to_have_url(re.compile(child["parentExecutionId"]))
    expect(page.get_by_test_id("children")).to_contain_text(child["id"][:8])


def test_live_refresh_pauses_while_the_tab_is_hidden(page, live_server, kodexa, bob, login):
    execution = kodexa.control.add_execution(status="RUNNING", description="watched in the background")
    login("bob", "bob-pass-123")
    polls: list[str] = []
    page.on("request", lambda request: polls.append(request.url) if "part=live" in request.url else None)
    page.goto(f"{live_server.url}/executions/{execution['id']}/")
    page.wait_for_timeout(4_000)
    assert polls, "a running execution polls every 3 s"

    def set_visibility(state: str) -> None:
        page.evaluate("""state => {
            Object.defineProperty(document, "visibilityState", {configurable: true, get: () => state});
            document.dispatchEvent(new Event("visibilitychange"));
        }""", state)

    set_visibility("hidden")
    page.wait_for_timeout(500)  # a request already in flight may still land
    hidden_from = len(polls)
    page.wait_for_timeout(7_000)  # two polling periods and more
    assert len(polls) == hidden_from, "no polling while hidden"
    with page.expect_request(lambda request: "part=live" in request.url, timeout=2_000):
        set_visibility("visible")  # back: refreshed at once, not at the next tick
