"""latest.md from the results of `python -m bench`: one table per kind of scenario, each row saying whether
its target is met."""

from __future__ import annotations

from bench import audit
from bench.common import table


def _met(ok: bool) -> str:
    return "**met**" if ok else "**MISSED**"


def _panel_rows(rows: list[dict]) -> str:
    body = []
    for r in rows:
        direct = f"{r['direct_median_ms']} ms" if "direct_median_ms" in r else \
            f"0 ms upstream: {r['zero_latency_rps']} req/s" if "zero_latency_rps" in r else ""
        # Three decimals, so a verdict at the boundary reads right (1.203 misses 1.2; "1.2" would not say so).
        measured = f"ratio {r['median_ms'] / r['direct_median_ms']:.3f}" if "ratio" in r else \
            f"{round(100 * r['throughput_share'])} % of 0 ms" if "throughput_share" in r else \
            f"growth {round(100 * r['max_growth'], 1)} %"
        body.append([r["scenario"], f"{r['latency_ms']} ms", r["users"], f"{r['median_ms']} ms", f"{r['p95_ms']} ms",
                     f"{r['p99_ms']} ms", r["throughput_rps"], r.get("upstream_calls_per_view", ""), direct,
                     f"{r['requests']} ({r['errors']} errors)", measured, r["target"], _met(r["met"])])
    return table(["scenario", "upstream latency", "users", "median", "p95", "p99", "req/s", "upstream calls/view",
                  "direct (same load shape)", "requests", "measured", "target", "met?"], body)


def _sweep(rows: list[dict]) -> str:
    return table(["gthread workers x threads", "req/s at 0 ms", "req/s at 100 ms", "share", "median at 100 ms",
                  "p99 at 100 ms"],
                 [[f"{r['workers']} x {r['threads']}", r["zero_latency_rps"], r["throughput_rps"],
                   f"{round(100 * r['throughput_share'])} %", f"{r['median_ms']} ms", f"{r['p99_ms']} ms"]
                  for r in rows])


def _dashboards(d: dict) -> str:
    if "error" in d:
        return f"dashboard benchmark failed: {d['error']}"
    return f"Stand-in latency {d['latency_ms']} ms, cache {d['cache']}, 8 widgets, {d['distinct_reads']} distinct " \
        "upstream reads; panel in-process (test client).\n\n" + table(["measure", "value", "target", "met?"], [
            ["cold-cache render / one direct round trip",
             f"{d['render_ratio']} ({d['render_median_ms']} / {d['direct_median_ms']} ms)", "<= 1.5",
             _met(d["render_ratio"] <= 1.5)],
            [f"the same {d['distinct_reads']} reads sent straight to the stand-in in parallel (floor)",
             f"{d['direct_parallel_median_ms']} ms ({d['direct_parallel_median_ms'] / d['direct_median_ms']:.2f} x)",
             "", ""],
            [f"upstream calls per {d['refresh_seconds']} s window, {d['viewers']} viewers x {d['windows']} windows",
             d["calls_per_window"], f"<= {d['distinct_reads']}", _met(d["calls_per_window"] <= d["distinct_reads"])],
        ])


def _audit_met(results: list[dict]) -> list[str]:
    lines = []
    for r in results:
        if "overhead_median_ms" not in r:
            continue
        checks = [("cancel overhead <= 25 ms", r["overhead_median_ms"] <= 25),
                  ("reprocess overhead <= 25 ms", r["reprocess_overhead_median_ms"] <= 25),
                  ("/audit/ by execution < 50 ms", r["audit_filtered_median_ms"] < 50),
                  ("export peak RSS < 200 MB", r["export_peak_rss_mb"] < 200),
                  ("audit_verify < 60 s", r["verify_seconds"] < 60)]
        lines.append(f"- {r['database']} ({r['events']:,} events): " +
                     "; ".join(f"{name} {_met(ok)}" for name, ok in checks))
    return lines


def _upstream_counts(rows: list[dict]) -> str:
    return table(["panel start (workers x threads)", "/metrics: Kodexa calls + retries", "stand-in: /_sim/calls",
                  "difference", "target", "met?"],
                 [[r["panel"], r["metrics_calls"], r["sim_calls"], f"{100 * r['difference']:.2f} %", "<= 1 %",
                   _met(r["met"])] for r in rows])


def markdown(results: dict) -> str:
    setup = results.get("setup") or {}
    parts = [f"# Benchmark results ({results['mode']} mode, {results['started']}, {results['seconds']} s)", ""]
    if setup:
        parts += [f"Panel: gunicorn {setup['gunicorn']}, production settings, database {setup['database']}, "
                  f"cache {setup['cache']}. Load from a separate process on loopback; \"direct\" is the same "
                  "upstream request sent straight to the stand-in with the same load shape, in the same run (the two "
                  "take turns in five blocks, so a slow patch of the machine weighs on both alike).", ""]
    if results["scenarios"]:
        parts += ["## Panel scenarios", "", _panel_rows(results["scenarios"]), ""]
    if setup.get("upstream_counts"):
        parts += ["## /metrics against the stand-in's count", "",
                  "What the panel's /metrics counted (every worker) against what the stand-in answered from it, over "
                  "each start of the panel (the benchmark's own direct requests left out).", "",
                  _upstream_counts(setup["upstream_counts"]), ""]
    if results["sweep"]:
        parts += ["## Worker sweep (64 users, mixed detail/list pages)", "", _sweep(results["sweep"]), ""]
    if "dashboards" in results:
        parts += ["## 4a. Dashboards", "", _dashboards(results["dashboards"]), ""]
    if "audit" in results:
        parts += ["## 4b. Cancellation and audit", "", audit.report(results["audit"]), "",
                  *_audit_met(results["audit"])]
        events = max((r.get("events", 0) for r in results["audit"]), default=0)
        if events < 1_000_000:
            parts += ["", f"Audit benchmark over {events:,} events, not 1,000,000: run `python -m bench --only audit` "
                      "(or --full-audit) for the targets' scale."]
    return "\n".join(parts) + "\n"
