"""Production settings pass `check --deploy`; the settings refuse to start without a secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "KODEXA_", "DATABASE_URL",
                                                                          "CACHE_URL"))}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=60, check=False)


def test_check_deploy_is_clean_in_production():
    result = _run("check", "--deploy", "--fail-level", "WARNING",
                  DJANGO_SETTINGS_MODULE="kodexa_admin.settings", DJANGO_DEBUG="false", DJANGO_SECURE="true",
                  DJANGO_SECRET_KEY="x" * 20 + "-a-long-random-production-secret-key-9f8e7d6c5b4a",
                  DJANGO_ALLOWED_HOSTS="admin.example.com", KODEXA_URL="https://platform.example.com",
                  KODEXA_API_KEY="k" * 32)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stderr


def test_missing_secret_key_refuses_to_start():
    result = _run("check", DJANGO_SETTINGS_MODULE="kodexa_admin.settings", DJANGO_DEBUG="false")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr


def test_plain_http_kodexa_url_is_refused_unless_loopback():
    base = {"DJANGO_SETTINGS_MODULE": "kodexa_admin.settings", "DJANGO_DEBUG": "true", "KODEXA_API_KEY": "k"}
    refused = _run("check", KODEXA_URL="http://kodexa.example.com", **base)
    assert refused.returncode != 0 and "executions.E002" in refused.stderr and "must use https" in refused.stderr
    credentials = _run("check", KODEXA_URL="https://user:pw@kodexa.example.com", **base)
    assert credentials.returncode != 0 and "executions.E003" in credentials.stderr
    allowed = _run("check", KODEXA_URL="http://127.0.0.1:8765", **base)
    assert allowed.returncode == 0, allowed.stderr


def test_an_unknown_filter_dialect_or_sort_separator_is_refused_at_start():
    base = {"DJANGO_SETTINGS_MODULE": "kodexa_admin.settings", "DJANGO_DEBUG": "true", "KODEXA_API_KEY": "k",
            "KODEXA_URL": "http://127.0.0.1:8765"}
    dialect = _run("check", KODEXA_FILTER_DIALECT="rsql", **base)
    assert dialect.returncode != 0 and "executions.E004" in dialect.stderr
    separator = _run("check", KODEXA_SORT_SEPARATOR=";", **base)
    assert separator.returncode != 0 and "executions.E005" in separator.stderr
    assert _run("check", KODEXA_SORT_SEPARATOR=":", **base).returncode == 0
