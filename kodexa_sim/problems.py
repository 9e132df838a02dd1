"""Error bodies: RFC 9457 problem details (the v2 Go API) or the legacy Spring API's ExceptionResponse."""

from __future__ import annotations

import uuid
from http import HTTPStatus
from typing import Any

PROBLEM_JSON = "application/problem+json"
LEGACY_JSON = "application/json"


class ApiError(Exception):
    """Raised anywhere below a route handler; the server turns it into an error answer.

    ``errors`` names the request parameter a validation error is about; only the legacy body shows it.
    """

    def __init__(
        self, status: int, detail: str, *, headers: dict[str, str] | None = None, errors: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.errors = errors or {}


def problem_body(status: int, detail: str, instance: str) -> dict[str, Any]:
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    return {"type": "about:blank", "title": title, "status": status, "detail": detail, "instance": instance}


def legacy_body(detail: str, errors: dict[str, str] | None = None) -> dict[str, Any]:
    """The legacy SDK's ExceptionResponse, as far as the SDK reads it; each answer is its own incident."""
    return {"message": detail, "errors": dict(errors or {}), "incidentId": str(uuid.uuid4())}


def error_body(
    style: str, status: int, detail: str, instance: str, errors: dict[str, str] | None = None
) -> tuple[dict[str, Any], str]:
    """The body and content type of an error answer in ``style`` (``problem`` or ``legacy``)."""
    if style == "legacy":
        return legacy_body(detail, errors), LEGACY_JSON
    return problem_body(status, detail, instance), PROBLEM_JSON
