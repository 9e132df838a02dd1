"""A real OpenID Connect provider on loopback for the SSO tests (imported by tests/conftest.py).

node-oidc-provider (tests/oidc/provider.mjs, pinned in tests/oidc/package.json, installed by `npm ci` there;
`.ci/run` does it). Tests marked `oidc` need it: without tests/oidc/node_modules they are skipped with a loud
notice, and under CI=true that is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests

OIDC_DIR = Path(__file__).parent / "oidc"
NODE = shutil.which("node")
PROVIDER_READY = NODE is not None and (OIDC_DIR / "node_modules" / "oidc-provider").is_dir()
NOT_READY = ("NO OIDC TEST PROVIDER: SSO integration tests skipped. Run `npm ci` in tests/oidc (node 20+), "
             "as .ci/run does.")


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    needing = [item for item in items if item.get_closest_marker("oidc")]
    if PROVIDER_READY or not needing:
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError("CI=true but " + NOT_READY)
    print(f"\n{'!' * 20} {NOT_READY} {'!' * 20}")
    for item in needing:
        item.add_marker(pytest.mark.skip(reason=NOT_READY))


@dataclass
class OidcProvider:
    issuer: str
    client_id: str
    client_secret: str
    accounts_file: Path

    def set_accounts(self, accounts: dict[str, dict[str, object]]) -> None:
        """Who exists at the provider, with their password and claims (groups among them); read per request."""
        self.accounts_file.write_text(json.dumps(accounts))


# The cast at the provider: people who sign in through it (none of them is in tests/conftest.py's cast).
PROVIDER_ACCOUNTS = {
    "dora": {"password": "dora-idp-pass", "email": "dora@example.test", "email_verified": True,
             "name": "Dora Diaz", "given_name": "Dora", "family_name": "Diaz", "preferred_username": "dora",
             "groups": ["kodexa-operators", "team-support-eu", "everyone"]},
    "eve": {"password": "eve-idp-pass", "email": "eve@example.test", "name": "Eve Ng",
            "preferred_username": "eve", "groups": ["kodexa-auditors"]},
}


@pytest.fixture(scope="session")
def oidc_provider_server(tmp_path_factory) -> Iterator[OidcProvider]:  # type: ignore[no-untyped-def]
    accounts = tmp_path_factory.mktemp("oidc") / "accounts.json"
    accounts.write_text(json.dumps(PROVIDER_ACCOUNTS))
    process = subprocess.Popen([NODE or "node", str(OIDC_DIR / "provider.mjs"), str(accounts)], cwd=OIDC_DIR,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = process.stdout.readline() if process.stdout else ""
        if not line:
            raise RuntimeError("the OIDC test provider did not start (run `npm ci` in tests/oidc)")
        started = json.loads(line)
        yield OidcProvider(started["issuer"], started["client_id"], started["client_secret"], accounts)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def oidc_provider(oidc_provider_server: OidcProvider) -> Iterator[OidcProvider]:
    oidc_provider_server.set_accounts(PROVIDER_ACCOUNTS)
    yield oidc_provider_server
    oidc_provider_server.set_accounts(PROVIDER_ACCOUNTS)


@pytest.fixture
def sso(settings, oidc_provider, roles):  # type: ignore[no-untyped-def]
    """The panel pointed at the test provider: its groups grant roles, team-* groups become teams."""
    from executions.sso.discovery import forget_provider_metadata

    settings.OIDC_ISSUER = oidc_provider.issuer
    settings.OIDC_RP_CLIENT_ID = oidc_provider.client_id
    settings.OIDC_RP_CLIENT_SECRET = oidc_provider.client_secret
    settings.OIDC_RP_SCOPES = "openid email profile groups"
    settings.OIDC_OPERATOR_GROUPS = ["kodexa-operators"]
    settings.OIDC_AUDITOR_GROUPS = ["kodexa-auditors"]
    settings.OIDC_TEAM_GROUPS = ["team-*"]
    settings.OIDC_PROVIDER_NAME = "Test IdP"
    forget_provider_metadata()
    yield oidc_provider
    forget_provider_metadata()


def provider_login(authorize_url: str, username: str, password: str,
                   session: requests.Session | None = None) -> str:
    """Signs in on the provider's own login page over HTTP, the way a browser would; returns the URL the provider
    sends the browser back to (the panel's callback, with code and state)."""
    browser = session or requests.Session()
    url = authorize_url
    for _ in range(10):
        response = browser.get(url, allow_redirects=False, timeout=10)
        if response.status_code in (302, 303):
            url = urljoin(url, response.headers["Location"])
            if urlsplit(url).path.endswith("/oidc/callback/"):
                return url
            continue
        if response.status_code == 200 and "/interaction/" in url:
            posted = browser.post(url.rstrip("/") + "/login", data={"login": username, "password": password},
                                  allow_redirects=False, timeout=10)
            if posted.status_code not in (302, 303):
                raise AssertionError(f"provider login refused: {posted.status_code} {posted.text[:200]}")
            url = urljoin(url, posted.headers["Location"])
            continue
        raise AssertionError(f"unexpected provider answer {response.status_code} at {url}: {response.text[:200]}")
    raise AssertionError("too many redirects at the provider")
