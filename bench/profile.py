"""Where a page's time goes: cProfile around Django's test client, the stand-in in its own process.

    python -m bench.profile detail|list|dashboard [--repeat 50] [--latency-ms 0] [--sort cumulative] [--top 40]

Uses production-like settings (DEBUG off) on a throwaway SQLite database and local-memory cache. With
--latency-ms 0 (the default) the profile shows the panel's own CPU cost, not time spent waiting upstream.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import tempfile
import time
import urllib.request

from bench.common import SimProcess, Stats, setup_django


def _first_ids(sim: SimProcess, n: int) -> list[str]:
    request = urllib.request.Request(f"{sim.url}/api/executions?pageSize={n}&query=*",
                                     headers={"x-api-key": sim.api_key})
    with urllib.request.urlopen(request, timeout=10) as response:
        return [e["id"] for e in json.load(response)["content"]]


def _dashboard_path(user) -> str:  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import Group

    from executions.dashboards.models import Dashboard, Widget

    team, _ = Group.objects.get_or_create(name="Profile")
    user.groups.add(team)
    board = Dashboard.objects.create(name="Profile", team=team, refresh_seconds=30)
    for i, (kind, view) in enumerate([("count", {"status": ["RUNNING"]}), ("table", {"status": ["FAILED"]}),
                                      ("status_breakdown", {})]):
        Widget.objects.create(dashboard=board, position=i, title=kind, kind=kind, limit=10, view=view)
    return f"/dashboards/{board.pk}/"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("page", choices=["detail", "list", "dashboard"])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--callers", help="also print the callers of functions matching this regex")
    args = parser.parse_args()
    sim = SimProcess(latency_ms=args.latency_ms)
    try:
        setup_django(database_url=f"sqlite:///{tempfile.mkdtemp(prefix='kodexa-profile-')}/p.sqlite3",
                     kodexa_url=sim.url, api_key=sim.api_key)
        from django.conf import settings
        from django.contrib.auth.models import User
        from django.core.cache import cache
        from django.test import Client


        settings.DEBUG = False
        user = User.objects.create_superuser("profile", password="x")
        client = Client()
        client.force_login(user)
        ids = _first_ids(sim, 50)
        paths = {"detail": [f"/executions/{i}/" for i in ids], "list": ["/executions/?page_size=50"],
                 "dashboard": [_dashboard_path(user)]}[args.page]
        for path in paths:  # warm: names cached, templates compiled, connections open
            assert client.get(path).status_code == 200
        profiler = cProfile.Profile()
        times = []
        for i in range(args.repeat):
            if args.page == "dashboard":
                cache.clear()  # the dashboard benchmark measures cold renders
            started = time.perf_counter()
            profiler.enable()
            client.get(paths[i % len(paths)])
            profiler.disable()
            times.append((time.perf_counter() - started) * 1000)
        stats = Stats.of(times)
        print(f"{args.page}: median {stats.median:.1f} ms, p95 {stats.p95:.1f} ms over {args.repeat} requests "
              f"(upstream latency {args.latency_ms} ms)")
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
        if args.callers:
            pstats.Stats(profiler).sort_stats("cumulative").print_callers(args.callers)
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
