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

    # Charlie is in no team: the link says how to join one, and nothing of the dashboard.
    login("charlie", "charlie-pass-123")
    response = page.goto(dashboard_url)
    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", name="Join a team to see dashboards")).to_be_visible()
    expect(page.get_by_text("Support board")).to_have_count(0)


def _no_horizontal_scroll(page) -> None:  # type: ignore[no-untyped-def]
    """The page does not scroll sideways, and nothing in its main content reaches past the window."""
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"scrolls sideways: {widths}"
    wider = page.evaluate("""() => Array.from(document.querySelectorAll('main *'))
        .filter(el => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1
                      && !(el.parentElement && el.parentElement.closest('.table-wrap, pre')))
        .map(el => el.tagName + '.' + el.className).slice(0, 5)""")
    assert wider == [], f"wider than the window: {wider}"


def _chart_board(alice):  # type: ignore[no-untyped-def]
    from executions.dashboards.models import Dashboard, Widget

    team = alice.groups.get(name="Support EU")
    board = Dashboard.objects.create(name="Charts", team=team, refresh_seconds=30)
    Widget.objects.create(dashboard=board, position=0, title="Runs today", kind="runs_over_time", view={})
    Widget.objects.create(dashboard=board, position=1, title="Failed today", kind="count", trend=True,
                          view={"status": ["FAILED"], "created_within_hours": 24})
    Widget.objects.create(dashboard=board, position=2, title="By status", kind="status_breakdown", view={})
    return board


def test_a_charts_text_alternative_matches_its_bars(page, live_server, kodexa, alice, login, console_errors):
    kodexa.control.configure(speed=0)
    login("alice", "alice-pass-123")
    page.goto(f"{live_server.url}/executions/")
    chart = page.locator("[data-testid='runs-chart']")
    summary = chart.locator("[data-testid='chart-summary']").inner_text()
    total = int(re.match(r"([\d,]+) runs? in the last 24 hours", summary).group(1).replace(",", ""))
    chart.get_by_text("The numbers as a table").click()
    table = chart.locator("[data-testid='chart-table']")
    expect(table).to_be_visible()
    all_column = [int(t.replace(",", "")) for t in table.locator("tbody tr td:last-child").all_inner_texts()]
    assert sum(all_column) == total
    # Each bar's hover title says the same count as its row in the table.
    titles = [t for t in chart.locator("svg.chart-plot rect.hit title").all_text_contents() if "not read" not in t]
    assert len(titles) == len(all_column)
    for title, count in zip(titles, all_column, strict=True):
        assert re.search(rf": {count:,} runs?", title), (title, count)
    # The legend's counts are the summary's.
    for item in chart.locator(".chart-legend li").all_inner_texts():
        assert " ".join(item.split()) in summary, item
    assert console_errors == []


def test_a_dashboard_with_charts_renders_and_fits_a_phone(page, live_server, kodexa, alice, login, console_errors):
    board = _chart_board(alice)
    login("alice", "alice-pass-123")
    for theme in ("light", "dark"):
        page.emulate_media(color_scheme=theme)
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{live_server.url}/dashboards/{board.pk}/")
            runs = page.locator("article[data-widget-kind='runs_over_time']")
            expect(runs.locator("svg.chart-plot")).to_be_visible()
            expect(runs.locator("[data-testid='chart-summary']")).to_contain_text("in the last 24 hours, per hour")
            expect(page.locator("[data-testid='sparkline'] svg")).to_be_visible()
            age = page.locator("[data-testid='data-age']").first
            expect(age).to_contain_text(re.compile(r"Data from (just now|\d+ s ago)"))
            _no_horizontal_scroll(page)
    # The poll brings the fragment back with the numbers to compare: no console errors, no CSP violation.
    page.evaluate("htmx.trigger('#widgets', 'panel:visible')")
    page.wait_for_timeout(500)
    expect(page.locator("article[data-widget-kind='runs_over_time'] svg.chart-plot")).to_be_visible()
    assert console_errors == []


def test_the_step_timeline_fits_a_phone(page, live_server, kodexa, alice, login, console_errors):
    from tests.helpers import sim_execution

    failed = sim_execution(kodexa, "status:'FAILED'")
    login("alice", "alice-pass-123")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/executions/{failed['id']}/")
        gantt = page.locator("[data-testid='gantt']")
        expect(gantt).to_be_visible()
        steps = failed["pipeline"]["steps"]
        expect(gantt.locator(".gantt-row")).to_have_count(len(steps))
        started = [s for s in steps if s.get("start")]
        expect(gantt.locator("svg.gantt-track rect")).to_have_count(len(started))
        expect(gantt.locator(".gantt-row[data-step-status='SKIPPED'] svg rect")).to_have_count(0)
        _no_horizontal_scroll(page)
    assert console_errors == []
