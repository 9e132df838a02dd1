"""Finding out what a tenant reads, against the stand-in made strict in every combination, and with fakes for the
answers no stand-in gives (ambiguity, an outage half-way)."""

from __future__ import annotations

import itertools

import pytest

from executions.kodexa import (
    FilterDialect,
    KodexaBadRequest,
    KodexaClient,
    KodexaServerError,
    KodexaTimeout,
    Probe,
    TenantForms,
    detect,
)

ASK_ALL = {"filter_dialect", "sort_separator", "page_base", "query_search"}
COMBINATIONS = list(itertools.product(["spring", "eq"], [",", ":"], [1, 0], ["on", "off"]))


@pytest.fixture
def client(sim):  # type: ignore[no-untyped-def]
    client = KodexaClient(sim.url, sim.api_key, max_retries=0)
    yield client
    client.close()


@pytest.mark.parametrize(("dialect", "separator", "base", "search"), COMBINATIONS,
                         ids=["-".join(map(str, c)) for c in COMBINATIONS])
def test_every_strict_tenant_is_found_out(sim, client, dialect, separator, base, search):
    sim.control.configure(filter_dialect=dialect, sort_separator=separator, page_base=base, query_search=search)
    calls_before = sim.control.calls()["by_route"]
    forms = detect(client.probe_executions, known=TenantForms(), ask=ASK_ALL)
    assert forms == TenantForms(filter_dialect=FilterDialect(dialect), sort_separator=separator, page_base=base,
                                query_search=search == "on"), forms.notes
    assert forms.notes == ()
    calls = sim.control.calls()["by_route"]
    # Only reads were sent to find out, and only on the list route.
    assert {route for route in calls if calls[route] != calls_before.get(route, 0)} == {"GET /api/executions"}
    # And what was found works: a filtered, sorted second page is a page of its own.
    first = client.list_executions(page=1, page_size=5, forms=forms)
    second = client.list_executions(page=2, page_size=5, forms=forms)
    assert first.items and second.items and not {e.id for e in first.items} & {e.id for e in second.items}


def test_a_forgiving_tenant_gets_the_documented_defaults_and_says_it_could_not_tell(sim, client):
    forms = detect(client.probe_executions, known=TenantForms(), ask=ASK_ALL)
    assert forms == TenantForms()  # spring, ",", page 1, search honoured
    assert any("both spring and eq" in note for note in forms.notes)
    assert any("both 'createdOn,desc' and 'createdOn:desc'" in note for note in forms.notes)


def test_only_what_is_asked_is_asked(sim, client):
    sim.control.configure(filter_dialect="eq", sort_separator=":")
    known = TenantForms(filter_dialect=FilterDialect.EQ, sort_separator=":", page_base=1)
    sim.control.clear_calls()
    forms = detect(client.probe_executions, known=known, ask={"query_search"})
    assert forms == known
    assert sim.control.calls()["total"] == 2  # the baseline and the search


class FakeTenant:
    """Answers probes from a table; `down_after` makes every call after that many raise a timeout."""

    def __init__(self, *, ids: tuple[str, ...] = ("a", "b", "c"), down_after: int | None = None,
                 refuse: tuple[str, ...] = ()) -> None:
        self.ids, self.down_after, self.refuse, self.calls = ids, down_after, refuse, 0

    def __call__(self, params):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.down_after is not None and self.calls > self.down_after:
            raise KodexaTimeout()
        given = dict(params)
        for name in self.refuse:
            if name in given:
                raise KodexaBadRequest(status=400)
        if "query" in given:
            return Probe(total=0, ids=())
        if "filter" in given:
            target = given["filter"].split("'")[1]
            return Probe(total=1, ids=(target,))
        return Probe(total=len(self.ids), ids=self.ids[: int(given.get("pageSize", "20"))])


def test_kodexa_down_from_the_start_learns_nothing():
    with pytest.raises(KodexaTimeout):
        detect(FakeTenant(down_after=0), known=TenantForms(), ask=ASK_ALL)


def test_kodexa_going_down_half_way_learns_nothing():
    """An outage in the middle must not leave a half-finding that would be kept as the tenant's forms."""
    with pytest.raises(KodexaTimeout):
        detect(FakeTenant(down_after=3), known=TenantForms(), ask=ASK_ALL)


def test_a_refused_sort_in_both_forms_keeps_the_default_and_says_so():
    forms = detect(FakeTenant(refuse=("sort",)), known=TenantForms(), ask={"sort_separator"})
    assert forms.sort_separator == "," and any("neither form" in n for n in forms.notes)


def test_an_empty_tenant_assumes_the_defaults_and_says_why():
    forms = detect(FakeTenant(ids=()), known=TenantForms(), ask=ASK_ALL)
    assert forms == TenantForms()
    told = " | ".join(forms.notes)
    assert "page base: too few" in told and "no executions to filter on" in told and "no executions to search" in told


def test_a_500_for_an_unread_form_is_a_refusal_but_a_502_is_an_outage():
    class Unreadable(FakeTenant):
        def __init__(self, status: int) -> None:
            super().__init__()
            self.status = status

        def __call__(self, params):  # type: ignore[no-untyped-def]
            if any(name == "filter" and " eq " in value for name, value in params):
                raise KodexaServerError(status=self.status)
            return super().__call__(params)

    assert detect(Unreadable(500), known=TenantForms(), ask={"filter_dialect"}).filter_dialect is FilterDialect.SPRING
    with pytest.raises(KodexaServerError):
        detect(Unreadable(502), known=TenantForms(), ask={"filter_dialect"})
