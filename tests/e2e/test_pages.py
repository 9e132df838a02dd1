"""Every main page in a real browser: no console errors, no CSP violations, no serious accessibility issues."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.helpers import sim_execution

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SERIOUS = {"serious", "critical"}


def test_main_pages_are_clean_in_light_and_dark(page, live_server, kodexa, admin, login, console_errors):
    from django.contrib.auth.models import Group

    from executions.dashboards.models import Dashboard, Widget

    running = sim_execution(kodexa, "status:'RUNNING'")["id"]
    failed = sim_execution(kodexa, "status:'FAILED'")["id"]
    board = Dashboard.objects.create(name="Support", team=Group.objects.create(name="Support"))
    for position, kind in enumerate(("count", "table", "status_breakdown")):
        Widget.objects.create(dashboard=board, position=position, title=kind, kind=kind, view={"status": ["RUNNING"]})
    axe = Axe()
    page.goto(f"{live_server.url}/accounts/login/")
    problems: dict[str, list[str]] = {}
    pages = ["/", "/executions/", "/executions/?status=RUNNING&live=1", f"/executions/{running}/",
             f"/executions/{failed}/", "/audit/", "/dashboards/", f"/dashboards/{board.pk}/edit/", "/views/"]
    login("admin", "admin-pass-123")
    for theme in ("light", "dark"):
        page.emulate_media(color_scheme=theme)
        for path in ["/accounts/login/", *pages] if theme == "light" else pages:
            if path == "/accounts/login/":
                page.context.clear_cookies()
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("networkidle")
            results = axe.run(page)
            serious = [f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:4]}"
                       for v in results.response["violations"] if v["impact"] in SERIOUS]
            if serious:
                problems[f"{theme} {path}"] = serious
            if path == "/accounts/login/":
                login("admin", "admin-pass-123")
    assert problems == {}
    assert console_errors == [], "console errors or CSP violations: " + "; ".join(console_errors)
