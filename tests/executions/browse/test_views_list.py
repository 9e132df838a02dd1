"""The /executions/ list against the live stand-in: filters, names, paging, bad input and bad upstream."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.helpers import reset_calls, sim_execution, sim_executions, upstream_calls

pytestmark = pytest.mark.django_db
URL = reverse("executions:list")


def _row_ids(response) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r'data-execution-id="([0-9a-f-]{36})"', response.content.decode())


def test_it_requires_login(client, kodexa):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_lists_the_newest_executions_with_totals(bob_client, kodexa):
    response = bob_client.get(URL)
    assert response.status_code == 200
    expected = [e["id"] for e in sim_executions(kodexa, page_size=20)]
    assert _row_ids(response) == expected
    assert "page 1 of" in response.content.decode()


def test_status_filter_is_applied_upstream(bob_client, kodexa):
    response = bob_client.get(URL, {"status": ["FAILED", "CANCELLED"]})
    assert response.status_code == 200
    ids = _row_ids(response)
    assert ids
    wanted = {e["id"] for e in sim_executions(kodexa, "status:'FAILED' or status:'CANCELLED'")}
    assert set(ids) <= wanted
    rows = response.content.decode().split("list-table", 1)[1]  # the chips and the chart name every status
    assert 'data-status="RUNNING"' not in rows


def test_assistant_filter_shows_names_not_ids(bob_client, kodexa):
    execution = sim_execution(kodexa, "status:'SUCCEEDED'")
    response = bob_client.get(URL, {"assistant": execution["assistantId"]})
    assert response.status_code == 200
    ids = _row_ids(response)
    expected = {e["id"] for e in sim_executions(kodexa, f"assistantId:'{execution['assistantId']}'")}
    assert ids and set(ids) <= expected
    from tests.helpers import sim_get

    name = sim_get(kodexa, f"/api/assistants/{execution['assistantId']}")["name"]
    assert name in response.content.decode()


def test_pasting_an_execution_id_opens_it(bob_client, kodexa):
    execution = sim_execution(kodexa, "status:'RUNNING'")
    response = bob_client.get(URL, {"q": f"  {execution['id'].upper()} "})
    assert response.status_code == 302
    assert response["Location"] == reverse("executions:detail", args=[execution["id"]])


def _cannot_search() -> bool:
    """This tenant ignores free text and its dialect cannot say "contains" (a strict stand-in may be one)."""
    from executions.kodexa import FilterDialect
    from executions.upstream.tenant import tenant_forms

    forms = tenant_forms()
    return not forms.query_search and forms.filter_dialect is not FilterDialect.SPRING


def _search_unavailable(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 400 and "Text search unavailable" in response.content.decode()


def test_free_text_search_narrows_the_list(bob_client, kodexa):
    execution = sim_execution(kodexa, "status:'SUCCEEDED'")
    word = execution["description"].split()[0]
    response = bob_client.get(URL, {"q": word})
    if _cannot_search():
        assert _search_unavailable(response) and not _row_ids(response)
        return
    assert response.status_code == 200
    ids = _row_ids(response)
    expected = {e["id"] for e in sim_executions(kodexa)
                if word.lower() in (e.get("description") or "").lower() or word.lower() in e["id"]}
    assert execution["id"] in expected
    assert ids and set(ids) <= expected


@pytest.mark.parametrize(
    "params",
    [
        {"status": "EXPLODED"},
        {"sort": "nonexistentField,desc"},
        {"page_size": "100000"},
        {"page": "0"},
        {"page": "abc"},
        {"created_after": "yesterday"},
        {"created_after": "2026-01-02T00:00", "created_before": "2026-01-01T00:00"},
        {"assistant": "x' or '1'='1"},
        {"q": "bad\x00text"},
    ],
)
def test_invalid_filters_are_form_errors_without_an_upstream_call(bob_client, kodexa, params):
    bob_client.get(URL)  # warm the assistant cache so only the list call could happen
    reset_calls(kodexa)
    response = bob_client.get(URL, params)
    assert response.status_code == 400
    assert "not valid" in response.content.decode()
    assert upstream_calls(kodexa) == 0


def test_hostile_search_text_is_escaped_and_quoted(bob_client, kodexa):
    response = bob_client.get(URL, {"q": "<script>alert(1)</script>' or '1'='1"})
    assert response.status_code == 200 or (_cannot_search() and _search_unavailable(response))
    body = response.content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_seeded_injection_description_is_escaped(bob_client, kodexa):
    response = bob_client.get(URL, {"page_size": 200})
    body = response.content.decode()
    assert "<script>alert(1)</script>" not in body


def test_paging_links_keep_the_filters(bob_client, kodexa):
    response = bob_client.get(URL, {"status": "SUCCEEDED"})
    body = response.content.decode()
    assert 'rel="next"' in body
    assert "status=SUCCEEDED" in re.search(r'href="([^"]+)" rel="next"', body).group(1)
    second = bob_client.get(URL, {"status": "SUCCEEDED", "page": 2})
    assert second.status_code == 200
    assert set(_row_ids(second)).isdisjoint(_row_ids(response))


def test_a_page_past_the_end_is_an_empty_state(bob_client, kodexa):
    response = bob_client.get(URL, {"page": 9999})
    assert response.status_code == 200
    assert "This page is empty" in response.content.decode()


def test_no_match_shows_an_empty_state(bob_client, kodexa):
    response = bob_client.get(URL, {"q": "zzzz-no-such-description-zzzz"})
    if _cannot_search():
        assert _search_unavailable(response)
        return
    assert response.status_code == 200
    assert "No executions match" in response.content.decode()


def test_warm_cache_list_costs_exactly_one_upstream_call(bob_client, kodexa):
    bob_client.get(URL, {"page_size": 50})
    reset_calls(kodexa)
    response = bob_client.get(URL, {"page_size": 50})
    assert response.status_code == 200
    calls = kodexa.control.calls()
    assert calls["total"] == 1, calls
    assert calls["by_route"].get("GET /api/executions") == 1


def test_unknown_assistant_and_family_are_marked_unknown(bob_client, kodexa):
    ghost = "00000000-0000-4000-8000-00000000dead"
    created = kodexa.control.add_execution(assistantId=ghost, documentFamilyId=ghost, status="RUNNING",
                                           description="orphaned execution")
    response = bob_client.get(URL)
    body = response.content.decode()
    assert created["id"] in _row_ids(response)
    assert "(unknown)" in body


def test_a_submitted_form_redirects_to_the_shareable_link(bob_client, kodexa):
    response = bob_client.get(URL, {"q": "", "assistant": "", "status": ["RUNNING", "FAILED"], "page_size": "20",
                                    "sort": "createdOn,desc", "created_after": "", "live": "1"})
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?status=RUNNING&status=FAILED&live=1"
    assert bob_client.get(response["Location"]).status_code == 200


def test_htmx_refresh_returns_only_the_results(bob_client, kodexa):
    response = bob_client.get(URL, {"live": "1"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="results"')
    assert "<html" not in body


@pytest.mark.parametrize(
    ("fault", "status", "text"),
    [
        ({"status": 503, "times": -1}, 502, "internal error"),
        ({"status": 500, "times": 1}, 502, "internal error"),
        ({"mode": "malformed", "times": 1}, 502, "could not understand"),
        ({"mode": "html", "status": 502, "times": -1}, 502, "internal error"),
        ({"mode": "html", "status": 200, "times": -1}, 502, "could not understand"),
        ({"mode": "redirect", "times": 1}, 502, "redirect"),
        ({"mode": "reset", "times": -1}, 502, "cannot reach"),
        ({"status": 429, "times": -1, "headers": {"Retry-After": "1"}}, 503, "rate-limiting"),
    ],
)
def test_upstream_failures_keep_the_layout_and_explain(bob_client, kodexa, fault, status, text):
    # Names warmed with another query: the failure hits the list call, and this query has no last good copy.
    bob_client.get(URL, {"sort": "createdOn,asc"})
    kodexa.control.add_fault("GET /api/executions", **fault)
    response = bob_client.get(URL)
    body = response.content.decode()
    assert response.status_code == status
    assert text in body
    assert 'class="app-header"' in body and "Traceback" not in body
    assert kodexa.api_key not in body
    assert "Retry" in body


def test_refused_key_is_a_misconfigured_page(bob_client, kodexa, settings, caplog):
    settings.KODEXA_API_KEY = "wrong-key-0123456789"
    response = bob_client.get(URL)
    assert response.status_code == 503
    body = response.content.decode()
    assert "Panel misconfigured" in body
    assert "wrong-key-0123456789" not in body
    assert any(r.levelname == "ERROR" and "misconfigured" in r.getMessage() for r in caplog.records)


def test_unconfigured_panel_says_so(bob_client, settings):
    settings.KODEXA_URL = ""
    response = bob_client.get(URL)
    assert response.status_code == 503
    assert "Panel not configured" in response.content.decode()


def test_htmx_refresh_failure_keeps_the_old_rows(bob_client, kodexa):
    bob_client.get(URL)
    kodexa.control.add_fault("GET /api/executions", status=503, times=-1)
    response = bob_client.get(URL, {"live": "1"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Reswap"] == "none"
    assert 'hx-swap-oob="true"' in response.content.decode()


def test_a_failing_kodexa_shows_the_last_good_list_marked_stale(bob_client, kodexa):

    first = bob_client.get(URL)
    rows = re.findall(r'data-execution-id="([^"]+)"', first.content.decode())
    assert rows
    kodexa.control.add_fault("GET /api/executions", status=503, times=-1)
    response = bob_client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="stale-banner"' in body and "showing what the panel last saw" in body
    assert re.findall(r'data-execution-id="([^"]+)"', body) == rows
    other = bob_client.get(URL, {"status": "FAILED"})  # never seen: nothing to fall back on
    assert other.status_code == 502 and "stale-banner" not in other.content.decode()


def test_a_failed_row_says_why_under_its_badge(bob_client, kodexa):
    import html

    failed = [e for e in sim_executions(kodexa, "status:'FAILED'") if (e.get("exceptionDetails") or {}).get("message")]
    assert failed, "the seed has failed executions with an error message"
    response = bob_client.get(URL, {"status": "FAILED", "page_size": 200})
    body = response.content.decode()
    row = body.split(f'<tr data-execution-id="{failed[0]["id"]}"', 1)[1].split("</tr>", 1)[0]
    message = failed[0]["exceptionDetails"]["message"]
    assert 'class="error-title"' in row and html.escape(message[:40]) in row


def _stale_and_fresh(kodexa):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    two_hours_ago = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    stale = kodexa.control.add_execution(status="RUNNING", updatedOn=two_hours_ago, createdOn=two_hours_ago,
                                         description="stale run", _sim={"lifecycle": False})["id"]
    fresh = kodexa.control.add_execution(status="RUNNING", description="fresh run", _sim={"lifecycle": False})["id"]
    return stale, fresh


def test_a_running_execution_without_progress_is_marked_stuck(bob_client, kodexa):
    stale, fresh = _stale_and_fresh(kodexa)
    body = bob_client.get(URL, {"status": "RUNNING", "page_size": 200}).content.decode()
    stale_row = body.split(f'<tr data-execution-id="{stale}"', 1)[1].split("</tr>", 1)[0]
    fresh_row = body.split(f'<tr data-execution-id="{fresh}"', 1)[1].split("</tr>", 1)[0]
    assert stale_row.startswith(' class="row-link stuck"') and "⚠ No progress for 1" in stale_row  # 119 or 120 min
    assert "data-stuck" not in fresh_row and "stuck" not in fresh_row.split(">", 1)[0]


def test_the_no_progress_filter_shows_only_running_executions_quiet_for_that_long(bob_client, kodexa):
    from datetime import UTC, datetime, timedelta

    stale, fresh = _stale_and_fresh(kodexa)
    response = bob_client.get(URL, {"stalled": 60, "page_size": 200})
    assert response.status_code == 200
    shown = _row_ids(response)
    assert stale in shown and fresh not in shown
    cutoff = datetime.now(UTC) - timedelta(minutes=60)
    truth = {e["id"]: e for e in sim_executions(kodexa)}
    for eid in shown:
        assert truth[eid]["status"] == "RUNNING"
        assert datetime.fromisoformat(truth[eid]["updatedOn"].replace("Z", "+00:00")) < cutoff
    assert "No progress for" in response.content.decode() and 'value="60" selected' in response.content.decode()


def test_the_last_update_column_sorts_by_it(bob_client, kodexa):
    body = bob_client.get(URL).content.decode()
    assert 'title="Sort by the last update from Kodexa">Last update</a>' in body
    assert "sort=updatedOn%2Cdesc" in body
    ascending = bob_client.get(URL, {"sort": "updatedOn,asc", "page_size": 50})
    ids = _row_ids(ascending)
    truth = {e["id"]: e["updatedOn"] for e in sim_executions(kodexa)}
    assert [truth[i] for i in ids] == sorted(truth[i] for i in ids)
