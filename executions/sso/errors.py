"""Why a sign-in through the identity provider failed: one exception, with words for the person and for the log."""

from __future__ import annotations

from enum import StrEnum


class FailureKind(StrEnum):
    """Stored in the audit event (auth.sso_failed), so an auditor can count failures by cause."""

    PROVIDER_UNAVAILABLE = "provider_unavailable"
    PROVIDER_MISBEHAVED = "provider_misbehaved"
    STATE = "state"
    PROVIDER_ERROR = "provider_error"
    CODE_REJECTED = "code_rejected"
    TOKEN_INVALID = "token_invalid"  # noqa: S105  (a failure kind, not a secret)
    CLAIMS = "claims"
    INACTIVE = "inactive"


class SsoFailure(Exception):
    """A sign-in that must end on the "sign-in failed" page: `message` is shown, `detail` only logged."""

    def __init__(self, kind: FailureKind, message: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {message}" + (f" ({detail})" if detail else ""))
        self.kind = kind
        self.message = message
        self.detail = detail
