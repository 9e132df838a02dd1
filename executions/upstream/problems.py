"""What an upstream failure means for the person looking at the page: one place maps the client's error
tree to a title, a message and the status the panel answers with."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from executions.kodexa import (
    KodexaAuthError,
    KodexaBadResponse,
    KodexaConnectionError,
    KodexaError,
    KodexaFilterRejected,
    KodexaHTTPError,
    KodexaNotConfigured,
    KodexaNotFound,
    KodexaRateLimited,
    KodexaRedirect,
    KodexaSearchUnavailable,
    KodexaServerError,
    KodexaTimeout,
)
from executions.kodexa.urls import ROUTE_ASSISTANTS, ROUTE_EXECUTIONS
from executions.upstream.circuit import KodexaCircuitOpen

_COLLECTION_PATHS = frozenset({ROUTE_EXECUTIONS, ROUTE_ASSISTANTS})
logger = logging.getLogger("executions.upstream")


@dataclass(frozen=True, slots=True)
class UpstreamProblem:
    title: str
    message: str
    http_status: int
    retryable: bool = True
    misconfigured: bool = False
    retry_after: float | None = None
    said: str | None = None  # what Kodexa's error body said (detail, message or error items), redacted
    incident_id: str | None = None  # only when the body carries one


def describe_upstream_error(exc: KodexaError) -> UpstreamProblem:
    """What the page says about a Kodexa error, with what Kodexa itself said when it said anything."""
    problem = _describe(exc)
    said, incident = getattr(exc, "detail", None), getattr(exc, "incident_id", None)
    if (said or incident) and problem.said is None and problem.incident_id is None:
        problem = replace(problem, said=said, incident_id=incident)
    return problem


class CachedReadFailed(KodexaError):
    """Nothing to show: a read failed now, or moments ago (then Kodexa is not asked again yet); the problem was
    described when it happened."""

    def __init__(self, problem: UpstreamProblem) -> None:
        super().__init__(problem.title)
        self.problem = problem


def _describe(exc: KodexaError) -> UpstreamProblem:
    if isinstance(exc, CachedReadFailed):
        return exc.problem
    if isinstance(exc, KodexaFilterRejected):
        what = f"filtering or sorting on “{exc.field}”" if exc.field else "this filter or sort"
        return UpstreamProblem("Kodexa does not accept this filter", f"This Kodexa refused {what}. Remove that "
                               "filter or sort and try again; if it keeps happening on every list, the panel's "
                               "KODEXA_FILTER_DIALECT or KODEXA_SORT_SEPARATOR may not match this Kodexa "
                               "(manage.py kodexa_check tells).", 400, retryable=False)
    if isinstance(exc, KodexaSearchUnavailable):
        return UpstreamProblem("Text search unavailable", "This Kodexa cannot search executions by text. Remove "
                               "the search text to see the list, narrow it with the other filters, or paste an "
                               "execution id to open it.", 400, retryable=False)
    if isinstance(exc, KodexaNotConfigured):
        return UpstreamProblem("Panel not configured", "KODEXA_URL and KODEXA_API_KEY must be set for this "
                               "panel to reach Kodexa. Ask the panel's administrator.", 503, retryable=False,
                               misconfigured=True)
    if isinstance(exc, KodexaAuthError):
        return UpstreamProblem("Panel misconfigured", f"Kodexa refused the panel's API key (HTTP {exc.status}). "
                               "This is not something you can fix from here: ask the panel's administrator to "
                               "check KODEXA_API_KEY.", 503, retryable=False, misconfigured=True)
    if isinstance(exc, KodexaNotFound) and exc.path in _COLLECTION_PATHS:
        # A list cannot be "not found": Kodexa has these routes, so KODEXA_URL probably points elsewhere.
        return UpstreamProblem("Kodexa answered unexpectedly", "Kodexa has no such list at this address (HTTP "
                               "404). Check KODEXA_URL.", 502, misconfigured=True)
    if isinstance(exc, KodexaNotFound):
        return UpstreamProblem("Not found", "Kodexa does not know this.", 404, retryable=False)
    if isinstance(exc, KodexaRateLimited):
        wait = f" Try again in {int(exc.retry_after)} s." if exc.retry_after else " Try again in a moment."
        return UpstreamProblem("Kodexa is busy", "Kodexa is rate-limiting the panel." + wait, 503,
                               retry_after=exc.retry_after)
    if isinstance(exc, KodexaTimeout):
        return UpstreamProblem("Kodexa is slow", "Kodexa did not answer in time.", 504)
    if isinstance(exc, KodexaCircuitOpen):
        return UpstreamProblem("Kodexa unavailable", "Kodexa failed several times in a row, so the panel is "
                               f"pausing its calls for {exc.retry_in:.0f} s to let it recover.", 503,
                               retry_after=exc.retry_in)
    if isinstance(exc, KodexaConnectionError):
        return UpstreamProblem("Kodexa unreachable", "The panel cannot reach Kodexa right now.", 502)
    if isinstance(exc, KodexaRedirect):
        return UpstreamProblem("Kodexa answered unexpectedly", "Kodexa answered with a redirect, which the panel "
                               "never follows (the API key must not travel elsewhere). Check KODEXA_URL.", 502,
                               misconfigured=True)
    if isinstance(exc, KodexaBadResponse):
        return UpstreamProblem("Kodexa answered unexpectedly", "Kodexa sent a response the panel could not "
                               "understand.", 502)
    if isinstance(exc, KodexaServerError):
        return UpstreamProblem("Kodexa error", f"Kodexa had an internal error (HTTP {exc.status}).", 502)
    if isinstance(exc, KodexaHTTPError) and exc.status is not None:
        # Any other 4xx on a read (400, 405, 409, 422, ...) means the panel and Kodexa disagree: a bug or a
        # different API version, not something the user did.
        return UpstreamProblem("Kodexa answered unexpectedly", f"Kodexa refused the panel's request (HTTP "
                               f"{exc.status}).", 502, retryable=False)
    return UpstreamProblem("Kodexa unavailable", "Kodexa could not be used right now.", 502)


def log_upstream_problem(exc: KodexaError, problem: UpstreamProblem) -> None:
    if isinstance(exc, CachedReadFailed):
        return  # logged when it happened
    level = logging.ERROR if problem.misconfigured else logging.WARNING
    logger.log(level, "upstream problem: %s", problem.title,
               extra={"error": type(exc).__name__, "upstream_status": getattr(exc, "status", None)})


def problem_response(request: HttpRequest, exc: KodexaError, template: str,
                      context: dict[str, object]) -> HttpResponse:
    """The page keeps its layout and says what is wrong; an htmx refresh keeps the last good content."""
    problem = describe_upstream_error(exc)
    log_upstream_problem(exc, problem)
    if request.htmx:
        response = render(request, "inc/refresh_failed.html", {"problem": problem, "now": timezone.now()})
        response["HX-Reswap"] = "none"  # only the out-of-band status line is updated
        return response
    response = render(request, template, {**context, "problem": problem}, status=problem.http_status)
    if problem.retry_after:
        response["Retry-After"] = str(int(problem.retry_after))
    return response
