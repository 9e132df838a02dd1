"""The panel-level scenarios of `python -m bench`: each drives the gunicorn panel from a separate load
process, and the same request straight at the stand-in with the same load shape, in the same run."""

from __future__ import annotations

import time
import urllib.request
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from bench.common import SimProcess, Stats, run_load
from tests.servers import PanelServer, rss_kb


@dataclass
class Bench:
    """What every scenario needs: the stand-in, the running panel, a logged-in session, and test data."""

    sim: SimProcess
    panel: PanelServer
    cookie: str
    execution_ids: list[str]
    dashboard_id: int
    short: bool
    sim_calls_at_start: int = 0  # the stand-in's count when this panel (and its /metrics) started
    direct_calls: int = 0  # requests the benchmark itself sent straight to the stand-in since then
    label: str = ""

    def duration(self, full: float) -> float:
        return full / 3 if self.short else full

    def panel_load(self, paths: list[str], *, threads: int, duration: float, max_requests: int = 10**9) -> dict:
        return run_load({"base": self.panel.url, "cookie": self.cookie, "paths": paths, "threads": threads,
                         "duration": duration, "max_requests": max_requests})

    def direct_load(self, paths: list[str], *, threads: int, duration: float) -> dict:
        before = self.sim.calls()
        result = run_load({"base": self.sim.url, "headers": {"x-api-key": self.sim.api_key}, "paths": paths,
                           "threads": threads, "duration": duration})
        self.direct_calls += self.sim.calls() - before
        return result

    def warm(self, paths: list[str]) -> None:
        """Every page once at 0 ms upstream: names cached, templates compiled, connections open."""
        self.sim.control().configure(latency_ms=0)
        self.panel_load(paths, threads=1, duration=60, max_requests=len(paths))

    def detail_paths(self) -> list[str]:
        return [f"/executions/{i}/" for i in self.execution_ids]


# The upstream request each panel page makes, as the panel's client sends it.
LIST_UPSTREAM = "/api/executions?page=1&pageSize=50&query=%2A&sort=createdOn%2Cdesc"
LIST_PAGE = "/executions/?page_size=50"


def _summary(result: dict) -> dict:
    stats = Stats.of(result["latencies_ms"] or [0.0])
    return {"requests": result["requests"], "errors": result["errors"], "median_ms": round(stats.median, 1),
            "p95_ms": round(stats.p95, 1), "p99_ms": round(stats.p99, 1),
            "throughput_rps": round(result["requests"] / result["elapsed"], 1), "statuses": result["statuses"]}


BLOCKS = 5  # direct and panel take turns in this many blocks each


def _versus_direct(bench: Bench, *, name: str, panel_paths: list[str], direct_paths: list[str], latency_ms: int,
                   max_ratio: float, threads: int = 1) -> dict:
    """Panel page vs the same upstream request made directly: median ratio and upstream calls per view.

    Direct and panel load take turns in BLOCKS blocks, so a slow patch of a shared machine (minutes long, and
    common on a VM) weighs on both sides alike instead of on whichever ran during it. Within a block each side
    runs back to back, as it would on its own."""
    bench.warm(panel_paths)
    bench.sim.control().configure(latency_ms=latency_ms)
    block = bench.duration(15) / BLOCKS
    direct_runs, panel_runs, calls = [], [], 0
    for _ in range(BLOCKS):
        direct_runs.append(bench.direct_load(direct_paths, threads=threads, duration=block))
        before = bench.sim.calls()
        panel_runs.append(bench.panel_load(panel_paths, threads=threads, duration=block))
        calls += bench.sim.calls() - before
    direct, panel = _summary(_merged(direct_runs)), _summary(_merged(panel_runs))
    per_view = calls / max(1, panel["requests"])
    ratio = panel["median_ms"] / direct["median_ms"]
    return {"scenario": name, "latency_ms": latency_ms, "users": threads, **panel,
            "upstream_calls_per_view": round(per_view, 2), "direct_median_ms": direct["median_ms"],
            "ratio": round(ratio, 3), "target": f"ratio <= {max_ratio}, 1 call/view",
            "met": ratio <= max_ratio and 0.95 <= per_view <= 1.05 and panel["errors"] == 0}


def _merged(runs: list[dict]) -> dict:
    statuses: dict[str, int] = {}
    for run in runs:
        for status, n in run["statuses"].items():
            statuses[status] = statuses.get(status, 0) + n
    return {"latencies_ms": [x for run in runs for x in run["latencies_ms"]], "statuses": statuses,
            **{key: sum(run[key] for run in runs) for key in ("errors", "elapsed", "requests")}}


def detail(bench: Bench) -> dict:
    return _versus_direct(bench, name="1. detail page", panel_paths=bench.detail_paths(),
                          direct_paths=[f"/api/executions/{i}" for i in bench.execution_ids], latency_ms=50,
                          max_ratio=1.2)


def listing(bench: Bench) -> dict:
    return _versus_direct(bench, name="2. list page, 50 rows", panel_paths=[LIST_PAGE], direct_paths=[LIST_UPSTREAM],
                          latency_ms=50, max_ratio=1.3)


def mixed_paths(bench: Bench) -> list[str]:
    """Three detail views to one list view: what support staff mostly do."""
    details = bench.detail_paths()
    paths = []
    for i, path in enumerate(details):
        paths.append(path)
        if i % 3 == 2:
            paths.append(LIST_PAGE)
    return paths


def concurrency(bench: Bench, *, users: int = 64) -> dict:
    """Throughput of `users` concurrent users at 100 ms upstream vs 0 ms: is the latency hidden?"""
    duration = bench.duration(15)
    paths = mixed_paths(bench)
    bench.warm(paths)
    fast = _summary(bench.panel_load(paths, threads=users, duration=duration))
    bench.sim.control().configure(latency_ms=100)
    slow = _summary(bench.panel_load(paths, threads=users, duration=duration))
    share = slow["throughput_rps"] / fast["throughput_rps"]
    return {"scenario": f"3. {users} users, 100 ms upstream", "latency_ms": 100, "users": users, **slow,
            "zero_latency_rps": fast["throughput_rps"], "zero_latency_median_ms": fast["median_ms"],
            "throughput_share": round(share, 2), "target": "throughput >= 80 % of 0 ms",
            "met": share >= 0.8 and slow["errors"] == 0 and fast["errors"] == 0}


def memory(bench: Bench, *, first: int, total: int) -> dict:
    """Each worker's RSS after `total` mixed requests vs after the first `first`: a leak shows as growth."""
    paths = [*mixed_paths(bench), f"/dashboards/{bench.dashboard_id}/", "/audit/", "/executions/?status=FAILED",
             f"/executions/?q={bench.execution_ids[0]}"]
    bench.warm(paths)
    bench.sim.control().configure(latency_ms=5)
    pids = bench.panel.worker_pids()
    started = time.monotonic()
    warm = _summary(bench.panel_load(paths, threads=8, duration=600, max_requests=first))
    after_first = {pid: rss_kb(pid) for pid in pids}
    rest = _summary(bench.panel_load(paths, threads=8, duration=900, max_requests=total - first))
    after_all = {pid: rss_kb(pid) for pid in pids}
    growth = max(after_all[p] / after_first[p] - 1 for p in pids)
    return {"scenario": f"5. worker memory, {total:,} mixed requests", "latency_ms": 5, "users": 8, **rest,
            "requests": warm["requests"] + rest["requests"], "errors": warm["errors"] + rest["errors"],
            "seconds": round(time.monotonic() - started, 1),
            "rss_mb_after_first": {p: round(v / 1024, 1) for p, v in after_first.items()},
            "rss_mb_after_all": {p: round(v / 1024, 1) for p, v in after_all.items()},
            "max_growth": round(growth, 3), "target": f"RSS after {total:,} within 10 % of after {first:,}",
            "met": growth <= 0.10 and rest["errors"] == 0}


def upstream_counts(bench: Bench, label: str) -> dict:
    """The panel's own count of the requests it sent Kodexa (/metrics: calls plus GET retries, every worker)
    against the stand-in's count of the requests it answered from the panel since the panel started."""
    with urllib.request.urlopen(f"{bench.panel.url}/metrics", timeout=10) as response:
        text = response.read().decode()
    counted = sum(sample.value for family in text_string_to_metric_families(text)
                  if family.name in ("kodexa_admin_kodexa_calls", "kodexa_admin_kodexa_retries")
                  for sample in family.samples if sample.name.endswith("_total"))
    seen = bench.sim.calls() - bench.sim_calls_at_start - bench.direct_calls
    difference = abs(counted - seen) / max(1, seen)
    return {"panel": label, "metrics_calls": int(counted), "sim_calls": seen, "difference": round(difference, 4),
            "met": difference <= 0.01}
