"""Shared pieces of the benchmarks: the stand-in in its own process, Django set up on a bench database,
and latency statistics. Benchmarks report ratios measured in one run, never timed assertions."""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


class SimProcess:
    """The stand-in in its own process, as Kodexa would be: in-process it would share the GIL with the panel."""

    def __init__(self, *, latency_ms: int = 0, api_key: str = "bench-key", extra: tuple[str, ...] = ()) -> None:
        self.api_key = api_key
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kodexa_sim", "--port", "0", "--api-key", api_key, "--seed", "42",
             "--latency-ms", str(latency_ms), *extra], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline() if self.process.stdout else ""
        match = re.search(r"listening on (http://\S+)", line)
        if not match:
            self.process.kill()
            raise SystemExit(f"the stand-in did not start: {line!r}")
        self.url = match.group(1)

    def control(self):  # type: ignore[no-untyped-def]
        from kodexa_sim.control import SimControl

        return SimControl(self.url, self.api_key)

    def calls(self) -> int:
        """Upstream requests the stand-in has answered so far (its control plane is not counted)."""
        return int(self.control().calls()["total"])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


def postgres_url(name: str) -> str | None:
    """A fresh PostgreSQL database for a benchmark, or None when no server answers on 127.0.0.1:5432."""
    if not reachable("127.0.0.1", 5432):
        return None
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def setup_django(*, database_url: str, kodexa_url: str = "", api_key: str = "", cache_url: str = "") -> None:
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "kodexa_admin.settings_test", "DATABASE_URL": database_url,
        "KODEXA_URL": kodexa_url, "KODEXA_API_KEY": api_key, "CACHE_URL": cache_url or "locmemcache://bench",
        "LOG_LEVEL": "WARNING", "DJANGO_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
    })
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


@dataclass(frozen=True)
class Stats:
    n: int
    median: float
    p95: float
    p99: float

    @classmethod
    def of(cls, samples: list[float]) -> Stats:
        ordered = sorted(samples)
        pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
        return cls(len(ordered), statistics.median(ordered), pick(0.95), pick(0.99))


def run_load(config: dict) -> dict:
    """Drive load from a separate process (bench/load.py) and return its samples and counts."""
    out = subprocess.run([sys.executable, "-m", "bench.load"], cwd=ROOT, input=json.dumps(config),
                         capture_output=True, text=True, timeout=float(config.get("duration", 10)) + 120)
    if out.returncode != 0:
        raise SystemExit(f"load generator failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout)


def table(headers: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
