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


PRODUCTION = {"DJANGO_SETTINGS_MODULE": "kodexa_admin.settings", "DJANGO_DEBUG": "false", "DJANGO_SECURE": "true",
              "DJANGO_SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-key-9f8e7d6c5b4a",
              "DJANGO_ALLOWED_HOSTS": "admin.example.com", "KODEXA_URL": "https://platform.example.com",
              "KODEXA_API_KEY": "k" * 32}


def test_check_deploy_is_clean_in_production():
    result = _run("check", "--deploy", "--fail-level", "WARNING", AUDIT_CHAIN_KEY="c" * 64, **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stderr


def test_check_deploy_warns_when_the_audit_chain_key_derives_from_the_secret_key():
    result = _run("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode != 0
    assert "executions.W003" in result.stderr and "AUDIT_CHAIN_KEY is not set" in result.stderr
    # The plain start-up check stays quiet: only a deployment review needs the warning.
    assert _run("check", "--fail-level", "WARNING", **PRODUCTION).returncode == 0


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
    page_base = _run("check", KODEXA_PAGE_BASE="2", **base)
    assert page_base.returncode != 0 and "executions.E006" in page_base.stderr
    assert _run("check", KODEXA_SORT_SEPARATOR=":", KODEXA_PAGE_BASE="0", KODEXA_FILTER_DIALECT="auto",
                **base).returncode == 0


def test_audit_chain_key_check_only_warns_in_production_without_an_explicit_key(settings):
    from executions.checks import audit_chain_key_check
    from kodexa_admin.audit_key import derived_chain_key

    settings.DEBUG, settings.AUDIT_CHAIN_KEY = False, derived_chain_key(settings.SECRET_KEY)
    assert [w.id for w in audit_chain_key_check(None)] == ["executions.W003"]
    settings.AUDIT_CHAIN_KEY = ""
    assert [w.id for w in audit_chain_key_check(None)] == ["executions.W003"]
    settings.AUDIT_CHAIN_KEY = "kept-in-the-app-servers-environment-only"
    assert audit_chain_key_check(None) == []
    settings.DEBUG, settings.AUDIT_CHAIN_KEY = True, derived_chain_key(settings.SECRET_KEY)
    assert audit_chain_key_check(None) == []
