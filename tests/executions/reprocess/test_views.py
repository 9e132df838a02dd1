"""The reprocess pages: the form without JavaScript, the permission, the result and the executions it started."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from executions.audit.models import AuditAction, AuditEvent
from tests.helpers import sim_get

pytestmark = pytest.mark.django_db
POST_ROUTE = "POST /api/document-families/{id}/reprocess"


def _finished(kodexa, **fields) -> dict:  # type: ignore[no-untyped-def]
    family = sim_get(kodexa, "/api/document-families", pageSize=1)["content"][0]
    assistant = next(a for a in sim_get(kodexa, "/api/assistants", pageSize=200)["content"] if a["active"])
    return kodexa.control.add_execution(**{"status": "FAILED", "documentFamilyId": family["id"],
                                           "assistantId": assistant["id"], "_sim": {"lifecycle": False}, **fields})


def _posts(kodexa) -> int:  # type: ignore[no-untyped-def]
    return kodexa.control.calls()["by_route"].get(POST_ROUTE, 0)


def _form(client, execution_id: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    body = client.get(reverse("executions:reprocess", args=[execution_id])).content.decode()
    return {"token": re.search(r'name="token" value="([^"]+)"', body).group(1)}


def test_an_operator_reprocesses_from_the_page_and_sees_the_new_execution(alice_client, kodexa):
    old = _finished(kodexa)
    detail = alice_client.get(reverse("executions:detail", args=[old["id"]])).content.decode()
    assert 'data-testid="reprocess-open"' in detail
    page = alice_client.get(reverse("executions:reprocess", args=[old["id"]])).content.decode()
    assert "Choose a reason…" in page and f'value="{old["assistantId"]}"' in page and "checked" in page
    response = alice_client.post(reverse("executions:reprocess", args=[old["id"]]),
                                 {**_form(alice_client, old["id"]), "reason_category": "problem_fixed",
                                  "reason": "OCR outage fixed", "assistants": [old["assistantId"]]})
    assert response.status_code == 302
    result = alice_client.get(response["Location"]).content.decode()
    assert "Reprocess succeeded" in result and 'data-testid="followups"' in result
    new_id = re.search(r'data-testid="followups">\s*<li><a href="/executions/([0-9a-f-]{36})/"', result).group(1)
    assert _posts(kodexa) == 1
    # The new execution's page says where it came from; the old one's Activity links to what it started.
    new_page = alice_client.get(reverse("executions:detail", args=[new_id])).content.decode()
    assert 'data-testid="reprocess-origin"' in new_page and old["id"] in new_page
    inline = alice_client.get(response["Location"] + "?part=inline", headers={"HX-Request": "true"})
    assert "Reprocessed by alice as" in inline.content.decode() and new_id[:8] in inline.content.decode()
    old_page = alice_client.get(reverse("executions:detail", args=[old["id"]])).content.decode()
    assert 'data-testid="reprocess-followups"' in old_page and "OCR outage fixed" in old_page


def test_the_category_has_no_preset_and_nothing_is_sent_without_it(alice_client, kodexa):
    old = _finished(kodexa)
    response = alice_client.post(reverse("executions:reprocess", args=[old["id"]]),
                                 {**_form(alice_client, old["id"]), "reason": "again please",
                                  "assistants": [old["assistantId"]]})
    assert response.status_code == 400 and "Choose why the document is reprocessed." in response.content.decode()
    assert _posts(kodexa) == 0 and not AuditEvent.objects.filter(execution_id=old["id"]).exists()


def test_an_assistant_not_offered_is_refused(alice_client, kodexa):
    old = _finished(kodexa)
    response = alice_client.post(reverse("executions:reprocess", args=[old["id"]]),
                                 {**_form(alice_client, old["id"]), "reason_category": "other",
                                  "reason": "try another", "assistants": ["../../etc/passwd"]})
    assert response.status_code == 400 and "Choose among the assistants offered." in response.content.decode()
    assert _posts(kodexa) == 0


def test_a_repeat_asks_for_a_confirmation_then_goes(alice_client, kodexa):
    old = _finished(kodexa)
    data = {"reason_category": "problem_fixed", "reason": "fixed", "assistants": [old["assistantId"]]}
    alice_client.post(reverse("executions:reprocess", args=[old["id"]]), {**_form(alice_client, old["id"]), **data})
    again = alice_client.post(reverse("executions:reprocess", args=[old["id"]]),
                              {**_form(alice_client, old["id"]), **data})
    body = again.content.decode()
    assert again.status_code == 409 and 'data-testid="repeat-warning"' in body and "Reprocess again" in body
    assert _posts(kodexa) == 1
    token = re.search(r'name="token" value="([^"]+)"', body).group(1)
    confirmed = alice_client.post(reverse("executions:reprocess", args=[old["id"]]),
                                  {**data, "token": token, "confirm_repeat": "true"})
    assert confirmed.status_code == 302 and _posts(kodexa) == 2


@pytest.mark.parametrize(("fields", "why"), [({"status": "RUNNING"}, "only a finished execution"),
                                             ({"documentFamilyId": None}, "no document family")])
def test_what_cannot_be_reprocessed_has_no_button_and_a_post_is_refused_clearly(alice_client, kodexa, fields, why):
    execution = _finished(kodexa, **fields)
    detail = alice_client.get(reverse("executions:detail", args=[execution["id"]])).content.decode()
    assert 'data-testid="reprocess-open"' not in detail
    response = alice_client.post(reverse("executions:reprocess", args=[execution["id"]]),
                                 {"reason_category": "other", "reason": "try", "assistants": ["a1b2c3d4"],
                                  "token": "x" * 24})
    assert response.status_code == 400 and why in response.content.decode()
    assert _posts(kodexa) == 0


def test_a_viewer_gets_no_button_and_a_403_that_is_audited(bob_client, kodexa):
    old = _finished(kodexa)
    detail = bob_client.get(reverse("executions:detail", args=[old["id"]])).content.decode()
    assert 'data-testid="reprocess-open"' not in detail
    assert bob_client.get(reverse("executions:reprocess", args=[old["id"]])).status_code == 403
    response = bob_client.post(reverse("executions:reprocess", args=[old["id"]]),
                               {"reason_category": "other", "reason": "let me", "assistants": [old["assistantId"]]})
    assert response.status_code == 403
    assert AuditEvent.objects.get(execution_id=old["id"]).action == AuditAction.REPROCESS_DENIED
    assert _posts(kodexa) == 0


def test_a_failed_reprocess_says_kodexas_words_and_started_nothing(alice_client, kodexa):
    old = _finished(kodexa)
    kodexa.control.add_fault("POST /api/document-families/*/reprocess", status=400)
    response = alice_client.post(reverse("executions:reprocess", args=[old["id"]]),
                                 {**_form(alice_client, old["id"]), "reason_category": "other", "reason": "try",
                                  "assistants": [old["assistantId"]]}, follow=True)
    body = response.content.decode()
    assert "Reprocess failed" in body and "did not accept this reprocess" in body and _posts(kodexa) == 1


def test_a_result_of_another_execution_is_not_found(alice_client, kodexa):
    old = _finished(kodexa)
    other = _finished(kodexa)
    response = alice_client.post(reverse("executions:reprocess", args=[old["id"]]),
                                 {**_form(alice_client, old["id"]), "reason_category": "other", "reason": "try",
                                  "assistants": [old["assistantId"]]})
    event_id = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    elsewhere = reverse("executions:reprocess_result", args=[other["id"], int(event_id)])
    assert alice_client.get(elsewhere).status_code == 404


def test_an_auditor_reads_both_stories_in_the_audit_log_and_the_export_verifies(alice_client, charlie_client,
                                                                                kodexa, tmp_path):
    import json
    from io import StringIO

    from django.core.management import call_command

    old = _finished(kodexa)
    alice_client.post(reverse("executions:reprocess", args=[old["id"]]),
                      {**_form(alice_client, old["id"]), "reason_category": "problem_fixed",
                       "reason": "OCR outage fixed", "assistants": [old["assistantId"]]})
    page = charlie_client.get(reverse("audit:list"), {"action": "reprocess.succeeded"}).content.decode()
    listed = page[page.index('data-testid="audit-events"'):]
    assert "Reprocess succeeded" in listed and old["id"][:8] in listed and "Reprocess requested" not in listed
    response = charlie_client.get(reverse("audit:export_json"))
    document = json.loads(b"".join(response.streaming_content))
    actions = [row["action"] for row in document["events"]]  # the export itself is audited, last
    assert actions == ["reprocess.requested", "reprocess.succeeded", "audit.exported"]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document))
    out = StringIO()
    call_command("audit_verify", "--file", str(path), stdout=out)
    assert "audit chain intact: 3 events" in out.getvalue()
