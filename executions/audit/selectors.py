"""Reads of the audit log: filtered, keyset-paginated lists, per-execution activity and exports."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.db.models import Q, QuerySet

from executions.audit.chain import CHAINED_FIELDS, canonical_payload
from executions.audit.models import AuditAction, AuditEvent
from executions.browse.query import is_execution_id

PAGE_SIZE = 50
EXPORT_CHUNK = 2000
EXPORT_COLUMNS = ("id", *CHAINED_FIELDS, "prev_hash", "hash")


class AuditOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"
    DENIED = "denied"
    PENDING = "pending"  # requested, no outcome recorded (the process died mid-cancel)


@dataclass(frozen=True, slots=True)
class AuditFilters:
    mine_of: int | None = None  # "my actions": the pk of the user whose own events these are
    actor: str = ""
    # A whole execution id, or the first characters of one (AuditFilterForm checks there are at least 8).
    execution_id: str = ""
    action: str = ""
    outcome: str = ""
    since: datetime | None = None
    until: datetime | None = None
    batch_id: uuid.UUID | None = None

    def as_params(self) -> dict[str, str]:
        params = {"mine": "1"} if self.mine_of is not None else {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value and f.name != "mine_of":
                params[f.name] = value.isoformat() if isinstance(value, datetime) else str(value)
        return params


@dataclass(frozen=True, slots=True)
class AuditPage:
    events: tuple[AuditEvent, ...]
    next_cursor: int | None


def _filtered(filters: AuditFilters) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if filters.mine_of is not None:
        events = events.filter(actor_id=filters.mine_of)
    if filters.actor:
        events = events.filter(actor_username__iexact=filters.actor)
    if filters.execution_id:
        execution_id = filters.execution_id.lower()
        events = events.filter(execution_id=execution_id) if is_execution_id(execution_id) else events.filter(
            execution_id__startswith=execution_id)
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.batch_id:
        events = events.filter(batch_id=filters.batch_id)
    if filters.since:
        events = events.filter(occurred_at__gte=filters.since)
    if filters.until:
        events = events.filter(occurred_at__lt=filters.until)
    if filters.outcome:
        events = events.filter(_outcome_q(AuditOutcome(filters.outcome)))
    return events


def _outcome_q(outcome: AuditOutcome) -> Q:
    """An outcome selects its outcome events and the requests they answer, so the pair is shown together."""
    if outcome is AuditOutcome.DENIED:
        return Q(action=AuditAction.CANCEL_DENIED)
    if outcome is AuditOutcome.PENDING:
        return Q(action=AuditAction.CANCEL_REQUESTED) & ~Q(
            pk__in=AuditEvent.objects.filter(request_event__isnull=False).values("request_event_id")
        )
    action = f"cancel.{outcome.value}"
    answered = AuditEvent.objects.filter(action=action, request_event__isnull=False).values("request_event_id")
    return Q(action=action) | Q(pk__in=answered)


def audit_event_page(*, filters: AuditFilters, before_id: int | None = None, limit: int = PAGE_SIZE) -> AuditPage:
    """Newest first; `before_id` is a keyset cursor, so new events never shift the pages being read."""
    events = _filtered(filters).select_related("request_event")
    if before_id is not None:
        events = events.filter(id__lt=before_id)
    rows = list(events.order_by("-id")[: limit + 1])
    next_cursor = rows[limit - 1].pk if len(rows) > limit else None
    return AuditPage(events=tuple(rows[:limit]), next_cursor=next_cursor)


def audit_events_for_execution(*, execution_id: str, limit: int = 50) -> tuple[AuditEvent, ...]:
    return tuple(AuditEvent.objects.filter(execution_id=execution_id.lower()).order_by("-id")[:limit])


def audit_export_rows(*, filters: AuditFilters) -> Iterator[dict[str, Any]]:
    """Events oldest first, each with exactly the values its hash covers, so an export verifies offline."""
    rows = _filtered(filters).order_by("id").values("id", "prev_hash", "hash", *CHAINED_FIELDS)
    for row in rows.iterator(chunk_size=EXPORT_CHUNK):
        signed = json.loads(canonical_payload(row))
        yield {"id": row["id"], **signed, "prev_hash": row["prev_hash"], "hash": row["hash"]}
