"""HEAD answers like GET, without a body, wherever GET is allowed (monitors and link checkers send it)."""

from __future__ import annotations

import pytest
from django.test import Client

from executions.dashboards.models import Dashboard, Widget
from tests.helpers import sim_execution

pytestmark = pytest.mark.django_db


def _assert_head_like_get(client: Client, url: str) -> None:
    get = client.get(url)
    head = client.head(url)
    assert head.status_code == get.status_code, url
    assert get.status_code in {200, 302}, url  # the page exists (or redirects to canonical form) for GET
    assert head.content == b"", url
    assert head["Content-Type"] == get["Content-Type"], url


def test_head_on_probes_is_answered_like_get(client, kodexa):
    for url in ("/healthz", "/readyz"):
        _assert_head_like_get(client, url)


def test_head_on_pages_is_answered_like_get(kodexa, alice, alice_client, team, roles):
    alice.groups.add(roles["Auditors"])  # an Operator who may also read the audit log: every page is hers
    board = Dashboard.objects.create(name="Board", team=team, refresh_seconds=30, created_by=alice)
    Widget.objects.create(dashboard=board, position=0, title="Running", kind="count", view={"status": ["RUNNING"]})
    client = alice_client
    execution_id = sim_execution(kodexa, "status:'SUCCEEDED'")["id"]
    for url in ("/", "/executions/", "/executions/?status=RUNNING", f"/executions/{execution_id}/", "/audit/",
                "/views/", "/dashboards/", f"/dashboards/{board.pk}/", f"/dashboards/{board.pk}/widgets/",
                f"/dashboards/{board.pk}/edit/"):
        _assert_head_like_get(client, url)


def test_head_is_not_allowed_where_only_post_is(alice_client):
    assert alice_client.head("/executions/bulk-cancel/").status_code == 405
