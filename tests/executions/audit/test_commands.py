from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from executions.audit.chain import audit_event_append
from executions.audit.models import AuditAction, AuditEvent
from executions.audit.triggers import drop_triggers, install_triggers

pytestmark = pytest.mark.django_db


def test_audit_verify_passes_on_an_intact_chain():
    for i in range(3):
        audit_event_append(action=AuditAction.CANCEL_DENIED, execution_id=f"e{i}")
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert "audit chain intact: 3 events" in out.getvalue()


def test_audit_verify_fails_naming_the_first_bad_event():
    events = [audit_event_append(action=AuditAction.CANCEL_DENIED, execution_id=f"e{i}") for i in range(3)]
    drop_triggers(connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE executions_auditevent SET actor_username = 'someone else' WHERE id = %s",
                           [events[1].pk])
        with pytest.raises(CommandError, match=f"broken at event {events[1].pk}"):
            call_command("audit_verify")
    finally:
        install_triggers(connection)


def test_audit_verify_with_a_logged_head_finds_events_cut_off_the_end(caplog):
    """Links cannot show that the newest events were deleted; the head kept in the application log can."""
    with caplog.at_level("INFO", logger="executions.audit"):
        events = [audit_event_append(action=AuditAction.CANCEL_DENIED, execution_id=f"e{i}") for i in range(3)]
    logged_heads = [r.audit_chain_head for r in caplog.records if hasattr(r, "audit_chain_head")]
    assert logged_heads == [e.hash for e in events]
    out = StringIO()
    call_command("audit_verify", "--head", logged_heads[-1], stdout=out)
    assert "intact: 3 events" in out.getvalue()
    drop_triggers(connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM executions_auditevent WHERE id = %s", [events[-1].pk])
        call_command("audit_verify", stdout=StringIO())  # what is left still links up...
        with pytest.raises(CommandError, match=f"head {logged_heads[-1]} is not in this chain") as missing:
            call_command("audit_verify", "--head", logged_heads[-1])  # ...but the logged head is gone
    finally:
        install_triggers(connection)
    # It cannot tell a cut-off end from a head of another database or key, so it does not claim either.
    assert "may have been removed from the end" in str(missing.value)
    assert "another database" in str(missing.value) and "were removed" not in str(missing.value)


def test_audit_verify_with_an_older_head_says_where_it_is(caplog):
    """Events appended after a head was noted are normal: the head is found, and what follows is counted."""
    events = [audit_event_append(action=AuditAction.CANCEL_DENIED, execution_id=f"e{i}") for i in range(5)]
    out = StringIO()
    call_command("audit_verify", "--head", events[1].hash.upper(), stdout=out)
    assert f"head found at event {events[1].pk}; 3 events after it" in out.getvalue()
    assert "intact: 5 events" in out.getvalue()
    latest = StringIO()
    call_command("audit_verify", "--head", events[-1].hash, stdout=latest)
    assert f"head found at event {events[-1].pk}; 0 events after it" in latest.getvalue()


@pytest.mark.parametrize("head", ["abc", "z" * 64, "0" * 63])
def test_audit_verify_refuses_a_head_that_is_not_a_hash(head):
    audit_event_append(action=AuditAction.CANCEL_DENIED, execution_id="e")
    with pytest.raises(CommandError, match="--head must be a chain hash: 64 hexadecimal characters"):
        call_command("audit_verify", "--head", head)


def test_audit_verify_checks_an_export_file(tmp_path, charlie_client):
    for i in range(3):
        audit_event_append(action=AuditAction.CANCEL_DENIED, execution_id=f"e{i}")
    document = json.loads(b"".join(charlie_client.get("/audit/export.json").streaming_content))
    good = tmp_path / "export.json"
    good.write_text(json.dumps(document))
    out = StringIO()
    call_command("audit_verify", "--file", str(good), stdout=out)
    assert "intact: 4 events" in out.getvalue()  # the three, and the export's own event
    rows = document["events"]
    rows[1]["execution_id"] = "forged"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    with pytest.raises(CommandError, match=f"event {rows[1]['id']}"):
        call_command("audit_verify", "--file", str(bad))


def test_audit_reconcile_completes_open_requests(kodexa, alice):
    running = kodexa.control.add_execution(status="RUNNING")["id"]
    cancelled = kodexa.control.add_execution(status="CANCELLED")["id"]
    missing = "0f6c1e9a-3a7d-4c1e-9f0e-2b8f6d7a1c77"
    for execution_id in (running, cancelled, missing):
        audit_event_append(action=AuditAction.CANCEL_REQUESTED, actor=alice, execution_id=execution_id,
                           reason="process died after this")
    out = StringIO()
    call_command("audit_reconcile", "--older-than", "0", stdout=out)
    assert "3 open request(s) reconciled" in out.getvalue()
    outcomes = {e.execution_id: e for e in AuditEvent.objects.filter(action=AuditAction.CANCEL_RECONCILED)}
    assert "still Running" in outcomes[running].details["conclusion"]
    assert "took effect" in outcomes[cancelled].details["conclusion"]
    assert outcomes[missing].upstream_status == 404
    assert all(e.request_event_id for e in outcomes.values())
    again = StringIO()
    call_command("audit_reconcile", "--older-than", "0", stdout=again)
    assert "0 open request(s)" in again.getvalue()


def test_audit_reconcile_leaves_recent_requests_alone(kodexa, alice):
    audit_event_append(action=AuditAction.CANCEL_REQUESTED, actor=alice, execution_id="x", reason="in flight")
    out = StringIO()
    call_command("audit_reconcile", stdout=out)
    assert "0 open request(s)" in out.getvalue()
