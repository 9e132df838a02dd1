"""Dashboard benchmark: cold-cache render time vs one upstream round trip, and upstream calls under 20 viewers.

Run: .venv/bin/python -m bench.dashboards [--windows N] [--json]. `python -m bench` runs it too.
The stand-in runs in its own process with 100 ms latency; the panel runs in this process (Django's test
client), with Redis db 13 at 127.0.0.1:6379 when reachable, else local memory (one process, which is what a
single gunicorn worker sees).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time

from bench.common import SimProcess, Stats, reachable, setup_django, table

LATENCY_MS = 100
REPEATS = 7
VIEWERS = 20
REFRESH_SECONDS = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", type=int, default=3, help="refresh windows the 20 viewers watch")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")
    args = parser.parse_args()
    server = SimProcess(latency_ms=LATENCY_MS)
    cache_url = os.environ.get("BENCH_CACHE_URL") or (
        "redis://127.0.0.1:6379/13" if reachable("127.0.0.1", 6379) else "locmemcache://bench")
    db_dir = tempfile.mkdtemp(prefix="kodexa-bench-")
    setup_django(database_url=f"sqlite:///{db_dir}/bench.sqlite3", kodexa_url=server.url, api_key=server.api_key,
                 cache_url=cache_url)
    from django.core.cache import cache

    try:
        result = run(server, cache, cache_url, windows=args.windows)
    finally:
        cache.clear()
        server.stop()
    print(json.dumps(result) if args.json else report(result))


def _dashboard():  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import Group, User

    from executions.dashboards.models import Dashboard, Widget

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


def _direct_parallel(server: SimProcess, *, reads: int) -> Stats:
    """The same number of upstream reads sent straight to the stand-in at once from a warm 16-thread pool: the
    best any client of this stand-in can do (the stand-in serializes its own work under one GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    local = threading.local()

    def get(path: str) -> None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers["x-api-key"] = server.api_key
        local.session.get(f"{server.url}{path}", timeout=10).raise_for_status()

    # Two tables (10 and 5 rows), the assistants list, and one-row counts, as the dashboard reads them.
    paths = ["/api/executions?pageSize=10&query=*", "/api/executions?pageSize=5&query=*",
             "/api/assistants?pageSize=1000"]
    paths += [f"/api/executions?pageSize=1&query=*&page={i}" for i in range(1, reads - len(paths) + 1)]
    samples = []
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(get, paths))  # open the connections
        for _ in range(REPEATS):
            started = time.perf_counter()
            list(pool.map(get, paths))
            samples.append((time.perf_counter() - started) * 1000)
    return Stats.of(samples)


def run(server: SimProcess, cache, cache_url: str, *, windows: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    import requests
    from django.test import Client

    from executions.dashboards import selectors
    from executions.upstream.cache import forget_local_copies
    from executions.upstream.tenant import tenant_forms

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
        direct.append((time.perf_counter() - started) * 1000)

    parallel = _direct_parallel(server, reads=selectors.dashboard_data(
        dashboard=selectors.dashboard_get_visible(user=user, dashboard_id=board.pk)).upstream_reads)

    client.get(url)  # warm Python imports, templates and connection pools, not the cache
    renders = []
    for _ in range(REPEATS):
        cache.clear()
        forget_local_copies()  # cold means this process's copies too...
        tenant_forms()  # ...but not the tenant's forms: asked once per deployment and day, not per render
        started = time.perf_counter()
        response = client.get(url)
        renders.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and b"Stale since" not in response.content
    loaded = selectors.dashboard_get_visible(user=user, dashboard_id=board.pk)
    distinct = selectors.dashboard_data(dashboard=loaded).upstream_reads

    # VIEWERS threads each re-render the dashboard every half second for `windows` refresh windows.
    cache.clear()
    forget_local_copies()
    # What the tenant reads is found out once per deployment and day, not per window: known before counting.
    tenant_forms()
    server.control().clear_calls()
    stop = time.monotonic() + windows * REFRESH_SECONDS
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
    direct_stats, render_stats = Stats.of(direct), Stats.of(renders)
    return {
        "latency_ms": LATENCY_MS, "cache": cache_url.split(":")[0], "distinct_reads": distinct,
        "direct_median_ms": round(direct_stats.median, 1), "render_median_ms": round(render_stats.median, 1),
        "render_p95_ms": round(render_stats.p95, 1), "direct_parallel_median_ms": round(parallel.median, 1),
        "render_ratio": round(render_stats.median / direct_stats.median, 2),
        "viewers": VIEWERS, "windows": windows, "refresh_seconds": REFRESH_SECONDS, "renders": renders_done[0],
        "calls_per_window": round(server.calls() / windows, 1),
    }


def report(r: dict[str, object]) -> str:
    return f"Dashboard benchmark: stand-in latency {r['latency_ms']} ms, cache {r['cache']}, 8 widgets, " \
        f"{r['distinct_reads']} distinct upstream reads\n\n" + table(["measure", "value", "target"], [
            [f"one direct upstream round trip (median of {REPEATS})", f"{r['direct_median_ms']} ms", ""],
            [f"cold-cache dashboard render (median of {REPEATS})", f"{r['render_median_ms']} ms", ""],
            ["ratio render / round trip", r["render_ratio"], "<= 1.5"],
            [f"the same {r['distinct_reads']} reads sent directly in parallel", f"{r['direct_parallel_median_ms']} ms",
             ""],
            [f"viewers x windows ({r['refresh_seconds']} s each)", f"{r['viewers']} x {r['windows']} "
             f"({r['renders']} renders)", ""],
            ["upstream calls per refresh window", r["calls_per_window"], f"<= {r['distinct_reads']} distinct reads"],
        ])


if __name__ == "__main__":
    main()
