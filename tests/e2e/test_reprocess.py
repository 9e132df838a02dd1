"""Reprocess in the browser: from a failed execution's page to the new execution, and back."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from tests.helpers import sim_get

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("PANEL_SCREENSHOTS")  # a directory: the pages are saved there to be looked at


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def test_operator_reprocesses_a_failed_execution_and_follows_it(page, live_server, kodexa, alice, login,
                                                                 console_errors):
    family = sim_get(kodexa, "/api/document-families", pageSize=1)["content"][0]
    assistant = next(a for a in sim_get(kodexa, "/api/assistants", pageSize=200)["content"] if a["active"])
    old = kodexa.control.add_execution(status="FAILED", documentFamilyId=family["id"], assistantId=assistant["id"],
                                       description="Invoice with a broken OCR", _sim={"lifecycle": False})
    login("alice", "alice-pass-123")
    page.goto(f"{live_server.url}/executions/{old['id']}/")
    page.get_by_test_id("reprocess-open").click()
    expect(page.get_by_role("checkbox", name=assistant["name"])).to_be_checked()
    _shot(page, "reprocess-form")
    page.get_by_label("Why").select_option(label="The cause was fixed")
    page.get_by_label("Reason (kept in the audit log)").fill("OCR outage fixed; ticket 4711")
    page.get_by_role("button", name="Reprocess document").click()

    expect(page.get_by_test_id("reprocess-outcome")).to_contain_text("Reprocess succeeded")
    new_link = page.get_by_test_id("followups").get_by_role("link").first
    expect(new_link).to_be_visible(timeout=10_000)
    _shot(page, "reprocess-result")
    new_link.click()
    origin = page.get_by_test_id("reprocess-origin")
    expect(origin).to_contain_text(old["id"][:8])
    expect(origin).to_contain_text("alice")
    _shot(page, "reprocess-new-execution")
    origin.get_by_role("link").click()
    expect(page.get_by_test_id("reprocess-followups")).to_contain_text("Reprocessed by alice as")
    _shot(page, "reprocess-old-execution")
    assert console_errors == []


def test_operator_cancels_a_stuck_run_and_reprocesses_it_in_one_go(page, live_server, kodexa, alice, login,
                                                                   console_errors):
    kodexa.control.configure(cancel_delay_ms=2000)
    family = sim_get(kodexa, "/api/document-families", pageSize=1)["content"][0]
    assistant = next(a for a in sim_get(kodexa, "/api/assistants", pageSize=200)["content"] if a["active"])
    stuck = kodexa.control.add_execution(status="RUNNING", documentFamilyId=family["id"], assistantId=assistant["id"],
                                         description="Stuck at OCR")
    login("alice", "alice-pass-123")
    page.goto(f"{live_server.url}/executions/{stuck['id']}/")
    page.get_by_text("Cancel execution…").click()
    page.get_by_label("Why").select_option("stuck")
    page.get_by_label("Reason (kept in the audit log)").fill("No progress since 9:00")
    page.get_by_label("Then reprocess the document with the same assistant, once stopped").check()
    page.get_by_role("button", name="Stop execution", exact=True).click()

    expect(page.get_by_test_id("after-cancel")).to_contain_text("Waiting for the cancel to take effect")
    _shot(page, "cancel-then-reprocess-waiting")
    # Once Kodexa has stopped it, the page sends the reprocess by itself and shows what it started.
    expect(page.get_by_test_id("reprocess-outcome")).to_contain_text("Reprocess succeeded", timeout=15_000)
    expect(page.get_by_test_id("after-cancel")).to_contain_text("Cancel succeeded")
    expect(page.get_by_test_id("followups").get_by_role("link").first).to_be_visible(timeout=10_000)
    _shot(page, "cancel-then-reprocess-done")
    assert console_errors == []


def test_operator_reprocesses_ticked_failed_executions_from_the_list(page, live_server, kodexa, alice, login,
                                                                      console_errors):
    families = sim_get(kodexa, "/api/document-families", pageSize=2)["content"]
    assistant = next(a for a in sim_get(kodexa, "/api/assistants", pageSize=200)["content"] if a["active"])
    failed = [kodexa.control.add_execution(status="FAILED", documentFamilyId=f["id"], assistantId=assistant["id"],
                                           description=f"Broken OCR {n}", _sim={"lifecycle": False})
              for n, f in enumerate(families)]
    login("alice", "alice-pass-123")
    page.goto(f"{live_server.url}/executions/?status=FAILED")
    for execution in failed:
        page.get_by_label(f"Select execution {execution['id'][:8]}").check()
    bar = page.locator("[data-bulk-bar]")
    expect(bar.get_by_test_id("bulk-reprocess")).to_have_text("Reprocess 2…")
    expect(bar.get_by_test_id("bulk-cancel")).to_be_hidden()  # nothing ticked can be stopped
    bar.get_by_test_id("bulk-reprocess").click()

    expect(page.get_by_test_id("bulk-selection")).to_contain_text("reprocessed")
    _shot(page, "bulk-reprocess-confirm")
    page.get_by_label("Why").select_option(label="The cause was fixed")
    page.get_by_label("Reason (kept in the audit log)").fill("OCR outage fixed")
    page.get_by_role("button", name="Reprocess 2 documents").click()
    expect(page.get_by_test_id("bulk-counts")).to_contain_text("2 succeeded")
    expect(page.get_by_test_id("bulk-results").get_by_role("link", name="New executions")).to_have_count(2)
    _shot(page, "bulk-reprocess-result")
    assert console_errors == []
