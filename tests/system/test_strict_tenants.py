"""The panel against a stand-in that is strict where Kodexa's public sources disagree, with every setting on `auto`.

Each strict tenant reads one form of each thing; a wrong guess would show the wrong rows or an error. With no
setting changed, a support person filters, sorts, pages without repeats or gaps, searches (or is told search is
unavailable), sees a parent's children (or is told why not), and cancels.
"""

from __future__ import annotations

import re
import secrets

import pytest
from django.core.management import call_command
from django.urls import reverse

from executions.audit.models import AuditEvent
from executions.upstream.circuit import circuit_state
from executions.upstream.tenant import tenant_forms
from tests.helpers import reset_calls, sim_get
from tests.sim_fixtures import SIM_TENANTS

pytestmark = pytest.mark.django_db

TENANTS = SIM_TENANTS


@pytest.fixture(params=list(TENANTS), ids=list(TENANTS))
def tenant(request, sim, settings):  # type: ignore[no-untyped-def]
    """The stand-in made strict, the panel pointed at it with every form on auto (the defaults)."""
    sim.control.configure(**TENANTS[request.param])
    settings.KODEXA_URL, settings.KODEXA_API_KEY = sim.url, sim.api_key
    assert (settings.KODEXA_FILTER_DIALECT, settings.KODEXA_SORT_SEPARATOR, settings.KODEXA_PAGE_BASE) == (
        "auto", "auto", "auto")
    yield request.param, sim
    sim.control.reset()


def _all(sim):  # type: ignore[no-untyped-def]
    """The truth, newest first, read straight from the stand-in without filters (valid in every mode)."""
    items = sim_get(sim, "/api/executions", pageSize=1000)["content"]
    return sorted(items, key=lambda e: (e["createdOn"], e["id"]), reverse=True)


def _row_ids(body: str) -> list[str]:
    return re.findall(r'<tr data-execution-id="([0-9a-f-]{36})"', body)


def test_filter_by_status_and_assistant(tenant, bob_client):
    _, sim = tenant
    truth = _all(sim)
    assistant = next(e["assistantId"] for e in truth if e["status"] == "FAILED" and e.get("assistantId"))
    expected = [e["id"] for e in truth if e["status"] == "FAILED" and e.get("assistantId") == assistant][:20]
    response = bob_client.get(reverse("executions:list"), {"status": "FAILED", "assistant": assistant})
    assert response.status_code == 200, response.content.decode()[-1500:]
    assert _row_ids(response.content.decode()) == expected and expected


def test_sort_and_page_through_without_repeats_or_gaps(tenant, bob_client):
    _, sim = tenant
    truth = _all(sim)
    oldest_first = sorted(truth, key=lambda e: (e["createdOn"], e["id"]))
    seen = []
    for page in (1, 2, 3):
        params = {"sort": "createdOn,asc", "page_size": 50, **({"page": page} if page > 1 else {})}
        response = bob_client.get(reverse("executions:list"), params)
        assert response.status_code == 200, response
        seen += _row_ids(response.content.decode())
    assert len(seen) == len(set(seen)) == 150
    assert seen == [e["id"] for e in oldest_first[:150]]


def test_search_narrows_or_says_it_cannot(tenant, bob_client):
    name, sim = tenant
    truth = _all(sim)
    word = "invoice"
    response = bob_client.get(reverse("executions:list"), {"q": word, "page_size": 200})
    body = response.content.decode()
    if TENANTS[name].get("filter_dialect") == "eq" and TENANTS[name].get("query_search") == "off":
        # No text search and no way to say "contains" in this dialect: said plainly, no rows shown as matches.
        assert response.status_code == 400 and "Text search unavailable" in body and not _row_ids(body)
        return
    assert response.status_code == 200
    matching = {e["id"] for e in truth if word in (e.get("description") or "").lower()}
    shown = set(_row_ids(body))
    assert shown and shown <= matching | {e["id"] for e in truth if word in e["id"]}
    assert len(shown) < len(truth)  # it narrowed


def test_a_parents_children_or_why_not(tenant, bob_client):
    name, sim = tenant
    truth = _all(sim)
    parent = next(e["parentExecutionId"] for e in truth if e.get("parentExecutionId"))
    children = {e["id"] for e in truth if e.get("parentExecutionId") == parent}
    response = bob_client.get(reverse("executions:detail", args=[parent]), {"part": "children"})
    assert response.status_code == 200
    body = response.content.decode()
    if "parentExecutionId" in TENANTS[name].get("unfilterable", []):
        assert 'data-testid="children-unsupported"' in body
    else:
        assert set(re.findall(r'/executions/([0-9a-f-]{36})/', body)) == children


@pytest.mark.parametrize("tenant", ["spring-nosearch-no-parent-filter"], indirect=True)
def test_a_tenant_that_cannot_filter_on_the_parent_never_opens_the_breaker(tenant, bob_client):
    _, sim = tenant
    parent = next(e["parentExecutionId"] for e in _all(sim) if e.get("parentExecutionId"))
    for _ in range(10):
        page = bob_client.get(reverse("executions:detail", args=[parent]))
        part = bob_client.get(reverse("executions:detail", args=[parent]), {"part": "children"})
        assert page.status_code == 200 and part.status_code == 200
    assert circuit_state() == "closed"


def test_cancel(tenant, alice_client):
    _, sim = tenant
    running = sim.control.add_execution(status="RUNNING", _sim={"lifecycle": False})["id"]
    response = alice_client.post(reverse("executions:cancel", args=[running]),
                                 {"reason_category": "stuck", "reason": "strict", "token": secrets.token_hex(12)})
    assert response.status_code == 302
    assert [e.action for e in AuditEvent.objects.filter(execution_id=running).order_by("id")] == [
        "cancel.requested", "cancel.succeeded"]


def test_kodexa_check_names_what_it_found(tenant, capsys):
    name, _ = tenant
    call_command("kodexa_check")
    out = capsys.readouterr().out
    config = TENANTS[name]
    dialect = config["filter_dialect"]
    assert f"filter dialect: {dialect} (set KODEXA_FILTER_DIALECT={dialect} to skip detection)" in out
    if "sort_separator" in config:
        sep = config["sort_separator"]
        assert f"sort separator: {sep} (set KODEXA_SORT_SEPARATOR={sep} to skip detection)" in out
    if "page_base" in config:
        base = config["page_base"]
        assert f"page base: {base} (set KODEXA_PAGE_BASE={base} to skip detection)" in out
    assert ("free-text search: honoured" in out) == (config["query_search"] == "on")


def test_what_was_found_is_asked_once_and_shared(tenant):
    _, sim = tenant
    reset_calls(sim)
    first = tenant_forms()
    asked = sim.control.calls()["total"]
    assert asked > 0 and tenant_forms() == first and sim.control.calls()["total"] == asked


@pytest.mark.parametrize("tenant", ["spring-comma-base1"], indirect=True)
def test_a_tenant_that_changes_is_asked_again_after_it_refuses_a_list(tenant, bob_client):
    _, sim = tenant
    filtered = {"status": "FAILED"}
    assert bob_client.get(reverse("executions:list"), filtered).status_code == 200  # found out: spring
    sim.control.configure(filter_dialect="eq", sort_separator=":")  # the tenant is upgraded overnight
    refused = bob_client.get(reverse("executions:list"), filtered)
    assert refused.status_code == 400 and "Kodexa does not accept this filter" in refused.content.decode()
    assert circuit_state() == "closed"
    again = bob_client.get(reverse("executions:list"), filtered)
    assert again.status_code == 200 and _row_ids(again.content.decode())


@pytest.mark.parametrize("tenant", ["eq-colon-base0-nosearch-legacy"], indirect=True)
def test_a_legacy_error_body_is_shown_as_the_tenant_sent_it(tenant, bob_client):
    """`message` and the incident id of a legacy body reach the page; a problem's `instance` never does."""
    _, sim = tenant
    bob_client.get(reverse("executions:list"))  # what the tenant reads is found out first
    sim.control.add_fault("GET /api/executions", status=409, times=-1,
                          body={"message": "Index rebuild in progress", "errors": {"filter": "try later"},
                                "incidentId": "INC-4711"})
    body = bob_client.get(reverse("executions:list"), {"status": "RUNNING"}).content.decode()
    assert "Kodexa said: “Index rebuild in progress”" in body and "Incident INC-4711." in body
    sim.control.clear_faults()
    sim.control.add_fault("GET /api/executions", status=409, times=-1,
                          body={"type": "about:blank", "title": "Conflict", "instance": "/api/executions/secret"})
    body = bob_client.get(reverse("executions:list"), {"status": "FAILED"}).content.decode()
    assert "Kodexa said: “Conflict”" in body and "Incident" not in body and "/api/executions/secret" not in body
