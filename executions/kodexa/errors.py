"""Typed errors raised by the Kodexa client.

Every error carries what the panel and the audit log need (status, latency, method, path) and nothing
that could leak: never the API key, never a full upstream body, never a query string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from .redact import no_redaction

# Upstream text ends up in HTML, logs and audit rows: keep it short and printable.
MAX_DETAIL_CHARS = 300
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")
_DETAIL_KEYS = ("detail", "title", "message", "errorMessage")


class KodexaError(Exception):
    """Base of every error the client raises; views catch only this tree."""

    default_message = "Kodexa request failed"

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        elapsed_ms: float | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.message = clean_text(message) if message else self.default_message
        self.status = status
        self.elapsed_ms = elapsed_ms
        self.method = method
        self.path = path
        super().__init__(self.message)

    def __str__(self) -> str:
        where = " ".join(part for part in (self.method, self.path) if part)
        extras = [where] if where else []
        if self.status is not None:
            extras.append(f"HTTP {self.status}")
        if self.elapsed_ms is not None:
            extras.append(f"{self.elapsed_ms:.0f} ms")
        return f"{self.message} ({', '.join(extras)})" if extras else self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, status={self.status!r}, "
            f"method={self.method!r}, path={self.path!r}, elapsed_ms={self.elapsed_ms!r})"
        )


class KodexaNotConfigured(KodexaError):
    """The panel has no Kodexa URL or key to call with: nothing was sent."""

    default_message = "Kodexa is not configured"


class KodexaSearchUnavailable(KodexaError):
    """This tenant ignores free-text search and its filter dialect cannot say "contains": nothing was sent."""

    default_message = "This Kodexa cannot search executions by text"


class KodexaConnectionError(KodexaError):
    """The transport failed.

    `maybe_sent` tells a caller recording a cancel whether the outcome is unknown (True: the connection broke
    after the request may have reached Kodexa) or certainly not applied (False: never connected).
    """

    default_message = "Could not connect to Kodexa"

    def __init__(self, message: str | None = None, *, maybe_sent: bool, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.maybe_sent = maybe_sent


class KodexaTimeout(KodexaError):
    """Kodexa did not answer in time; the request may still have been applied."""

    default_message = "Kodexa did not answer in time"
    maybe_sent = True


class KodexaHTTPError(KodexaError):
    """Kodexa answered with a non-success status."""

    default_message = "Kodexa returned an error"

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        detail: str | None = None,
        incident_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, status=status, **kwargs)
        self.detail = clean_text(detail) if detail else None
        self.incident_id = clean_text(incident_id, limit=80) if incident_id else None

    def __str__(self) -> str:
        text = super().__str__()
        if self.detail and self.detail != self.message:
            text = f"{text}: {self.detail}"
        if self.incident_id:
            text = f"{text} [incident {self.incident_id}]"
        return text


class KodexaBadRequest(KodexaHTTPError):
    default_message = "Kodexa rejected the request"


class KodexaFilterRejected(KodexaBadRequest):
    """Kodexa refused a list's filter or sort: a 400 on a filtered list, or the 500 it answers for a field that
    is not a column. The request is at fault, not Kodexa: it proves Kodexa is up."""

    default_message = "Kodexa does not accept this filter"

    def __init__(self, message: str | None = None, *, field: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.field = clean_text(field, limit=64) if field else None


class KodexaAuthError(KodexaHTTPError):
    """401/403: the panel's credentials are wrong or lack access (an ops problem, not a user one)."""

    default_message = "Kodexa refused the panel's credentials"

    @property
    def is_forbidden(self) -> bool:
        return self.status == 403


class KodexaNotFound(KodexaHTTPError):
    default_message = "Not found in Kodexa"


class KodexaConflict(KodexaHTTPError):
    default_message = "Kodexa reported a conflict"


class KodexaRateLimited(KodexaHTTPError):
    default_message = "Kodexa is rate limiting the panel"

    def __init__(
        self, message: str | None = None, *, retry_after: float | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class KodexaServerError(KodexaHTTPError):
    default_message = "Kodexa is unavailable"


class KodexaBadResponse(KodexaHTTPError):
    """The answer could not be used: not JSON, wrong shape, too large, or a redirect."""

    default_message = "Kodexa sent an unusable response"


class KodexaRedirect(KodexaBadResponse):
    """A 3xx: never followed, because the custom auth header would be forwarded to the new host."""

    default_message = "Kodexa answered with a redirect"


# What Kodexa (its SQL layer) says for a filter or sort field that is not a column.
_NO_SUCH_COLUMN = re.compile(r'column "(?P<field>[A-Za-z0-9_.]{1,64})" does not exist')


def unknown_column(detail: str | None) -> str | None:
    """The field named by a "column ... does not exist" answer, or None."""
    match = _NO_SUCH_COLUMN.search(detail or "")
    return match["field"] if match else None


def error_class_for_status(status: int) -> type[KodexaHTTPError]:
    """The error class for a non-2xx status."""
    if 300 <= status < 400:
        return KodexaRedirect
    if status in (400, 422):
        return KodexaBadRequest
    if status in (401, 403):
        return KodexaAuthError
    if status == 404:
        return KodexaNotFound
    if status == 409:
        return KodexaConflict
    if status == 429:
        return KodexaRateLimited
    if status >= 500:
        return KodexaServerError
    return KodexaHTTPError


def clean_text(value: object, *, limit: int = MAX_DETAIL_CHARS,
               redact: Callable[[str], str] = no_redaction) -> str:
    """Printable, single-line, bounded text: upstream strings are untrusted.

    Redaction comes after the control characters are gone (they could split a secret) and before the cut (a
    secret straddling the limit would otherwise leave its first characters behind).
    """
    text = value if isinstance(value, str) else str(value)
    text = _CONTROL_CHARS.sub(" ", text).strip()
    text = redact(re.sub(r" {2,}", " ", text))
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def extract_detail(
    body: bytes | str | Mapping[str, Any] | None, *, redact: Callable[[str], str] = no_redaction
) -> tuple[str | None, str | None]:
    """(detail, incident_id) from a problem+json or legacy Spring error body; never the raw body.

    Every string taken from the body goes through `redact` (the client passes one that removes its API key).
    Only `incidentId` is an incident id: a problem's `instance` is the request path, which helps nobody find an
    incident and may carry whatever the path carried.
    """
    data: object = body
    if isinstance(body, bytes | str):
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None, None
    if not isinstance(data, Mapping):
        return None, None
    detail = None
    for key in _DETAIL_KEYS:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            detail = clean_text(value, redact=redact)
            break
    if detail is None:
        items = _error_items(data.get("errors"))
        if items:
            detail = clean_text("; ".join(items), redact=redact)
    incident = data.get("incidentId")
    incident_id = (clean_text(incident, limit=80, redact=redact)
                   if isinstance(incident, str) and incident.strip() else None)
    return detail, incident_id


def _error_items(errors: object) -> list[str]:
    """Legacy 400s carry `errors` as a {field: message} map, or as a list of strings or {field, message}s."""
    if isinstance(errors, Mapping):
        return [f"{key}: {value}" for key, value in list(errors.items())[:5]]
    if isinstance(errors, list):
        items = []
        for item in errors[:5]:
            if isinstance(item, Mapping):
                text = item.get("message") or item.get("defaultMessage") or item.get("detail")
                where = item.get("field") or item.get("name")
                if text:
                    items.append(f"{where}: {text}" if where else str(text))
            elif isinstance(item, str):
                items.append(item)
        return items
    return []


def may_have_been_applied(exc: KodexaError) -> bool:
    """Whether a write that ended in `exc` may still have taken effect: its outcome is unknown, not failed. True
    after a timeout or a connection lost once the request may have been sent, and for a 2xx answer whose body
    could not be read (Kodexa accepted something); a redirect is never an acceptance."""
    if isinstance(exc, KodexaTimeout):
        return True
    if isinstance(exc, KodexaConnectionError):
        return exc.maybe_sent
    return (isinstance(exc, KodexaBadResponse) and not isinstance(exc, KodexaRedirect)
            and exc.status is not None and 200 <= exc.status < 300)
