"""How a Kodexa tenant wants its list requests written, and how to find out with a few read-only GETs.

Kodexa's public sources disagree on the filter dialect (`status:'FAILED'` or `status eq 'FAILED'`), the sort form
(`createdOn,desc` or `createdOn:desc`), whether `page` counts from 0 or 1, and whether free-text `query` is
honoured on executions. A wrong guess does not fail loudly: it shows the wrong rows. So the panel asks.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from .errors import KodexaBadRequest, KodexaServerError
from .filters import Equals, ExecutionField, FilterDialect, build_filter

SORT_SEPARATORS = (",", ":")
PAGE_BASES = (0, 1)
# What each setting can be told: "auto" asks the tenant.
AUTO = "auto"


@dataclass(frozen=True, slots=True)
class TenantForms:
    """The forms one tenant reads. The defaults are what the v2 reference documents."""

    filter_dialect: FilterDialect = FilterDialect.SPRING
    sort_separator: str = ","
    page_base: int = 1
    query_search: bool = True
    notes: tuple[str, ...] = field(default=(), compare=False)  # what asking could not settle, in words

    def __post_init__(self) -> None:
        if self.sort_separator not in SORT_SEPARATORS:
            raise ValueError("sort_separator must be ',' (field,dir) or ':' (field:dir)")
        if self.page_base not in PAGE_BASES:
            raise ValueError("page_base must be 0 or 1")


DEFAULT_FORMS = TenantForms()


@dataclass(frozen=True, slots=True)
class Probe:
    """One answer to a read-only list request: how many executions matched, and the ids of the first ones."""

    total: int
    ids: tuple[str, ...]


# A probe: GET /api/executions with exactly these parameters (and nothing else).
ProbeCall = Callable[[Sequence[tuple[str, str]]], Probe]


def detect(probe: ProbeCall, *, known: TenantForms, ask: Iterable[str]) -> TenantForms:
    """The forms of the tenant behind `probe`, for the settings named in `ask` (of "filter_dialect",
    "sort_separator", "page_base", "query_search"); the others are taken from `known`.

    A tenant that accepts both forms of something gets the documented default and a note saying so. When Kodexa
    cannot be asked (down, or refusing the key) the KodexaError is raised as it came: nothing was learnt, and a
    guess must never be kept as a finding."""
    ask = set(ask)
    notes: list[str] = []
    baseline = _baseline(probe)
    forms = known
    if "page_base" in ask:
        forms = replace(forms, page_base=_page_base(probe, baseline, notes))
    if "sort_separator" in ask:
        forms = replace(forms, sort_separator=_sort_separator(probe, notes))
    if "filter_dialect" in ask:
        forms = replace(forms, filter_dialect=_filter_dialect(probe, baseline, notes))
    if "query_search" in ask:
        forms = replace(forms, query_search=_query_search(probe, baseline, notes))
    return replace(forms, notes=tuple(notes))


def _baseline(probe: ProbeCall) -> Probe:
    return probe([("pageSize", "2")])


def _answer(probe: ProbeCall, params: Sequence[tuple[str, str]]) -> Probe | None:
    """The probe's answer, or None when Kodexa refused the request itself (a 4xx, or its 500 for a form it does
    not read). Anything else (the network, an outage) means nothing can be learnt now: raised as it is."""
    try:
        return probe(params)
    except KodexaBadRequest:  # 400, 422, and a filter or sort field that is not a column
        return None
    except KodexaServerError as exc:
        if exc.status == 500:  # what some tenants answer for a form their parser does not read
            return None
        raise


def _page_base(probe: ProbeCall, baseline: Probe, notes: list[str]) -> int:
    """The first row without `page` is the first row of the first page: compare it with page=0 and page=1."""
    if baseline.total < 2:
        notes.append("page base: too few executions to tell, assumed 1")
        return 1
    first = baseline.ids[0]
    zero = _answer(probe, [("page", "0"), ("pageSize", "1")])
    one = _answer(probe, [("page", "1"), ("pageSize", "1")])
    zero_first = zero is not None and zero.ids[:1] == (first,)
    one_first = one is not None and one.ids[:1] == (first,)
    if one_first and not zero_first:
        return 1
    if zero_first and not one_first:
        return 0
    notes.append("page base: the answers did not tell 0 from 1, assumed 1")
    return 1


def _sort_separator(probe: ProbeCall, notes: list[str]) -> str:
    comma = _answer(probe, [("pageSize", "1"), ("sort", "createdOn,desc")]) is not None
    colon = _answer(probe, [("pageSize", "1"), ("sort", "createdOn:desc")]) is not None
    if comma and colon:
        notes.append("sort: both 'createdOn,desc' and 'createdOn:desc' accepted, using ','")
        return ","
    if colon:
        return ":"
    if not comma:
        notes.append("sort: neither form accepted, using ','")
    return ","


def _filter_dialect(probe: ProbeCall, baseline: Probe, notes: list[str]) -> FilterDialect:
    """Filter by the id of an execution the tenant has: a dialect works when the answer narrows to it."""
    if not baseline.ids:
        notes.append("filter dialect: no executions to filter on, assumed spring")
        return FilterDialect.SPRING
    target = baseline.ids[0]
    works = {}
    for dialect in FilterDialect:
        text = build_filter([Equals(ExecutionField.ID, target)], dialect) or ""
        answer = _answer(probe, [("pageSize", "2"), ("filter", text)])
        narrowed = answer is not None and answer.ids[:1] == (target,) and (answer.total == 1 or baseline.total < 2)
        works[dialect] = narrowed
    if works[FilterDialect.SPRING] and works[FilterDialect.EQ]:
        notes.append("filter dialect: both spring and eq accepted, using spring")
        return FilterDialect.SPRING
    if works[FilterDialect.EQ]:
        return FilterDialect.EQ
    if not works[FilterDialect.SPRING]:
        notes.append("filter dialect: neither spring nor eq narrowed the list, using spring")
    return FilterDialect.SPRING


def _query_search(probe: ProbeCall, baseline: Probe, notes: list[str]) -> bool:
    """Search for text that no execution holds: a tenant that honours `query` finds nothing."""
    if baseline.total == 0:
        notes.append("text search: no executions to search, assumed honoured")
        return True
    answer = _answer(probe, [("pageSize", "1"), ("query", f"no-such-text-{secrets.token_hex(8)}")])
    if answer is None:
        notes.append("text search: a search was refused, treated as not honoured")
        return False
    return answer.total == 0
