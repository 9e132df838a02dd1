"""The panel as production runs it, for the multi-process tests (tests/system) and the benchmarks (bench/):
gunicorn on a free loopback port with DEBUG off and production settings (without TLS); plus a small
browser-less HTTP user that logs in and submits forms the way a person would.

    server = PanelServer(database_url=..., cache_url=..., kodexa_url=sim.url, api_key=sim.api_key)
    server.manage("migrate")                            # manage.py with the server's environment
    server.start(workers=2, threads=4)                  # returns once /healthz answers and every worker is up
    server.url, server.worker_pids(), rss_kb(pid)       # where it listens, its workers, their memory
    server.stop()                                       # or: with server.start(...): ...

start() may be called again after stop() (the benchmarks try several workers x threads on one database);
every start of one server appends to its log file, which a failed start quotes.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Self

import requests

ROOT = Path(__file__).resolve().parent.parent
SECRET = "panel-server-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-not-for-production"
CHAIN_KEY = "panel-server-chain-key"  # AUDIT_CHAIN_KEY of every PanelServer: verify their chain with it
_log_numbers = itertools.count()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_url(db: int = 14) -> str | None:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.3):
            return f"redis://127.0.0.1:6379/{db}"
    except OSError:
        return None


def shared_database_url() -> str:
    """The URL of the database pytest-django created, so server processes share it with the test."""
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    host = s.get("HOST") or "127.0.0.1"
    return f"postgres://{s['USER']}@{host}:{s.get('PORT') or 5432}/{s['NAME']}"


def collectstatic_once() -> None:
    if (ROOT / "var" / "staticfiles" / "staticfiles.json").exists():
        return
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], cwd=ROOT, check=True,
                   env={**os.environ, "DJANGO_SETTINGS_MODULE": "kodexa_admin.settings", "DJANGO_SECRET_KEY": SECRET})


def rss_kb(pid: int) -> int:
    """Resident memory of a process (a worker, say), in KiB; 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class PanelServer:
    """gunicorn serving the panel with production settings, against the given database, cache and Kodexa.

    `env` adds to or overrides the environment (the caller's own DJANGO_*, KODEXA_* and GUNICORN_* variables
    are never passed on); `log_path` defaults to a fresh file under var/.
    """

    def __init__(self, *, database_url: str, cache_url: str, kodexa_url: str, api_key: str,
                 env: Mapping[str, str] | None = None, log_path: Path | None = None) -> None:
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "KODEXA_", "GUNICORN_"))},
            "DJANGO_SETTINGS_MODULE": "kodexa_admin.settings", "DJANGO_SECRET_KEY": SECRET, "DJANGO_DEBUG": "false",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DATABASE_URL": database_url, "CACHE_URL": cache_url,
            "KODEXA_URL": kodexa_url, "KODEXA_API_KEY": api_key, "AUDIT_CHAIN_KEY": CHAIN_KEY,
            "GUNICORN_ACCESSLOG": "false", "LOG_LEVEL": "WARNING", **(env or {}),
        }
        self.log_path = log_path or ROOT / "var" / f"gunicorn-{os.getpid()}-{next(_log_numbers)}.log"
        self.log_path.parent.mkdir(exist_ok=True)
        self.log_path.write_text("")
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def manage(self, *args: str) -> str:
        """Runs manage.py with the server's environment (same database, cache and keys); returns its output."""
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True,
                              text=True)
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def start(self, *, workers: int = 2, threads: int = 4, worker_class: str = "gthread",
              timeout: float = 60) -> Self:
        """Serves on a free port; returns once /healthz answers 200 and all `workers` are up."""
        assert self.process is None, "already started"
        collectstatic_once()
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {**self.env, "PORT": str(port), "GUNICORN_WORKERS": str(workers), "GUNICORN_THREADS": str(threads)}
        self._log = open(self.log_path, "a")  # noqa: SIM115 (closed in stop())
        # Command-line options win over gunicorn.conf.py, so the benchmarks can try other worker classes.
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "kodexa_admin/gunicorn.conf.py",
             "--worker-class", worker_class, "kodexa_admin.wsgi:application"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200 and len(self.worker_pids()) >= workers:
                        return self
            except OSError:  # not listening yet, or still importing Django
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not start; {self.log_path}:\n{self.log_path.read_text()[-2000:]}")

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def stop(self) -> None:
        """Stops gunicorn (SIGTERM, then SIGKILL after 20 s) and closes the log; harmless when not running."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if getattr(self, "_log", None):
            self._log.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Browserless:
    """A logged-in user over plain HTTP: gets forms, keeps cookies, sends the CSRF token like a browser."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        page = self.session.get(f"{base_url}/accounts/login/", timeout=10)
        response = self.session.post(f"{base_url}/accounts/login/", timeout=10, allow_redirects=False, data={
            "csrfmiddlewaretoken": self._csrf(page.text), "username": username, "password": password})
        assert response.status_code == 302, f"login failed: {response.status_code}"
        # Drop the pooled keep-alive connection: gunicorn closes it after `keepalive` idle seconds, and a request
        # sent on it just as the server closes it is reset. Tests log many users in before they act together, so
        # the first ones idle longest; a browser would retry such a GET, requests does not.
        self.session.close()

    @staticmethod
    def _csrf(html: str) -> str:
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)

    def get(self, path: str, **kwargs) -> requests.Response:  # type: ignore[no-untyped-def]
        return self.session.get(f"{self.base_url}{path}", timeout=60, **kwargs)

    def cancel(self, execution_id: str, reason: str = "multi-process test") -> requests.Response:
        page = self.get(f"/executions/{execution_id}/")
        token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
        return self.session.post(f"{self.base_url}/executions/{execution_id}/cancel/", timeout=120,
                                 allow_redirects=False, data={"csrfmiddlewaretoken": self._csrf(page.text),
                                                              "reason_category": "stuck", "reason": reason,
                                                              "token": token})


    def reprocess(self, execution_id: str, assistant_id: str, reason: str = "multi-process test") -> requests.Response:
        page = self.get(f"/executions/{execution_id}/reprocess/")
        token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
        return self.session.post(f"{self.base_url}/executions/{execution_id}/reprocess/", timeout=120,
                                 allow_redirects=False, data={"csrfmiddlewaretoken": self._csrf(page.text),
                                                              "reason_category": "problem_fixed", "reason": reason,
                                                              "assistants": assistant_id, "token": token})


def usable_in_production(user, password: str) -> None:  # type: ignore[no-untyped-def]
    """The test settings hash passwords with MD5 for speed; production settings only verify real hashers."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    hasher = PBKDF2PasswordHasher()
    type(user).objects.filter(pk=user.pk).update(password=hasher.encode(password, hasher.salt(), iterations=1000))
