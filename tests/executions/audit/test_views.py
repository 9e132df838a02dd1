"""/audit/ for Auditors: filters, keyset pages, exports that stream and verify, and are themselves audited."""

from __future__ import annotations

import csv
import io
import json
import uuid

import pytest
from django.urls import reverse

from executions.audit.chain import RequestMeta, audit_event_append
from executions.audit.exports import audit_export_verify
from executions.audit.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db
EXEC_A = "0f6c1e9a-3a7d-4c1e-9f0e-2b8f6d7a1c01"
EXEC_B = "0f6c1e9a-3a7d-4c1e-9f0e-2b8f6d7a1c02"


@pytest.fixture
def history(alice):  # type: ignore[no-untyped-def]
    batch = uuid.uuid4()
    requested = audit_event_append(action=AuditAction.CANCEL_REQUESTED, actor=alice, execution_id=EXEC_A,
                                   reason="=HYPERLINK(\"http://evil\")", meta=RequestMeta(client_ip="127.0.0.1"))
    audit_event_append(action=AuditAction.CANCEL_SUCCEEDED, actor=alice, execution_id=EXEC_A,
                       request_event=requested, upstream_status=200, status_after="CANCELLING")
    pending = audit_event_append(action=AuditAction.CANCEL_REQUESTED, actor=alice, execution_id=EXEC_B,
                                 reason="<script>alert(1)</script>", batch_id=batch)
    audit_event_append(action=AuditAction.CANCEL_DENIED, execution_id=EXEC_B, reason="nope")
    return {"batch": batch, "requested": requested, "pending": pending}


def _ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    import re

    return [int(i) for i in re.findall(r'data-event-id="(\d+)"', response.content.decode())]


def test_only_auditors_see_the_whole_log_and_export_it(charlie_client, alice_client, bob_client, history):
    everything = set(AuditEvent.objects.values_list("pk", flat=True))
    assert set(_ids(charlie_client.get(reverse("audit:list")))) == everything
    assert alice_client.get(reverse("audit:export_csv")).status_code == 403
    assert bob_client.get(reverse("audit:export_csv")).status_code == 403
    assert "Export CSV" not in alice_client.get(reverse("audit:list")).content.decode()


def test_my_actions_without_the_audit_permission_are_only_ones_own(alice_client, bob_client, bob, history):
    """alice (Operator) and bob (viewer) lack the audit permission: /audit/ shows each their own events, whatever
    the filters ask."""
    alices = set(AuditEvent.objects.filter(actor_username="alice").values_list("pk", flat=True))
    others = set(AuditEvent.objects.exclude(actor_username="alice").values_list("pk", flat=True))
    assert alices and others
    response = alice_client.get(reverse("audit:list"))
    assert response.status_code == 200 and set(_ids(response)) == alices
    body = response.content.decode()
    assert "<h1>My actions</h1>" in body and 'data-testid="own-events-only"' in body
    assert 'name="actor"' not in body  # no other actor to choose
    # Asking for someone else's events changes nothing: the actor filter is not theirs to set.
    assert set(_ids(alice_client.get(reverse("audit:list"), {"actor": "charlie", "mine": ""}))) == alices
    assert set(_ids(alice_client.get(reverse("audit:list"), {"execution_id": EXEC_B}))) == {history["pending"].pk}
    # bob has done nothing yet; then his refused attempt is his alone.
    assert _ids(bob_client.get(reverse("audit:list"))) == []
    denied = audit_event_append(action=AuditAction.CANCEL_DENIED, actor=bob, execution_id=EXEC_A)
    assert _ids(bob_client.get(reverse("audit:list"))) == [denied.pk]
    assert denied.pk not in _ids(alice_client.get(reverse("audit:list")))


def test_my_actions_is_a_quick_filter_for_auditors(charlie_client, charlie, history):
    mine = audit_event_append(action=AuditAction.AUDIT_EXPORTED, actor=charlie)
    body = charlie_client.get(reverse("audit:list")).content.decode()
    assert 'data-testid="my-actions"' in body and 'href="/audit/?mine=1"' in body
    assert _ids(charlie_client.get(reverse("audit:list"), {"mine": "1"})) == [mine.pk]
    # It combines with the other filters, and the pages keep it.
    assert _ids(charlie_client.get(reverse("audit:list"), {"mine": "1", "execution_id": EXEC_A})) == []
    assert len(_ids(charlie_client.get(reverse("audit:list")))) == 5


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        (EXEC_A, {"requested", "succeeded"}),
        (EXEC_A.upper(), {"requested", "succeeded"}),
        ("0f6c1e9a", {"requested", "succeeded", "pending", "denied"}),
        (" 0F6C1E9A-3a7d ", {"requested", "succeeded", "pending", "denied"}),
        (EXEC_B[:-1], {"requested", "succeeded", "pending", "denied"}),  # a prefix of both ids
    ],
)
def test_the_execution_filter_takes_a_short_id(charlie_client, history, typed, expected):
    names = {history["requested"].pk: "requested", history["pending"].pk: "pending"}
    for event in AuditEvent.objects.all():
        names.setdefault(event.pk, event.action.split(".")[1])
    response = charlie_client.get(reverse("audit:list"), {"execution_id": typed})
    assert response.status_code == 200
    assert {names[i] for i in _ids(response)} == expected


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0f6c1e9", "Type at least 8 characters of the id (or the whole id)."),
        ("0f6c1e9a3a7d", "Not an execution id"),
        ("zzzzzzzzzz", "Not an execution id"),
        ("0f6c1e9a%", "Not an execution id"),
    ],
)
def test_a_too_short_or_malformed_id_is_a_form_error(charlie_client, history, typed, message):
    response = charlie_client.get(reverse("audit:list"), {"execution_id": typed})
    assert response.status_code == 400 and message in response.content.decode()
    assert _ids(response) == []


def test_the_activity_panel_links_to_the_executions_audit_events(charlie_client, alice_client, kodexa):
    execution = kodexa.control.add_execution(status="SUCCEEDED", _sim={"lifecycle": False})["id"]
    link = f'href="/audit/?execution_id={execution}" data-testid="activity-audit-link">'
    assert link + "All audit events for this execution" in charlie_client.get(
        reverse("executions:detail", args=[execution])).content.decode()
    assert link + "My audit events for this execution" in alice_client.get(
        reverse("executions:detail", args=[execution])).content.decode()


def test_the_list_escapes_and_links(charlie_client, history):
    body = charlie_client.get(reverse("audit:list")).content.decode()
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body
    assert f'href="{reverse("executions:detail", args=[EXEC_A])}"' in body


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"execution_id": EXEC_A}, {"requested", "succeeded"}),
        ({"action": "cancel.denied"}, {"denied"}),
        ({"outcome": "succeeded"}, {"requested", "succeeded"}),
        ({"outcome": "pending"}, {"pending"}),
        ({"actor": "ALICE"}, {"requested", "succeeded", "pending"}),
    ],
)
def test_filters(charlie_client, history, params, expected):
    by_id = {e.pk: e for e in AuditEvent.objects.all()}
    names = {history["requested"].pk: "requested", history["pending"].pk: "pending"}
    for event in by_id.values():
        if event.pk not in names:
            names[event.pk] = event.action.split(".")[1]
    response = charlie_client.get(reverse("audit:list"), params)
    assert response.status_code == 200
    assert {names[i] for i in _ids(response)} == expected


def test_batch_filter(charlie_client, history):
    response = charlie_client.get(reverse("audit:list"), {"batch_id": str(history["batch"])})
    assert _ids(response) == [history["pending"].pk]


def test_invalid_filters_are_form_errors(charlie_client, history):
    response = charlie_client.get(reverse("audit:list"), {"execution_id": "../../etc", "batch_id": "nope"})
    assert response.status_code == 400


def test_keyset_pages_are_stable_while_events_arrive(charlie_client, alice):
    for i in range(60):
        audit_event_append(action=AuditAction.CANCEL_DENIED, execution_id=EXEC_A, reason=f"r{i}", actor=alice)
    first = _ids(charlie_client.get(reverse("audit:list")))
    assert len(first) == 50
    audit_event_append(action=AuditAction.CANCEL_DENIED, execution_id=EXEC_A, reason="late", actor=alice)
    second = _ids(charlie_client.get(reverse("audit:list"), {"before": first[-1]}))
    assert len(second) == 10 and max(second) < min(first)


def test_json_export_streams_verifies_and_is_audited(charlie_client, history):
    response = charlie_client.get(reverse("audit:export_json"), {"execution_id": EXEC_A})
    assert response.status_code == 200 and response.streaming
    document = json.loads(b"".join(response.streaming_content))
    assert [r["action"] for r in document["events"]] == ["cancel.requested", "cancel.succeeded"]
    assert audit_export_verify(document=document).report.ok
    exported = AuditEvent.objects.filter(action=AuditAction.AUDIT_EXPORTED).get()
    assert exported.actor_username == "charlie" and exported.details["filters"] == {"execution_id": EXEC_A}


def test_csv_export_has_the_hashes_and_defuses_formulas(charlie_client, history):
    response = charlie_client.get(reverse("audit:export_csv"))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    # The export's own audit event is written before it starts, so an unfiltered export includes it.
    assert len(rows) == 5 and all(len(r["hash"]) == 64 for r in rows)
    assert rows[-1]["action"] == "audit.exported"
    assert rows[0]["reason"].startswith("'=HYPERLINK")


def test_execution_page_shows_its_activity_to_every_user(bob_client, kodexa, alice):
    execution = kodexa.control.add_execution(status="RUNNING")
    requested = audit_event_append(action=AuditAction.CANCEL_REQUESTED, actor=alice,
                                   execution_id=execution["id"], reason="customer asked")
    audit_event_append(action=AuditAction.CANCEL_FAILED, actor=alice, execution_id=execution["id"],
                       request_event=requested, upstream_status=503, details={"message": "Not cancelled."})
    body = bob_client.get(reverse("executions:detail", args=[execution["id"]])).content.decode()
    assert "customer asked" in body and "Cancel failed" in body and "503" in body


def test_time_range_filters(charlie_client, alice):
    import time_machine

    with time_machine.travel("2026-01-01 10:00Z", tick=False):
        early = audit_event_append(action=AuditAction.CANCEL_DENIED, actor=alice, execution_id=EXEC_A)
    with time_machine.travel("2026-01-02 10:00Z", tick=False):
        late = audit_event_append(action=AuditAction.CANCEL_DENIED, actor=alice, execution_id=EXEC_B)
    in_range = set(_ids(charlie_client.get(reverse("audit:list"), {"since": "2026-01-02"})))
    assert late.pk in in_range and early.pk not in in_range
    assert _ids(charlie_client.get(reverse("audit:list"), {"until": "2026-01-02"})) == [early.pk]
    assert _ids(charlie_client.get(reverse("audit:list"), {"since": "2026-01-01T09:00",
                                                           "until": "2026-01-01T11:00"})) == [early.pk]
    backwards = charlie_client.get(reverse("audit:list"), {"since": "2026-01-02", "until": "2026-01-01"})
    assert backwards.status_code == 400 and "Must be later than" in backwards.content.decode()


def test_the_admin_shows_events_but_cannot_add_change_or_delete_them(admin_client, history):
    client = admin_client
    event = history["requested"]
    assert client.get(reverse("admin:executions_auditevent_changelist")).status_code == 200
    page = client.get(reverse("admin:executions_auditevent_change", args=[event.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.get(reverse("admin:executions_auditevent_add")).status_code == 403
    assert client.post(reverse("admin:executions_auditevent_change", args=[event.pk]),
                       {"reason": "rewritten"}).status_code == 403
    assert client.post(reverse("admin:executions_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code \
        == 403
    assert AuditEvent.objects.get(pk=event.pk).reason == event.reason


def test_the_admin_shows_a_reason_category_as_words(admin_client, alice):
    event = audit_event_append(action=AuditAction.CANCEL_REQUESTED, actor=alice, execution_id=EXEC_A,
                               reason_category="wrong_input", reason="the wrong invoices")
    page = admin_client.get(reverse("admin:executions_auditevent_change", args=[event.pk])).content.decode()
    assert "Wrong input or configuration" in page


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cell_neutralises_every_formula_lead(lead):
    from executions.audit.exports import csv_cell

    assert csv_cell(f"{lead}cmd|' /C calc'!A0") == f"'{lead}cmd|' /C calc'!A0"
    assert csv_cell(f"a{lead}b") == f"a{lead}b"  # only the first character can start a formula


def test_csv_export_neutralises_cells_starting_with_tab_or_carriage_return(charlie_client):
    # The reason keeps tabs when stored; the idempotency key is stored as given, so a CR survives there.
    audit_event_append(action=AuditAction.CANCEL_DENIED, execution_id=EXEC_A, reason="\t=1+1",
                       idempotency_key="\r=2+2")
    response = charlie_client.get(reverse("audit:export_csv"), {"execution_id": EXEC_A})
    (row,) = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode(), newline="")))
    assert row["reason"] == "'\t=1+1" and row["idempotency_key"] == "'\r=2+2"


def test_reason_categories_read_as_words(charlie_client, bob_client, alice, kodexa):
    """Never `wrong_input` or `Wronginput`: the label, on the audit log and on the execution's activity."""
    execution = kodexa.control.add_execution(status="SUCCEEDED", _sim={"lifecycle": False})["id"]
    audit_event_append(action=AuditAction.CANCEL_REQUESTED, actor=alice, execution_id=execution,
                       reason_category="wrong_input", reason="the wrong invoices")
    audit_event_append(action=AuditAction.CANCEL_REQUESTED, actor=alice, execution_id=execution,
                       reason_category="some_future_category", reason="later")
    for page in (charlie_client.get(reverse("audit:list")).content.decode(),
                 bob_client.get(reverse("executions:detail", args=[execution])).content.decode()):
        assert "Wrong input or configuration" in page and "Some future category" in page
        assert "wrong_input" not in page and "Wronginput" not in page
