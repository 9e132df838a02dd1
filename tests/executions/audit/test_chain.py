"""The audit chain: HMAC links, append-only at every layer, tamper detection, concurrent appends."""

from __future__ import annotations

import threading

import pytest
from django.db import DatabaseError, IntegrityError, connection, connections

from executions.audit.chain import (
    GENESIS_HASH,
    RequestMeta,
    audit_chain_verify,
    audit_event_append,
    export_verify,
)
from executions.audit.models import AuditAction, AuditEvent
from executions.audit.selectors import AuditFilters, audit_export_rows
from executions.audit.triggers import drop_triggers, install_triggers

pytestmark = pytest.mark.django_db


def _append(n: int, **kwargs) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    return [
        audit_event_append(action=AuditAction.CANCEL_REQUESTED, execution_id=f"exec-{i}", reason=f"reason {i}",
                           meta=RequestMeta(request_id=f"req-{i}", client_ip="127.0.0.1", user_agent="pytest"),
                           **kwargs)
        for i in range(n)
    ]


def _raw(sql: str, params: list | None = None) -> None:  # type: ignore[type-arg]
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def test_events_link_into_a_chain(alice):
    first, second, third = _append(3, actor=alice)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert len({first.hash, second.hash, third.hash}) == 3
    report = audit_chain_verify()
    assert report.ok and report.checked == 3 and report.head == third.hash
    assert first.actor_username == "alice"


def test_deleting_a_user_keeps_their_events_intact(django_user_model):
    """The events outlive the account: no UPDATE (the triggers would refuse it), the hash still holds."""
    # An ad-hoc user, not one of the cast: this test is about deleting a user.
    user = django_user_model.objects.create_user("leaver", password="leaver-pass-123")
    (event,) = _append(1, actor=user)
    user.delete()
    kept = AuditEvent.objects.get(pk=event.pk)
    assert (kept.actor_id, kept.actor_username, kept.hash) == (event.actor_id, "leaver", event.hash)
    assert audit_chain_verify().ok


def test_the_key_matters(settings):
    _append(2)
    settings.AUDIT_CHAIN_KEY = "another key entirely"
    report = audit_chain_verify()
    assert not report.ok and report.first_bad_id == AuditEvent.objects.order_by("id").first().pk


def test_model_and_queryset_refuse_changes():
    (event,) = _append(1)
    event.reason = "rewritten"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).update(reason="rewritten")
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()


@pytest.mark.parametrize("statement", [
    "UPDATE executions_auditevent SET reason = 'rewritten'",
    "DELETE FROM executions_auditevent",
])
def test_database_triggers_refuse_update_and_delete(statement):
    _append(2)
    with pytest.raises((IntegrityError, DatabaseError)), connection.cursor() as cursor:
        from django.db import transaction

        with transaction.atomic():
            cursor.execute(statement)
    assert AuditEvent.objects.count() == 2
    assert set(AuditEvent.objects.values_list("reason", flat=True)) == {"reason 0", "reason 1"}


@pytest.fixture
def tamperable():  # type: ignore[no-untyped-def]
    """Someone with database access switches the triggers off (owners can); the chain must still tell."""
    events = _append(5)
    drop_triggers(connection)
    yield events
    install_triggers(connection)


def test_verify_names_a_modified_event(tamperable):
    _raw("UPDATE executions_auditevent SET reason = 'nothing to see' WHERE id = %s", [tamperable[2].pk])
    report = audit_chain_verify()
    assert not report.ok and report.first_bad_id == tamperable[2].pk and "content" in report.problem
    assert report.checked == 2


def test_verify_names_the_event_after_a_deleted_one(tamperable):
    _raw("DELETE FROM executions_auditevent WHERE id = %s", [tamperable[1].pk])
    report = audit_chain_verify()
    assert not report.ok and report.first_bad_id == tamperable[2].pk and "link" in report.problem


def test_verify_names_an_inserted_event(tamperable):
    forged_id = tamperable[-1].pk + 100
    _raw("INSERT INTO executions_auditevent (id, occurred_at, action, actor_username, execution_id, reason_category, "
         "reason, request_id, user_agent, status_before, status_after, error, details, prev_hash, hash) "
         "VALUES (%s, %s, 'cancel.succeeded', 'mallory', 'x', '', '', '', '', '', '', '', '{}', %s, %s)",
         [forged_id, tamperable[-1].occurred_at, tamperable[-1].hash, "f" * 64])
    report = audit_chain_verify()
    assert not report.ok and report.first_bad_id == forged_id


def test_verify_names_reordered_events(tamperable):
    a, b = tamperable[1], tamperable[2]
    columns = ("execution_id", "reason", "request_id", "occurred_at", "prev_hash", "hash")
    sets = ", ".join(f"{c} = %s" for c in columns)
    # Swap the two rows entirely: each stays self-consistent (content matches its own hash); the order breaks.
    _raw("UPDATE executions_auditevent SET hash = %s WHERE id = %s", ["temporary", a.pk])
    _raw(f"UPDATE executions_auditevent SET {sets} WHERE id = %s", [*(getattr(a, c) for c in columns), b.pk])
    _raw(f"UPDATE executions_auditevent SET {sets} WHERE id = %s", [*(getattr(b, c) for c in columns), a.pk])
    report = audit_chain_verify()
    assert not report.ok and report.first_bad_id == a.pk and "link" in report.problem


def test_export_rows_verify_offline_and_detect_edits():
    _append(4)
    rows = list(audit_export_rows(filters=AuditFilters()))
    assert export_verify(rows).ok
    rows[2] = {**rows[2], "reason": "edited in the spreadsheet"}
    report = export_verify(rows)
    assert not report.ok and report.first_bad_id == rows[2]["id"]


def test_filtered_export_still_verifies():
    _append(6)
    rows = list(audit_export_rows(filters=AuditFilters(execution_id="exec-3")))
    assert len(rows) == 1 and export_verify(rows).ok


def test_control_characters_are_stripped_from_text():
    (event,) = _append(1, reason_category="stuck\x1b[31m")
    assert event.reason_category == "stuck[31m"


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_one_chain():
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(10):
                audit_event_append(action=AuditAction.CANCEL_REQUESTED, execution_id=f"t{n}-{i}")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = audit_chain_verify()
    assert report.ok and report.checked == 80
    assert AuditEvent.objects.values("prev_hash").distinct().count() == 80


@pytest.mark.django_db(transaction=True)
def test_parallel_verification_checks_every_range_and_the_links_between_them():
    events = _append(9)
    report = audit_chain_verify(workers=3, parallel_from=0)
    assert report.ok and report.checked == 9 and report.head == events[-1].hash
    drop_triggers(connection)
    try:
        _raw("UPDATE executions_auditevent SET reason = 'changed' WHERE id = %s", [events[7].pk])
        report = audit_chain_verify(workers=3, parallel_from=0)
        assert not report.ok and report.first_bad_id == events[7].pk and "content" in report.problem
        _raw("UPDATE executions_auditevent SET reason = 'reason 7' WHERE id = %s", [events[7].pk])
        assert audit_chain_verify(workers=3, parallel_from=0).ok
        # The first event of the second range goes: each range still verifies alone; the link between doesn't.
        _raw("DELETE FROM executions_auditevent WHERE id = %s", [events[3].pk])
        report = audit_chain_verify(workers=3, parallel_from=0)
        assert not report.ok and report.first_bad_id == events[4].pk and "link" in report.problem
    finally:
        install_triggers(connection)
