"""Completing the story of reprocesses whose outcome was never recorded (a worker died between the two events).

Kodexa's answer is lost, but its effect is visible: new executions of the document with the requested assistants,
created after the request."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from executions.audit.chain import DuplicateAttempt, RequestMeta, audit_event_append
from executions.audit.models import AuditAction, AuditEvent
from executions.cancel.reconcile import Finding
from executions.kodexa import KodexaError
from executions.reprocess.selectors import reprocess_followups

logger = logging.getLogger("executions.reconcile")


def open_reprocess_requests(*, older_than_seconds: int) -> list[AuditEvent]:
    answered = AuditEvent.objects.filter(request_event=OuterRef("pk"))
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(AuditEvent.objects.filter(action=AuditAction.REPROCESS_REQUESTED, occurred_at__lte=cutoff)
                .exclude(Exists(answered)).order_by("id"))


def reprocess_reconcile(*, older_than_seconds: int = 120) -> list[Finding]:
    """Record a `reprocess.reconciled` outcome, naming the executions it started if any, for every open request."""
    findings: list[Finding] = []
    meta = RequestMeta(request_id="audit_reconcile")
    for request in open_reprocess_requests(older_than_seconds=older_than_seconds):
        family_id = str(request.details.get("family_id") or "")
        assistant_ids = [str(a) for a in request.details.get("assistant_ids") or ()]
        started: list[str] = []
        if family_id and assistant_ids:
            try:
                started = [e.id for e in reprocess_followups(family_id=family_id, since=request.occurred_at,
                                                             assistant_ids=assistant_ids,
                                                             replaced_id=request.execution_id)]
            except (KodexaError, ValueError) as exc:  # nothing is recorded: the next run tries again
                findings.append(Finding(request.pk, request.execution_id, f"not reconciled: {type(exc).__name__}",
                                        False))
                continue
        if started:
            conclusion = f"the reprocess took effect: {len(started)} new execution(s) of the document"
        else:
            conclusion = "no new execution of the document since the request: it did not take effect"
        try:
            audit_event_append(
                action=AuditAction.REPROCESS_RECONCILED, actor=None, execution_id=request.execution_id,
                reason_category=request.reason_category, reason=request.reason, meta=meta,
                status_before=request.status_before, request_event=request, idempotency_key=f"reconcile:{request.pk}",
                details={"message": f"Reconciled: {conclusion}.", "conclusion": conclusion, "family_id": family_id,
                         "assistant_ids": assistant_ids, "started_execution_ids": started,
                         "requested_by": request.actor_username},
            )
        except DuplicateAttempt:
            continue  # another reconciler got there first
        logger.warning("reconciled an open reprocess request", extra={"audit_event_id": request.pk,
                                                                       "execution_id": request.execution_id})
        findings.append(Finding(request.pk, request.execution_id, conclusion, True))
    return findings
