"""Single sign-on in a browser: the test provider's own login page, roles and teams on the panel, logout at the
provider, and revocation at the next sign-in, on record in the audit log."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from executions.audit.chain import audit_chain_verify
from executions.audit.models import AuditAction, AuditEvent
from tests.oidc_fixtures import PROVIDER_ACCOUNTS

pytestmark = [pytest.mark.browser, pytest.mark.oidc, pytest.mark.django_db(transaction=True)]


def _sign_in_at_provider(page, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name="Sign in with Test IdP").click()
    expect(page.get_by_role("heading", name="Test identity provider: sign in")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in to the test provider").click()


def test_sign_in_with_the_provider_then_lose_a_role_at_the_next_sign_in(page, live_server, kodexa, sso,
                                                                        console_errors):
    page.goto(f"{live_server.url}/executions/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/executions/"))
    _sign_in_at_provider(page, "dora", "dora-idp-pass")

    expect(page).to_have_url(re.compile(r"/executions/"))
    header = page.locator("header.app-header")
    expect(header.get_by_text("dora")).to_be_visible()
    expect(header.get_by_role("link", name="Audit log")).to_have_count(0)  # an Operator, not an Auditor
    dora = get_user_model().objects.get(username="dora")
    assert set(dora.groups.values_list("name", flat=True)) == {"Operators", "team-support-eu"}
    # Her team is offered for sharing; her role is not a team.
    page.get_by_text("Save these filters as a view").click()
    share = page.get_by_label("Share with")
    expect(share.locator("option", has_text="Team team-support-eu")).to_have_count(1)
    expect(share.locator("option", has_text="Operators")).to_have_count(0)

    # Log out: the panel's session ends, then the provider's (RP-initiated logout, its own confirmation).
    header.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name=re.compile("Yes, sign me out", re.I)).click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))

    # The provider now says: an Auditor in another team, no longer an Operator.
    sso.set_accounts({**PROVIDER_ACCOUNTS, "dora": {**PROVIDER_ACCOUNTS["dora"],
                                                     "groups": ["kodexa-auditors", "team-support-us"]}})
    _sign_in_at_provider(page, "dora", "dora-idp-pass")  # the provider asks again: its session ended too
    expect(page).to_have_url(re.compile(r"/$|/executions/"))
    assert set(dora.groups.values_list("name", flat=True)) == {"Auditors", "team-support-us"}

    # Every change is in the audit log, which she may now read.
    header.get_by_role("link", name="Audit log").click()
    page.get_by_label("Action").select_option(AuditAction.ACCESS_OPERATOR_REVOKED.value)
    page.get_by_role("button", name="Apply filters").click()
    rows = page.locator("[data-testid=audit-events] tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("role Operators revoked from dora by the identity provider at sign-in")
    # (setup_roles, run by the `roles` fixture, may add its own access.permission_granted events before these.)
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="access.", details__user="dora")
            .order_by("id")] == [
        AuditAction.ACCESS_OPERATOR_GRANTED, AuditAction.ACCESS_TEAM_JOINED,
        AuditAction.ACCESS_OPERATOR_REVOKED, AuditAction.ACCESS_TEAM_LEFT,
        AuditAction.ACCESS_AUDITOR_GRANTED, AuditAction.ACCESS_TEAM_JOINED,
    ]
    assert AuditEvent.objects.filter(action=AuditAction.AUTH_SSO_LOGIN).count() == 2
    assert AuditEvent.objects.filter(action=AuditAction.AUTH_SSO_LOGOUT).count() == 1
    assert audit_chain_verify().ok
    assert console_errors == []


def test_a_failed_sign_in_is_a_clear_page(page, live_server, sso, console_errors):
    page.goto(f"{live_server.url}/oidc/callback/?code=forged&state=forged")
    expect(page.get_by_role("heading", name="Sign-in failed")).to_be_visible()
    expect(page.get_by_text("Sign-in failed: this sign-in link was already used")).to_be_visible()
    expect(page.get_by_text("Request id:")).to_be_visible()
    page.get_by_role("button", name="Back to sign in").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    # The failed page's own 400 status is reported by the browser; nothing else (no CSP violation).
    assert [e for e in console_errors if "status of 400" not in e] == []


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_sign_in_pages_have_nothing_serious_for_axe(page, live_server, sso, theme):
    from axe_playwright_python.sync_playwright import Axe

    page.add_init_script(f"window.localStorage.setItem('kodexa-admin-theme', '{theme}')")
    problems = {}
    for name, path in {"login": "/accounts/login/", "break glass": "/accounts/break-glass/",
                       "failed": "/oidc/callback/?code=x&state=y"}.items():
        page.goto(f"{live_server.url}{path}")
        violations = Axe().run(page).response["violations"]
        serious = [v["id"] for v in violations if v["impact"] in {"serious", "critical"}]
        if serious:
            problems[name] = serious
    assert problems == {}
