"""Reads for bulk cancels: the executions a list's filters select, and how a batch is getting on."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import timedelta

from django.utils import timezone

from executions.browse import selectors as browse
from executions.browse.query import FILTERABLE_STATUSES, ExecutionQuery
from executions.cancel.services import MAX_BATCH, BatchResult, CancelOutcome, CancelResult, batch_recorded
from executions.kodexa import ExecutionStatus, KodexaError
from executions.upstream.problems import describe_upstream_error

# A batch's result page watches Kodexa until every cancelled item has finished cancelling, or this long after the
# batch was sent: an execution stuck in CANCELLING is then left to its own page ("Cancel again").
WATCH_LIMIT = timedelta(minutes=10)
RESULT_REFRESH_SECONDS = 3


# --- "all matching": the list's filters as a selection -------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Matching:
    listing: browse.ExecutionListing
    total: int  # how many cancellable executions match (Kodexa's count); at most MAX_BATCH are selected

    @property
    def ids(self) -> list[str]:
        return [row.execution.id for row in self.listing.rows]

    @property
    def capped(self) -> bool:
        return self.total > len(self.listing.rows)


def cancellable_query(query: ExecutionQuery) -> ExecutionQuery | None:
    """The list's query narrowed to executions that accept a cancel, as one page of MAX_BATCH; None when its
    statuses leave none (a list of FAILED runs has nothing to stop)."""
    asked = query.statuses or FILTERABLE_STATUSES
    if query.stalled_minutes:  # the "no progress" filter means running ones (ExecutionQuery.clauses)
        asked = tuple(s for s in asked if s is ExecutionStatus.RUNNING)
    statuses = tuple(s for s in asked if s.accepts_cancel)
    if not statuses:
        return None
    return replace(query, statuses=statuses, page=1, page_size=MAX_BATCH)


def execution_matching(*, query: ExecutionQuery) -> Matching | None:
    """Up to MAX_BATCH cancellable executions that the list's filters select, in one upstream list call (through
    the shared cache, fresh or an error: never a stale copy to act on)."""
    narrowed = cancellable_query(query)
    if narrowed is None:
        return None
    listing = browse.execution_list(query=narrowed, stale_ok=False)
    return Matching(listing=listing, total=max(listing.page.total_elements, len(listing.rows)))


# --- a batch's progress ----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ItemProgress:
    result: CancelResult
    now: ExecutionStatus | None = None  # Kodexa's status as last read; None when not read (or not found)
    unread: bool = False  # it was to be read, and Kodexa could not be read this time

    @property
    def settled(self) -> bool:
        if self.result.outcome is CancelOutcome.PENDING:
            return False
        if self.result.outcome is not CancelOutcome.SUCCEEDED:
            return True
        # A cancel Kodexa accepted is watched until the execution has actually stopped.
        return not self.unread and not (self.now is not None and self.now.is_active)


@dataclass(frozen=True, slots=True)
class BatchProgress:
    batch: BatchResult
    items: tuple[ItemProgress, ...]
    gave_up: bool = False  # watched for WATCH_LIMIT: the page stops asking Kodexa
    read_problem: str = ""  # Kodexa could not be read this time (the page keeps trying)

    @property
    def unsettled(self) -> int:
        return sum(1 for item in self.items if not item.settled)

    @property
    def settled(self) -> bool:
        return self.gave_up or self.unsettled == 0

    @property
    def counts(self) -> list[tuple[CancelOutcome, int]]:
        """Outcomes that happened, with their count: zeros are left out."""
        counts = self.batch.counts
        return [(outcome, counts[outcome.value]) for outcome in CancelOutcome if counts[outcome.value]]


def batch_progress_sent(batch: BatchResult) -> BatchProgress:
    """Right after sending: the statuses Kodexa answered the cancels with, nothing read again."""
    items = tuple(ItemProgress(result=r, now=ExecutionStatus.parse(r.status_after) if r.status_after else None)
                  for r in batch.results)
    return BatchProgress(batch=batch, items=items)


def batch_progress(*, batch_id: uuid.UUID) -> tuple[BatchProgress, int | None] | None:
    """A recorded batch and the pk of the user who sent it, with the current status of the items Kodexa accepted
    a cancel for: one upstream list call while any is still cancelling, none after WATCH_LIMIT."""
    recorded = batch_recorded(batch_id)
    if recorded is None:
        return None
    batch = recorded.result
    watched = [r.execution_id for r in batch.results if r.outcome is CancelOutcome.SUCCEEDED]
    if watched and timezone.now() - recorded.started_at > WATCH_LIMIT:
        return BatchProgress(batch=batch, items=tuple(ItemProgress(result=r) for r in batch.results),
                             gave_up=True), recorded.actor_id
    now: dict[str, ExecutionStatus] = {}
    problem = ""
    if watched:
        try:
            listing = browse.execution_selection(execution_ids=watched)
        except KodexaError as exc:
            problem = describe_upstream_error(exc).message
        else:
            now = {row.execution.id: row.execution.status for row in listing.rows}
    items = tuple(ItemProgress(result=r, now=now.get(r.execution_id),
                               unread=bool(problem) and r.execution_id in watched) for r in batch.results)
    return BatchProgress(batch=batch, items=items, read_problem=problem), recorded.actor_id
