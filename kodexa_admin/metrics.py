"""Prometheus metrics: what the panel and its upstream are doing, served at /metrics.

Under gunicorn every worker is its own process, so the counters live in files under PROMETHEUS_MULTIPROC_DIR
(prometheus-client's multiprocess mode; gunicorn.conf.py sets and empties that directory at start and tells the
client when a worker exits). A scrape adds up every worker's files, those of workers that have since exited
included, so a restart never loses counts. Without that variable (tests, runserver) the counters are this
process's own.

Label values come from bounded sets only: route templates (`/api/executions/{id}`), HTTP methods, status codes
or error class names, cache read kinds, audit actions and URL names. Never an id, a user or a query.
"""

from __future__ import annotations

import hmac
import os
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric

from kodexa_admin.client_ip import client_ip, configured_networks, in_networks, parse_address

PREFIX = "kodexa_admin"

KODEXA_CALLS = Counter(f"{PREFIX}_kodexa_calls", "Calls to the Kodexa API, by route template, method and outcome "
                       "(the HTTP status, or the error's class when no usable answer came)",
                       ["route", "method", "outcome"])
KODEXA_RETRIES = Counter(f"{PREFIX}_kodexa_retries", "Extra attempts urllib3 made within Kodexa calls (GET "
                         "retries): calls plus retries are the requests Kodexa saw", ["route", "method"])
KODEXA_SECONDS = Histogram(f"{PREFIX}_kodexa_call_seconds", "Duration of Kodexa calls, retries and body included",
                           ["route", "method"], buckets=(.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30))
CIRCUIT_REFUSALS = Counter(f"{PREFIX}_circuit_refusals", "Kodexa calls not sent because the breaker was open")
CACHE_READS = Counter(f"{PREFIX}_cache_reads", "Shared reads by kind and result: hit (served without asking "
                      "Kodexa), stale (last good value served while Kodexa fails), miss (asked Kodexa), "
                      "error (nothing to show)", ["kind", "result"])
AUDIT_EVENTS = Counter(f"{PREFIX}_audit_events", "Audit events appended, by action (the audit action's value) and "
                       "its parts: the kind of action and its outcome", ["action", "kind", "outcome"])
REQUEST_SECONDS = Histogram(f"{PREFIX}_request_seconds", "Time to answer a request, by URL name, method and "
                            "status class", ["view", "method", "status"],
                            buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# --- recording ---------------------------------------------------------------------------------------------

def record_kodexa_call(method: str, route: str, status: int | None, error: str | None, seconds: float,
                       retries: int) -> None:
    """The Kodexa client's `on_call` hook: one call, whatever happened to it. The outcome is the HTTP status, except
    when there was none or it was a 2xx whose body was unusable: then the error's class name."""
    answered = status is not None and (error is None or not 200 <= status < 300)
    outcome = str(status) if answered else (error or "unknown")
    KODEXA_CALLS.labels(route, method, outcome).inc()
    KODEXA_SECONDS.labels(route, method).observe(seconds)
    if retries:
        KODEXA_RETRIES.labels(route, method).inc(retries)


def record_circuit_refusal() -> None:
    CIRCUIT_REFUSALS.inc()


def record_cache_reads(results: Iterable[tuple[str, str]]) -> None:
    """(read kind, result) pairs of one batch of reads, added up first: a dashboard makes hundreds."""
    for (kind, result), count in Tally(results).items():
        CACHE_READS.labels(kind, result).inc(count)


def record_audit_event(action: str) -> None:
    kind, _, outcome = action.partition(".")
    AUDIT_EVENTS.labels(action, kind, outcome).inc()


class RequestMetricsMiddleware:
    """Request latency by URL name (`executions:detail`), never by path: paths carry ids. A streamed response
    (an audit export) counts until its first byte."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or "unnamed") if match is not None else "unmatched"
        method = request.method if request.method in _METHODS else "other"
        REQUEST_SECONDS.labels(view, method, f"{response.status_code // 100}xx").observe(time.perf_counter() - start)
        return response


# --- exposition --------------------------------------------------------------------------------------------

class _CircuitCollector:
    """The breaker's state, read from the shared cache at scrape time: every instance reports the same."""

    def collect(self) -> Iterator[Metric]:
        from executions.upstream.circuit import circuit_state

        family = GaugeMetricFamily(f"{PREFIX}_circuit_state", "Kodexa circuit breaker: 1 for the current state "
                                   "(open: calls paused; failing: closed with failures on record)", labels=["state"])
        try:
            current = circuit_state()
        except Exception:  # a cache outage must not cost the other metrics; /readyz reports it
            current = "unknown"
        for state in ("closed", "failing", "open", "unknown"):
            family.add_metric([state], 1.0 if state == current else 0.0)
        yield family


class _ProcessRegistry:
    """This process's own metrics, when not under gunicorn's multiprocess mode."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def exposition() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessRegistry())  # type: ignore[arg-type]
    registry.register(_CircuitCollector())  # type: ignore[arg-type]
    return generate_latest(registry)


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return True
    if "HTTP_X_FORWARDED_FOR" in request.META:
        peer = parse_address(request.META.get("REMOTE_ADDR", ""))
        if peer is None or not in_networks(peer, configured_networks(settings.TRUSTED_PROXIES)):
            # Relayed by a proxy the panel does not know (TRUSTED_PROXIES unset?): the peer's address says
            # nothing about the scraper, so only the token can let this one in.
            return False
    address = parse_address(client_ip(request) or "")
    return address is not None and in_networks(address, configured_networks(settings.METRICS_ALLOWED_NETWORKS))


@login_not_required
@require_safe
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse("Forbidden: /metrics answers scrapers from METRICS_ALLOWED_NETWORKS or with the "
                            "METRICS_TOKEN bearer token.\n", status=403, content_type="text/plain; charset=utf-8")
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)

