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
    # Who may do what: every grant and revocation of a role, every team membership change, from the identity
    # provider at sign-in or from /admin/ (executions/sso/access.py).
    ACCESS_OPERATOR_GRANTED = "access.operator_granted", "Operator role granted"
    ACCESS_OPERATOR_REVOKED = "access.operator_revoked", "Operator role revoked"
    ACCESS_AUDITOR_GRANTED = "access.auditor_granted", "Auditor role granted"
    ACCESS_AUDITOR_REVOKED = "access.auditor_revoked", "Auditor role revoked"
    ACCESS_TEAM_JOINED = "access.team_joined", "Added to team"
    ACCESS_TEAM_LEFT = "access.team_left", "Removed from team"
    ACCESS_SUPERUSER_GRANTED = "access.superuser_granted", "Superuser status granted"
    ACCESS_SUPERUSER_REVOKED = "access.superuser_revoked", "Superuser status revoked"
    ACCESS_PERMISSION_GRANTED = "access.permission_granted", "Permission granted"
    ACCESS_PERMISSION_REVOKED = "access.permission_revoked", "Permission revoked"
    ACCESS_GROUP_RENAMED = "access.group_renamed", "Group renamed"
    # Sign-ins through the identity provider, and password sign-ins that bypass it (executions/sso/views.py).
    AUTH_SSO_LOGIN = "auth.sso_login", "Signed in (SSO)"
    AUTH_SSO_FAILED = "auth.sso_failed", "SSO sign-in failed"
    AUTH_SSO_LOGOUT = "auth.sso_logout", "Signed out (SSO)"
    AUTH_BREAK_GLASS_LOGIN = "auth.break_glass_login", "Break-glass password sign-in"
    AUTH_BREAK_GLASS_FAILED = "auth.break_glass_failed", "Break-glass sign-in refused"


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

