"""Reprocessing a finished execution's document, with every attempt audited as cancels are.

Re-read the execution (only a finished one with a document family and an assistant is reprocessed), commit
`reprocess.requested`, send `POST /api/document-families/{id}/reprocess` once, commit the outcome. The POST starts
new executions each time it is accepted, so it is never re-sent: a replayed form shows the first result, and a
second request for the same document and assistant within REPEAT_WINDOW needs an explicit confirmation.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone

from executions.audit.chain import DuplicateAttempt, RequestMeta, audit_event_append
from executions.audit.models import AuditAction, AuditEvent
from executions.cancel.services import MAX_BATCH, error_text, refusal_record
from executions.kodexa import (
    Execution,
    KodexaError,
    KodexaNotConfigured,
    KodexaNotFound,
    ReprocessResponse,
    may_have_been_applied,
    validate_id,
)
from executions.upstream.client import kodexa_client
from executions.upstream.pool import CANCEL_POOL, run_parallel
from executions.upstream.problems import describe_upstream_error

logger = logging.getLogger("executions.reprocess")

REPROCESS_PERMISSION = "executions.reprocess_execution"
# A second reprocess of the same document with the same assistant this soon is more likely a mistake (two people
# on one ticket, a reload) than an intention: it needs a confirmation.
REPEAT_WINDOW = timedelta(minutes=10)
MAX_ASSISTANTS = 10


class ReprocessCategory(StrEnum):
    PROBLEM_FIXED = "problem_fixed"
    STUCK = "restart_stuck"
    INPUT_CORRECTED = "input_corrected"
    CUSTOMER_REQUEST = "customer_request"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _CATEGORY_LABELS[self]


_CATEGORY_LABELS = {
    ReprocessCategory.PROBLEM_FIXED: "The cause was fixed",
    ReprocessCategory.STUCK: "Stuck run, started again",
    ReprocessCategory.INPUT_CORRECTED: "Input or configuration corrected",
    ReprocessCategory.CUSTOMER_REQUEST: "Customer request",
    ReprocessCategory.OTHER: "Other",
}


# Cancel, then reprocess: one reason serves both actions; its category reads as the closest reprocess category.
CATEGORY_AFTER_CANCEL = {
    "stuck": ReprocessCategory.STUCK,
    "wrong_input": ReprocessCategory.INPUT_CORRECTED,
    "customer_request": ReprocessCategory.CUSTOMER_REQUEST,
}


def reprocess_token_after_cancel(cancel_request: AuditEvent) -> str:
    """The reprocess form's token for the reprocess that follows a cancel: derived from the cancel's own one-time key,
    so however often the follow-up page submits it, Kodexa is asked once."""
    return hashlib.sha256(f"then-reprocess:{cancel_request.idempotency_key}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class ReprocessReason:
    category: ReprocessCategory
    text: str


class ReprocessOutcome(StrEnum):
    SUCCEEDED = "succeeded"  # Kodexa accepted it: new executions are starting
    FAILED = "failed"  # Kodexa refused it, or it could not be sent
    UNKNOWN = "unknown"  # it may or may not have been applied (timeout, connection lost after sending)
    SKIPPED = "skipped"  # nothing was sent: the execution is not finished, or has no document or assistant
    PENDING = "pending"  # a replay of an attempt whose outcome is not recorded (yet)


_OUTCOME_ACTIONS = {
    ReprocessOutcome.SUCCEEDED: AuditAction.REPROCESS_SUCCEEDED,
    ReprocessOutcome.FAILED: AuditAction.REPROCESS_FAILED,
    ReprocessOutcome.UNKNOWN: AuditAction.REPROCESS_UNKNOWN,
    ReprocessOutcome.SKIPPED: AuditAction.REPROCESS_SKIPPED,
}
_ACTION_OUTCOMES = {action.value: outcome for outcome, action in _OUTCOME_ACTIONS.items()}


@dataclass(frozen=True, slots=True)
class ReprocessResult:
    execution_id: str
    outcome: ReprocessOutcome
    message: str
    family_id: str = ""
    assistant_ids: tuple[str, ...] = ()
    requested_at: datetime | None = None  # when `reprocess.requested` was committed: new executions come after
    upstream_status: int | None = None
    request_event_id: int | None = None
    replayed: bool = False


class ReprocessNotAllowed(Exception):
    """The user lacks the permission; the refused attempt has been audited."""


class ReprocessRepeat(Exception):
    """The same document was reprocessed with the same assistant moments ago; nothing was recorded or sent."""

    def __init__(self, previous: AuditEvent) -> None:
        super().__init__(f"reprocessed already by event {previous.pk}")
        self.previous = previous


def reprocessable(execution: Execution) -> str | None:
    """Why this execution cannot be reprocessed, or None if it can: the one rule for the button and the service."""
    if not execution.status.is_terminal:
        return f"it is {execution.status_display}; only a finished execution is reprocessed (cancel it first)"
    if not execution.document_family_id:
        return "it has no document family"
    if not execution.assistant_id:
        return "it has no assistant"
    return None


def reprocess_permission_require(*, user: AbstractBaseUser, execution_ids: Sequence[str], meta: RequestMeta,
                                 reason_text: str = "", reason_category: str = "") -> None:
    """The one permission check for reprocessing. A refusal is audited, then raised as ReprocessNotAllowed."""
    if user.has_perm(REPROCESS_PERMISSION):
        return
    refusal_record(user=user, execution_ids=execution_ids, reason_text=reason_text, meta=meta,
                   reason_category=reason_category, batch_id=None, action=AuditAction.REPROCESS_DENIED,
                   permission=REPROCESS_PERMISSION)
    raise ReprocessNotAllowed()


@dataclass(frozen=True, slots=True)
class BatchResult:
    batch_id: uuid.UUID
    results: tuple[ReprocessResult, ...]

    @property
    def counts(self) -> dict[str, int]:
        return {o: sum(1 for r in self.results if r.outcome is o) for o in ReprocessOutcome}


@dataclass(slots=True)
class _Attempt:
    execution_id: str
    key: str
    chosen: tuple[str, ...] = ()  # the assistants asked for; empty: the execution's own
    read: Execution | KodexaError | None = None
    request: AuditEvent | None = None
    sent: ReprocessResponse | KodexaError | None = None
    result: ReprocessResult | None = None
    same_as: str = ""  # an earlier item of the batch with the same document and assistant

    @property
    def execution(self) -> Execution | None:
        return self.read if isinstance(self.read, Execution) else None

    @property
    def family_id(self) -> str:
        return (self.execution.document_family_id or "") if self.execution else ""

    @property
    def assistants(self) -> tuple[str, ...]:
        if self.chosen:
            return self.chosen
        return (self.execution.assistant_id,) if self.execution and self.execution.assistant_id else ()

    @property
    def should_send(self) -> bool:
        return (self.result is None and self.execution is not None and reprocessable(self.execution) is None
                and not self.same_as)


def execution_reprocess(*, user: AbstractBaseUser, execution_id: str, assistant_ids: Sequence[str],
                        reason: ReprocessReason, meta: RequestMeta, token: str,
                        confirm_repeat: bool = False) -> ReprocessResult:
    """Reprocess the execution's document with these assistants (see the module docstring).

    Raises ReprocessNotAllowed (audited), ReprocessRepeat (nothing recorded: ask, then call again with
    confirm_repeat), or ValueError for ids that are not ids (nothing recorded, nothing sent)."""
    reprocess_permission_require(user=user, execution_ids=[execution_id], meta=meta, reason_text=reason.text,
                                 reason_category=reason.category)
    assistants = tuple(dict.fromkeys(validate_id(a) for a in assistant_ids))
    if not assistants or len(assistants) > MAX_ASSISTANTS:
        raise ValueError(f"choose 1 to {MAX_ASSISTANTS} assistants")
    attempt = _Attempt(execution_id=execution_id, key=f"reprocess:{user.pk}:{token}:{execution_id}",
                       chosen=assistants)
    _reprocess_many([attempt], user=user, reason=reason, meta=meta, batch_id=None, confirm_repeat=confirm_repeat)
    assert attempt.result is not None
    return attempt.result


def execution_reprocess_bulk(*, user: AbstractBaseUser, execution_ids: Sequence[str], reason: ReprocessReason,
                             meta: RequestMeta, token: str, confirm_repeat: bool = False) -> BatchResult:
    """Reprocess the documents of up to MAX_BATCH executions, each with its own assistant, in parallel; every item
    is audited with the batch's shared id. Two items of one document and assistant reprocess it once."""
    ids = list(dict.fromkeys(execution_ids))
    if not ids or len(ids) > MAX_BATCH:
        raise ValueError(f"a batch holds 1 to {MAX_BATCH} executions")
    reprocess_permission_require(user=user, execution_ids=ids, meta=meta, reason_text=reason.text,
                                 reason_category=reason.category)
    # The batch id derives from the token, so a replayed confirmation finds the same batch.
    batch_id = uuid.uuid5(uuid.NAMESPACE_URL, f"kodexa-admin:bulk-reprocess:{token}")
    attempts = [_Attempt(execution_id=i, key=f"bulk-reprocess:{user.pk}:{token}:{i}") for i in ids]
    _reprocess_many(attempts, user=user, reason=reason, meta=meta, batch_id=batch_id, confirm_repeat=confirm_repeat)
    return BatchResult(batch_id=batch_id, results=tuple(a.result for a in attempts if a.result is not None))


def _reprocess_many(attempts: Sequence[_Attempt], *, user: AbstractBaseUser, reason: ReprocessReason,
                    meta: RequestMeta, batch_id: uuid.UUID | None, confirm_repeat: bool) -> None:
    """The phases, each over the whole batch: replays, re-read, repeats, requests recorded, POSTs sent, outcomes."""
    for attempt in attempts:
        attempt.result = _replayed_result(attempt.key)
    todo = [a for a in attempts if a.result is None]
    try:
        client = kodexa_client()
    except KodexaNotConfigured as exc:
        client = None
        for attempt in todo:
            attempt.read = exc
    if client is not None:
        _fan_out(todo, lambda a: client.get_execution(a.execution_id), into="read")
    _mark_same_document(todo)
    if not confirm_repeat:
        _refuse_repeat([a for a in todo if a.should_send])
    for attempt in todo:
        try:
            attempt.request = audit_event_append(
                action=AuditAction.REPROCESS_REQUESTED, idempotency_key=attempt.key, batch_id=batch_id,
                details={"family_id": attempt.family_id, "assistant_ids": list(attempt.assistants)},
                **_common(attempt, user, reason, meta))
        except DuplicateAttempt as duplicate:  # a concurrent submit of the same form won the race
            attempt.result = _result_from_request(duplicate.existing)
    if client is not None:
        _fan_out([a for a in todo if a.should_send],
                 lambda a: client.reprocess_document_family(a.family_id, a.assistants), into="sent")
    for attempt in todo:
        if attempt.result is None:
            attempt.result = _record_outcome(attempt, user, reason, meta, batch_id)


def _common(attempt: _Attempt, user: AbstractBaseUser, reason: ReprocessReason, meta: RequestMeta) -> dict:
    return {"actor": user, "execution_id": attempt.execution_id, "reason_category": reason.category,
            "reason": reason.text, "meta": meta,
            "status_before": (attempt.execution.status_raw or "") if attempt.execution else ""}


def _fan_out(attempts: Sequence[_Attempt], call: Callable[[_Attempt], object], *, into: str) -> None:
    """`call(attempt)` for every attempt, in parallel, each outcome kept in the attempt's `into` field. Kodexa errors
    are outcomes (each attempt records its own); anything else is a bug, raised."""
    outcomes = run_parallel([functools.partial(call, a) for a in attempts], pool=CANCEL_POOL)
    for attempt, outcome in zip(attempts, outcomes, strict=True):
        if isinstance(outcome, BaseException) and not isinstance(outcome, KodexaError):
            raise outcome
        setattr(attempt, into, outcome)


def _mark_same_document(attempts: Sequence[_Attempt]) -> None:
    """A second failed execution of a document needs no second reprocess: one POST per document and assistant."""
    first: dict[tuple[str, str], str] = {}
    for attempt in attempts:
        if not attempt.should_send:
            continue
        for assistant in attempt.assistants:
            if (earlier := first.get((attempt.family_id, assistant))) is not None:
                attempt.same_as = earlier
                break
        else:
            for assistant in attempt.assistants:
                first[(attempt.family_id, assistant)] = attempt.execution_id


def _record_outcome(attempt: _Attempt, user: AbstractBaseUser, reason: ReprocessReason, meta: RequestMeta,
                    batch_id: uuid.UUID | None) -> ReprocessResult:
    outcome, message, upstream_status, latency, error = _judge(attempt)
    details = {"family_id": attempt.family_id, "assistant_ids": list(attempt.assistants)}
    assert attempt.request is not None
    audit_event_append(action=_OUTCOME_ACTIONS[outcome], upstream_status=upstream_status, error=error,
                       upstream_latency_ms=latency, request_event=attempt.request, batch_id=batch_id,
                       details={**details, "message": message}, **_common(attempt, user, reason, meta))
    logger.info("reprocess %s", outcome.value, extra={"execution_id": attempt.execution_id,
                                                       "outcome": outcome.value, "upstream_status": upstream_status})
    return ReprocessResult(execution_id=attempt.execution_id, outcome=outcome, message=message,
                           family_id=attempt.family_id, assistant_ids=attempt.assistants,
                           requested_at=attempt.request.occurred_at, upstream_status=upstream_status,
                           request_event_id=attempt.request.pk)


def _refuse_repeat(attempts: Sequence[_Attempt]) -> None:
    """ReprocessRepeat for the first document and assistant reprocessed within REPEAT_WINDOW (by anyone)."""
    wanted = {(a.family_id, assistant) for a in attempts for assistant in a.assistants}
    if not wanted:
        return
    keys = [a.key for a in attempts]
    recent = (AuditEvent.objects.filter(action=AuditAction.REPROCESS_REQUESTED,
                                        occurred_at__gte=timezone.now() - REPEAT_WINDOW,
                                        details__family_id__in=sorted({family for family, _ in wanted}))
              .exclude(idempotency_key__in=keys).order_by("-id"))
    for event in recent[:200]:
        family = event.details.get("family_id")
        if any((family, assistant) in wanted for assistant in event.details.get("assistant_ids") or ()):
            raise ReprocessRepeat(event)


def _judge(attempt: _Attempt) -> tuple[ReprocessOutcome, str, int | None, float | None, str]:
    """(outcome, message for the user, upstream status, upstream ms, error text for the audit)."""
    read, sent = attempt.read, attempt.sent
    if isinstance(read, KodexaError):
        if isinstance(read, KodexaNotFound):
            return (ReprocessOutcome.FAILED, "Kodexa does not know this execution; nothing was reprocessed.",
                    read.status, read.elapsed_ms, error_text(read))
        if isinstance(read, KodexaNotConfigured):
            return ReprocessOutcome.FAILED, f"Not reprocessed. {read.message}", None, None, error_text(read)
        problem = describe_upstream_error(read)
        return (ReprocessOutcome.FAILED, f"Not reprocessed: the execution could not be read first. "
                f"{problem.message}", read.status, read.elapsed_ms, error_text(read))
    assert read is not None
    if (why := reprocessable(read)) is not None:
        return ReprocessOutcome.SKIPPED, f"Not reprocessed: {why}.", None, None, ""
    if attempt.same_as:
        return (ReprocessOutcome.SKIPPED, f"Not reprocessed again: execution {attempt.same_as[:8]} of this batch "
                "reprocesses the same document with the same assistant.", None, None, "")
    if isinstance(sent, ReprocessResponse):
        return (ReprocessOutcome.SUCCEEDED, "Reprocess sent. Kodexa is starting new executions for this document.",
                sent.status, sent.elapsed_ms, "")
    assert isinstance(sent, KodexaError)
    if may_have_been_applied(sent):
        return (ReprocessOutcome.UNKNOWN, "Kodexa did not confirm the reprocess in time; it may or may not have "
                "started. Look for new executions of this document before trying again.", sent.status,
                sent.elapsed_ms, error_text(sent))
    problem = describe_upstream_error(sent)
    said = f" Kodexa said: {problem.said}" if problem.said else ""
    return (ReprocessOutcome.FAILED, f"Not reprocessed. {problem.message}{said}", sent.status, sent.elapsed_ms,
            error_text(sent))


def _replayed_result(key: str) -> ReprocessResult | None:
    request = AuditEvent.objects.filter(idempotency_key=key).first()
    return _result_from_request(request) if request is not None else None


def _result_from_request(request: AuditEvent) -> ReprocessResult:
    common = {"execution_id": request.execution_id, "family_id": str(request.details.get("family_id") or ""),
              "assistant_ids": tuple(request.details.get("assistant_ids") or ()),
              "requested_at": request.occurred_at, "request_event_id": request.pk, "replayed": True}
    outcome_event = request.outcomes.order_by("id").first()
    if outcome_event is None:
        return ReprocessResult(outcome=ReprocessOutcome.PENDING,
                               message="This reprocess was already submitted; its outcome is not recorded yet.",
                               **common)
    outcome = _ACTION_OUTCOMES.get(outcome_event.action, ReprocessOutcome.UNKNOWN)
    message = str(outcome_event.details.get("message") or outcome_event.get_action_display())
    return ReprocessResult(outcome=outcome, message=f"Already submitted: {message}",
                           upstream_status=outcome_event.upstream_status, **common)
