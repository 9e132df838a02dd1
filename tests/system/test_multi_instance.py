"""Two gunicorn instances behind one imaginary load balancer, sharing one database and one Redis: they behave
as one panel. Concurrent cancels keep one audit chain; dashboard reads are coalesced across instances."""

from __future__ import annotations

import threading

import pytest
import redis

from executions.audit.chain import audit_chain_verify
from executions.audit.models import AuditAction, AuditEvent
from executions.browse.query import ExecutionQuery
from executions.dashboards.services import dashboard_create, widget_add
from executions.kodexa import ExecutionStatus
from tests.servers import CHAIN_KEY, Browserless, PanelServer, redis_url, shared_database_url, usable_in_production

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
REDIS = redis_url(14)
CANCELS = 16


@pytest.fixture
def servers_chain_key(settings):  # type: ignore[no-untyped-def]
    """The test process's own events (the cast's group memberships are access.* events) use the servers' key."""
    settings.AUDIT_CHAIN_KEY = CHAIN_KEY


@pytest.fixture
def two_instances(servers_chain_key, kodexa, alice):  # type: ignore[no-untyped-def]
    if REDIS is None:
        pytest.skip("REDIS NOT REACHABLE on 127.0.0.1:6379: the multi-instance test needs a shared cache")
    redis.Redis.from_url(REDIS).flushdb()
    usable_in_production(alice, "alice-pass-123")
    servers = [PanelServer(database_url=shared_database_url(), cache_url=REDIS, kodexa_url=kodexa.url,
                           api_key=kodexa.api_key, env={"KODEXA_READ_TIMEOUT": "30"}).start(workers=2, threads=4)
               for _ in range(2)]
    yield servers
    for server in servers:
        server.stop()


def _run_together(jobs) -> list[object]:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = jobs[i]()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_concurrent_cancels_on_both_instances_keep_one_chain(two_instances, kodexa, settings):
    executions = [kodexa.control.add_execution(status="RUNNING", _sim={"lifecycle": False})["id"]
                  for _ in range(CANCELS)]
    users = [Browserless(two_instances[i % 2].url, "alice", "alice-pass-123") for i in range(CANCELS)]
    results = _run_together([lambda u=u, e=e: u.cancel(e) for u, e in zip(users, executions, strict=True)])
    assert all(getattr(r, "status_code", None) == 302 for r in results), results
    for execution_id in executions:
        actions = list(AuditEvent.objects.filter(execution_id=execution_id).order_by("id")
                       .values_list("action", flat=True))
        assert actions == [AuditAction.CANCEL_REQUESTED, AuditAction.CANCEL_SUCCEEDED], (execution_id, actions)
    assert kodexa.control.calls()["by_route"]["PUT /api/executions/{id}/cancel"] == CANCELS
    settings.AUDIT_CHAIN_KEY = CHAIN_KEY  # the key the servers sign with
    report = audit_chain_verify()
    assert report.ok and report.checked == AuditEvent.objects.count(), report
    assert AuditEvent.objects.filter(action__startswith="cancel.").count() == 2 * CANCELS


def test_dashboard_reads_are_coalesced_across_instances(two_instances, kodexa, alice, team):
    dashboard = dashboard_create(user=alice, name="On fire", team=team, refresh_seconds=30)
    for title, statuses in (("Running", [ExecutionStatus.RUNNING]), ("Failed", [ExecutionStatus.FAILED])):
        widget_add(dashboard=dashboard, title=title, kind="count", query=ExecutionQuery(statuses=tuple(statuses)))
    widget_add(dashboard=dashboard, title="Latest", kind="table", limit=5, query=ExecutionQuery())
    path = f"/dashboards/{dashboard.pk}/"

    one = Browserless(two_instances[0].url, "alice", "alice-pass-123")
    kodexa.control.clear_calls()
    assert one.get(path).status_code == 200
    distinct = kodexa.control.calls()["total"]
    assert distinct > 0

    redis.Redis.from_url(REDIS).flushdb()  # cold again, sessions included: log the viewers in afresh
    viewers = [Browserless(two_instances[i % 2].url, "alice", "alice-pass-123") for i in range(20)]
    kodexa.control.clear_calls()
    results = _run_together([lambda v=v: v.get(path) for v in viewers])
    assert all(getattr(r, "status_code", None) == 200 for r in results), results
    missing = [r.text[:3000] for r in results if "On fire" not in r.text]
    assert not missing, missing[0]
    assert kodexa.control.calls()["total"] <= distinct
