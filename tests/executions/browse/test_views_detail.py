"""The execution detail page and its live fragments against the live stand-in."""

from __future__ import annotations

import pytest
import requests
import responses
from django.urls import reverse

from tests.helpers import reset_calls, sim_cannot_filter_on, sim_execution, sim_executions, upstream_calls

pytestmark = pytest.mark.django_db


def detail_url(execution_id: str) -> str:
    return reverse("executions:detail", args=[execution_id])


@pytest.mark.parametrize(
    "bad_id",
    ["not-a-uuid", "..%2f..%2fetc", "12345", "0f6c1e9a-3a7d-4c1e-9f0e-2b8f6d7a1c0", "%0d%0ainjected",
     "0f6c1e9a-3a7d-4c1e-9f0e-2b8f6d7a1c01x", "a" * 5000],
)
def test_malformed_ids_are_404_without_an_upstream_call(bob_client, kodexa, bad_id):
    reset_calls(kodexa)
    response = bob_client.get(f"/executions/{bad_id}/")
    assert response.status_code == 404
    assert upstream_calls(kodexa) == 0


def test_unknown_valid_id_says_kodexa_does_not_know_it(bob_client, kodexa):
    missing = "0f6c1e9a-3a7d-4c1e-9f0e-2b8f6d7a1c99"
    response = bob_client.get(detail_url(missing))
    assert response.status_code == 404
    assert f"Kodexa does not know execution {missing}" in response.content.decode()


def test_failed_execution_shows_error_advice_stack_and_steps(bob_client, kodexa):
    failed = sim_execution(kodexa, "status:'FAILED'")
    response = bob_client.get(detail_url(failed["id"]))
    assert response.status_code == 200
    body = response.content.decode()
    details = failed["exceptionDetails"]
    from django.utils.html import escape

    assert escape(details["message"]) in body
    if details.get("advice"):
        assert escape(details["advice"]) in body
    assert "Stack trace" in body
    for step in failed["pipeline"]["steps"]:
        assert escape(step["name"]) in body
    assert 'data-status="FAILED"' in body
    assert failed["id"] in body


def test_hostile_documentation_url_is_not_a_link(bob_client, kodexa):
    hostile = [e for e in sim_executions(kodexa, "status:'FAILED'")
               if ((e.get("exceptionDetails") or {}).get("documentationUrl") or "").startswith("javascript:")]
    assert hostile, "seed should contain a javascript: documentation url"
    response = bob_client.get(detail_url(hostile[0]["id"]))
    body = response.content.decode()
    assert 'href="javascript:' not in body
    assert "withheld" in body


def test_safe_documentation_url_is_a_link(bob_client, kodexa):
    safe = [e for e in sim_executions(kodexa, "status:'FAILED'")
            if ((e.get("exceptionDetails") or {}).get("documentationUrl") or "").startswith("https://")]
    assert safe
    response = bob_client.get(detail_url(safe[0]["id"]))
    assert f'href="{safe[0]["exceptionDetails"]["documentationUrl"]}"' in response.content.decode()


def test_running_execution_polls_and_finished_one_does_not(bob_client, kodexa):
    running = sim_execution(kodexa, "status:'RUNNING'")
    body = bob_client.get(detail_url(running["id"])).content.decode()
    assert "every 3s" in body and "data-live" in body
    done = sim_execution(kodexa, "status:'SUCCEEDED'")
    body = bob_client.get(detail_url(done["id"])).content.decode()
    assert "every 3s" not in body


def test_live_fragment_has_status_and_messages(bob_client, kodexa):
    running = sim_execution(kodexa, "status:'RUNNING'")
    response = bob_client.get(detail_url(running["id"]), {"part": "live"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="live"')
    assert 'id="head-status" hx-swap-oob="true"' in body
    assert "Status messages" in body


def test_child_and_parent_links(bob_client, kodexa):
    child = sim_execution(kodexa, "parentExecutionId>'0'")
    body = bob_client.get(detail_url(child["id"])).content.decode()
    assert f'href="{detail_url(child["parentExecutionId"])}"' in body
    children = bob_client.get(detail_url(child["parentExecutionId"]), {"part": "children"})
    assert children.status_code == 200
    if sim_cannot_filter_on(kodexa, "parentExecutionId"):  # this tenant cannot be asked: the page says why
        assert 'data-testid="children-unsupported"' in children.content.decode()
        return
    assert f'href="{detail_url(child["id"])}"' in children.content.decode()


def test_warm_cache_detail_costs_one_upstream_call(bob_client, kodexa):
    execution = sim_execution(kodexa, "status:'SUCCEEDED'")
    bob_client.get(detail_url(execution["id"]))
    reset_calls(kodexa)
    response = bob_client.get(detail_url(execution["id"]))
    assert response.status_code == 200
    calls = kodexa.control.calls()
    assert calls["total"] == 1, calls
    assert calls["by_route"].get("GET /api/executions/{id}") == 1


def test_execution_with_missing_fields_and_unknown_status_renders(bob_client, kodexa):
    created = kodexa.control.add_execution(status="WEIRD_NEW_STATUS", description=None, startDate=None,
                                           pipeline=None, statusDetails=None, targets=None, context=None,
                                           _sim={"lifecycle": False})
    response = bob_client.get(detail_url(created["id"]))
    assert response.status_code == 200
    assert "WEIRD_NEW_STATUS" in response.content.decode()


def test_kodexa_ui_link_when_configured(bob_client, kodexa, settings):
    execution = sim_execution(kodexa, "status:'SUCCEEDED'")
    settings.KODEXA_UI_URL = "https://platform.example.com/"
    body = bob_client.get(detail_url(execution["id"])).content.decode()
    assert f'href="https://platform.example.com/executions/{execution["id"]}"' in body


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        ({"status": 503, "times": -1}, 502),
        ({"mode": "malformed", "times": -1}, 502),
        ({"status": 401, "times": -1}, 503),
        ({"mode": "timeout", "delay_ms": 3000, "times": -1}, 504),
    ],
)
def test_detail_upstream_failures(bob_client, kodexa, settings, fault, status):
    settings.KODEXA_READ_TIMEOUT = 0.5
    execution = sim_execution(kodexa, "status:'SUCCEEDED'")
    kodexa.control.add_fault("GET /api/executions/*", **fault)
    response = bob_client.get(detail_url(execution["id"]))
    assert response.status_code == status
    body = response.content.decode()
    assert "Traceback" not in body and kodexa.api_key not in body
    assert 'class="app-header"' in body


def test_a_deeply_nested_context_is_summarised_not_a_server_error(bob_client, kodexa):
    """The parser takes JSON nested up to 1,024 levels, deeper than Python's recursion allows to pretty-print
    it (the stand-in itself cannot hold such a payload, hence the wire-level stub)."""
    execution_id = "0f6c1e9a-3a7d-4c1e-9f0e-2b8f6d7a1c77"
    context = '{"level":' * 1000 + '"bottom"' + "}" * 1000
    body = f'{{"id":"{execution_id}","status":"FAILED","context":{context}}}'
    with responses.RequestsMock() as mock:
        mock.get(f"{kodexa.url}/api/executions/{execution_id}", body=body, content_type="application/json")
        response = bob_client.get(detail_url(execution_id))
    assert response.status_code == 200
    assert response.content.decode().count("too deeply nested to show") == 2  # context and raw JSON


def test_ids_from_kodexa_that_are_not_ids_are_shown_not_linked(bob_client, kodexa):
    """A lying upstream must not turn into a 500: only UUID-shaped ids have a page here."""
    parent = kodexa.control.add_execution(status="SUCCEEDED", _sim={"lifecycle": False})
    child = kodexa.control.add_execution(status="FAILED", parentExecutionId="not-a-uuid <b>",
                                         _sim={"lifecycle": False})
    response = bob_client.get(detail_url(child["id"]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Not an execution id: not-a-uuid &lt;b&gt;" in body
    assert "data-parent-link" not in body
    bogus = kodexa.control.add_execution(id="bogus-child", status="RUNNING", parentExecutionId=parent["id"],
                                         _sim={"lifecycle": False})
    assert bogus["id"] == "bogus-child"
    children = bob_client.get(detail_url(parent["id"]), {"part": "children"})
    assert children.status_code == 200
    if not sim_cannot_filter_on(kodexa, "parentExecutionId"):
        assert "Not an execution id: bogus-child" in children.content.decode()


def test_live_fragment_shows_the_status_messages(bob_client, kodexa):
    running = sim_execution(kodexa, "status:'RUNNING'")
    posted = requests.post(f"{kodexa.url}/api/executions/{running['id']}/status-messages",
                           json={"title": "Waiting for <OCR> worker", "type": "WAITING"},
                           headers={"x-api-key": kodexa.api_key}, timeout=5)
    assert posted.status_code == 201, posted.text
    body = bob_client.get(detail_url(running["id"]), {"part": "live"}).content.decode()
    assert "Waiting for &lt;OCR&gt; worker" in body


def test_a_failed_execution_says_why_first(bob_client, kodexa):
    import html

    failed = next(e for e in sim_executions(kodexa, "status:'FAILED'")
                  if (e.get("exceptionDetails") or {}).get("message"))
    body = bob_client.get(detail_url(failed["id"])).content.decode()
    why = body.split('data-testid="why-failed"', 1)[1].split("</article>", 1)[0]
    assert html.escape(failed["exceptionDetails"]["message"][:40]) in why
    assert body.index('data-testid="why-failed"') < body.index('<dl class="summary panel">')  # before the rest
    succeeded = sim_execution(kodexa, "status:'SUCCEEDED'")
    assert 'data-testid="why-failed"' not in bob_client.get(detail_url(succeeded["id"])).content.decode()
