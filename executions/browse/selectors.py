"""Reads: upstream reads through the Kodexa client (names cached and resolved in parallel), and database
queries. Selectors return typed objects; templates never see raw upstream dicts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from executions.browse.query import DEFAULT_SORT, FILTERABLE_STATUSES, ExecutionQuery
from executions.kodexa import (
    AnyOf,
    Assistant,
    Execution,
    ExecutionField,
    ExecutionStatus,
    KodexaError,
    Page,
    StatusMessage,
)
from executions.upstream.cache import Cached, Read, ReadKind, read_many, store_many
from executions.upstream.client import kodexa_client
from executions.upstream.pool import run_parallel
from executions.upstream.problems import CachedReadFailed, UpstreamProblem
from executions.upstream.tenant import tenant_list_assistants, tenant_list_executions

CHILDREN_LIMIT = 50
# A short id is looked for among this many of the newest executions (one upstream call): Kodexa's ids are UUIDs,
# which its filters cannot match by prefix (docs/kodexa-api.md).
ID_PREFIX_SCAN = 500


@dataclass(frozen=True, slots=True)
class Ref:
    """A resolved reference: an assistant's name or a document family's path, or the bare id if unknown.

    `known` is False when Kodexa answered 404; `unavailable` when it could not be asked (an outage is not
    evidence that the assistant is gone)."""

    id: str
    label: str | None = None
    known: bool = True
    unavailable: bool = False

    @property
    def display(self) -> str:
        return self.label or self.id


@dataclass(frozen=True, slots=True)
class ExecutionRow:
    execution: Execution
    assistant: Ref | None
    family: Ref | None


@dataclass(frozen=True, slots=True)
class Stale:
    """The page shows what the panel last saw, because the live read failed with `problem`."""

    since: datetime
    problem: UpstreamProblem


@dataclass(frozen=True, slots=True)
class ExecutionListing:
    rows: tuple[ExecutionRow, ...]
    page: Page[Execution]
    query: ExecutionQuery
    assistants: tuple[Assistant, ...] = ()
    stale: Stale | None = None
    # Per status, how many executions the query's other filters match (None: the count could not be read).
    status_counts: tuple[tuple[ExecutionStatus, int | None], ...] = ()
    counts_age: float = 0.0  # seconds since the oldest count was read


@dataclass(frozen=True, slots=True)
class IdPrefixSearch:
    """The executions among the newest `scanned` whose id starts with `prefix`."""

    prefix: str
    rows: tuple[ExecutionRow, ...]
    scanned: int
    complete: bool  # the scan saw every execution there is: "none" means none, not "none recently"


@dataclass(frozen=True, slots=True)
class ExecutionDetail:
    execution: Execution
    assistant: Ref | None
    family: Ref | None
    stale: Stale | None = None


@dataclass(frozen=True, slots=True)
class ExecutionLive:
    execution: Execution
    messages: tuple[StatusMessage, ...]
    messages_error: KodexaError | None = None


# --- names --------------------------------------------------------------------------------------------

def _name_read(kind: ReadKind, ref_id: str) -> Read[str | None]:
    def fetch() -> str | None:
        client = kodexa_client()
        if kind is ReadKind.ASSISTANT_NAME:
            return client.get_assistant(ref_id).name
        return client.get_document_family(ref_id).path

    return Read(kind, {"id": ref_id}, fetch)


def refs_resolve(*, assistant_ids: Iterable[str], family_ids: Iterable[str],
                 cached_only: bool = False) -> dict[str, Ref]:
    """Names for every id, from the cache; the misses are asked in parallel, never one by one (or, with
    `cached_only`, while Kodexa is failing anyway, not asked and marked unavailable). A 404 marks the id unknown.
    """
    wanted = [(ReadKind.ASSISTANT_NAME, i) for i in dict.fromkeys(assistant_ids) if i]
    wanted += [(ReadKind.FAMILY_PATH, i) for i in dict.fromkeys(family_ids) if i]
    results = read_many([_name_read(kind, ref_id) for kind, ref_id in wanted], offline=cached_only)
    refs = {}
    for (_, ref_id), result in zip(wanted, results, strict=True):
        if isinstance(result, Cached):
            refs[ref_id] = Ref(id=ref_id, known=False) if result.missing else Ref(id=ref_id, label=result.value)
        elif isinstance(result, KodexaError):
            refs[ref_id] = Ref(id=ref_id, known=False, unavailable=True)
        else:
            raise result
    return refs


def _fetch_assistants() -> tuple[Assistant, ...]:
    assistants = tenant_list_assistants(page_size=1000).items
    store_many(ReadKind.ASSISTANT_NAME, {a.id: a.name for a in assistants})  # their names, one by one
    return assistants


ASSISTANTS = Read(ReadKind.ASSISTANTS, {}, _fetch_assistants)


def assistant_list() -> tuple[Assistant, ...]:
    """Every assistant: for the filter's select, and names on dashboards."""
    [found] = read_many([ASSISTANTS])
    if isinstance(found, BaseException):
        raise found
    return found.value


def assistant_list_or_empty() -> tuple[Assistant, ...]:
    """The filter form must still render when the assistant list cannot be loaded."""
    try:
        return assistant_list()
    except KodexaError:
        return ()


def _rows(executions: Iterable[Execution], *, cached_only: bool = False) -> tuple[ExecutionRow, ...]:
    executions = tuple(executions)
    refs = refs_resolve(
        assistant_ids=(e.assistant_id for e in executions if e.assistant_id),
        family_ids=(e.document_family_id for e in executions if e.document_family_id),
        cached_only=cached_only,
    )
    return tuple(
        ExecutionRow(
            execution=e,
            assistant=refs.get(e.assistant_id) if e.assistant_id else None,
            family=refs.get(e.document_family_id) if e.document_family_id else None,
        )
        for e in executions
    )


def _stale(cached: Cached[Any]) -> Stale | None:
    return Stale(since=cached.fetched_at_dt, problem=cached.problem) if cached.problem else None


# --- executions ---------------------------------------------------------------------------------------

def _count_query(query: ExecutionQuery) -> ExecutionQuery:
    """What the status chips count within: the assistant, created-time and search filters of the list, nothing
    else. Not its statuses (each chip is one), not "no progress for" (itself a kind of status: running and quiet),
    not the page or sort (a count does not depend on them)."""
    return ExecutionQuery(assistant_id=query.assistant_id, text=query.text, created_after=query.created_after,
                          created_before=query.created_before, created_within_hours=query.created_within_hours)


def _count_reads(query: ExecutionQuery, fresh_for: float | None) -> list[Read[int]]:
    """One shared read per status: a page of one item, for its totalElements. Keyed by the relative form of the
    query (`created_within_hours`, not the instant it stands for), so a moving window keeps one entry. `fresh_for`
    overrides the policy's window (None: the policy's)."""
    within = _count_query(query)

    def count_read(status: ExecutionStatus) -> Read[int]:
        one = replace(within, statuses=(status,))

        def fetch() -> int:
            return tenant_list_executions(page=1, page_size=1, filters=one.clauses(), query=one.text,
                                          sort=(DEFAULT_SORT,)).total_elements

        return Read(ReadKind.STATUS_COUNT, {"view": within.to_params(), "status": status.value}, fetch, fresh_for)

    return [count_read(status) for status in FILTERABLE_STATUSES]


def _counts(results: Sequence[Cached[Any] | BaseException], query: ExecutionQuery,
            page: Page[Execution]) -> tuple[tuple[tuple[ExecutionStatus, int | None], ...], float]:
    """The chips' counts and the age of the oldest. The page just read is as good as a count, and newer: with one
    status filtered (and no "no progress" filter), its chip says what the table says."""
    exact = query.statuses[0] if len(query.statuses) == 1 and not query.stalled_minutes else None
    counts, age = [], 0.0
    for status, result in zip(FILTERABLE_STATUSES, results, strict=True):
        if status is exact:
            counts.append((status, page.total_elements))
        elif isinstance(result, Cached):
            counts.append((status, result.value))
            age = max(age, result.age)
        elif isinstance(result, KodexaError):  # a chip without its number ("—"); the list itself stands
            counts.append((status, None))
        else:
            raise result
    return tuple(counts), age


def execution_list(*, query: ExecutionQuery, with_assistants: bool = False, stale_ok: bool = True,
                   with_counts: bool = False, counts_fresh_for: float | None = None,
                   meanwhile: Callable[[], object] | None = None) -> ExecutionListing:
    """One page of executions with names: one upstream call when the names are cached.

    `with_assistants` also returns every assistant (for the filter's select), read in parallel with the page;
    `with_counts` each status's count within the other filters (shared reads: free while fresh; `counts_fresh_for`
    overrides how long they are).
    When Kodexa fails, the last good copy of the same page is returned marked stale (unless `stale_ok` is
    False: an htmx refresh keeps the rows already on screen instead). `meanwhile` runs in the caller's thread
    while Kodexa answers."""
    def page_read() -> Page[Execution]:
        return tenant_list_executions(page=query.page, page_size=query.page_size,
                                               filters=query.clauses(), query=query.text, sort=(query.sort,))

    # The parent is not a URL parameter, but a child list is a different list.
    params = {"view": query.to_params(), "parent": query.parent_execution_id}
    reads = [Read(ReadKind.EXECUTION_PAGE, params, page_read)]
    if with_assistants:
        reads.append(ASSISTANTS)
    counted = _count_reads(query, counts_fresh_for) if with_counts else []
    page, *rest = read_many(reads + counted, meanwhile=meanwhile)
    count_results = rest[len(rest) - len(counted):]
    rest = rest[:len(rest) - len(counted)]
    if isinstance(page, BaseException):
        raise page
    if page.problem and not stale_ok:
        raise CachedReadFailed(page.problem)
    counts, counts_age = _counts(count_results, query, page.value) if counted else ((), 0.0)
    # The filter form still renders without the assistant list; anything but a Kodexa error is a bug.
    if rest and isinstance(rest[0], BaseException) and not isinstance(rest[0], KodexaError):
        raise rest[0]
    assistants = rest[0].value if rest and isinstance(rest[0], Cached) else ()
    return ExecutionListing(rows=_rows(page.value.items, cached_only=page.problem is not None), page=page.value,
                            query=query, assistants=tuple(assistants), stale=_stale(page), status_counts=counts,
                            counts_age=counts_age)


def execution_id_prefix_search(*, prefix: str) -> IdPrefixSearch:
    """The executions whose id starts with `prefix`, among the newest ID_PREFIX_SCAN: one upstream call (plus the
    names of the few found, usually cached)."""
    query = ExecutionQuery(page_size=ID_PREFIX_SCAN)

    def scan() -> Page[Execution]:
        return tenant_list_executions(page=1, page_size=query.page_size, filters=[], query=None,
                                      sort=(query.sort,))

    [found] = read_many([Read(ReadKind.EXECUTION_PAGE, {"view": query.to_params(), "id-prefix-scan": True}, scan)])
    if isinstance(found, BaseException):
        raise found
    matches = [e for e in found.value.items if e.id.lower().startswith(prefix)]
    return IdPrefixSearch(prefix=prefix, rows=_rows(matches, cached_only=found.problem is not None),
                          scanned=len(found.value.items), complete=found.value.last)


def execution_get(*, execution_id: str, meanwhile: Callable[[], object] | None = None) -> ExecutionDetail:
    """One execution with its names: one upstream call when the names are cached. `meanwhile` runs in the
    caller's thread while Kodexa answers."""
    [found] = read_many([Read(ReadKind.EXECUTION, {"id": execution_id},
                              lambda: kodexa_client().get_execution(execution_id))], meanwhile=meanwhile)
    if isinstance(found, BaseException):
        raise found
    execution = found.value
    refs = refs_resolve(
        assistant_ids=[execution.assistant_id] if execution.assistant_id else [],
        family_ids=[execution.document_family_id] if execution.document_family_id else [],
        cached_only=found.problem is not None,
    )
    return ExecutionDetail(
        execution=execution,
        assistant=refs.get(execution.assistant_id) if execution.assistant_id else None,
        family=refs.get(execution.document_family_id) if execution.document_family_id else None,
        stale=_stale(found),
    )


def execution_live(*, execution_id: str) -> ExecutionLive:
    """The parts of an execution that change while it runs, read in parallel (one round trip of time)."""
    client = kodexa_client()
    execution, messages = run_parallel([
        lambda: client.get_execution(execution_id),
        lambda: client.list_status_messages(execution_id),
    ])
    if isinstance(execution, BaseException):
        raise execution
    if isinstance(messages, KodexaError):
        return ExecutionLive(execution=execution, messages=(), messages_error=messages)
    if isinstance(messages, BaseException):
        raise messages
    return ExecutionLive(execution=execution, messages=messages)


def execution_selection(*, execution_ids: Sequence[str]) -> ExecutionListing:
    """The executions picked for a bulk action, in one upstream call."""
    query = ExecutionQuery(page_size=max(1, len(execution_ids)))
    page = tenant_list_executions(
        page=1, page_size=query.page_size, filters=[AnyOf(ExecutionField.ID, list(execution_ids))],
        sort=(query.sort,),
    )
    return ExecutionListing(rows=_rows(page.items), page=page, query=query)


def execution_children(*, execution_id: str) -> ExecutionListing:
    query = ExecutionQuery(parent_execution_id=execution_id, page_size=CHILDREN_LIMIT, sort="createdOn,asc")
    return execution_list(query=query)

