"""Dashboard benchmark: cold-cache render time vs one upstream round trip, and upstream calls under 20 viewers.

Run: .venv/bin/python -m bench.dashboards   (or python bench/dashboards.py). Not part of the test suite.
Starts an in-process stand-in with 100 ms latency; uses Redis db 13 at 127.0.0.1:6379 when reachable, else
local memory (one process, which is what a single gunicorn worker sees).
"""

from __future__ import annotations

import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LATENCY_MS = 100
REPEATS = 7
VIEWERS = 20
WINDOWS = 3
REFRESH_SECONDS = 10


class SimProcess:
    """The stand-in in its own process, as Kodexa would be: in-process it would share the GIL with the panel
    and make every parallel read look slower than it is."""

    def __init__(self) -> None:
        import re
        import subprocess

        self.api_key = "bench-key"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kodexa_sim", "--port", "0", "--api-key", self.api_key, "--seed", "42",
             "--latency-ms", str(LATENCY_MS)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline() if self.process.stdout else ""
        match = re.search(r"listening on (http://\S+)", line)
        if not match:
            self.process.kill()
            raise SystemExit(f"the stand-in did not start: {line!r}")
        self.url = match.group(1)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.3):
            return True
    except OSError:
        return False


def main() -> None:
    server = SimProcess()
    cache_url = os.environ.get("BENCH_CACHE_URL") or (
        "redis://127.0.0.1:6379/13" if _redis_reachable() else "locmemcache://bench")
    db_dir = tempfile.mkdtemp(prefix="kodexa-bench-")
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "kodexa_admin.settings_test", "KODEXA_URL": server.url,
        "KODEXA_API_KEY": server.api_key, "CACHE_URL": cache_url,
        "DATABASE_URL": f"sqlite:///{db_dir}/bench.sqlite3", "LOG_LEVEL": "WARNING",
        "DJANGO_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
    })
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    try:
        run(server, cache, cache_url)
    finally:
        cache.clear()
        server.stop()


def _dashboard():  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import Group, User

    from executions.models import Dashboard, Widget

    team, _ = Group.objects.get_or_create(name="Bench")
    user, _ = User.objects.get_or_create(username="bench")
    user.groups.add(team)
    Dashboard.objects.filter(name="Eight widgets").delete()
    board = Dashboard.objects.create(name="Eight widgets", team=team, refresh_seconds=REFRESH_SECONDS)
    widgets = [
        ("Running", "count", 10, {"status": ["RUNNING"]}),
        ("Pending", "count", 10, {"status": ["PENDING"]}),
        ("Failed today", "count", 10, {"status": ["FAILED"], "created_within_hours": 24}),
        ("Failures", "table", 10, {"status": ["FAILED"]}),
        ("Running now", "table", 10, {"status": ["RUNNING"], "sort": "startDate,desc"}),
        ("Latest", "table", 5, {}),
        ("Cancelled", "count", 10, {"status": ["CANCELLED"]}),
        ("By status", "status_breakdown", 10, {}),
    ]
    for i, (title, kind, limit, view) in enumerate(widgets):
        Widget.objects.create(dashboard=board, position=i, title=title, kind=kind, limit=limit, view=view)
    return board, user


def _sim_calls(server) -> int:  # type: ignore[no-untyped-def]
    from kodexa_sim.control import SimControl

    return SimControl(server.url, server.api_key).calls()["total"]


def _reset_calls(server) -> None:  # type: ignore[no-untyped-def]
    import urllib.request

    request = urllib.request.Request(f"{server.url}/_sim/calls", method="DELETE",
                                     headers={"x-api-key": server.api_key})
    urllib.request.urlopen(request, timeout=10).close()


def run(server, cache, cache_url: str) -> None:  # type: ignore[no-untyped-def]
    import requests
    from django.test import Client

    from executions.dashboards import selectors

    board, user = _dashboard()
    client = Client()
    client.force_login(user)
    url = f"/dashboards/{board.pk}/"

    session = requests.Session()
    session.headers["x-api-key"] = server.api_key
    session.get(f"{server.url}/api/executions", params={"pageSize": 1}, timeout=10)  # warm the connection
    direct = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        session.get(f"{server.url}/api/executions", params={"pageSize": 1}, timeout=10).raise_for_status()
        direct.append(time.perf_counter() - started)

    client.get(url)  # warm Python imports, templates and connection pools, not the cache
    renders = []
    for _ in range(REPEATS):
        cache.clear()
        started = time.perf_counter()
        response = client.get(url)
        renders.append(time.perf_counter() - started)
        assert response.status_code == 200 and b"Stale since" not in response.content
    loaded = selectors.dashboard_get_visible(user=user, dashboard_id=board.pk)
    distinct = selectors.dashboard_data(dashboard=loaded).upstream_reads

    # (b) VIEWERS threads each re-render the dashboard continuously for WINDOWS refresh windows.
    cache.clear()
    _reset_calls(server)
    stop = time.monotonic() + WINDOWS * REFRESH_SECONDS
    renders_done = [0]
    lock = threading.Lock()

    def viewer() -> None:
        while time.monotonic() < stop:
            selectors.dashboard_data(dashboard=loaded)
            with lock:
                renders_done[0] += 1
            time.sleep(0.5)

    threads = [threading.Thread(target=viewer) for _ in range(VIEWERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    calls = _sim_calls(server)
    per_window = calls / WINDOWS

    direct_ms, render_ms = statistics.median(direct) * 1000, statistics.median(renders) * 1000
    print(f"\nDashboard benchmark: stand-in latency {LATENCY_MS} ms, cache {cache_url.split(':')[0]}, "
          f"8 widgets, {distinct} distinct upstream reads\n")
    print("| measure | value | target |")
    print("|---|---|---|")
    print(f"| one direct upstream round trip (median of {REPEATS}) | {direct_ms:.0f} ms | |")
    print(f"| cold-cache dashboard render (median of {REPEATS}) | {render_ms:.0f} ms | |")
    print(f"| ratio render / round trip | {render_ms / direct_ms:.2f} | <= 1.5 |")
    print(f"| viewers x windows ({REFRESH_SECONDS} s each) | {VIEWERS} x {WINDOWS} ({renders_done[0]} renders) | |")
    print(f"| upstream calls per refresh window | {per_window:.1f} | <= {distinct} distinct reads |")


if __name__ == "__main__":
    main()
