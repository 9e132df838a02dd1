"""What a reprocess may use and what it started: the assistants offered, the executions created since the request,
and, for a new execution, the reprocess that started it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from executions.audit.models import AuditAction, AuditEvent
from executions.kodexa import After, Assistant, Before, Equals, Execution, ExecutionField
from executions.upstream.tenant import tenant_list_executions

# Kodexa's clock and ours differ a little; an execution of the same document and assistant created this long before
# the request is still taken for one the request started (the original one is excluded by id).
CLOCK_SLACK = timedelta(seconds=30)
FOLLOWUPS_READ = 20
# How long after a reprocess its executions may appear: the result page stops looking, and an execution created
# later is not taken for one it started.
FOLLOWUP_WINDOW = timedelta(minutes=1)


def reprocess_options(execution: Execution, assistants: Sequence[Assistant]) -> tuple[Assistant, ...]:
    """The execution's own assistant first, then the other active assistants of its project."""
    own = next((a for a in assistants if a.id == execution.assistant_id), None)
    if own is None:
        return (Assistant(id=execution.assistant_id),) if execution.assistant_id else ()
    peers = [a for a in assistants if a.id != own.id and a.active is not False
             and own.project_id is not None and a.project_id == own.project_id]
    return (own, *sorted(peers, key=lambda a: a.display_name.lower()))


def reprocess_followups(*, family_id: str, since: datetime, assistant_ids: Iterable[str],
                        replaced_id: str = "") -> tuple[Execution, ...]:
    """The executions of the family with one of these assistants created within FOLLOWUP_WINDOW of `since` (a later
    reprocess's are not this one's), oldest first: one read."""
    wanted = set(assistant_ids)
    page = tenant_list_executions(
        page_size=FOLLOWUPS_READ, sort=("createdOn,asc",),
        filters=[Equals(ExecutionField.DOCUMENT_FAMILY_ID, family_id),
                 After(ExecutionField.CREATED_ON, since - CLOCK_SLACK),
                 Before(ExecutionField.CREATED_ON, since + FOLLOWUP_WINDOW + CLOCK_SLACK)])
    return tuple(e for e in page.items if e.assistant_id in wanted and e.id != replaced_id)


def reprocess_origin(execution: Execution) -> AuditEvent | None:
    """The accepted reprocess that started this execution, if the panel sent it: the latest one for its document and
    assistant within a minute of its creation (Kodexa may create it before answering or just after). A database read
    only (occurred_at is indexed)."""
    if not (execution.created_on and execution.document_family_id and execution.assistant_id):
        return None
    candidates = AuditEvent.objects.filter(
        action=AuditAction.REPROCESS_SUCCEEDED, occurred_at__gte=execution.created_on - FOLLOWUP_WINDOW,
        occurred_at__lte=execution.created_on + FOLLOWUP_WINDOW, details__family_id=execution.document_family_id,
    ).exclude(execution_id=execution.id).order_by("-id")
    return next((e for e in candidates[:20] if execution.assistant_id in (e.details.get("assistant_ids") or ())),
                None)


def reprocess_request(*, execution_id: str, event_id: int) -> AuditEvent | None:
    """A `reprocess.requested` event of this execution, with its outcome prefetched."""
    return (AuditEvent.objects.filter(pk=event_id, execution_id=execution_id.lower(),
                                      action=AuditAction.REPROCESS_REQUESTED)
            .prefetch_related("outcomes").first())
