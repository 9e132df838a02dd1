"""Tests marked `nginx` need Debian's nginx (`apt-get install nginx`; `.ci/run` installs it). Without it they are
skipped with a loud notice, and under CI=true that is an error."""

from __future__ import annotations

import os

import pytest

from tests.nginx import nginx_binary


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    wanted = [item for item in items if item.get_closest_marker("nginx")]
    if not wanted or nginx_binary():
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError("CI=true but nginx is not installed (apt-get install nginx)")
    reason = "NO NGINX FOUND: reverse-proxy tests skipped. Install Debian's nginx (apt-get install nginx)."
    print(f"\n{'!' * 20} {reason} {'!' * 20}")
    for item in wanted:
        item.add_marker(pytest.mark.skip(reason=reason))
