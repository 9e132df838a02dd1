import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_cancels_with_a_reason_and_watches_it_stop(page, live_server, kodexa, alice, charlie, login,
                                                            console_errors):
    kodexa.control.configure(cancel_delay_ms=4000)
    execution = kodexa.control.add_execution(status="RUNNING", description="Runaway invoice batch")
    login("alice", "alice-pass-123")
    page.goto(f"{live_server.url}/executions/{execution['id']}/")
    expect(page.get_by_test_id("status")).to_contain_text("Running")

    page.get_by_text("Cancel execution…").click()
    page.get_by_label("Why").select_option("customer_request")
    page.get_by_label("Reason (kept in the audit log)").fill("Customer called: wrong document uploaded")
    page.get_by_role("button", name="Cancel execution", exact=True).click()

    expect(page.locator(".flash-success")).to_contain_text("Cancel sent")
    expect(page.get_by_test_id("status")).to_contain_text("Cancelling")
    # The live refresh turns CANCELLING into CANCELLED without a reload.
    expect(page.get_by_test_id("status")).to_contain_text("Cancelled", timeout=15_000)
    activity = page.get_by_test_id("activity")
    expect(activity).to_contain_text("Cancel succeeded")
    expect(activity).to_contain_text("Customer called: wrong document uploaded")
    assert console_errors == []

    page.get_by_role("button", name="Log out").click()
    login("charlie", "charlie-pass-123")
    page.goto(f"{live_server.url}/audit/?execution_id={execution['id']}")
    events = page.get_by_test_id("audit-events")
    expect(events).to_contain_text("Cancel requested")
    expect(events).to_contain_text("Cancel succeeded")
    expect(events).to_contain_text("alice")


def test_user_without_permission_sees_no_cancel_button(page, live_server, kodexa, bob, login):
    execution = kodexa.control.add_execution(status="RUNNING")
    login("bob", "bob-pass-123")
    page.goto(f"{live_server.url}/executions/{execution['id']}/")
    expect(page.get_by_test_id("status")).to_contain_text("Running")
    expect(page.get_by_text("Cancel execution…")).to_have_count(0)
    page.goto(f"{live_server.url}/executions/")
    expect(page.get_by_test_id("bulk-cancel")).to_have_count(0)


def test_bulk_cancel_from_the_list(page, live_server, kodexa, alice, login, console_errors):
    ids = [kodexa.control.add_execution(status="RUNNING", description=f"bulk target {i}")["id"] for i in range(2)]
    login("alice", "alice-pass-123")
    page.goto(f"{live_server.url}/executions/?q=bulk+target")
    for execution_id in ids:
        page.locator(f"input[name=ids][value='{execution_id}']").check()
    page.get_by_test_id("bulk-cancel").click()
    expect(page.get_by_role("heading", name=re.compile("Cancel 2 executions"))).to_be_visible()
    page.get_by_label("Reason (kept in the audit log)").fill("Duplicates of an earlier upload")
    page.get_by_role("button", name="Cancel 2 executions").click()
    results = page.get_by_test_id("bulk-results")
    expect(results).to_contain_text("succeeded")
    expect(page.locator(".result-summary")).to_contain_text("2 cancelled")
    assert console_errors == []
