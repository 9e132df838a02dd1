"""The panel as production runs it: gunicorn with DEBUG off, on a dedicated bench database and cache.

PostgreSQL and Redis are used when they answer on 127.0.0.1 (database kodexa_admin_bench, Redis db 12),
otherwise SQLite under a temporary directory and local memory (each worker then has its own cache)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.common import ROOT, free_port, postgres_url, reachable

SECRET = "bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-not-for-production"
USERNAME, PASSWORD = "bench", "bench-password-0123"
REDIS_DB = 12


def backends() -> tuple[str, str]:
    """(DATABASE_URL, CACHE_URL) for the bench: fresh every run."""
    database = postgres_url("kodexa_admin_bench") or \
        f"sqlite:///{tempfile.mkdtemp(prefix='kodexa-bench-')}/bench.sqlite3"
    if reachable("127.0.0.1", 6379):
        import redis

        url = f"redis://127.0.0.1:6379/{REDIS_DB}"
        redis.Redis.from_url(url).flushdb()
        return database, url
    return database, "locmemcache://bench"


class Panel:
    """Environment and commands of one bench panel; start() serves it, stop() ends it."""

    def __init__(self, *, database_url: str, cache_url: str, kodexa_url: str, api_key: str) -> None:
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "KODEXA_", "GUNICORN_"))},
            "DJANGO_SETTINGS_MODULE": "kodexa_admin.settings", "DJANGO_SECRET_KEY": SECRET, "DJANGO_DEBUG": "false",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DATABASE_URL": database_url, "CACHE_URL": cache_url,
            "KODEXA_URL": kodexa_url, "KODEXA_API_KEY": api_key, "AUDIT_CHAIN_KEY": "bench-chain-key",
            "GUNICORN_ACCESSLOG": "false", "LOG_LEVEL": "WARNING",
        }
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.log_path = ROOT / "var" / "bench-gunicorn.log"
        self.log_path.write_text("")  # one run's log; each start() of the run appends to it

    def manage(self, *args: str) -> str:
        out = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True,
                             text=True)
        if out.returncode != 0:
            raise SystemExit(f"manage.py {' '.join(args)} failed:\n{out.stderr[-3000:]}")
        return out.stdout

    def provision(self, *, dashboard: dict) -> int:
        """Migrate, collect static files, create the bench user (an operator and auditor in the dashboard's
        team) and import the dashboard; returns its id."""
        self.manage("migrate", "--no-input", "-v", "0")
        self.manage("collectstatic", "--no-input", "-v", "0")
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(dashboard, f)
        self.manage("dashboard_import", f.name, "--create-team")
        Path(f.name).unlink()
        script = (
            "from django.contrib.auth.models import Group, User\n"
            "from executions.models import Dashboard\n"
            f"u, _ = User.objects.get_or_create(username={USERNAME!r})\n"
            f"u.set_password({PASSWORD!r}); u.save()\n"
            f"u.groups.add(*Group.objects.filter(name__in=['Operators', 'Auditors', {dashboard['team']!r}]))\n"
            f"print(Dashboard.objects.filter(name={dashboard['name']!r}).latest('pk').pk)\n"
        )
        return int(self.manage("shell", "-c", script).split()[-1])

    def start(self, *, workers: int, threads: int, worker_class: str = "gthread") -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {**self.env, "PORT": str(port), "GUNICORN_WORKERS": str(workers), "GUNICORN_THREADS": str(threads)}
        self.log = open(self.log_path, "a")  # noqa: SIM115 (closed in stop())
        # Command-line options win over gunicorn.conf.py, so the sweep can try other worker classes.
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "kodexa_admin/gunicorn.conf.py",
             "--worker-class", worker_class, "kodexa_admin.wsgi:application"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                    if response.status == 200 and len(self.worker_pids()) >= workers:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise SystemExit(f"gunicorn did not start; see {self.log_path}")

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if getattr(self, "log", None):
            self.log.close()


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
