"""Accessibility and phone widths of the page shell: axe on the main pages in both explicit themes, nothing wider
than a 390 px phone, the header's menu reaching "Log out", a visible focus ring and a working skip link."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.helpers import sim_execution

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SERIOUS = {"serious", "critical"}
PHONE = {"width": 390, "height": 844}
THEME_KEY = "kodexa-admin-theme"  # static/js/theme.js


def _board():  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import Group

    from executions.dashboards.models import Dashboard, SavedView, Widget

    team = Group.objects.get(name="Support EU")
    board = Dashboard.objects.create(name="Support", team=team)
    for position, kind in enumerate(("count", "table", "status_breakdown")):
        Widget.objects.create(dashboard=board, position=position, title=kind, kind=kind,
                              view={"status": ["RUNNING"]})
    SavedView.objects.create(owner=board.team.user_set.get(username="alice"), name="Failed invoices",
                             view={"status": ["FAILED"], "q": "invoice"})
    return board


def _pages(kodexa, board) -> dict[str, str]:  # type: ignore[no-untyped-def]
    failed = sim_execution(kodexa, "status:'FAILED'")["id"]
    return {"list": "/executions/", "detail": f"/executions/{failed}/", "audit": "/audit/",
            "dashboards": "/dashboards/", "dashboard": f"/dashboards/{board.pk}/", "saved views": "/views/"}


def _serious(page) -> list[str]:  # type: ignore[no-untyped-def]
    results = Axe().run(page)
    return [f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:4]}"
            for v in results.response["violations"] if v["impact"] in SERIOUS]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_axe_finds_nothing_serious_with_the_theme_chosen_in_the_panel(page, live_server, kodexa, alice, login,
                                                                     console_errors, theme):
    """The toggle's choice (data-theme), which wins over the system's preference, emulated here as the other."""
    from django.contrib.auth.models import Group

    alice.groups.add(Group.objects.get(name="Auditors"))
    board = _board()
    page.emulate_media(color_scheme="dark" if theme == "light" else "light")
    page.add_init_script(f"window.localStorage.setItem('{THEME_KEY}', '{theme}')")
    problems: dict[str, list[str]] = {}
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.evaluate("document.documentElement.dataset.theme") == theme
    if found := _serious(page):
        problems["login"] = found
    login("alice", "alice-pass-123")
    for name, path in _pages(kodexa, board).items():
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        if found := _serious(page):
            problems[name] = found
    assert problems == {}
    assert console_errors == []


def _scroll_width(page) -> int:  # type: ignore[no-untyped-def]
    return page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_nothing_scrolls_sideways_on_a_phone(page, live_server, kodexa, alice, login, console_errors, theme):
    from django.contrib.auth.models import Group

    alice.groups.add(Group.objects.get(name="Auditors"))
    board = _board()
    page.set_viewport_size(PHONE)
    page.emulate_media(color_scheme=theme)
    page.goto(f"{live_server.url}/accounts/login/")
    too_wide = {"login": _scroll_width(page)} if _scroll_width(page) > PHONE["width"] else {}
    login("alice", "alice-pass-123")
    pages = _pages(kodexa, board)
    for name, path in pages.items():
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        if (width := _scroll_width(page)) > PHONE["width"]:
            too_wide[name] = width
    assert too_wide == {}
    assert console_errors == []


def test_the_header_menu_reaches_every_page_and_log_out_on_a_phone(page, live_server, kodexa, bob, login,
                                                                   console_errors):
    page.set_viewport_size(PHONE)
    login("bob", "bob-pass-123")
    page.goto(f"{live_server.url}/executions/")
    log_out = page.get_by_role("button", name="Log out")
    expect(log_out).to_be_hidden()  # inside the closed menu
    menu = page.locator("details.app-menu > summary")
    expect(menu).to_have_text(re.compile("Menu"))
    assert menu.bounding_box()["x"] + menu.bounding_box()["width"] <= PHONE["width"]
    # By keyboard: Tab to the menu, open it, Esc closes it and leaves focus on it.
    menu.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Saved views")).to_be_visible()
    page.keyboard.press("Escape")
    expect(log_out).to_be_hidden()
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    page.keyboard.press("Enter")
    expect(log_out).to_be_in_viewport()
    page.get_by_role("link", name="Saved views").click()
    expect(page).to_have_url(re.compile("/views/$"))
    page.locator("details.app-menu > summary").click()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile("/accounts/login/"))
    assert console_errors == []


def test_the_wide_header_shows_everything_without_a_menu_button(page, live_server, kodexa, bob, login):
    page.set_viewport_size({"width": 1280, "height": 800})
    login("bob", "bob-pass-123")
    page.goto(f"{live_server.url}/executions/")
    expect(page.locator("details.app-menu > summary")).to_be_hidden()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.get_by_role("link", name="Dashboards")).to_be_visible()


def _luminance(rgb: str) -> float:
    channels = [int(c) / 255 for c in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_keyboard_focus_is_a_ring_of_at_least_3_to_1(page, live_server, kodexa, bob, login, theme):
    page.emulate_media(color_scheme=theme)
    login("bob", "bob-pass-123")
    page.goto(f"{live_server.url}/executions/")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # the brand
    page.keyboard.press("Tab")  # the first navigation link
    ring = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return [document.activeElement.textContent.trim(), s.outlineStyle, parseFloat(s.outlineWidth), s.outlineColor,
                getComputedStyle(document.body).backgroundColor]; }""")
    name, style, width, colour, background = ring
    assert name == "Dashboards"
    assert style == "solid" and width >= 3
    assert _contrast(colour, background) >= 3, (colour, background)


def test_the_skip_link_shows_on_focus_and_moves_focus_to_the_content(page, live_server, kodexa, bob, login):
    login("bob", "bob-pass-123")
    page.goto(f"{live_server.url}/executions/")
    skip = page.get_by_role("link", name="Skip to content")
    assert not skip.is_visible() or skip.bounding_box()["y"] + skip.bounding_box()["height"] <= 0
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")  # the next stop is in the page's content, not the header
    assert page.evaluate("!!document.activeElement.closest('main')")
