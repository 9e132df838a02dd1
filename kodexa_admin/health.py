"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import logging
import uuid

from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from executions.upstream.circuit import circuit_state
from executions.upstream.reachability import kodexa_reachability

logger = logging.getLogger(__name__)


@login_not_required
@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers; touches nothing else, so a slow dependency never gets the panel restarted."""
    return JsonResponse({"status": "ok"})


@login_not_required
@require_safe
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready when the database and the cache work and the circuit breaker is not open; otherwise 503 with the
    reasons. Kodexa's reachability (probed at most once a minute, shared by every worker) is reported but never
    makes the panel unready: the open breaker is what says Kodexa keeps failing for this panel's own calls."""
    checks: dict[str, str] = {}
    reasons: list[str] = []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means "not ready"
        logger.error("readiness: database check failed", extra={"error": type(exc).__name__})
        checks["database"] = "error"
        reasons.append(f"database: {type(exc).__name__}")
    try:
        probe = uuid.uuid4().hex
        cache.set("readyz:probe", probe, 10)
        checks["cache"] = "ok" if cache.get("readyz:probe") == probe else "error"
        if checks["cache"] != "ok":
            reasons.append("cache: a value written could not be read back")
    except Exception as exc:
        logger.error("readiness: cache check failed", extra={"error": type(exc).__name__})
        checks["cache"] = "error"
        reasons.append(f"cache: {type(exc).__name__}")
    body: dict[str, object] = {"checks": checks}
    if checks["cache"] == "ok":  # the breaker lives in the cache; without it every probe would also call Kodexa
        checks["circuit"] = circuit_state()
        if checks["circuit"] == "open":
            reasons.append("circuit: Kodexa failed repeatedly and calls are paused")
        reachability = kodexa_reachability()
        checks["kodexa"] = reachability.status
        body["kodexa_checked_at"] = reachability.checked_at
    body = {"status": "error" if reasons else "ok", **body}
    if reasons:
        body["reason"] = "; ".join(reasons)
    return JsonResponse(body, status=503 if reasons else 200)
