import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _focused(page) -> str:  # type: ignore[no-untyped-def]
    return page.evaluate("() => { const e = document.activeElement;"
                         " return e ? (e.dataset.testid || e.id || e.name || e.textContent.trim()) : ''; }")


def _tab_to(page, target: str, limit: int = 60) -> None:  # type: ignore[no-untyped-def]
    for _ in range(limit):
        page.keyboard.press("Tab")
        if _focused(page) == target:
            return
    raise AssertionError(f"{target} was not reached by Tab (last focus: {_focused(page)})")


def test_operator_cancels_by_keyboard_alone(page, live_server, kodexa, alice, charlie, login, console_errors):
    kodexa.control.configure(cancel_delay_ms=4000)
    execution = kodexa.control.add_execution(status="RUNNING", description="Runaway invoice batch")
    login("alice", "alice-pass-123")
    page.goto(f"{live_server.url}/executions/{execution['id']}/")
    expect(page.get_by_test_id("status")).to_contain_text("Running")
    dialog = page.locator("#cancel-dialog")
    expect(dialog).to_be_hidden()

    _tab_to(page, "cancel-open")
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    assert _focused(page) == "id_reason_category"  # focus moved into the dialog, to the category
    expect(dialog.get_by_test_id("cancel-summary")).to_contain_text(execution["id"])
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert _focused(page) == "cancel-open"  # and came back to the opener

    page.keyboard.press("Enter")  # reopen
    expect(dialog).to_be_visible()
    assert _focused(page) == "id_reason_category"
    expect(page.locator("#id_reason_category")).to_have_value("")  # nothing preset
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#id_reason_category")).to_have_value("customer_request")
    page.keyboard.press("Tab")
    assert _focused(page) == "id_reason"
    page.keyboard.type("Customer called: wrong document uploaded")
    _tab_to(page, "Stop execution", limit=4)
    page.keyboard.press("Enter")

    expect(page.locator(".flash-success")).to_contain_text("Cancel sent")
    expect(page.get_by_test_id("status")).to_contain_text("Cancelling")
    # The live refresh turns CANCELLING into CANCELLED without a reload.
    expect(page.get_by_test_id("status")).to_contain_text("Cancelled", timeout=15_000)
    activity = page.get_by_test_id("activity")
    expect(activity).to_contain_text("Cancel succeeded")
    expect(activity).to_contain_text("Customer called: wrong document uploaded")
    expect(activity).to_contain_text("Customer request")
    assert console_errors == []

    page.get_by_role("button", name="Log out").click()
    login("charlie", "charlie-pass-123")
    page.goto(f"{live_server.url}/executions/{execution['id']}/")
    page.get_by_test_id("activity-audit-link").click()
    events = page.get_by_test_id("audit-events")
    expect(events).to_contain_text("Cancel requested")
    expect(events).to_contain_text("Cancel succeeded")
    expect(events).to_contain_text("alice")
    assert console_errors == []


def test_keep_running_closes_the_dialog_and_nothing_is_sent(page, live_server, kodexa, alice, login,
                                                             console_errors):
    execution = kodexa.control.add_execution(status="RUNNING", description="keep me")
    login("alice", "alice-pass-123")
    page.goto(f"{live_server.url}/executions/{execution['id']}/")
    page.get_by_test_id("cancel-open").focus()
    page.keyboard.press(" ")  # a link that looks like a button opens with Space too
    dialog = page.locator("#cancel-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Keep running").click()
    expect(dialog).to_be_hidden()
    assert _focused(page) == "cancel-open"
    assert kodexa.control.calls()["by_route"].get("PUT /api/executions/{id}/cancel", 0) == 0
    assert console_errors == []


def test_without_javascript_the_opener_is_a_page(browser, live_server, kodexa, alice):  # type: ignore[no-untyped-def]
    from django.test import Client

    execution = kodexa.control.add_execution(status="RUNNING", description="no script here")
    client = Client()
    client.force_login(alice)
    cookie = client.cookies["sessionid"]
    context = browser.new_context(java_script_enabled=False)
    context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])
    page = context.new_page()
    page.goto(f"{live_server.url}/executions/{execution['id']}/")
    page.get_by_test_id("cancel-open").click()
    expect(page).to_have_url(f"{live_server.url}/executions/{execution['id']}/cancel/")
    page.get_by_label("Reason (kept in the audit log)").fill("no javascript, still works")
    page.get_by_role("button", name="Stop execution").click()  # no category chosen: the browser refuses
    expect(page).to_have_url(f"{live_server.url}/executions/{execution['id']}/cancel/")
    assert kodexa.control.calls()["by_route"].get("PUT /api/executions/{id}/cancel", 0) == 0
    page.get_by_label("Why").select_option("stuck")
    page.get_by_role("button", name="Stop execution").click()
    expect(page.locator(".flash-success")).to_contain_text("Cancel sent")
    context.close()


def test_user_without_permission_sees_no_cancel_button(page, live_server, kodexa, bob, login):
    execution = kodexa.control.add_execution(status="RUNNING")
    login("bob", "bob-pass-123")
    page.goto(f"{live_server.url}/executions/{execution['id']}/")
    expect(page.get_by_test_id("status")).to_contain_text("Running")
    expect(page.get_by_text("Cancel execution…")).to_have_count(0)
    page.goto(f"{live_server.url}/executions/")
    expect(page.get_by_test_id("bulk-cancel")).to_have_count(0)


def test_bulk_cancel_from_the_list_goes_live_to_settled(page, live_server, kodexa, alice, login, console_errors):
    kodexa.control.configure(cancel_delay_ms=4000)
    ids = [kodexa.control.add_execution(status="RUNNING", description=f"bulk target {i}")["id"] for i in range(2)]
    login("alice", "alice-pass-123")
    page.goto(f"{live_server.url}/executions/?q=bulk+target")
    for execution_id in ids:
        page.locator(f"input[name=ids][value='{execution_id}']").check()
    page.get_by_test_id("bulk-cancel").click()
    expect(page.get_by_role("heading", name=re.compile("Stop 2 executions"))).to_be_visible()
    page.get_by_label("Why").select_option("duplicate")
    page.get_by_label("Reason (kept in the audit log)").fill("Duplicates of an earlier upload")
    page.get_by_role("button", name="Stop 2 executions").click()
    state = page.get_by_test_id("bulk-state")
    expect(state).to_contain_text("still cancelling")
    expect(page.locator(".result-summary")).to_contain_text("2 cancelled")
    expect(page.locator(".result-summary")).not_to_contain_text("failed")  # zero counts are not shown
    # Without a reload, the page follows Kodexa until both have stopped, then stops polling.
    expect(state).to_contain_text("every item has settled", timeout=20_000)
    expect(page.get_by_test_id("bulk-results").locator("[data-status=CANCELLED]")).to_have_count(2)
    expect(page.locator("#bulk-live[hx-get]")).to_have_count(0)
    page.get_by_test_id("batch-audit-link").click()
    expect(page.get_by_role("heading", name="My actions")).to_be_visible()
    expect(page.get_by_test_id("audit-events").locator("tr[data-event-id]")).to_have_count(4)
    assert console_errors == []


def test_my_actions(page, live_server, kodexa, alice, charlie, login, console_errors):
    from executions.audit.chain import audit_event_append
    from executions.audit.models import AuditAction

    execution = kodexa.control.add_execution(status="RUNNING")["id"]
    audit_event_append(action=AuditAction.CANCEL_REQUESTED, actor=alice, execution_id=execution,
                       reason_category="wrong_input", reason="alice's own")
    audit_event_append(action=AuditAction.AUDIT_EXPORTED, actor=charlie)
    login("alice", "alice-pass-123")
    menu = page.locator("details.app-menu > summary")
    if menu.is_visible():
        menu.click()
    page.get_by_role("link", name="My actions").first.click()
    events = page.get_by_test_id("audit-events")
    expect(events).to_contain_text("alice's own")
    expect(events).to_contain_text("Wrong input or configuration")
    # Their own events only (signing in is audited too): none of charlie's.
    actors = events.locator("td[data-label=Actor]")
    expect(actors.first).to_be_visible()
    assert {text.split()[0] for text in actors.all_inner_texts()} == {"alice"}
    expect(events).not_to_contain_text("Audit log exported")
    expect(page.get_by_text("Export CSV")).to_have_count(0)
    assert console_errors == []

    if menu.is_visible():
        menu.click()
    page.get_by_role("button", name="Log out").click()
    login("charlie", "charlie-pass-123")
    page.goto(f"{live_server.url}/audit/")
    everyone = page.get_by_test_id("audit-events")
    expect(everyone).to_contain_text("alice's own")
    expect(everyone).to_contain_text("Audit log exported")
    page.get_by_test_id("my-actions").click()
    mine = page.get_by_test_id("audit-events")
    expect(mine).to_contain_text("Audit log exported")
    expect(mine).not_to_contain_text("alice's own")
    assert {text.split()[0] for text in mine.locator("td[data-label=Actor]").all_inner_texts()} == {"charlie"}
    assert console_errors == []


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_act_pages_pass_axe_and_fit_a_phone(page, live_server, kodexa, alice, login, console_errors, theme):
    """The open cancel dialog, the cancel page, a bulk confirm and result, and My actions: axe finds nothing
    serious in the panel's theme, and nothing is wider than a 390 px phone."""
    from tests.e2e.test_accessibility import PHONE, THEME_KEY, _scroll_width, _serious

    kodexa.control.configure(cancel_delay_ms=60_000)
    page.add_init_script(f"window.localStorage.setItem('{THEME_KEY}', '{theme}')")
    running = [kodexa.control.add_execution(status="RUNNING", description=f"axe target {i}")["id"]
               for i in range(2)]
    login("alice", "alice-pass-123")
    problems: dict[str, object] = {}

    def check(name: str) -> None:
        page.wait_for_load_state("networkidle")
        if found := _serious(page):
            problems[f"{name} axe"] = found
        page.set_viewport_size(PHONE)
        if (width := _scroll_width(page)) > PHONE["width"]:
            problems[f"{name} width"] = width
        page.set_viewport_size({"width": 1280, "height": 900})

    page.goto(f"{live_server.url}/executions/{running[0]}/")
    page.get_by_test_id("cancel-open").click()
    expect(page.locator("#cancel-dialog")).to_be_visible()
    check("dialog")
    page.goto(f"{live_server.url}/executions/{running[0]}/cancel/")
    check("cancel page")
    page.goto(f"{live_server.url}/executions/?q=axe+target")
    for execution_id in running:
        page.locator(f"input[name=ids][value='{execution_id}']").check()
    page.get_by_test_id("bulk-cancel").click()
    expect(page.get_by_role("heading", name=re.compile("Stop 2 executions"))).to_be_visible()
    check("bulk confirm")
    page.get_by_label("Why").select_option("stuck")
    page.get_by_label("Reason (kept in the audit log)").fill("axe check")
    page.get_by_role("button", name="Stop 2 executions").click()
    expect(page.get_by_test_id("bulk-state")).to_contain_text("still cancelling")
    check("bulk result")
    page.goto(f"{live_server.url}/audit/")
    check("my actions")
    assert problems == {}
    assert console_errors == []
