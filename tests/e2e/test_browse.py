import re

import pytest
from playwright.sync_api import expect

from tests.helpers import sim_execution, sim_executions, sim_get

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


def test_a_status_chip_applies_and_removes_its_status(page, live_server, kodexa, bob, login, console_errors):
    login("bob", "bob-pass-123")
    page.goto(f"{live_server.url}/executions/")
    chips = page.get_by_role("navigation", name=re.compile("Filter by status"))
    failed = chips.locator('a[data-status="FAILED"]')
    expect(failed).to_contain_text(re.compile(r"Failed \d"))
    failed.click()
    expect(page).to_have_url(re.compile(r"\?status=FAILED$"))
    expect(chips.locator('a[data-status="FAILED"]')).to_have_attribute("aria-current", "true")
    assert set(page.locator("#results tbody .badge").all_inner_texts()) == {"FAILED"}
    page.get_by_role("navigation", name="Created").get_by_role("link", name="Last 24 hours").click()
    expect(page).to_have_url(re.compile(r"\?status=FAILED&created_within_hours=24$"))  # two clicks from the list
    chips.locator('a[data-status="FAILED"]').click()  # pressed again: removed
    expect(page).to_have_url(re.compile(r"/executions/\?created_within_hours=24$"))
    expect(chips.locator('a[data-status="FAILED"]')).not_to_have_attribute("aria-current", "true")
    assert console_errors == []


def test_a_relative_preset_survives_a_save_and_a_reload(page, live_server, kodexa, alice, login, console_errors):
    login("alice", "alice-pass-123")
    page.goto(f"{live_server.url}/executions/")
    custom = page.locator("[data-custom-range]")
    expect(custom).to_be_hidden()  # no date inputs to tab through until "Custom range"
    page.locator("#id_created_within_hours").select_option(label="Custom range")
    expect(page.get_by_label("Created after (UTC)")).to_be_focused()
    page.locator("#id_created_within_hours").select_option(label="Last 24 hours")
    expect(custom).to_be_hidden()
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"\?created_within_hours=24$"))
    page.get_by_text("Save these filters as a view").click()
    page.get_by_placeholder(re.compile("View name")).fill("Last day")
    page.get_by_role("button", name="Save view").click()
    expect(page.get_by_text("Saved view “Last day”")).to_be_visible()
    page.goto(f"{live_server.url}/views/")
    page.get_by_role("link", name="Last day").first.click()
    expect(page).to_have_url(re.compile(r"/executions/\?created_within_hours=24$"))
    expect(page.locator("#id_created_within_hours")).to_have_value("24")
    page.reload()
    expect(page.locator("#id_created_within_hours")).to_have_value("24")
    assert console_errors == []


def test_the_bulk_bar_appears_when_rows_are_ticked(page, live_server, kodexa, alice, login, console_errors):
    for i in range(3):
        kodexa.control.add_execution(status="RUNNING", description=f"bar target {i}", _sim={"lifecycle": False})
    login("alice", "alice-pass-123")
    page.goto(f"{live_server.url}/executions/?q=bar+target")
    bar = page.locator("[data-bulk-bar]")
    expect(bar).to_be_hidden()
    boxes = page.locator("input[name=ids]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    expect(bar).to_be_visible()
    expect(bar).to_contain_text("2 selected")
    expect(page.get_by_test_id("bulk-cancel")).to_have_text("Stop 2…")
    expect(page.get_by_test_id("bulk-matching")).to_have_text("Select all 3 matching")
    boxes.nth(0).uncheck()
    boxes.nth(1).uncheck()
    expect(bar).to_be_hidden()
    assert console_errors == []


def test_a_click_anywhere_on_a_row_opens_it(page, live_server, kodexa, bob, login, console_errors):
    execution = kodexa.control.add_execution(status="SUCCEEDED", description="click my row")
    login("bob", "bob-pass-123")
    page.goto(f"{live_server.url}/executions/?q=click+my+row")
    row = page.locator(f'tr[data-execution-id="{execution["id"]}"]')
    row.locator('td[data-label="Description"]').click()
    expect(page).to_have_url(re.compile(f"/executions/{execution['id']}/$"))
    page.go_back()
    # The keyboard reaches the row through its id link.
    link = page.locator(f'tr[data-execution-id="{execution["id"]}"] a[href$="{execution["id"]}/"]')
    link.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"/executions/{execution['id']}/$"))
    assert console_errors == []


@pytest.mark.parametrize("path", ["/executions/", "/executions/?status=FAILED&created_within_hours=24"])
def test_no_horizontal_scroll_on_a_phone(page, live_server, kodexa, alice, login, console_errors, path):
    page.set_viewport_size({"width": 390, "height": 844})
    login("alice", "alice-pass-123")
    page.goto(f"{live_server.url}{path}")
    expect(page.locator("#results tbody tr").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    expect(page.locator("[data-filters-panel]")).not_to_have_attribute("open", "")  # folded: results first
    # Cards: each cell says which column it is.
    label = page.locator('#results tbody tr').first.locator('td[data-label="Assistant"]')
    assert page.evaluate("el => getComputedStyle(el, '::before').content", label.element_handle()) == '"Assistant"'
    assert console_errors == []


@pytest.mark.browser_context_args(java_script_enabled=False)
def test_without_javascript_the_bar_and_the_custom_dates_are_there(page, live_server, kodexa, alice, login):
    login("alice", "alice-pass-123")
    page.goto(f"{live_server.url}/executions/?status=RUNNING")
    expect(page.get_by_test_id("bulk-cancel")).to_be_visible()
    expect(page.get_by_test_id("bulk-matching")).to_be_visible()
    page.locator("[data-custom-range] > summary").click()  # folded, one click away
    page.get_by_label("Created after (UTC)").fill("2026-01-01T00:00")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"created_after=2026-01-01T00%3A00"))
    expect(page.locator("#id_created_within_hours")).to_have_value("custom")
    page.locator('nav.status-chips a[data-status="FAILED"]').click()  # chips are plain links
    expect(page).to_have_url(re.compile(r"status=RUNNING&status=FAILED"))


def test_failed_runs_of_one_assistant_in_the_last_24_hours_in_three_clicks(page, live_server, kodexa, bob, login,
                                                                           console_errors):
    assistant = next(a for a in sim_get(kodexa, "/api/assistants", pageSize=200)["content"] if a["active"])
    kodexa.control.add_execution(status="FAILED", assistantId=assistant["id"], description="Broken scan today",
                                 _sim={"lifecycle": False})
    login("bob", "bob-pass-123")
    page.get_by_role("link", name="Executions").first.click()  # 1
    page.get_by_role("link", name="Failed in the last 24 hours").click()  # 2
    expect(page).to_have_url(re.compile(r"status=FAILED"))
    select = page.locator("form.filters select[name=assistant]")
    # 3: pick an assistant; it applies itself
    select.select_option(assistant["id"])
    expect(page).to_have_url(re.compile(rf"assistant={assistant['id']}"))
    expect(page).to_have_url(re.compile(r"created_within_hours=24"))
    rows = page.locator("tr.row-link")
    expected = sim_executions(kodexa, f"assistantId:'{assistant['id']}' AND status:'FAILED'")
    expect(rows.first).to_contain_text("Broken scan today")
    assert 1 <= rows.count() <= len(expected)
    for status in rows.locator(".badge").all_inner_texts():
        assert status.strip().upper() == "FAILED"
    assert console_errors == []


def test_the_assistant_filter_waits_for_enter_when_chosen_by_keyboard(page, live_server, kodexa, bob, login,
                                                                      console_errors):
    login("bob", "bob-pass-123")
    page.goto(f"{live_server.url}/executions/?status=FAILED")
    select = page.locator("form.filters select[name=assistant]")
    select.focus()
    page.keyboard.press("ArrowDown")  # moves the choice: nothing reloads mid-choice
    page.wait_for_timeout(300)
    assert "assistant=" not in page.url
    chosen = select.input_value()
    assert chosen
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"assistant={chosen}"))
    assert console_errors == []
