"""Completing the story of cancels whose outcome was never recorded (a worker died between the two events)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from executions.audit.chain import DuplicateAttempt, RequestMeta, audit_event_append
from executions.audit.models import AuditAction, AuditEvent
from executions.kodexa import Execution, ExecutionStatus, KodexaError, KodexaNotFound
from executions.upstream.client import kodexa_client

logger = logging.getLogger("executions.reconcile")

_APPLIED = {ExecutionStatus.CANCELLING, ExecutionStatus.CANCELLED}


@dataclass(frozen=True, slots=True)
class Finding:
    request_event_id: int
    execution_id: str
    conclusion: str
    recorded: bool


def open_cancel_requests(*, older_than_seconds: int) -> list[AuditEvent]:
    answered = AuditEvent.objects.filter(request_event=OuterRef("pk"))
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(AuditEvent.objects.filter(action=AuditAction.CANCEL_REQUESTED, occurred_at__lte=cutoff)
                .exclude(Exists(answered)).order_by("id"))


def _conclusion(execution: Execution | None) -> str:
    if execution is None:
        return "Kodexa does not know this execution any more"
    if execution.status in _APPLIED:
        return f"the cancel took effect: the execution is {execution.status_display}"
    if execution.status.is_terminal:
        return f"the execution finished as {execution.status_display}; the cancel did not stop it"
    return f"the cancel did not take effect: the execution is still {execution.status_display}"


def audit_reconcile(*, older_than_seconds: int = 120) -> list[Finding]:
    """Record a `cancel.reconciled` outcome, with the execution's current status, for every open request."""
    findings: list[Finding] = []
    requests = open_cancel_requests(older_than_seconds=older_than_seconds)
    if not requests:
        return findings
    client = kodexa_client()
    meta = RequestMeta(request_id="audit_reconcile")
    for request in requests:
        try:
            execution: Execution | None = client.get_execution(request.execution_id)
            upstream_status = 200
        except KodexaNotFound:
            execution, upstream_status = None, 404
        except KodexaError as exc:
            # Nothing is recorded: the next run tries again.
            findings.append(Finding(request.pk, request.execution_id, f"not reconciled: {type(exc).__name__}", False))
            continue
        conclusion = _conclusion(execution)
        try:
            audit_event_append(
                action=AuditAction.CANCEL_RECONCILED, actor=None, execution_id=request.execution_id,
                reason_category=request.reason_category, reason=request.reason, batch_id=request.batch_id,
                meta=meta, status_before=request.status_before, upstream_status=upstream_status,
                status_after=(execution.status_raw or "") if execution else "", request_event=request,
                idempotency_key=f"reconcile:{request.pk}",
                details={"message": f"Reconciled: {conclusion}.", "conclusion": conclusion,
                         "requested_by": request.actor_username},
            )
        except DuplicateAttempt:
            continue  # another reconciler got there first
        logger.warning("reconciled an open cancel request", extra={"audit_event_id": request.pk,
                                                                    "execution_id": request.execution_id})
        findings.append(Finding(request.pk, request.execution_id, conclusion, True))
    return findings
