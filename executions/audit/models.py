"""The append-only audit log of remote actions (the chain that seals it is in chain.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditAction(models.TextChoices):
    CANCEL_REQUESTED = "cancel.requested", "Cancel requested"
    CANCEL_SUCCEEDED = "cancel.succeeded", "Cancel succeeded"
    CANCEL_FAILED = "cancel.failed", "Cancel failed"
    CANCEL_UNKNOWN = "cancel.unknown", "Cancel outcome unknown"
    CANCEL_DENIED = "cancel.denied", "Cancel denied"
    CANCEL_SKIPPED = "cancel.skipped", "Cancel not sent (already finished)"
    CANCEL_RECONCILED = "cancel.reconciled", "Cancel outcome reconciled"
    REPROCESS_REQUESTED = "reprocess.requested", "Reprocess requested"
    REPROCESS_SUCCEEDED = "reprocess.succeeded", "Reprocess succeeded"
    REPROCESS_FAILED = "reprocess.failed", "Reprocess failed"
    REPROCESS_UNKNOWN = "reprocess.unknown", "Reprocess outcome unknown"
    REPROCESS_DENIED = "reprocess.denied", "Reprocess denied"
    REPROCESS_SKIPPED = "reprocess.skipped", "Reprocess not sent"
    REPROCESS_RECONCILED = "reprocess.reconciled", "Reprocess outcome reconciled"
    AUDIT_EXPORTED = "audit.exported", "Audit log exported"


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs: object) -> int:
        raise TypeError("Audit events are append-only: they cannot be updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("Audit events are append-only: they cannot be deleted.")


class AuditEvent(models.Model):
    """One immutable fact about a remote action, linked into an HMAC chain (see executions/audit)."""

    occurred_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    action = models.CharField(max_length=32, choices=AuditAction.choices, db_index=True, editable=False)
    # DO_NOTHING without a database constraint: deleting a user must not UPDATE events (the triggers refuse it,
    # and the id is part of the hashed record). The event keeps the number; actor_username says who it was.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+", editable=False,
    )
    actor_username = models.CharField(max_length=150, blank=True, editable=False)
    execution_id = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    reason_category = models.CharField(max_length=32, blank=True, editable=False)
    reason = models.TextField(blank=True, editable=False)
    batch_id = models.UUIDField(null=True, blank=True, db_index=True, editable=False)
    request_id = models.CharField(max_length=64, blank=True, editable=False)
    client_ip = models.GenericIPAddressField(null=True, blank=True, editable=False)
    user_agent = models.CharField(max_length=300, blank=True, editable=False)
    status_before = models.CharField(max_length=32, blank=True, editable=False)
    upstream_status = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    status_after = models.CharField(max_length=32, blank=True, editable=False)
    error = models.TextField(blank=True, editable=False)
    upstream_latency_ms = models.FloatField(null=True, blank=True, editable=False)
    request_event = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="outcomes", editable=False,
    )
    # The cancel form's one-time token (per item for bulk cancels): a replayed or double-clicked form finds
    # the first attempt here instead of calling Kodexa again. Unique, so two racing submits cannot both win.
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True, editable=False)
    details = models.JSONField(default=dict, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, unique=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        permissions = [("cancel_execution", "Can cancel Kodexa executions"),
                       ("reprocess_execution", "Can reprocess Kodexa documents")]
        indexes = [models.Index(fields=["execution_id", "-id"], name="audit_execution_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.execution_id} by {self.actor_username or '-'}"


    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None or not self._state.adding:
            raise TypeError("Audit events are append-only: they cannot be changed once written.")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise TypeError("Audit events are append-only: they cannot be deleted.")

