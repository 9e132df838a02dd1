"""The fault matrix: every way Kodexa can misbehave, on every path that talks to it.

For the list, detail, cancel and dashboard paths and each upstream fault, the panel answers within its own time
budget with the right page and status (never a 500 or a traceback), never shows or forwards the API key, and
every cancel attempt ends in the right audit outcome.
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import threading
import time
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from executions.dashboards.services import dashboard_create, widget_add
from executions.models import AuditEvent
from executions.queries import ExecutionQuery

pytestmark = pytest.mark.django_db

BUDGET_SECONDS = 8  # KODEXA_TOTAL_TIMEOUT below, plus rendering and the stand-in's own slowness


@dataclass(frozen=True)
class Fault:
    name: str
    spec: dict = field(default_factory=dict)  # type: ignore[type-arg]  (kwargs of SimControl.add_fault)
    read_status: int = 502  # what the list and detail pages answer
    read_text: str = ""
    cancel_outcome: str = "failed"


FAULTS = [
    Fault("401", {"status": 401}, 503, "Panel misconfigured"),
    Fault("403", {"status": 403}, 503, "Panel misconfigured"),
    Fault("404", {"status": 404}, 404, "does not know"),
    Fault("409", {"status": 409}, 502, "HTTP 409"),
    Fault("429", {"status": 429, "headers": {"Retry-After": "1"}}, 503, "rate-limiting"),
    Fault("500", {"status": 500}, 502, "HTTP 500"),
    Fault("502", {"status": 502}, 502, "HTTP 502"),
    Fault("503", {"status": 503}, 502, "HTTP 503"),
    Fault("504", {"status": 504}, 502, "HTTP 504"),
    Fault("read timeout", {"mode": "timeout", "delay_ms": 4000}, 504, "did not answer in time", "unknown"),
    Fault("connection reset", {"mode": "reset"}, 502, "cannot reach", "unknown"),
    Fault("malformed JSON", {"mode": "malformed"}, 502, "could not understand", "unknown"),
    Fault("HTML body", {"mode": "html", "status": 200}, 502, "could not understand", "unknown"),
    Fault("HTML error page", {"mode": "html", "status": 502}, 502, "HTTP 502"),
    Fault("redirect elsewhere", {"mode": "redirect"}, 502, "redirect"),
    Fault("oversized body", {"mode": "oversized", "size_bytes": 8_000_000}, 502, "could not understand", "unknown"),
    Fault("trickling body", {"mode": "trickle", "delay_ms": 6000}, 504, "did not answer in time", "unknown"),
]
IDS = [f.name for f in FAULTS]


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:
        _Recorder.seen.append(dict(self.headers))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_PUT = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def other_host():  # type: ignore[no-untyped-def]
    """A listener on another loopback address: a redirect must never bring the API key here."""
    server = http.server.ThreadingHTTPServer(("127.0.0.2", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.2:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def fast_budget(settings):  # type: ignore[no-untyped-def]
    settings.KODEXA_CONNECT_TIMEOUT = 0.5
    settings.KODEXA_READ_TIMEOUT = 1.0
    settings.KODEXA_TOTAL_TIMEOUT = 3.0


def _inject(kodexa, fault: Fault, route: str, other_host: str) -> None:  # type: ignore[no-untyped-def]
    spec = dict(fault.spec)
    if spec.get("mode") == "redirect":
        spec["location"] = f"{other_host}/api/stolen"
    kodexa.control.add_fault(route, times=-1, **spec)


def _timed(fn):  # type: ignore[no-untyped-def]
    start = time.monotonic()
    response = fn()
    elapsed = time.monotonic() - start
    assert elapsed < BUDGET_SECONDS, f"took {elapsed:.1f} s"
    return response


def _assert_clean(response, kodexa) -> str:  # type: ignore[no-untyped-def]
    body = response.content.decode(errors="replace")
    assert response.status_code != 500
    assert "Traceback" not in body and kodexa.api_key not in body
    assert all(kodexa.api_key not in str(v) for v in response.headers.values())
    return body


def _assert_not_forwarded(kodexa) -> None:  # type: ignore[no-untyped-def]
    assert all(kodexa.api_key not in str(headers) for headers in _Recorder.seen)
    assert _Recorder.seen == []


@pytest.mark.parametrize("fault", FAULTS, ids=IDS)
def test_list(viewer_client, kodexa, fast_budget, other_host, fault):
    viewer_client.get(reverse("executions:list"))  # names cached: the fault hits the list call itself
    _inject(kodexa, fault, "GET /api/executions", other_host)
    response = _timed(lambda: viewer_client.get(reverse("executions:list")))
    body = _assert_clean(response, kodexa)
    expected = 502 if fault.name == "404" else fault.read_status  # a missing list route is a wrong URL
    assert response.status_code == expected, body[-2000:]
    assert 'class="app-header"' in body
    if fault.name != "404":
        assert fault.read_text in body
    if fault.name == "429":
        assert response["Retry-After"] == "1"
    _assert_not_forwarded(kodexa)


@pytest.mark.parametrize("fault", FAULTS, ids=IDS)
def test_detail(viewer_client, kodexa, fast_budget, other_host, fault):
    execution = kodexa.control.add_execution(status="RUNNING")["id"]
    viewer_client.get(reverse("executions:detail", args=[execution]))
    _inject(kodexa, fault, "GET /api/executions/*", other_host)
    response = _timed(lambda: viewer_client.get(reverse("executions:detail", args=[execution])))
    body = _assert_clean(response, kodexa)
    assert response.status_code == fault.read_status, body[-2000:]
    assert fault.read_text in body and 'class="app-header"' in body
    _assert_not_forwarded(kodexa)


@pytest.mark.parametrize("fault", FAULTS, ids=IDS)
def test_cancel(operator_client, kodexa, fast_budget, other_host, fault):
    execution = kodexa.control.add_execution(status="RUNNING", _sim={"lifecycle": False})["id"]
    _inject(kodexa, fault, "PUT /api/executions/*/cancel", other_host)
    response = _timed(lambda: operator_client.post(
        reverse("executions:cancel", args=[execution]),
        {"reason_category": "stuck", "reason": f"fault {fault.name}", "token": "f" * 24}))
    _assert_clean(response, kodexa)
    assert response.status_code == 302
    actions = list(AuditEvent.objects.filter(execution_id=execution).order_by("id").values_list("action", flat=True))
    assert actions == ["cancel.requested", f"cancel.{fault.cancel_outcome}"]
    outcome = AuditEvent.objects.get(action=f"cancel.{fault.cancel_outcome}")
    assert kodexa.api_key not in outcome.error
    assert kodexa.control.calls()["by_route"]["PUT /api/executions/{id}/cancel"] == 1  # never re-sent
    _assert_not_forwarded(kodexa)


@pytest.mark.parametrize("fault", FAULTS, ids=IDS)
def test_dashboard(client, operator, kodexa, fast_budget, other_host, fault):
    team = Group.objects.create(name="Support")
    operator.groups.add(team)
    dashboard = dashboard_create(user=operator, name="Watch", team=team)
    widget_add(dashboard=dashboard, title="Running", kind="count", query=ExecutionQuery())
    client.force_login(operator)
    _inject(kodexa, fault, "GET /api/executions", other_host)
    response = _timed(lambda: client.get(reverse("dashboards:detail", args=[dashboard.pk])))
    body = _assert_clean(response, kodexa)
    assert response.status_code == 200  # the page stands; the widget says what is wrong
    assert "Watch" in body and "Running" in body
    _assert_not_forwarded(kodexa)


def test_connect_timeout_everywhere(viewer_client, operator_client, kodexa, fast_budget, settings):
    """Nothing answers the TCP handshake (a full accept queue): every path gives up within its budget."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    for _ in range(8):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(listener.getsockname())
        fillers.append(filler)
    try:
        settings.KODEXA_URL = f"http://127.0.0.1:{listener.getsockname()[1]}"
        listing = _timed(lambda: viewer_client.get(reverse("executions:list")))
        assert listing.status_code in (502, 504) and "Traceback" not in listing.content.decode()
        execution = "0f6c1e9a-3a7d-4c1e-9f0e-2b8f6d7a1c01"
        detail = _timed(lambda: viewer_client.get(reverse("executions:detail", args=[execution])))
        assert detail.status_code in (502, 504)
        cancel = _timed(lambda: operator_client.post(reverse("executions:cancel", args=[execution]), {
            "reason_category": "stuck", "reason": "nothing answers", "token": "c" * 24}))
        assert cancel.status_code == 302
        actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
        assert actions == ["cancel.requested", "cancel.failed"]  # nothing could be sent
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
