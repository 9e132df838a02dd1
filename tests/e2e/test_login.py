import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_log_in_see_the_layout_and_log_out(page, live_server, kodexa, bob, login, console_errors):
    page.goto(f"{live_server.url}/executions/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/executions/"))

    login("bob", "bob-pass-123")

    expect(page).to_have_url(re.compile(r"/executions/"))
    header = page.locator("header.app-header")
    expect(header.get_by_text("Kodexa Admin")).to_be_visible()
    expect(header.get_by_text("bob")).to_be_visible()
    expect(header.get_by_role("link", name="Executions")).to_have_attribute("aria-current", "page")
    # A plain user sees neither the audit log nor the Django admin in the navigation.
    expect(header.get_by_role("link", name="Audit log")).to_have_count(0)

    header.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.goto(f"{live_server.url}/executions/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    assert console_errors == []


def test_wrong_password_is_refused_with_a_message(page, live_server, bob, login):
    login("bob", "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("didn't match")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_dark_mode_toggle_persists(page, live_server, bob, login):
    login("bob", "bob-pass-123")
    html = page.locator("html")
    before = html.get_attribute("data-theme")
    page.get_by_role("button", name="Toggle dark mode").first.click()
    after = html.get_attribute("data-theme")
    assert after in {"light", "dark"} and after != before
    page.reload()
    expect(html).to_have_attribute("data-theme", after)
