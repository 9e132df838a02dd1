"""The base layout's parts that depend on settings."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("demo", [True, False])
def test_the_demo_banner_shows_only_on_the_stand_in(client, settings, demo):
    settings.KODEXA_DEMO = demo
    body = client.get("/accounts/login/").content.decode()
    assert ('class="demo-banner"' in body) is demo
    assert ("connected to the bundled Kodexa stand-in" in body) is demo
