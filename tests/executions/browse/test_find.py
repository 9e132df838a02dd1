"""Finding executions on the list: status chips with shared counts, relative time presets, short ids, the bulk
bar's "all matching" button."""

from __future__ import annotations

import html
import re
import time

import pytest
from django.urls import reverse

from executions.browse import selectors
from executions.browse.query import ExecutionQuery, id_prefix
from executions.dashboards.models import Dashboard, SavedView
from executions.kodexa import KodexaServerError
from executions.upstream import cache
from tests.helpers import reset_calls, sim_executions, upstream_calls

pytestmark = pytest.mark.django_db
URL = reverse("executions:list")


def _chips(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Status value -> the count shown on its chip."""
    nav = response.content.decode().split('class="status-chips"', 1)[1].split("</nav>", 1)[0]
    found = re.findall(r'data-status="([A-Z_]+)".*?<span class="chip-count">(?:<span[^>]*>)?([^<]*)<', nav)
    return dict(found)


@pytest.fixture
def clock(monkeypatch):  # type: ignore[no-untyped-def]
    state = {"offset": 0.0}
    monkeypatch.setattr(cache, "wall_clock", lambda: time.time() + state["offset"])
    return state


# --- chips --------------------------------------------------------------------------------------------

def test_chips_count_each_status_within_the_other_filters(bob_client, kodexa):
    assistant = sim_executions(kodexa, "status:'FAILED'")[0]["assistantId"]
    response = bob_client.get(URL, {"assistant": assistant, "status": "RUNNING"})
    chips = _chips(response)
    assert len(chips) == 10
    mine = sim_executions(kodexa, f"assistantId:'{assistant}'")
    for status in ("FAILED", "RUNNING", "SUCCEEDED"):
        truth = sum(1 for e in mine if e["status"] == status)
        assert chips[status] == f"{truth:,}", status  # the status filter itself does not narrow the counts


def test_a_chip_toggles_its_status_and_keeps_the_other_filters(bob_client, kodexa):
    body = bob_client.get(URL, {"status": "FAILED", "sort": "createdOn,asc"}).content.decode()
    failed = re.search(r'<a href="/executions/\?([^"]*)" class="chip[^"]*active[^"]*" data-status="FAILED"[^>]*'
                       r'aria-current="true"', body)
    running = re.search(r'<a href="/executions/\?([^"]*)" class="chip[^"]*" data-status="RUNNING"', body)
    assert failed and html.unescape(failed.group(1)) == "sort=createdOn%2Casc"  # pressed: removes it
    assert running and html.unescape(running.group(1)) == "status=FAILED&status=RUNNING&sort=createdOn%2Casc"
    live = bob_client.get(URL, {"status": "FAILED", "live": "1"}, HTTP_HX_REQUEST="true").content.decode()
    assert '<a href="/executions/?status=FAILED&amp;status=RUNNING&amp;live=1"' in live  # the live refresh stays on
    alone = bob_client.get(URL, {"status": "FAILED"}).content.decode()
    assert '<a href="/executions/" class="chip tone-danger active"' in alone  # the bare list, no stray "?"


def test_zero_counts_are_quiet(bob_client, kodexa):
    body = bob_client.get(URL, {"assistant": "no-such-assistant"}).content.decode()
    assert re.search(r'class="chip tone-danger zero" data-status="FAILED"', body)
    assert "badge" not in body.split('class="status-chips"', 1)[1].split("</nav>", 1)[0]


def test_two_consecutive_views_the_second_costs_one_call(bob_client, alice_client, kodexa, clock):
    bob_client.get(URL)  # cold: the page, the assistants, names and one count per status
    reset_calls(kodexa)
    assert alice_client.get(URL).status_code == 200  # another viewer, within the refresh window
    assert kodexa.control.calls()["total"] == 1
    # Past the refresh window, an opened page still takes the counts as they are (and says how old)...
    clock["offset"] = 11
    reset_calls(kodexa)
    assert "counts from 11 s ago" in bob_client.get(URL).content.decode()
    assert upstream_calls(kodexa) == 1
    # ...while the live refresh reads them again: once, for every viewer.
    reset_calls(kodexa)
    live = {"live": "1"}
    assert "counts from" not in bob_client.get(URL, live, HTTP_HX_REQUEST="true").content.decode()
    assert upstream_calls(kodexa) == 11
    reset_calls(kodexa)
    alice_client.get(URL, live, HTTP_HX_REQUEST="true")
    alice_client.get(URL)
    assert upstream_calls(kodexa) == 2
    clock["offset"] = 11 + 61  # a minute on, an opened page refreshes them too (and the runs chart, its one read)
    reset_calls(kodexa)
    bob_client.get(URL)
    assert upstream_calls(kodexa) == 1 + 10 + 1


def test_a_single_status_chip_says_what_the_table_says(bob_client, kodexa, clock):
    bob_client.get(URL)
    kodexa.control.add_execution(status="FAILED", description="one more failure", _sim={"lifecycle": False})
    response = bob_client.get(URL, {"status": "FAILED"})  # the counts are cached; the page is new
    truth = len(sim_executions(kodexa, "status:'FAILED'"))
    assert _chips(response)["FAILED"] == f"{truth:,}"
    assert f"{truth:,} executions match" in response.content.decode()


def test_a_moving_window_keeps_one_count_entry(bob_client, kodexa, clock):
    bob_client.get(URL, {"created_within_hours": 24})
    clock["offset"] = 5  # the window's start moved five seconds; the counts are still fresh
    reset_calls(kodexa)
    bob_client.get(URL, {"created_within_hours": 24})
    assert upstream_calls(kodexa) == 1


def test_a_failing_count_shows_a_dash_and_the_list_stands(bob_client, kodexa, monkeypatch):
    real = selectors.tenant_list_executions

    def flaky(**kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("page_size") == 1:
            raise KodexaServerError("count refused", status=500)
        return real(**kwargs)

    monkeypatch.setattr(selectors, "tenant_list_executions", flaky)
    response = bob_client.get(URL)
    assert response.status_code == 200
    assert set(_chips(response).values()) == {"—"}
    assert re.findall(r'<tr data-execution-id="', response.content.decode())


# --- time presets -------------------------------------------------------------------------------------

def test_the_preset_is_the_visible_control(bob_client, kodexa):
    body = bob_client.get(URL, {"created_within_hours": 24}).content.decode()
    assert re.search(r'<option value="24" selected>Last 24 hours</option>', body)
    assert "<details class=\"custom-range\" data-custom-range>" in body  # folded: no custom dates


def test_a_preset_drops_the_custom_dates_and_custom_drops_the_preset(bob_client, kodexa):
    both = {"created_within_hours": "24", "created_after": "2026-01-01T00:00", "created_before": ""}
    response = bob_client.get(URL, both)
    assert response.status_code == 302 and response["Location"] == f"{URL}?created_within_hours=24"
    custom = {"created_within_hours": "custom", "created_after": "2026-01-01T00:00"}
    response = bob_client.get(URL, custom)
    assert response["Location"] == f"{URL}?created_after=2026-01-01T00%3A00Z"
    body = bob_client.get(response["Location"]).content.decode()
    assert '<option value="custom" selected>Custom range</option>' in body
    assert "data-custom-range open" in body


def test_a_window_from_a_file_is_offered_as_it_is(bob_client, kodexa):
    body = bob_client.get(URL, {"created_within_hours": 48}).content.decode()
    assert '<option value="48" selected>Last 2 days</option>' in body
    body = bob_client.get(URL, {"created_within_hours": 5}).content.decode()
    assert '<option value="5" selected>Last 5 hours</option>' in body


def test_a_saved_last_24_hours_view_stays_relative(alice_client, kodexa):
    params = ExecutionQuery(created_within_hours=24).querystring()
    alice_client.post(reverse("dashboards:view_create"), {"name": "Last day", "params": params, "team": ""})
    saved = SavedView.objects.get(name="Last day")
    assert saved.view == {"created_within_hours": 24}
    opened = alice_client.get(reverse("dashboards:view_open", args=[saved.pk]))
    assert opened.status_code == 302 and opened["Location"] == f"{URL}?created_within_hours=24"
    body = alice_client.get(opened["Location"]).content.decode()
    assert '<option value="24" selected>Last 24 hours</option>' in body


def test_a_widget_takes_the_preset(alice_client, team, kodexa):
    board = Dashboard.objects.create(name="Ops", team=team, refresh_seconds=30)
    edit = alice_client.get(reverse("dashboards:edit", args=[board.pk])).content.decode()
    assert 'name="f-created_within_hours"' in edit and "Last 7 days" in edit
    alice_client.post(reverse("dashboards:widget_add", args=[board.pk]),
                      {"title": "Week", "kind": "count", "limit": 10, "f-created_within_hours": "168",
                       "f-created_after": "2026-01-01T00:00"})
    assert board.widgets.get().view == {"created_within_hours": 168}


# --- short ids ----------------------------------------------------------------------------------------

def test_id_prefix_rules():
    assert id_prefix("3F2A9C1E") == "3f2a9c1e"
    assert id_prefix(" 3f2a9c1e-12 ") == "3f2a9c1e-12"
    assert id_prefix("3f2a9c1") is None  # too short
    assert id_prefix("3f2a9c1e12") is None  # not where a UUID has its dash
    assert id_prefix("invoices") is None
    assert id_prefix("3f2a9c1e-1234-4678-9abc-def012345678") is None  # a whole id opens it


def test_a_short_id_opens_its_execution_in_one_call(bob_client, kodexa):
    newest = sim_executions(kodexa, page_size=5)[2]
    bob_client.get(URL)  # names cached
    reset_calls(kodexa)
    response = bob_client.get(URL, {"q": newest["id"][:8].upper()})
    assert response.status_code == 302
    assert response["Location"] == reverse("executions:detail", args=[newest["id"]])
    assert upstream_calls(kodexa) == 1


def test_a_short_id_nobody_has_says_where_it_looked(bob_client, kodexa, monkeypatch):
    ids = {e["id"][:8] for e in sim_executions(kodexa)}
    missing = next(p for p in (f"{n:08x}" for n in range(1000)) if p not in ids)
    body = bob_client.get(URL, {"q": missing}).content.decode()
    assert f"No execution has an id starting with <code>{missing}</code>" in body  # it saw them all
    monkeypatch.setattr(selectors, "ID_PREFIX_SCAN", 50)  # a tenant with more executions than one read takes
    response = bob_client.get(URL, {"q": missing})
    assert response.status_code == 200
    body = response.content.decode()
    assert f"No execution in the latest 50 has an id starting with <code>{missing}</code>" in body
    assert "Paste the full id" in body


def test_an_ambiguous_short_id_lists_the_candidates(bob_client, kodexa):
    first = kodexa.control.add_execution(id="abcdef12-0000-4000-8000-000000000001", status="SUCCEEDED",
                                         description="twin one")
    second = kodexa.control.add_execution(id="abcdef12-0000-4000-8000-000000000002", status="FAILED",
                                          description="twin two")
    response = bob_client.get(URL, {"q": "abcdef12"})
    assert response.status_code == 200
    body = response.content.decode()
    assert sorted(re.findall(r'<tr data-execution-id="([0-9a-f-]{36})"', body)) == sorted([first["id"], second["id"]])
    assert "2 executions have an id starting with <code>abcdef12</code>" in body


def test_a_short_text_is_a_text_search(bob_client, kodexa):
    response = bob_client.get(URL, {"q": "abcdef1"})
    assert response.status_code in (200, 400)  # a tenant without text search says so
    assert "starting with" not in response.content.decode()


# --- bulk bar -----------------------------------------------------------------------------------------

def test_the_bulk_bar_offers_all_matching_with_the_cap(alice_client, kodexa, roles):
    response = alice_client.get(URL, {"status": ["RUNNING", "PENDING", "SUCCEEDED"]})
    body = response.content.decode()
    total = len(sim_executions(kodexa, "status:'RUNNING' or status:'PENDING' or status:'SUCCEEDED'"))
    form = body.split('id="bulk-form"', 1)[1].split("</form>", 1)[0]
    matching = re.search(r'<input type="hidden" name="matching" value="([^"]*)">', form)
    assert matching and html.unescape(matching.group(1)) == "status=RUNNING&status=PENDING&status=SUCCEEDED"
    button = re.search(r'<button type="submit" name="scope" value="matching"[^>]*>([^<]*)</button>', form)
    assert button, "the 'all matching' button is in the bulk form"
    cap = " (first 100)" if total > 100 else ""
    assert button.group(1) == f"Select all {total:,} matching{cap}"
    assert 'action="/executions/bulk-cancel/"' in body.split('id="bulk-form"')[0].rsplit("<form", 1)[1]


def test_no_all_matching_without_a_filter(alice_client, kodexa, roles):
    body = alice_client.get(URL).content.decode()
    assert 'value="matching"' not in body and "data-bulk-bar" in body
    assert '<input type="hidden" name="matching" value="">' in body
