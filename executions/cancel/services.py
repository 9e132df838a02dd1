"""Cancelling executions, single or in bulk, with every attempt audited.

For each execution: re-read it (a finished one is not cancelled), commit `cancel.requested`, send
`PUT /api/executions/{id}/cancel`, commit the outcome. Upstream reads and cancels of a batch run in
parallel with bounded concurrency; database writes stay on the calling thread, one event at a time.
"""

from __future__ import annotations

import functools
import logging
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from django.contrib.auth.base_user import AbstractBaseUser

from executions.audit.chain import DuplicateAttempt, RequestMeta, audit_event_append
from executions.audit.models import AuditAction, AuditEvent
from executions.cancel.denials import LIMIT as DENIED_LIMIT
from executions.cancel.denials import WINDOW as DENIED_WINDOW
from executions.cancel.denials import refusal_admit
from executions.kodexa import (
    CancelResponse,
    Execution,
    KodexaConflict,
    KodexaError,
    KodexaNotConfigured,
    KodexaNotFound,
    may_have_been_applied,
)
from executions.upstream.client import kodexa_client
from executions.upstream.pool import CANCEL_POOL, run_parallel
from executions.upstream.problems import describe_upstream_error

logger = logging.getLogger("executions.cancel")

CANCEL_PERMISSION = "executions.cancel_execution"
MAX_BATCH = 100
MAX_REASON = 500  # the cancel form's limit; a refused attempt's reason is never longer
DENIED_IDS_SHOWN = 5  # a refused bulk attempt lists its first few ids and counts the rest


class ReasonCategory(StrEnum):
    STUCK = "stuck"
    WRONG_INPUT = "wrong_input"
    CUSTOMER_REQUEST = "customer_request"
    DUPLICATE = "duplicate"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _CATEGORY_LABELS[self]


_CATEGORY_LABELS = {
    ReasonCategory.STUCK: "Stuck or running too long",
    ReasonCategory.WRONG_INPUT: "Wrong input or configuration",
    ReasonCategory.CUSTOMER_REQUEST: "Customer request",
    ReasonCategory.DUPLICATE: "Duplicate execution",
    ReasonCategory.OTHER: "Other",
}


@dataclass(frozen=True, slots=True)
class CancelReason:
    category: ReasonCategory
    text: str


class CancelOutcome(StrEnum):
    SUCCEEDED = "succeeded"  # Kodexa accepted the cancel
    FAILED = "failed"  # Kodexa refused it, or it could not be sent
    UNKNOWN = "unknown"  # it may or may not have been applied (timeout, connection lost after sending)
    SKIPPED = "skipped"  # the execution had finished meanwhile: nothing was sent
    PENDING = "pending"  # a replay of an attempt whose outcome is not recorded (yet)



_OUTCOME_ACTIONS = {
    CancelOutcome.SUCCEEDED: AuditAction.CANCEL_SUCCEEDED,
    CancelOutcome.FAILED: AuditAction.CANCEL_FAILED,
    CancelOutcome.UNKNOWN: AuditAction.CANCEL_UNKNOWN,
    CancelOutcome.SKIPPED: AuditAction.CANCEL_SKIPPED,
}
_ACTION_OUTCOMES = {action.value: outcome for outcome, action in _OUTCOME_ACTIONS.items()}


@dataclass(frozen=True, slots=True)
class CancelResult:
    execution_id: str
    outcome: CancelOutcome
    message: str
    status_before: str = ""
    status_after: str = ""
    upstream_status: int | None = None
    request_event_id: int | None = None
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class BatchResult:
    batch_id: uuid.UUID
    results: tuple[CancelResult, ...]
    replayed: bool = False

    @property
    def counts(self) -> dict[str, int]:
        return {outcome.value: sum(1 for r in self.results if r.outcome is outcome) for outcome in CancelOutcome}

    @property
    def all_succeeded(self) -> bool:
        return all(r.outcome is CancelOutcome.SUCCEEDED for r in self.results)


class CancelNotAllowed(Exception):
    """The user lacks the permission; the refused attempt has been audited."""


def cancel_token_new() -> str:
    """A one-time token for a cancel form: a replay of the same form is recognised by it."""
    return secrets.token_urlsafe(18)


@dataclass(slots=True)
class _Attempt:
    execution_id: str
    key: str
    read: Execution | KodexaError | None = None  # the execution as re-read just before sending
    request_event: AuditEvent | None = None
    sent: CancelResponse | KodexaError | None = None
    result: CancelResult | None = None

    @property
    def before(self) -> Execution | None:
        return self.read if isinstance(self.read, Execution) else None

    @property
    def read_error(self) -> KodexaError | None:
        return self.read if isinstance(self.read, KodexaError) else None

    @property
    def response(self) -> CancelResponse | None:
        return self.sent if isinstance(self.sent, CancelResponse) else None

    @property
    def send_error(self) -> KodexaError | None:
        return self.sent if isinstance(self.sent, KodexaError) else None

    @property
    def should_send(self) -> bool:
        return self.result is None and self.before is not None and self.before.status.accepts_cancel


@dataclass(frozen=True, slots=True)
class _Batch:
    user: AbstractBaseUser
    reason: CancelReason
    meta: RequestMeta
    batch_id: uuid.UUID | None


def execution_cancel(*, user: AbstractBaseUser, execution_id: str, reason: CancelReason, meta: RequestMeta,
                     token: str) -> CancelResult:
    """Cancel one execution (see the module docstring). Raises CancelNotAllowed after auditing a refusal."""
    batch = _cancel_many(user=user, execution_ids=[execution_id], reason=reason, meta=meta, token=token,
                         batch_id=None)
    return batch.results[0]


def execution_cancel_bulk(*, user: AbstractBaseUser, execution_ids: Sequence[str], reason: CancelReason,
                          meta: RequestMeta, token: str) -> BatchResult:
    """Cancel up to MAX_BATCH executions; every item is audited with the batch's shared id."""
    ids = list(dict.fromkeys(execution_ids))  # keep order, drop duplicates
    if not ids or len(ids) > MAX_BATCH:
        raise ValueError(f"a batch holds 1 to {MAX_BATCH} executions")
    # The batch id derives from the token, so a replayed confirmation finds the same batch.
    batch_id = uuid.uuid5(uuid.NAMESPACE_URL, f"kodexa-admin:bulk-cancel:{token}")
    return _cancel_many(user=user, execution_ids=ids, reason=reason, meta=meta, token=token, batch_id=batch_id)


def _cancel_many(*, user: AbstractBaseUser, execution_ids: Sequence[str], reason: CancelReason,
                 meta: RequestMeta, token: str, batch_id: uuid.UUID | None) -> BatchResult:
    """The phases, each over the whole batch: replays, re-read, requests recorded, cancels sent, outcomes."""
    cancel_permission_require(user=user, execution_ids=execution_ids, meta=meta, reason_text=reason.text,
                              reason_category=reason.category, batch_id=batch_id)
    batch = _Batch(user=user, reason=reason, meta=meta, batch_id=batch_id)
    attempts = [_Attempt(execution_id=i, key=_key(user, token, i, batched=batch_id is not None))
                for i in execution_ids]
    todo = _without_replays(attempts)
    try:
        client = kodexa_client()
    except KodexaNotConfigured as exc:
        client = None
        for attempt in todo:
            attempt.read = exc
    if client is not None:
        _fan_out(todo, client.get_execution, into="read")
    _record_requests(todo, batch)
    if client is not None:
        _fan_out([a for a in todo if a.should_send], client.cancel_execution, into="sent")
    for attempt in todo:
        if attempt.result is None:
            attempt.result = _record_outcome(attempt, batch)
    results = tuple(a.result for a in attempts if a.result is not None)
    return BatchResult(batch_id=batch_id or uuid.UUID(int=0), results=results,
                       replayed=all(r.replayed for r in results))


def _without_replays(attempts: Sequence[_Attempt]) -> list[_Attempt]:
    """A replayed form (double click, back button, resubmission) shows the first result and sends nothing."""
    for attempt in attempts:
        attempt.result = _replayed_result(attempt.key)
    return [a for a in attempts if a.result is None]


def _record_requests(attempts: Sequence[_Attempt], batch: _Batch) -> None:
    """`cancel.requested`, committed before anything is sent."""
    for attempt in attempts:
        try:
            attempt.request_event = audit_event_append(
                action=AuditAction.CANCEL_REQUESTED, actor=batch.user, execution_id=attempt.execution_id,
                reason_category=batch.reason.category, reason=batch.reason.text, batch_id=batch.batch_id,
                meta=batch.meta, status_before=(attempt.before.status_raw or "") if attempt.before else "",
                idempotency_key=attempt.key,
            )
        except DuplicateAttempt as duplicate:  # a concurrent submit of the same form won the race
            attempt.result = _result_from_request(duplicate.existing)


def cancel_permission_require(*, user: AbstractBaseUser, execution_ids: Sequence[str], meta: RequestMeta,
                              reason_text: str = "", reason_category: str = "",
                              batch_id: uuid.UUID | None = None) -> None:
    """The one permission check for cancelling. A refusal is audited, then raised as CancelNotAllowed."""
    if user.has_perm(CANCEL_PERMISSION):
        return
    refusal_record(user=user, execution_ids=execution_ids, reason_text=reason_text, meta=meta,
                   reason_category=reason_category, batch_id=batch_id)
    raise CancelNotAllowed()


def refusal_record(*, user: AbstractBaseUser, execution_ids: Sequence[str], reason_text: str,
                   meta: RequestMeta, reason_category: str, batch_id: uuid.UUID | None,
                   action: AuditAction = AuditAction.CANCEL_DENIED, permission: str = CANCEL_PERMISSION) -> None:
    """One `*.denied` event per attempt, however many executions it named, within the per-user limit of
    `denials` (past it the attempt is counted instead; the limit is shared by every audited action)."""
    ids = list(execution_ids)
    admission = refusal_admit(user_pk=user.pk, execution_ids=len(ids))
    common = {"action": action, "actor": user, "meta": meta, "error": f"missing permission {permission}"}
    if admission.pending is not None:
        pending = admission.pending
        since = datetime.fromtimestamp(pending.since, UTC).isoformat() if pending.since else None
        audit_event_append(**common, details={
            "suppressed_attempts": pending.attempts, "count": pending.execution_ids, "first_at": since,
            "note": f"refused attempts past {DENIED_LIMIT} in {DENIED_WINDOW // 60} minutes, counted only"})
    if admission.record:
        audit_event_append(**common, execution_id=ids[0] if len(ids) == 1 else "", reason_category=reason_category,
                           reason=reason_text[:MAX_REASON], batch_id=batch_id,
                           details={"count": len(ids), "execution_ids": ids[:DENIED_IDS_SHOWN]})
    logger.warning("%s refused: missing permission", action.split(".")[0],
                   extra={"actor": user.get_username(), "executions": len(ids), "recorded": admission.record})


def _key(user: AbstractBaseUser, token: str, execution_id: str, *, batched: bool) -> str:
    # The user is part of the key: someone replaying another person's form is a new attempt of their own,
    # audited as theirs, not a look at the other person's result.
    return f"{'bulk' if batched else 'one'}:{user.pk}:{token}:{execution_id}"


def _fan_out(attempts: Sequence[_Attempt], call: Callable[[str], object], *, into: str) -> None:
    """`call(execution_id)` for every attempt, in parallel on the cancel pool, each outcome kept in the attempt's
    `into` field. Kodexa errors are outcomes (each attempt records its own); anything else is a bug, raised."""
    outcomes = run_parallel([functools.partial(call, a.execution_id) for a in attempts], pool=CANCEL_POOL)
    for attempt, outcome in zip(attempts, outcomes, strict=True):
        if isinstance(outcome, BaseException) and not isinstance(outcome, KodexaError):
            raise outcome
        setattr(attempt, into, outcome)


def _record_outcome(attempt: _Attempt, batch: _Batch) -> CancelResult:
    outcome, message, upstream_status, latency, error = _judge(attempt)
    before = (attempt.before.status_raw or "") if attempt.before else ""
    after = ""
    if attempt.response is not None and attempt.response.execution is not None:
        after = attempt.response.execution.status_raw or ""
    elif outcome is CancelOutcome.SKIPPED:
        after = before
    audit_event_append(
        action=_OUTCOME_ACTIONS[outcome], actor=batch.user, execution_id=attempt.execution_id,
        reason_category=batch.reason.category, reason=batch.reason.text, batch_id=batch.batch_id, meta=batch.meta,
        status_before=before, upstream_status=upstream_status, status_after=after, error=error,
        upstream_latency_ms=latency, request_event=attempt.request_event, details={"message": message},
    )
    logger.info("cancel %s", outcome.value, extra={"execution_id": attempt.execution_id, "outcome": outcome.value,
                                                    "upstream_status": upstream_status})
    return CancelResult(execution_id=attempt.execution_id, outcome=outcome, message=message, status_before=before,
                        status_after=after, upstream_status=upstream_status,
                        request_event_id=attempt.request_event.pk if attempt.request_event else None)


def _judge(attempt: _Attempt) -> tuple[CancelOutcome, str, int | None, float | None, str]:
    """(outcome, message for the user, upstream status, upstream ms, error text for the audit)."""
    if attempt.read_error is not None:
        exc = attempt.read_error
        status = getattr(exc, "status", None)
        if isinstance(exc, KodexaNotFound):
            return CancelOutcome.FAILED, "Kodexa does not know this execution; nothing was cancelled.", status, \
                getattr(exc, "elapsed_ms", None), error_text(exc)
        problem = describe_upstream_error(exc)
        return (CancelOutcome.FAILED, f"Not cancelled: the execution could not be read first. {problem.message}",
                status, getattr(exc, "elapsed_ms", None), error_text(exc))
    before = attempt.before
    assert before is not None
    if not before.status.accepts_cancel:
        return (CancelOutcome.SKIPPED, f"Not cancelled: the execution is already {before.status_display}.",
                None, None, "")
    if attempt.response is not None:
        status_after = attempt.response.execution.status_display if attempt.response.execution else "accepted"
        return (CancelOutcome.SUCCEEDED, f"Cancel sent. Kodexa reports the execution as {status_after}.",
                attempt.response.status, attempt.response.elapsed_ms, "")
    exc = attempt.send_error
    assert exc is not None
    status = getattr(exc, "status", None)
    latency = getattr(exc, "elapsed_ms", None)
    if may_have_been_applied(exc):
        return (CancelOutcome.UNKNOWN, "Kodexa did not confirm the cancel in time; it may or may not have been "
                "applied. Check the execution's status before trying again.", status, latency, error_text(exc))
    if isinstance(exc, KodexaConflict):
        return (CancelOutcome.FAILED, "Kodexa refused: the execution is no longer in a cancellable state.", status,
                latency, error_text(exc))
    problem = describe_upstream_error(exc)
    return CancelOutcome.FAILED, f"Not cancelled. {problem.message}", status, latency, error_text(exc)


def error_text(exc: BaseException) -> str:
    """The error as recorded in an audit event: its class and what Kodexa said, at most 500 characters."""
    detail = getattr(exc, "detail", None) or str(exc)
    return f"{type(exc).__name__}: {detail}"[:500]


def _replayed_result(key: str) -> CancelResult | None:
    request = AuditEvent.objects.filter(idempotency_key=key).first()
    return _result_from_request(request) if request is not None else None


def _result_from_request(request: AuditEvent) -> CancelResult:
    return _result_of(request, request.outcomes.order_by("id").first(), replayed=True)


def _result_of(request: AuditEvent, outcome_event: AuditEvent | None, *, replayed: bool) -> CancelResult:
    """The result of a recorded attempt, from its request and first outcome event. `replayed`: it is shown
    because the same form came again (so the message says it was already submitted)."""
    if outcome_event is None:
        message = ("This cancel was already submitted; its outcome is not recorded yet." if replayed
                   else "Requested; its outcome is not recorded yet.")
        return CancelResult(execution_id=request.execution_id, outcome=CancelOutcome.PENDING, message=message,
                            status_before=request.status_before, request_event_id=request.pk, replayed=replayed)
    outcome = _ACTION_OUTCOMES.get(outcome_event.action, CancelOutcome.UNKNOWN)
    message = str(outcome_event.details.get("message") or outcome_event.get_action_display())
    return CancelResult(execution_id=request.execution_id, outcome=outcome,
                        message=f"Already submitted: {message}" if replayed else message,
                        status_before=request.status_before,
                        status_after=outcome_event.status_after, upstream_status=outcome_event.upstream_status,
                        request_event_id=request.pk, replayed=replayed)


@dataclass(frozen=True, slots=True)
class RecordedBatch:
    result: BatchResult
    actor_id: int | None
    started_at: datetime


def batch_recorded(batch_id: uuid.UUID) -> RecordedBatch | None:
    """A bulk cancel as the audit log records it: one result per requested item, in the order sent."""
    requests = list(AuditEvent.objects.filter(batch_id=batch_id, action=AuditAction.CANCEL_REQUESTED).order_by("id"))
    if not requests:
        return None
    first_outcomes: dict[int, AuditEvent] = {}
    for event in AuditEvent.objects.filter(request_event__in=requests).order_by("-id"):
        first_outcomes[event.request_event_id] = event  # newest first, so the oldest stays
    results = tuple(_result_of(r, first_outcomes.get(r.pk), replayed=False) for r in requests)
    return RecordedBatch(result=BatchResult(batch_id=batch_id, results=results), actor_id=requests[0].actor_id,
                         started_at=requests[0].occurred_at)
