"""Audit and cancellation benchmarks, on SQLite and on PostgreSQL when it is reachable.

    .venv/bin/python -m bench.audit [--events 1000000] [--cancels 200] [--database sqlite,postgres]

Measures, in one run per database:
- cancel overhead: the panel's cancel (POST, re-read, two audit events, the PUT) minus a direct PUT, medians;
- reprocess overhead: the same for a reprocess (its POST to Kodexa against a direct one);
- /audit/ filtered by one execution, with N events in the table (median);
- peak resident memory of a process streaming the JSON export of all N events;
- audit_verify over all N events (seconds).
Each database runs in its own process, because Django is set up once per process.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import ROOT, SimProcess, Stats, postgres_url, setup_django, table

EXECUTIONS_PER_EVENT_BATCH = 20


def _database_url(kind: str) -> str | None:
    if kind == "postgres":
        return postgres_url("kodexa_admin_bench_audit")
    return f"sqlite:///{tempfile.mkdtemp(prefix='kodexa-bench-')}/audit.sqlite3"


def _fill(events: int) -> list[str]:
    """Append `events` chained events quickly (bulk inserts of correctly chained rows); returns execution ids."""
    from django.utils import timezone

    from executions.audit.chain import GENESIS_HASH, canonical_payload, chain_hash
    from executions.audit.models import AuditAction, AuditEvent

    execution_ids = [str(uuid.UUID(int=random.getrandbits(128), version=4)) for _ in
                     range(max(1, events // EXECUTIONS_PER_EVENT_BATCH))]
    prev = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS_HASH
    start = timezone.now()
    batch: list[AuditEvent] = []
    for i in range(events):
        fields = {
            "occurred_at": start,
            "action": AuditAction.CANCEL_REQUESTED if i % 2 == 0 else AuditAction.CANCEL_SUCCEEDED,
            "actor_id": None, "actor_username": f"operator{i % 7}",
            "execution_id": execution_ids[i % len(execution_ids)],
            "reason_category": "stuck", "reason": "bench load", "batch_id": None, "request_id": f"r{i}",
            "client_ip": "10.0.0.1", "user_agent": "bench", "status_before": "RUNNING", "upstream_status": 200,
            "status_after": "CANCELLING", "error": "", "upstream_latency_ms": 12.5, "request_event_id": None,
            "idempotency_key": None, "details": {},
        }
        digest = chain_hash(prev, canonical_payload(fields))
        batch.append(AuditEvent(**fields, prev_hash=prev, hash=digest))
        prev = digest
        if len(batch) == 10_000:
            AuditEvent.objects.bulk_create(batch)
            batch = []
    if batch:
        AuditEvent.objects.bulk_create(batch)
    return execution_ids


def _cancel_overhead(sim: SimProcess, cancels: int) -> dict[str, float]:
    import requests
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client

    from executions.cancel.services import cancel_token_new
    from kodexa_sim.control import SimControl

    call_command("setup_roles", verbosity=0)
    control = SimControl(sim.url, sim.api_key)
    operator = User.objects.create_superuser("bench-operator", password="x")
    client = Client()
    client.force_login(operator)
    ids = [control.add_execution(status="RUNNING", _sim={"lifecycle": False})["id"] for _ in range(2 * cancels)]
    session = requests.Session()
    session.headers["x-api-key"] = sim.api_key
    direct, panel = [], []
    for i in range(cancels):
        t0 = time.perf_counter()
        session.put(f"{sim.url}/api/executions/{ids[2 * i]}/cancel", timeout=10).raise_for_status()
        direct.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        response = client.post(f"/executions/{ids[2 * i + 1]}/cancel/",
                               {"reason_category": "stuck", "reason": "bench cancel", "token": cancel_token_new()})
        panel.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 302, response.status_code
    d, p = Stats.of(direct), Stats.of(panel)
    return {"direct_put_median_ms": round(d.median, 2), "panel_cancel_median_ms": round(p.median, 2),
            "panel_cancel_p95_ms": round(p.p95, 2), "overhead_median_ms": round(p.median - d.median, 2)}


def _reprocess_overhead(sim: SimProcess, reprocesses: int) -> dict[str, float]:
    """The panel's reprocess (POST, re-read, repeat check, two audit events, the POST to Kodexa) minus a direct POST.
    Each round uses another document, so no round is held back as a repeat of an earlier one."""
    import requests
    from django.contrib.auth.models import User
    from django.test import Client

    from executions.cancel.services import cancel_token_new
    from kodexa_sim.control import SimControl

    control = SimControl(sim.url, sim.api_key)
    operator = User.objects.get(username="bench-operator")
    client = Client()
    client.force_login(operator)
    session = requests.Session()
    session.headers["x-api-key"] = sim.api_key
    families = session.get(f"{sim.url}/api/document-families", params={"pageSize": 1000}, timeout=10).json()["content"]
    assistant = next(a for a in session.get(f"{sim.url}/api/assistants", params={"pageSize": 200}, timeout=10)
                     .json()["content"] if a["active"])["id"]
    rounds = min(reprocesses, len(families) // 2)
    ids = [control.add_execution(status="FAILED", documentFamilyId=families[i]["id"], assistantId=assistant,
                                 _sim={"lifecycle": False})["id"] for i in range(1, 2 * rounds, 2)]
    direct, panel = [], []
    for i in range(rounds):
        t0 = time.perf_counter()
        session.post(f"{sim.url}/api/document-families/{families[2 * i]['id']}/reprocess",
                     json={"assistantIds": [assistant]}, timeout=10).raise_for_status()
        direct.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        response = client.post(f"/executions/{ids[i]}/reprocess/", {
            "reason_category": "problem_fixed", "reason": "bench reprocess", "assistants": [assistant],
            "token": cancel_token_new()})
        panel.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 302, response.status_code
    d, p = Stats.of(direct), Stats.of(panel)
    return {"reprocesses": rounds, "direct_post_median_ms": round(d.median, 2),
            "panel_reprocess_median_ms": round(p.median, 2), "panel_reprocess_p95_ms": round(p.p95, 2),
            "reprocess_overhead_median_ms": round(p.median - d.median, 2)}


def _audit_page(execution_ids: list[str], samples: int = 60) -> dict[str, float]:
    from django.contrib.auth.models import User
    from django.test import Client

    auditor = User.objects.create_superuser("bench-auditor", password="x")
    client = Client()
    client.force_login(auditor)
    times = []
    for execution_id in random.sample(execution_ids, min(samples, len(execution_ids))):
        t0 = time.perf_counter()
        response = client.get("/audit/", {"execution_id": execution_id})
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200 and b"data-event-id" in response.content
    stats = Stats.of(times)
    return {"audit_filtered_median_ms": round(stats.median, 2), "audit_filtered_p95_ms": round(stats.p95, 2)}


def _export_peak_rss(database_url: str) -> dict[str, float]:
    """Stream the full JSON export in a fresh process and report that process's peak resident memory."""
    code = (
        "import resource, sys; from bench.common import setup_django; "
        f"setup_django(database_url={database_url!r}); "
        "from django.contrib.auth.models import User; from django.test import Client; "
        "c = Client(); c.force_login(User.objects.get(username='bench-auditor')); "
        "r = c.get('/audit/export.json'); n = 0\n"
        "for chunk in r.streaming_content: n += len(chunk)\n"
        "print(n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    size, rss_kb = out.stdout.split()[-2:]
    return {"export_bytes": int(size), "export_peak_rss_mb": round(int(rss_kb) / 1024, 1),
            "export_seconds": round(time.perf_counter() - t0, 1)}


def _verify() -> dict[str, float]:
    from executions.audit.chain import audit_chain_verify

    t0 = time.perf_counter()
    report = audit_chain_verify(workers=os.cpu_count() or 1)  # as `manage.py audit_verify` does
    assert report.ok, report
    return {"verify_seconds": round(time.perf_counter() - t0, 1), "verified_events": report.checked}


def worker(kind: str, events: int, cancels: int) -> dict[str, object]:
    database_url = _database_url(kind)
    if database_url is None:
        return {"database": kind, "skipped": "no PostgreSQL on 127.0.0.1:5432"}
    sim = SimProcess()
    try:
        setup_django(database_url=database_url, kodexa_url=sim.url, api_key=sim.api_key)
        result: dict[str, object] = {"database": kind, "events": events}
        result.update(_cancel_overhead(sim, cancels))
        result.update(_reprocess_overhead(sim, cancels))
        t0 = time.perf_counter()
        execution_ids = _fill(events)
        result["fill_seconds"] = round(time.perf_counter() - t0, 1)
        result.update(_audit_page(execution_ids))
        result.update(_export_peak_rss(database_url))
        result.update(_verify())
        result["worker_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        return result
    finally:
        sim.stop()


def run(*, events: int, cancels: int, databases: list[str]) -> list[dict[str, object]]:
    results = []
    for kind in databases:
        out = subprocess.run([sys.executable, "-m", "bench.audit", "--worker", kind, "--events", str(events),
                              "--cancels", str(cancels)], cwd=ROOT, capture_output=True, text=True)
        if out.returncode != 0:
            results.append({"database": kind, "error": out.stderr.strip().splitlines()[-1:]})
        else:
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return results


def report(results: list[dict[str, object]]) -> str:
    rows = []
    for r in results:
        if "overhead_median_ms" not in r:
            rows.append([r["database"], r.get("skipped") or r.get("error"), "", "", "", "", ""])
            continue
        rows.append([
            r["database"],
            f"{r['overhead_median_ms']} ms (panel {r['panel_cancel_median_ms']} / direct {r['direct_put_median_ms']})",
            f"{r['reprocess_overhead_median_ms']} ms (panel {r['panel_reprocess_median_ms']} / direct "
            f"{r['direct_post_median_ms']}, {r['reprocesses']} rounds)",
            f"{r['audit_filtered_median_ms']} ms ({r['events']:,} events)",
            f"{r['export_peak_rss_mb']} MB ({r['export_bytes'] / 1e6:.0f} MB streamed)",
            f"{r['verify_seconds']} s",
            f"{r['fill_seconds']} s",
        ])
    return table(["database", "cancel overhead, median (target <= 25 ms)",
                  "reprocess overhead, median (target <= 25 ms)", "/audit/ by execution, median (< 50 ms)",
                  "export peak RSS (< 200 MB)", "audit_verify (< 60 s)", "fill time"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--cancels", type=int, default=200)
    parser.add_argument("--database", default="sqlite,postgres")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.events, args.cancels)))
        return
    results = run(events=args.events, cancels=args.cancels, databases=args.database.split(","))
    print(report(results))
    out = Path(ROOT / "bench" / "results")
    out.mkdir(exist_ok=True)
    (out / "audit.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
