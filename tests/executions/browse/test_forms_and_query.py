from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.http import QueryDict

from executions.browse.forms import ExecutionFilterForm
from executions.browse.query import ExecutionQuery, is_execution_id
from executions.kodexa import AnyOf, Assistant, Equals, ExecutionStatus, FilterDialect, build_filter


def _form(query: str) -> ExecutionFilterForm:
    return ExecutionFilterForm(QueryDict(query), assistants=[Assistant(id="a-1", name="Invoices")])


def test_empty_form_is_the_default_query():
    form = _form("")
    assert form.is_valid(), form.errors
    assert form.to_query() == ExecutionQuery()


def test_full_form_round_trips_through_the_url():
    form = _form("status=RUNNING&status=FAILED&assistant=a-1&q=invoice&created_after=2026-01-01T10:00"
                 "&created_before=2026-01-02T00:00&sort=startDate,desc&page_size=50&page=3")
    assert form.is_valid(), form.errors
    query = form.to_query()
    assert query.statuses == (ExecutionStatus.RUNNING, ExecutionStatus.FAILED)
    assert query.created_after == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    again = _form(query.querystring())
    assert again.is_valid(), again.errors
    assert again.to_query() == query


def test_dates_are_read_as_utc_whatever_the_server_zone(settings):
    settings.TIME_ZONE = "America/New_York"
    form = _form("created_after=2026-03-01T12:00")
    assert form.is_valid()
    assert form.to_query().created_after == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["0f6c1e9a-3a7d-4c1e-9f0e-2b8f6d7a1c01", " 0F6C1E9A-3A7D-4C1E-9F0E-2B8F6D7A1C01 "])
def test_a_pasted_id_is_recognised(text):
    form = _form(f"q={text}")
    assert form.pasted_execution_id == "0f6c1e9a-3a7d-4c1e-9f0e-2b8f6d7a1c01"


@pytest.mark.parametrize("text", ["invoice", "0f6c1e9a", "0f6c1e9a-3a7d-4c1e-9f0e-2b8f6d7a1c01 extra"])
def test_other_text_is_a_search(text):
    assert _form(f"q={text}").pasted_execution_id is None


def test_clauses_for_several_statuses_and_an_assistant():
    query = ExecutionQuery(statuses=(ExecutionStatus.RUNNING, ExecutionStatus.FAILED), assistant_id="a-1")
    clauses = query.clauses()
    assert isinstance(clauses[0], AnyOf) and isinstance(clauses[1], Equals)
    rendered = build_filter(clauses, FilterDialect.SPRING)
    assert rendered == "(status:'RUNNING' or status:'FAILED') and assistantId:'a-1'"


def test_relative_window_becomes_an_absolute_bound():
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    rendered = build_filter(ExecutionQuery(created_within_hours=24).clauses(now=now), FilterDialect.SPRING)
    assert rendered == f"createdOn>'{(now - timedelta(hours=24)).strftime('%Y-%m-%dT%H:%M:%SZ')}'"


def test_to_view_is_the_dashboard_json_form():
    query = ExecutionQuery(statuses=(ExecutionStatus.FAILED,), created_within_hours=24, sort="createdOn,asc")
    assert query.to_view() == {"status": ["FAILED"], "created_within_hours": 24, "sort": "createdOn,asc"}


@pytest.mark.parametrize(("value", "expected"), [
    ("0f6c1e9a-3a7d-4c1e-9f0e-2b8f6d7a1c01", True), ("0f6c1e9a3a7d4c1e9f0e2b8f6d7a1c01", False),
    ("../etc/passwd", False), ("", False)])
def test_is_execution_id(value, expected):
    assert is_execution_id(value) is expected


def test_filter_selects_mark_the_choice_escape_names_and_keep_their_attributes():
    form = ExecutionFilterForm(QueryDict("assistant=a-2&page_size=100&q=%3C"), assistants=[
        Assistant(id="a-1", name='Invoices "EU" <script>'), Assistant(id="a-2", name="Contracts")])
    assert form.is_valid()
    assistant = str(form["assistant"])
    assert assistant.startswith('<select name="assistant" data-apply-on-pick id="id_assistant">')
    assert '<option value="a-2" selected>Contracts</option>' in assistant
    assert '<option value="a-1">Invoices &quot;EU&quot; &lt;script&gt;</option>' in assistant
    assert '<option value="" >' not in assistant and '<option value="">All assistants</option>' in assistant
    assert '<option value="100" selected>100</option>' in str(form["page_size"])
    unbound = ExecutionFilterForm()
    assert '<option value="createdOn,desc" selected>' in str(unbound["sort"])  # the initial value


# --- ExecutionQuery.from_params: the one place for the rules ---------------------------------------------


def test_from_params_reads_every_filter_from_a_querydict_or_a_mapping():
    from django.http import QueryDict

    from executions.browse.query import ExecutionQuery
    from executions.kodexa import ExecutionStatus

    text = ("status=FAILED&status=RUNNING&status=FAILED&assistant=a-1&q=+invoice+&created_after=2026-01-01T10:00"
            "&created_within_hours=24&sort=createdOn,asc&page_size=50&page=3&unknown=x")
    for params in (QueryDict(text), {k: v for k, v in QueryDict(text).lists()}):
        query, errors = ExecutionQuery.from_params(params)
        assert errors == {}
        assert query.statuses == (ExecutionStatus.FAILED, ExecutionStatus.RUNNING)  # a repeat is one filter
        assert (query.assistant_id, query.text, query.created_within_hours) == ("a-1", "invoice", 24)
        assert query.created_after.isoformat() == "2026-01-01T10:00:00+00:00"  # no offset: UTC
        assert (query.sort, query.page_size, query.page) == ("createdOn,asc", 50, 3)


def test_from_params_names_every_bad_parameter_and_keeps_the_good_ones():
    from executions.browse.query import ExecutionQuery
    from executions.kodexa import ExecutionStatus

    query, errors = ExecutionQuery.from_params({
        "status": ["FAILED", "EXPLODED"], "assistant": "bad id!", "q": "x\x01", "created_after": "yesterday",
        "created_within_hours": "0", "sort": "nope", "page_size": "7", "page": "abc"})
    assert set(errors) == {"status", "assistant", "q", "created_after", "created_within_hours", "sort", "page_size",
                           "page"}
    assert errors["created_after"] == ["Enter a valid date/time."]
    assert errors["sort"] == ["Select a valid choice. nope is not one of the available choices."]
    assert query.statuses == (ExecutionStatus.FAILED,)


def test_from_params_orders_the_dates_and_bounds_them():
    from executions.browse.query import OUT_OF_RANGE, ExecutionQuery

    _, errors = ExecutionQuery.from_params({"created_after": "2026-02-01", "created_before": "2026-01-01"})
    assert errors == {"created_before": ["Must be later than “created after”."]}
    _, errors = ExecutionQuery.from_params({"created_after": "0001-01-01T00:00:00+05:00"})
    assert errors == {"created_after": [OUT_OF_RANGE]}


def test_no_progress_is_a_relative_filter_kept_as_such_in_views():
    from datetime import UTC, datetime

    from executions.browse.query import ExecutionQuery
    from executions.dashboards.io import view_to_query
    from executions.kodexa import FilterDialect, build_filter

    query, errors = ExecutionQuery.from_params({"stalled": "30"})
    assert errors == {} and query.stalled_minutes == 30
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert build_filter(query.clauses(now=now), FilterDialect.SPRING) == \
        "status:'RUNNING' and updatedOn<'2026-03-01T11:30:00Z'"
    assert view_to_query(query.to_view()) == query and query.to_view() == {"stalled": 30}
    _, errors = ExecutionQuery.from_params({"stalled": "0"})
    assert "stalled" in errors
