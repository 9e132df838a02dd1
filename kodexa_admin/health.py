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
    """Database and cache must work; Kodexa's reachability (probed at most once a minute, shared by every
    worker) and the circuit breaker's state are reported but never make the panel unready."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means "not ready"
        logger.error("readiness: database check failed", extra={"error": type(exc).__name__})
        checks["database"] = "error"
    try:
        probe = uuid.uuid4().hex
        cache.set("readyz:probe", probe, 10)
        checks["cache"] = "ok" if cache.get("readyz:probe") == probe else "error"
    except Exception as exc:
        logger.error("readiness: cache check failed", extra={"error": type(exc).__name__})
        checks["cache"] = "error"
    ready = all(value == "ok" for value in checks.values())
    body: dict[str, object] = {"status": "ok" if ready else "error", "checks": checks}
    if checks["cache"] == "ok":  # without a working cache every probe would call Kodexa
        reachability = kodexa_reachability()
        checks["kodexa"] = reachability.status
        checks["circuit"] = circuit_state()
        body["kodexa_checked_at"] = reachability.checked_at
    return JsonResponse(body, status=200 if ready else 503)
