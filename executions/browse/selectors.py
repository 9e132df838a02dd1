"""Reads: upstream reads through the Kodexa client (names cached and resolved in parallel), and database
queries. Selectors return typed objects; templates never see raw upstream dicts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from executions.browse.query import ExecutionQuery
from executions.kodexa import (
    AnyOf,
    Assistant,
    Execution,
    ExecutionField,
    KodexaAuthError,
    KodexaError,
    KodexaNotFound,
    Page,
    StatusMessage,
)
from executions.upstream import last_good, near_cache
from executions.upstream.client import kodexa_client
from executions.upstream.pool import run_parallel
from executions.upstream.shared_cache import cache_key

NAME_TTL = 600  # names change rarely
MISSING_TTL = 60  # a 404 is remembered briefly, so a page of unknown ids does not refetch on every view
ASSISTANTS_TTL = 300
ASSISTANTS_KEY = "kx:assistants"
CHILDREN_LIMIT = 50


@dataclass(frozen=True, slots=True)
class Ref:
    """A resolved reference: an assistant's name or a document family's path, or the bare id if unknown.

    `known` is False when Kodexa answered 404; `unavailable` when it could not be asked (an outage is not
    evidence that the assistant is gone, and is never cached)."""

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
    """The page shows what the panel last saw, because the live read failed with `error`."""

    since: datetime
    error: KodexaError


@dataclass(frozen=True, slots=True)
class ExecutionListing:
    rows: tuple[ExecutionRow, ...]
    page: Page[Execution]
    query: ExecutionQuery
    assistants: tuple[Assistant, ...] = ()
    stale: Stale | None = None


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

# The version in the prefix changes with Ref's fields: a cached Ref pickled with other fields would not load.
_ASSISTANT_PREFIX = "kx:ref2:assistant:"
_FAMILY_PREFIX = "kx:ref2:family:"


def _assistant_key(assistant_id: str) -> str:
    return f"{_ASSISTANT_PREFIX}{assistant_id}"


def _family_key(family_id: str) -> str:
    return f"{_FAMILY_PREFIX}{family_id}"


def _assistant_ref(assistant: Assistant) -> Ref:
    return Ref(id=assistant.id, label=assistant.name)


def refs_resolve(*, assistant_ids: Iterable[str], family_ids: Iterable[str],
                 cached_only: bool = False) -> dict[str, Ref]:
    """Names for every id, from the cache (near, then shared); the misses are fetched in parallel, never one
    by one (or, `cached_only`, while Kodexa is failing anyway, marked unavailable without asking).

    A 404 is cached briefly as unknown; any other failure shows the id marked unavailable, not cached.
    """
    wanted = {_assistant_key(i): i for i in set(assistant_ids) if i}
    wanted.update({_family_key(i): i for i in set(family_ids) if i})
    if not wanted:
        return {}
    found: dict[str, Ref] = near_cache.get_many(wanted)
    missing = [key for key in wanted if key not in found]
    if missing and cached_only:
        found.update({key: Ref(id=wanted[key], known=False, unavailable=True) for key in missing})
    elif missing:
        client = kodexa_client()

        def fetch(key: str):  # type: ignore[no-untyped-def]
            ref_id = wanted[key]
            if key.startswith(_ASSISTANT_PREFIX):
                return lambda: Ref(id=ref_id, label=client.get_assistant(ref_id).name)
            return lambda: Ref(id=ref_id, label=client.get_document_family(ref_id).path)

        results = run_parallel(fetch(key) for key in missing)
        fresh: dict[str, Ref] = {}
        gone: dict[str, Ref] = {}
        for key, result in zip(missing, results, strict=True):
            if isinstance(result, Ref):
                fresh[key] = result
            elif isinstance(result, KodexaNotFound):
                gone[key] = Ref(id=wanted[key], known=False)
            else:
                found[key] = Ref(id=wanted[key], known=False, unavailable=True)
        if fresh:
            near_cache.set_many(fresh, NAME_TTL)
        if gone:
            near_cache.set_many(gone, MISSING_TTL)
        found.update(fresh)
        found.update(gone)
    return {wanted[key]: ref for key, ref in found.items()}


def assistant_list() -> tuple[Assistant, ...]:
    """Every assistant (for the filter's select), cached; also warms the name cache."""
    cached = near_cache.get(ASSISTANTS_KEY)
    if cached is not None:
        return cached
    assistants = kodexa_client().list_assistants(page_size=1000).items
    near_cache.set_many({ASSISTANTS_KEY: assistants}, ASSISTANTS_TTL)
    near_cache.set_many({_assistant_key(a.id): _assistant_ref(a) for a in assistants}, NAME_TTL)
    return assistants


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


# --- executions ---------------------------------------------------------------------------------------

def _may_show_stale(result: object) -> bool:
    """A failed read may be answered with what the panel last saw, unless Kodexa said the thing is gone, or
    refused the panel's key (a misconfiguration must be loud, not papered over with old data)."""
    return isinstance(result, KodexaError) and not isinstance(result, KodexaNotFound | KodexaAuthError)


def execution_list(*, query: ExecutionQuery, with_assistants: bool = False, stale_ok: bool = True,
                   meanwhile: Callable[[], object] | None = None) -> ExecutionListing:
    """One page of executions with names: one upstream call when the name cache is warm.

    `with_assistants` also returns every assistant (for the filter's select), read in parallel with the page,
    so a cold cache costs two round trips of time (page and assistants, then unknown document families).
    `meanwhile` runs in the caller's thread while Kodexa answers (see run_parallel). When the read fails, the
    last good copy of the same query is returned marked stale, if there is one and `stale_ok`.
    """
    def page_read() -> Page[Execution]:
        return kodexa_client().list_executions(page=query.page, page_size=query.page_size,
                                               filters=query.clauses(), query=query.text, sort=(query.sort,))

    page, *rest = run_parallel([page_read, assistant_list_or_empty] if with_assistants else [page_read],
                               meanwhile=meanwhile)
    assistants = rest[0] if rest else ()
    if isinstance(assistants, BaseException):  # assistant_list_or_empty only lets bugs through
        raise assistants
    key = cache_key("last-good:executions", {"view": query.to_params()})
    if stale_ok and _may_show_stale(page):
        kept = last_good.recall(key, lambda data: Page.from_api(data, Execution.from_api, page=query.page,
                                                                page_size=query.page_size))
        if kept is None:
            raise page
        return ExecutionListing(rows=_rows(kept[0].items, cached_only=True), page=kept[0], query=query,
                                assistants=tuple(assistants), stale=Stale(since=kept[1], error=page))
    if isinstance(page, BaseException):
        raise page
    last_good.remember(key, {"content": [e.raw for e in page.items], "size": page.size,
                             "totalElements": page.total_elements, "totalPages": page.total_pages,
                             "last": page.last})
    return ExecutionListing(rows=_rows(page.items), page=page, query=query, assistants=tuple(assistants))


def execution_get(*, execution_id: str, meanwhile: Callable[[], object] | None = None) -> ExecutionDetail:
    """One execution with its names: one upstream call when the name cache is warm. `meanwhile` runs in the
    caller's thread while Kodexa answers (see run_parallel)."""
    [execution] = run_parallel([lambda: kodexa_client().get_execution(execution_id)], meanwhile=meanwhile)
    key = cache_key("last-good:execution", {"id": execution_id})
    stale = None
    if _may_show_stale(execution):
        kept = last_good.recall(key, Execution.from_api)
        if kept is None:
            raise execution
        stale = Stale(since=kept[1], error=execution)
        execution = kept[0]
    elif isinstance(execution, BaseException):
        raise execution
    else:
        last_good.remember(key, execution.raw)
    refs = refs_resolve(
        assistant_ids=[execution.assistant_id] if execution.assistant_id else [],
        family_ids=[execution.document_family_id] if execution.document_family_id else [],
        cached_only=stale is not None,
    )
    return ExecutionDetail(
        execution=execution,
        assistant=refs.get(execution.assistant_id) if execution.assistant_id else None,
        family=refs.get(execution.document_family_id) if execution.document_family_id else None,
        stale=stale,
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
    page = kodexa_client().list_executions(
        page=1, page_size=query.page_size, filters=[AnyOf(ExecutionField.ID, list(execution_ids))],
        sort=(query.sort,),
    )
    return ExecutionListing(rows=_rows(page.items), page=page, query=query)


def execution_children(*, execution_id: str) -> ExecutionListing:
    query = ExecutionQuery(parent_execution_id=execution_id, page_size=CHILDREN_LIMIT, sort="createdOn,asc")
    return execution_list(query=query)

