"""`make bench`: the panel under gunicorn against the stand-in, every scenario, one report.

    python -m bench [--short] [--only detail,list,concurrency,memory,dashboards,audit]
                    [--audit-events N] [--full-audit]

Writes bench/results/latest.md and latest.json. --short finishes in under two minutes (shorter runs, no
worker sweep, fewer requests for the memory check, 10,000 audit events); the full mode sweeps gthread
threads per worker and runs the audit benchmark over 100,000 events (1,000,000 with --full-audit, or
--audit-events N). `--only audit` alone defaults to 1,000,000 events.
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from bench import audit, report, scenarios
from bench.common import ROOT, SimProcess, postgres_url, reachable
from bench.load import login
from tests.servers import PanelServer

USERNAME, PASSWORD = "bench", "bench-password-0123"
REDIS_DB = 12
SCENARIOS = ("detail", "list", "concurrency", "memory", "dashboards", "audit")
PANEL_SCENARIOS = {"detail", "list", "concurrency", "memory"}
SWEEP = ((2, 8), (2, 16), (2, 32))  # gthread workers x threads tried in full mode


def gunicorn_defaults() -> tuple[int, int]:
    """workers x threads as gunicorn.conf.py sets them when the environment says nothing."""
    # The whole environment is put back: the file also sets variables for gunicorn's own process (the metrics
    # directory), which would otherwise leak into every process the benchmark starts later.
    saved = dict(os.environ)
    for name in ("GUNICORN_WORKERS", "GUNICORN_THREADS"):
        os.environ.pop(name, None)
    try:
        conf = runpy.run_path(str(ROOT / "kodexa_admin" / "gunicorn.conf.py"))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return int(conf["workers"]), int(conf["threads"])


def backends() -> tuple[str, str]:
    """(DATABASE_URL, CACHE_URL) for the panel scenarios, fresh every run: PostgreSQL and Redis when they answer
    on 127.0.0.1 (database kodexa_admin_bench, Redis db 12), otherwise SQLite under a temporary directory and
    local memory (each worker then has its own cache)."""
    database = postgres_url("kodexa_admin_bench") or \
        f"sqlite:///{tempfile.mkdtemp(prefix='kodexa-bench-')}/bench.sqlite3"
    if reachable("127.0.0.1", 6379):
        import redis

        url = f"redis://127.0.0.1:6379/{REDIS_DB}"
        redis.Redis.from_url(url).flushdb()
        return database, url
    return database, "locmemcache://bench"


def provision(panel: PanelServer, *, dashboard: dict) -> int:
    """Migrate, collect static files, create the bench user (an operator and auditor in the dashboard's team)
    and import the dashboard; returns its id."""
    panel.manage("migrate", "--no-input", "-v", "0")
    panel.manage("collectstatic", "--no-input", "-v", "0")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(dashboard, f)
    panel.manage("dashboard_import", f.name, "--create-team")
    Path(f.name).unlink()
    script = (
        "from django.contrib.auth.models import Group, User\n"
        "from executions.models import Dashboard\n"
        f"u, _ = User.objects.get_or_create(username={USERNAME!r})\n"
        f"u.set_password({PASSWORD!r}); u.save()\n"
        f"u.groups.add(*Group.objects.filter(name__in=['Operators', 'Auditors', {dashboard['team']!r}]))\n"
        f"print(Dashboard.objects.filter(name={dashboard['name']!r}).latest('pk').pk)\n"
    )
    return int(panel.manage("shell", "-c", script).split()[-1])


def _get_json(url: str, api_key: str) -> dict:
    request = urllib.request.Request(url, headers={"x-api-key": api_key})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def _dashboard_spec(sim: SimProcess) -> dict:
    """The example dashboard of docs/dashboards.md, with a real assistant id of the stand-in."""
    assistant = _get_json(f"{sim.url}/api/assistants?pageSize=1", sim.api_key)["content"][0]["id"]
    return {"name": "Invoices on fire", "team": "Support EU", "refresh_seconds": 30, "widgets": [
        {"title": "Running now", "kind": "count", "view": {"status": ["RUNNING"]}},
        {"title": "Failed today", "kind": "table", "limit": 10,
         "view": {"status": ["FAILED"], "created_within_hours": 24, "sort": "createdOn,desc"}},
        {"title": "All by status", "kind": "status_breakdown", "view": {"assistant": assistant}}]}


def run_panel_scenarios(wanted: set[str], short: bool) -> tuple[list[dict], list[dict], dict]:
    sim = SimProcess(latency_ms=0)
    database_url, cache_url = backends()
    panel = PanelServer(database_url=database_url, cache_url=cache_url, kodexa_url=sim.url, api_key=sim.api_key,
                        log_path=ROOT / "var" / "bench-gunicorn.log")
    rows: list[dict] = []
    sweep: list[dict] = []
    counts: list[dict] = []  # /metrics vs the stand-in, once per panel start (a start resets the counters)
    current: list[scenarios.Bench] = []
    try:
        dashboard_id = provision(panel, dashboard=_dashboard_spec(sim))
        page = _get_json(f"{sim.url}/api/executions?pageSize=50&query=*", sim.api_key)
        ids = [e["id"] for e in page["content"]]
        default = gunicorn_defaults()

        def compare_counts() -> None:
            if current:
                bench_ = current.pop()
                counts.append(scenarios.upstream_counts(bench_, f"{len(counts) + 1}: {bench_.label}"))

        def started(workers: int, threads: int) -> scenarios.Bench:
            compare_counts()
            panel.stop()
            panel.start(workers=workers, threads=threads)
            calls_at_start = sim.calls()
            bench_ = scenarios.Bench(sim=sim, panel=panel, cookie=login(panel.url, USERNAME, PASSWORD),
                                     execution_ids=ids, dashboard_id=dashboard_id, short=short,
                                     sim_calls_at_start=calls_at_start, label=f"{workers} x {threads}")
            current.append(bench_)
            return bench_

        if "concurrency" in wanted and not short:
            for workers, threads in SWEEP:
                result = scenarios.concurrency(started(workers, threads))
                sweep.append({"workers": workers, "threads": threads, **result})
        bench = started(*default)
        if "detail" in wanted:
            rows.append(scenarios.detail(bench))
        if "list" in wanted:
            rows.append(scenarios.listing(bench))
        if "concurrency" in wanted:
            match = [s for s in sweep if (s["workers"], s["threads"]) == default]
            rows.append(match[0] if match else scenarios.concurrency(bench))
        if "memory" in wanted:
            first, total = (300, 2_000) if short else (1_000, 10_000)
            bench = started(*default)  # fresh workers, so the first requests are the first they serve
            rows.append(scenarios.memory(bench, first=first, total=total))
        compare_counts()
        setup = {"database": database_url.split(":")[0], "cache": cache_url.split(":")[0],
                 "gunicorn": f"gthread {default[0]} workers x {default[1]} threads"}
    finally:
        panel.stop()
        sim.stop()
    return rows, sweep, {**setup, "upstream_counts": counts}


def run_dashboards(short: bool) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.dashboards", "--json", "--windows", "1" if short else "3"],
                         cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="finish in under two minutes")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated: " + ", ".join(SCENARIOS))
    parser.add_argument("--audit-events", type=int, help="events in the audit table (see above for defaults)")
    parser.add_argument("--full-audit", action="store_true", help="audit benchmark over 1,000,000 events")
    args = parser.parse_args()
    wanted = {s.strip() for s in args.only.split(",") if s.strip()}
    if unknown := wanted - set(SCENARIOS):
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    events = args.audit_events or (1_000_000 if args.full_audit or wanted == {"audit"} else
                                   10_000 if args.short else 100_000)

    started = time.monotonic()
    results: dict = {"started": datetime.now(UTC).isoformat(timespec="seconds"),
                     "mode": "short" if args.short else "full", "scenarios": [], "sweep": [], "setup": {}}
    if wanted & PANEL_SCENARIOS:
        results["scenarios"], results["sweep"], results["setup"] = run_panel_scenarios(wanted, args.short)
    if "dashboards" in wanted:
        print("dashboards ...", file=sys.stderr)
        results["dashboards"] = run_dashboards(args.short)
    if "audit" in wanted:
        print(f"audit ({events:,} events) ...", file=sys.stderr)
        results["audit"] = audit.run(events=events, cancels=50 if args.short else 200,
                                     databases=["sqlite", "postgres"])
    results["seconds"] = round(time.monotonic() - started, 1)

    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2))
    text = report.markdown(results)
    (out / "latest.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
