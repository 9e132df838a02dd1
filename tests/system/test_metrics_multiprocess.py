"""/metrics under gunicorn: every worker's counts added up, and none lost when a worker dies; with
DJANGO_SECURE=true the probes and /metrics still answer over plain HTTP on the instance's port."""

from __future__ import annotations

import os
import signal
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.servers import PanelServer, shared_database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def healthz_count(server: PanelServer) -> float:
    text = requests.get(f"{server.url}/metrics", timeout=10).text
    return sum(sample.value for family in text_string_to_metric_families(text)
               if family.name == "kodexa_admin_request_seconds" for sample in family.samples
               if sample.name.endswith("_count") and sample.labels["view"] == "healthz")


def hit(server: PanelServer, times: int) -> set[int]:
    """Each on a new connection, so gunicorn spreads them over its workers; returns the pids that answered."""
    for _ in range(times):
        assert requests.get(f"{server.url}/healthz", timeout=10, headers={"Connection": "close"}).ok
    return set(server.worker_pids())


def test_counts_add_up_across_workers_and_survive_a_worker_being_killed(kodexa, tmp_path):
    server = PanelServer(database_url=shared_database_url(), cache_url="locmemcache://metrics",
                         kodexa_url=kodexa.url, api_key=kodexa.api_key,
                         # Behind TLS, as in production: probes and scrapes still reach the instance over plain HTTP.
                         env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), "DJANGO_SECURE": "true"})
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "counter_99999.db").write_bytes(b"left over from a previous run")
    with server.start(workers=2, threads=2):
        assert not (tmp_path / "metrics" / "counter_99999.db").exists(), "the directory is emptied at start"
        assert requests.get(f"{server.url}/readyz", timeout=10, allow_redirects=False).status_code == 200
        login = requests.get(f"{server.url}/accounts/login/", timeout=10, allow_redirects=False)
        assert login.status_code == 301 and login.headers["Location"].startswith("https://")  # everything else
        start = healthz_count(server)  # start() asked /healthz until it answered
        hit(server, 40)
        assert healthz_count(server) == start + 40
        # A worker that has counted requests (each writes its own file), killed without a chance to clean up.
        victim = next(pid for pid in server.worker_pids() if (tmp_path / "metrics" / f"histogram_{pid}.db").exists())
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while victim in server.worker_pids() or len(server.worker_pids()) < 2:
            assert time.monotonic() < deadline, "gunicorn did not replace the killed worker"
            time.sleep(0.1)
        hit(server, 10)
        assert healthz_count(server) == start + 50  # what the killed worker counted is still there
