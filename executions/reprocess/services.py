"""Reprocessing a finished execution's document, with every attempt audited as cancels are.

Re-read the execution (only a finished one with a document family and an assistant is reprocessed), commit
`reprocess.requested`, send `POST /api/document-families/{id}/reprocess` once, commit the outcome. The POST starts
new executions each time it is accepted, so it is never re-sent: a replayed form shows the first result, and a
second request for the same document and assistant within REPEAT_WINDOW needs an explicit confirmation.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone

from executions.audit.chain import DuplicateAttempt, RequestMeta, audit_event_append
from executions.audit.models import AuditAction, AuditEvent
from executions.cancel.services import refusal_record
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


def reprocess_permission_require(*, user: AbstractBaseUser, execution_id: str, meta: RequestMeta,
                                 reason_text: str = "", reason_category: str = "") -> None:
    """The one permission check for reprocessing. A refusal is audited, then raised as ReprocessNotAllowed."""
    if user.has_perm(REPROCESS_PERMISSION):
        return
    refusal_record(user=user, execution_ids=[execution_id], reason_text=reason_text, meta=meta,
                   reason_category=reason_category, batch_id=None, action=AuditAction.REPROCESS_DENIED,
                   permission=REPROCESS_PERMISSION)
    raise ReprocessNotAllowed()


def execution_reprocess(*, user: AbstractBaseUser, execution_id: str, assistant_ids: Sequence[str],
                        reason: ReprocessReason, meta: RequestMeta, token: str,
                        confirm_repeat: bool = False) -> ReprocessResult:
    """Reprocess the execution's document with these assistants (see the module docstring).

    Raises ReprocessNotAllowed (audited), ReprocessRepeat (nothing recorded: ask, then call again with
    confirm_repeat), or ValueError for ids that are not ids (nothing recorded, nothing sent)."""
    reprocess_permission_require(user=user, execution_id=execution_id, meta=meta, reason_text=reason.text,
                                 reason_category=reason.category)
    assistants = tuple(dict.fromkeys(validate_id(a) for a in assistant_ids))
    if not assistants or len(assistants) > MAX_ASSISTANTS:
        raise ValueError(f"choose 1 to {MAX_ASSISTANTS} assistants")
    key = f"reprocess:{user.pk}:{token}:{execution_id}"
    if (replayed := _replayed_result(key)) is not None:
        return replayed
    try:
        client = kodexa_client()
        read: Execution | KodexaError = client.get_execution(execution_id)
    except KodexaError as exc:  # KodexaNotConfigured included: recorded as a failed attempt like any other
        read = exc
    family_id = (read.document_family_id or "") if isinstance(read, Execution) else ""
    if isinstance(read, Execution) and reprocessable(read) is None and not confirm_repeat:
        _refuse_repeat(family_id, assistants, key)
    common = {"actor": user, "execution_id": execution_id, "reason_category": reason.category,
              "reason": reason.text, "meta": meta,
              "status_before": (read.status_raw or "") if isinstance(read, Execution) else ""}
    details = {"family_id": family_id, "assistant_ids": list(assistants)}
    try:
        request = audit_event_append(action=AuditAction.REPROCESS_REQUESTED, idempotency_key=key,
                                     details=details, **common)
    except DuplicateAttempt as duplicate:  # a concurrent submit of the same form won the race
        return _result_from_request(duplicate.existing)
    sent: ReprocessResponse | KodexaError | None = None
    if isinstance(read, Execution) and reprocessable(read) is None:
        try:
            sent = client.reprocess_document_family(family_id, assistants)
        except KodexaError as exc:
            sent = exc
    outcome, message, upstream_status, latency, error = _judge(read, sent)
    audit_event_append(action=_OUTCOME_ACTIONS[outcome], upstream_status=upstream_status, error=error,
                       upstream_latency_ms=latency, request_event=request,
                       details={**details, "message": message}, **common)
    logger.info("reprocess %s", outcome.value, extra={"execution_id": execution_id, "outcome": outcome.value,
                                                       "upstream_status": upstream_status})
    return ReprocessResult(execution_id=execution_id, outcome=outcome, message=message, family_id=family_id,
                           assistant_ids=assistants, requested_at=request.occurred_at,
                           upstream_status=upstream_status, request_event_id=request.pk)


def _refuse_repeat(family_id: str, assistants: tuple[str, ...], key: str) -> None:
    since = timezone.now() - REPEAT_WINDOW
    recent = (AuditEvent.objects.filter(action=AuditAction.REPROCESS_REQUESTED, occurred_at__gte=since,
                                        details__family_id=family_id)
              .exclude(idempotency_key=key).order_by("-id"))
    for event in recent[:50]:
        if set(event.details.get("assistant_ids") or ()) & set(assistants):
            raise ReprocessRepeat(event)


def _judge(read: Execution | KodexaError,
           sent: ReprocessResponse | KodexaError | None) -> tuple[ReprocessOutcome, str, int | None, float | None, str]:
    """(outcome, message for the user, upstream status, upstream ms, error text for the audit)."""
    if isinstance(read, KodexaError):
        if isinstance(read, KodexaNotFound):
            return (ReprocessOutcome.FAILED, "Kodexa does not know this execution; nothing was reprocessed.",
                    read.status, read.elapsed_ms, _error_text(read))
        if isinstance(read, KodexaNotConfigured):
            return ReprocessOutcome.FAILED, f"Not reprocessed. {read.message}", None, None, _error_text(read)
        problem = describe_upstream_error(read)
        return (ReprocessOutcome.FAILED, f"Not reprocessed: the execution could not be read first. "
                f"{problem.message}", read.status, read.elapsed_ms, _error_text(read))
    if (why := reprocessable(read)) is not None:
        return ReprocessOutcome.SKIPPED, f"Not reprocessed: {why}.", None, None, ""
    if isinstance(sent, ReprocessResponse):
        return (ReprocessOutcome.SUCCEEDED, "Reprocess sent. Kodexa is starting new executions for this document.",
                sent.status, sent.elapsed_ms, "")
    assert isinstance(sent, KodexaError)
    if may_have_been_applied(sent):
        return (ReprocessOutcome.UNKNOWN, "Kodexa did not confirm the reprocess in time; it may or may not have "
                "started. Look for new executions of this document before trying again.", sent.status,
                sent.elapsed_ms, _error_text(sent))
    problem = describe_upstream_error(sent)
    said = f" Kodexa said: {problem.said}" if problem.said else ""
    return (ReprocessOutcome.FAILED, f"Not reprocessed. {problem.message}{said}", sent.status, sent.elapsed_ms,
            _error_text(sent))


def _error_text(exc: BaseException) -> str:
    detail = getattr(exc, "detail", None) or str(exc)
    return f"{type(exc).__name__}: {detail}"[:500]


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
