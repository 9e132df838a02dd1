"""Real panel processes for the multi-process tests: gunicorn on loopback, production settings, plus a small
browser-less HTTP user that logs in and submits forms the way a person would."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
SECRET = "multi-process-test-secret-key-0123456789abcdefghijklmnop"


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


class PanelServer:
    """gunicorn serving the panel with DEBUG off, as in production (without TLS)."""

    def __init__(self, *, database_url: str, cache_url: str, kodexa_url: str, api_key: str, workers: int = 2,
                 threads: int = 4) -> None:
        collectstatic_once()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "KODEXA_"))},
            "DJANGO_SETTINGS_MODULE": "kodexa_admin.settings", "DJANGO_SECRET_KEY": SECRET, "DJANGO_DEBUG": "false",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DATABASE_URL": database_url, "CACHE_URL": cache_url,
            "KODEXA_URL": kodexa_url, "KODEXA_API_KEY": api_key, "KODEXA_READ_TIMEOUT": "30",
            "AUDIT_CHAIN_KEY": "multi-process-chain-key", "PORT": str(self.port), "GUNICORN_WORKERS": str(workers),
            "GUNICORN_THREADS": str(threads), "GUNICORN_ACCESSLOG": "false", "LOG_LEVEL": "WARNING",
        }
        self.log = open(ROOT / "var" / f"gunicorn-{self.port}.log", "w")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "kodexa_admin/gunicorn.conf.py",
             "kodexa_admin.wsgi:application"], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or still importing Django
                time.sleep(0.1)
            if self.process.poll() is not None:
                break
        self.stop()
        log = (ROOT / "var" / f"gunicorn-{self.port}.log").read_text()
        raise RuntimeError(f"gunicorn did not start: {log[-2000:]}")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


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


def usable_in_production(user, password: str) -> None:  # type: ignore[no-untyped-def]
    """The test settings hash passwords with MD5 for speed; production settings only verify real hashers."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    hasher = PBKDF2PasswordHasher()
    type(user).objects.filter(pk=user.pk).update(password=hasher.encode(password, hasher.salt(), iterations=1000))
