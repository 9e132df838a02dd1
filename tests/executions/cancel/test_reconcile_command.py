"""audit_reconcile without the Kodexa settings: a clear message and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from executions.audit.chain import audit_event_append
from executions.audit.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("unset", ["KODEXA_URL", "KODEXA_API_KEY"])
def test_audit_reconcile_without_kodexa_settings_says_what_is_missing(kodexa, alice, settings, unset):
    audit_event_append(action=AuditAction.CANCEL_REQUESTED, actor=alice, execution_id="x", reason="died")
    setattr(settings, unset, "")
    with pytest.raises(CommandError, match=f"missing: {unset}") as info:
        call_command("audit_reconcile", "--older-than", "0")
    assert "nothing was reconciled" in str(info.value)
    assert not AuditEvent.objects.filter(action=AuditAction.CANCEL_RECONCILED).exists()


def test_audit_reconcile_without_kodexa_settings_exits_non_zero_without_a_traceback(tmp_path):
    env = {**os.environ, "KODEXA_URL": "", "KODEXA_API_KEY": "", "DJANGO_SETTINGS_MODULE": "kodexa_admin.settings_test",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    env.pop("CACHE_URL", None)
    done = subprocess.run([sys.executable, "manage.py", "audit_reconcile"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "KODEXA_URL and KODEXA_API_KEY" in done.stderr
