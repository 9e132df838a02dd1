"""The fault matrix: every way Kodexa can misbehave, on every path that talks to it.

For the list, detail, cancel and dashboard paths and each upstream fault, the panel answers within its own time
budget with the right page and status (never a 500 or a traceback), never shows or forwards the API key, and
every cancel attempt ends in the right audit outcome and flash message. The cancel's pre-read (GET before the
PUT) is faulted too, and a real connect timeout (a full accept queue) is tried on every path.
"""

from __future__ import annotations

import contextlib
import html
import http.server
import logging
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field

import pytest
from django.urls import reverse

from executions.audit.models import AuditEvent
from executions.browse.query import ExecutionQuery
from executions.dashboards.services import dashboard_create, widget_add
from tests.helpers import json_log, sim_get

pytestmark = pytest.mark.django_db

BUDGET_SECONDS = 8  # KODEXA_TOTAL_TIMEOUT below, plus rendering and the stand-in's own slowness


UNKNOWN_MESSAGE = ("Kodexa did not confirm the cancel in time; it may or may not have been applied. Check the "
                   "execution's status before trying again.")
AUTH_MESSAGE = ("Kodexa refused the panel's API key (HTTP {}). This is not something you can fix from here: ask the "
                "panel's administrator to check KODEXA_API_KEY.")
REDIRECT_MESSAGE = ("Kodexa answered with a redirect, which the panel never follows (the API key must not travel "
                    "elsewhere). Check KODEXA_URL.")
UNREADABLE_MESSAGE = "Kodexa sent a response the panel could not understand."
WRONG_ADDRESS_MESSAGE = "Kodexa has no such list at this address (HTTP 404). Check KODEXA_URL."
UNREACHABLE_MESSAGE = "The panel cannot reach Kodexa right now."
SLOW_MESSAGE = "Kodexa did not answer in time."
RATE_LIMITED_MESSAGE = "Kodexa is rate-limiting the panel. Try again in 1 s."
PUT_ROUTE = "PUT /api/executions/{id}/cancel"
REPROCESS_ROUTE = "POST /api/document-families/{id}/reprocess"
GET_ROUTE = "GET /api/executions/{id}"


@dataclass(frozen=True)
class Fault:
    name: str
    spec: dict = field(default_factory=dict)  # type: ignore[type-arg]  (kwargs of SimControl.add_fault)
    read_status: int = 502  # what the list and detail pages answer
    read_text: str = ""
    cancel_outcome: str = "failed"
    title: str = ""  # the problem's title on the list and detail pages and on a dashboard widget
    cancel_message: str = ""  # the flash message after a cancel whose PUT met this fault


def _server_error(status: int) -> str:
    return f"Not cancelled. Kodexa had an internal error (HTTP {status})."


FAULTS = [
    Fault("401", {"status": 401}, 503, "API key (HTTP 401)", title="Panel misconfigured",
          cancel_message="Not cancelled. " + AUTH_MESSAGE.format(401)),
    Fault("403", {"status": 403}, 503, "API key (HTTP 403)", title="Panel misconfigured",
          cancel_message="Not cancelled. " + AUTH_MESSAGE.format(403)),
    Fault("404", {"status": 404}, 404, "does not know", title="Not found",
          cancel_message="Not cancelled. Kodexa does not know this."),
    Fault("409", {"status": 409}, 502, "HTTP 409", title="Kodexa answered unexpectedly",
          cancel_message="Kodexa refused: the execution is no longer in a cancellable state."),
    Fault("429", {"status": 429, "headers": {"Retry-After": "1"}}, 503, "rate-limiting", title="Kodexa is busy",
          cancel_message="Not cancelled. " + RATE_LIMITED_MESSAGE),
    Fault("500", {"status": 500}, 502, "HTTP 500", title="Kodexa error", cancel_message=_server_error(500)),
    Fault("502", {"status": 502}, 502, "HTTP 502", title="Kodexa error", cancel_message=_server_error(502)),
    Fault("503", {"status": 503}, 502, "HTTP 503", title="Kodexa error", cancel_message=_server_error(503)),
    Fault("504", {"status": 504}, 502, "HTTP 504", title="Kodexa error", cancel_message=_server_error(504)),
    Fault("read timeout", {"mode": "timeout", "delay_ms": 4000}, 504, "did not answer in time", "unknown",
          title="Kodexa is slow", cancel_message=UNKNOWN_MESSAGE),
    Fault("connection reset", {"mode": "reset"}, 502, "cannot reach", "unknown", title="Kodexa unreachable",
          cancel_message=UNKNOWN_MESSAGE),
    Fault("malformed JSON", {"mode": "malformed"}, 502, "could not understand", "unknown",
          title="Kodexa answered unexpectedly", cancel_message=UNKNOWN_MESSAGE),
    Fault("HTML body", {"mode": "html", "status": 200}, 502, "could not understand", "unknown",
          title="Kodexa answered unexpectedly", cancel_message=UNKNOWN_MESSAGE),
    Fault("HTML error page", {"mode": "html", "status": 502}, 502, "HTTP 502", title="Kodexa error",
          cancel_message=_server_error(502)),
    Fault("redirect elsewhere", {"mode": "redirect"}, 502, "redirect", title="Kodexa answered unexpectedly",
          cancel_message="Not cancelled. " + REDIRECT_MESSAGE),
    Fault("oversized body", {"mode": "oversized", "size_bytes": 8_000_000}, 502, "could not understand", "unknown",
          title="Kodexa answered unexpectedly", cancel_message=UNKNOWN_MESSAGE),
    Fault("trickling body", {"mode": "trickle", "delay_ms": 6000}, 504, "did not answer in time", "unknown",
          title="Kodexa is slow", cancel_message=UNKNOWN_MESSAGE),
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

    do_PUT = do_POST = do_GET

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


def _assert_problem(body: str, title: str, text: str) -> None:
    """The list or detail page keeps its layout and shows the problem banner with this title and text."""
    found = re.search(r'<article class="flash flash-error banner" role="alert">\s*<div>\s*<strong>(.*?)</strong>'
                      r'\s*<p>(.*?)</p>', body, re.S)
    assert found, "no problem banner on the page"
    assert "stale-banner" not in body  # a cold panel has nothing older to show instead
    assert html.unescape(found.group(1)) == title
    assert text in html.unescape(found.group(2))


def _assert_flash(body: str, level: str, message: str) -> None:
    """The page shows exactly this flash message at this level (the cancel view's redirect target)."""
    flashes = [(tag, html.unescape(text)) for tag, text in
               re.findall(r'<div class="flash flash-([a-z]+)">(.*?)</div>', body, re.S)]
    assert flashes == [(level, message)], flashes


def _follow(client, response, execution: str, kodexa) -> str:  # type: ignore[no-untyped-def]
    """Follow the cancel POST's redirect to the detail page, the way a browser does; returns the page."""
    assert response.status_code == 302
    assert response["Location"] == reverse("executions:detail", args=[execution])
    page = client.get(response["Location"])
    assert page.status_code == 200
    return _assert_clean(page, kodexa)


def _widget_problems(body: str) -> list[tuple[str, str]]:
    return [(html.unescape(title), html.unescape(text)) for title, text in re.findall(
        r'<div class="flash flash-error widget-problem" role="alert">\s*<strong>(.*?)</strong>\s*<p>(.*?)</p>',
        body, re.S)]


def _make_dashboard(client, alice, team):  # type: ignore[no-untyped-def]
    dashboard = dashboard_create(user=alice, name="Watch", team=team)
    widget_add(dashboard=dashboard, title="Running", kind="count", query=ExecutionQuery())
    client.force_login(alice)
    return dashboard


def _cancel(client, execution: str, reason: str):  # type: ignore[no-untyped-def]
    return client.post(reverse("executions:cancel", args=[execution]),
                       {"reason_category": "stuck", "reason": reason, "token": secrets.token_hex(12)})


def _audit(execution: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(execution_id=execution).order_by("id"))


@pytest.fixture(autouse=True)
def _nothing_seen_elsewhere():  # type: ignore[no-untyped-def]
    _Recorder.seen.clear()  # a leak fails the test that caused it, not every later one


@pytest.mark.parametrize("fault", FAULTS, ids=IDS)
def test_list(bob_client, kodexa, fast_budget, other_host, fault):
    # A cold panel: no last good copy of the list to fall back on, so the page must show the error itself.
    _inject(kodexa, fault, "GET /api/executions", other_host)
    response = _timed(lambda: bob_client.get(reverse("executions:list")))
    body = _assert_clean(response, kodexa)
    expected = 502 if fault.name == "404" else fault.read_status  # a missing list route is a wrong URL
    assert response.status_code == expected, body[-2000:]
    assert 'class="app-header"' in body
    if fault.name == "404":  # the list route itself missing: KODEXA_URL points at something that is not Kodexa
        _assert_problem(body, "Kodexa answered unexpectedly", WRONG_ADDRESS_MESSAGE)
        assert "does not know" not in body
    else:
        _assert_problem(body, fault.title, fault.read_text)
    if fault.name == "429":
        assert response["Retry-After"] == "1"
    _assert_not_forwarded(kodexa)


@pytest.mark.parametrize("fault", FAULTS, ids=IDS)
def test_detail(bob_client, kodexa, fast_budget, other_host, fault):
    execution = kodexa.control.add_execution(status="RUNNING")["id"]  # never shown yet: no last good copy
    _inject(kodexa, fault, "GET /api/executions/*", other_host)
    response = _timed(lambda: bob_client.get(reverse("executions:detail", args=[execution])))
    body = _assert_clean(response, kodexa)
    assert response.status_code == fault.read_status, body[-2000:]
    assert fault.read_text in body and 'class="app-header"' in body
    if fault.name != "404":  # a 404 is the panel's own "not found" page
        _assert_problem(body, fault.title, fault.read_text)
    _assert_not_forwarded(kodexa)


@pytest.mark.parametrize("fault", FAULTS, ids=IDS)
def test_cancel(alice_client, kodexa, fast_budget, other_host, fault):
    execution = kodexa.control.add_execution(status="RUNNING", _sim={"lifecycle": False})["id"]
    _inject(kodexa, fault, "PUT /api/executions/*/cancel", other_host)
    response = _timed(lambda: _cancel(alice_client, execution, f"fault {fault.name}"))
    _assert_clean(response, kodexa)
    assert response.status_code == 302
    events = _audit(execution)
    assert [e.action for e in events] == ["cancel.requested", f"cancel.{fault.cancel_outcome}"]
    outcome = events[1]
    assert kodexa.api_key not in outcome.error
    assert outcome.details["message"] == fault.cancel_message
    if fault.spec.get("mode", "status") in ("status", "html") and fault.spec["status"] >= 300:
        assert outcome.upstream_status == fault.spec["status"]
    assert kodexa.control.calls()["by_route"][PUT_ROUTE] == 1  # never re-sent
    body = _follow(alice_client, response, execution, kodexa)
    _assert_flash(body, "error" if fault.cancel_outcome == "failed" else "warning", fault.cancel_message)
    assert kodexa.control.calls()["by_route"][PUT_ROUTE] == 1  # showing the result sends nothing
    _assert_not_forwarded(kodexa)


def _not_read(problem: str) -> str:
    return f"Not cancelled: the execution could not be read first. {problem}"


PRE_READ_FAULTS = [  # (fault on GET /api/executions/{id} before the PUT, flash message, audited upstream status)
    pytest.param(Fault("503", {"status": 503}), _not_read("Kodexa had an internal error (HTTP 503)."), 503,
                 id="503"),
    pytest.param(Fault("404", {"status": 404}), "Kodexa does not know this execution; nothing was cancelled.", 404,
                 id="404"),
    pytest.param(Fault("401", {"status": 401}), _not_read(AUTH_MESSAGE.format(401)), 401, id="401"),
    pytest.param(Fault("read timeout", {"mode": "timeout", "delay_ms": 4000}), _not_read(SLOW_MESSAGE), None,
                 id="read timeout"),
    pytest.param(Fault("connection reset", {"mode": "reset"}), _not_read(UNREACHABLE_MESSAGE), None,
                 id="connection reset"),
    pytest.param(Fault("malformed JSON", {"mode": "malformed"}), _not_read(UNREADABLE_MESSAGE), 200,
                 id="malformed JSON"),
    pytest.param(Fault("redirect elsewhere", {"mode": "redirect"}), _not_read(REDIRECT_MESSAGE), 302,
                 id="redirect elsewhere"),
]


@pytest.mark.parametrize(("fault", "message", "upstream_status"), PRE_READ_FAULTS)
def test_cancel_pre_read(alice_client, kodexa, fast_budget, other_host, fault, message, upstream_status):
    """The cancel re-reads the execution first; when that read fails, nothing is sent and the attempt fails."""
    execution = kodexa.control.add_execution(status="RUNNING", _sim={"lifecycle": False})["id"]
    _inject(kodexa, fault, "GET /api/executions/*", other_host)
    response = _timed(lambda: _cancel(alice_client, execution, f"pre-read fault {fault.name}"))
    _assert_clean(response, kodexa)
    calls = kodexa.control.calls()["by_route"]
    assert calls.get(GET_ROUTE, 0) >= 1, calls  # the fault was met
    assert calls.get(PUT_ROUTE, 0) == 0, calls  # and no cancel was sent
    events = _audit(execution)
    assert [e.action for e in events] == ["cancel.requested", "cancel.failed"]
    requested, failed = events
    assert requested.status_before == ""  # nothing was read
    assert failed.request_event_id == requested.pk
    assert failed.upstream_status == upstream_status
    assert failed.error.startswith("Kodexa") and kodexa.api_key not in failed.error
    assert failed.details["message"] == message
    kodexa.control.clear_faults()  # Kodexa is back: the detail page the redirect leads to renders normally
    body = _follow(alice_client, response, execution, kodexa)
    _assert_flash(body, "error", message)
    assert kodexa.control.calls()["by_route"].get(PUT_ROUTE, 0) == 0
    _assert_not_forwarded(kodexa)


@pytest.mark.parametrize("fault", FAULTS, ids=IDS)
def test_dashboard(client, alice, team, kodexa, fast_budget, other_host, fault):
    dashboard = _make_dashboard(client, alice, team)
    _inject(kodexa, fault, "GET /api/executions", other_host)
    response = _timed(lambda: client.get(reverse("dashboards:detail", args=[dashboard.pk])))
    body = _assert_clean(response, kodexa)
    assert response.status_code == 200  # the page stands; the widget says what is wrong
    assert "Watch" in body and "Running" in body
    # A cold cache: no last good data, so the widget shows its error (not a stale banner, not a number).
    problems = _widget_problems(body)
    assert len(problems) == 1, body[-3000:]
    title, text = problems[0]
    if fault.name == "404":  # as on the list page: a missing list route means a wrong KODEXA_URL
        assert (title, text) == ("Kodexa answered unexpectedly", WRONG_ADDRESS_MESSAGE)
    else:
        assert title == fault.title and fault.read_text in text
    if fault.name == "429":
        assert text == RATE_LIMITED_MESSAGE
    assert 'class="big-number"' not in body and "stale-banner" not in body
    _assert_not_forwarded(kodexa)


# --- connect timeout: nothing answers the TCP handshake ------------------------------------------------

CONNECT_TIMEOUT = 0.5
CONNECT_TOTAL = 1.5  # KODEXA_TOTAL_TIMEOUT for these cases: three connect timeouts would not fit


@pytest.fixture
def blackhole():  # type: ignore[no-untyped-def]
    """A port whose accept queue is full, so the kernel drops further SYNs and connect() must time out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    try:
        for _ in range(8):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(listener.getsockname())
            fillers.append(filler)
        probe = socket.socket()
        probe.settimeout(0.2)
        try:
            probe.connect(listener.getsockname())
        except TimeoutError:
            pass
        else:
            pytest.skip("SKIPPED LOUDLY: this kernel accepts connections past the backlog, so a connect timeout "
                        "cannot be reproduced here; the connect-timeout cases did not run")
        finally:
            probe.close()
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def _assert_connect_timeouts(caplog, *, page: bool) -> None:  # type: ignore[no-untyped-def]
    """Every upstream call of the request gave up connecting: the client's log line says KodexaConnectionError
    after at least the connect timeout (a refused connection fails in a few ms without retries), and every retry
    urllib3 logged was for a ConnectTimeoutError (with retries, a refused connection's backoff also fills the
    budget, so only the retry's cause tells them apart). A page (not the cancel) also logs its problem."""
    calls = [r for r in caplog.records if r.name == "executions.kodexa" and hasattr(r, "upstream_status")]
    assert calls, "no upstream call was logged"
    for record in calls:
        assert record.upstream_status == "KodexaConnectionError", record.getMessage()
        assert record.upstream_ms >= CONNECT_TIMEOUT * 1000 * 0.9, record.getMessage()
        # No retry is started that could not connect before the deadline: the budget holds.
        assert record.upstream_ms <= CONNECT_TOTAL * 1000 + 100, record.getMessage()
    retries = [r.getMessage() for r in caplog.records if r.name == "urllib3.connectionpool"]
    assert all("ConnectTimeoutError" in message for message in retries), retries
    if page:
        problems = [r for r in caplog.records if r.name == "executions.upstream" and hasattr(r, "error")]
        assert problems and all(r.error == "KodexaConnectionError" for r in problems)


@pytest.mark.parametrize("path", ["list", "detail", "cancel", "dashboard"])
def test_connect_timeout(client, alice, team, kodexa, fast_budget, settings, blackhole, caplog, path):
    """Every path gives up within its budget, answers with the exact "unreachable" outcome, and stays clean."""
    settings.KODEXA_CONNECT_TIMEOUT = CONNECT_TIMEOUT
    settings.KODEXA_TOTAL_TIMEOUT = CONNECT_TOTAL
    execution = kodexa.control.add_execution(status="RUNNING", _sim={"lifecycle": False})["id"]
    dashboard = _make_dashboard(client, alice, team)  # alice may view, cancel and see the dashboard
    caplog.set_level(logging.WARNING, logger="urllib3")
    caplog.set_level(logging.INFO, logger="executions")  # last: it also sets the capturing handler's level
    settings.KODEXA_URL = blackhole
    if path == "list":
        response = _timed(lambda: client.get(reverse("executions:list")))
        body = _assert_clean(response, kodexa)
        assert response.status_code == 502, body[-2000:]
        _assert_problem(body, "Kodexa unreachable", UNREACHABLE_MESSAGE)
    elif path == "detail":
        response = _timed(lambda: client.get(reverse("executions:detail", args=[execution])))
        body = _assert_clean(response, kodexa)
        assert response.status_code == 502, body[-2000:]
        _assert_problem(body, "Kodexa unreachable", UNREACHABLE_MESSAGE)
    elif path == "dashboard":
        response = _timed(lambda: client.get(reverse("dashboards:detail", args=[dashboard.pk])))
        body = _assert_clean(response, kodexa)
        assert response.status_code == 200
        assert _widget_problems(body) == [("Kodexa unreachable", UNREACHABLE_MESSAGE)]
        assert 'class="big-number"' not in body and "stale-banner" not in body
    else:
        response = _timed(lambda: _cancel(client, execution, "nothing answers"))
        _assert_clean(response, kodexa)
        assert not [r for r in caplog.records if getattr(r, "upstream_method", "") == "PUT"]  # nothing sent
        events = _audit(execution)
        assert [e.action for e in events] == ["cancel.requested", "cancel.failed"]
        failed = events[1]
        assert failed.upstream_status is None
        assert failed.error.startswith("KodexaConnectionError: Timed out connecting to Kodexa"), failed.error
        assert kodexa.api_key not in failed.error
        message = _not_read(UNREACHABLE_MESSAGE)
        assert failed.details["message"] == message
    _assert_connect_timeouts(caplog, page=path != "cancel")
    if path == "cancel":
        settings.KODEXA_URL = kodexa.url  # Kodexa answers again: the page the redirect leads to renders
        body = _follow(client, response, execution, kodexa)
        _assert_flash(body, "error", message)
        assert kodexa.control.calls()["by_route"].get(PUT_ROUTE, 0) == 0


# --- an upstream that echoes the API key -------------------------------------------------------------


def _key_echoes(key: str) -> dict[str, tuple[dict, dict]]:  # type: ignore[type-arg]
    """Error bodies (and headers) that put the key, or a long fragment of it, in every field a client reads."""
    plain = {"detail": "request failed"}
    return {
        "detail": ({"detail": f"bad key {key}"}, {}),
        "title": ({"title": f"Unauthorized {key}"}, {}),
        "message": ({"message": f"key {key} unknown"}, {}),
        "errorMessage": ({"errorMessage": key}, {}),
        "incidentId": ({"incidentId": key}, {}),
        "instance": ({"type": "about:blank", "instance": f"/api/executions/{key}"}, {}),
        "errors map": ({"errors": {"x-api-key": key}}, {}),
        "errors list": ({"errors": [{"field": "x-api-key", "message": key}, f"header {key}"]}, {}),
        "long detail": ({"detail": "x" * 280 + key}, {}),  # the key straddles the 300-character cut
        "upper case": ({"detail": key.upper()}, {}),
        "fragment": ({"detail": f"prefix {key[3:15]} suffix"}, {}),
        "headers": (plain, {"X-Incident": key, "WWW-Authenticate": f'ApiKey key="{key}"', "Retry-After": key}),
    }


KEY_ECHO_NAMES = list(_key_echoes("k" * 20))


def _leaked(key: str, text: str, width: int = 8) -> list[str]:
    """Every fragment of `key` of `width` characters found in `text`, in any letter case."""
    lowered = text.lower()
    return sorted({key[i : i + width] for i in range(len(key) - width + 1) if key[i : i + width].lower() in lowered})


@pytest.mark.parametrize("echo", KEY_ECHO_NAMES)
@pytest.mark.parametrize("status", [400, 401, 500])
def test_key_echo_reaches_no_page_header_log_or_audit_record(client, alice, charlie, kodexa, fast_budget, echo,
                                                            status):
    key = kodexa.api_key
    body, headers = _key_echoes(key)[echo]
    execution = kodexa.control.add_execution(status="RUNNING", _sim={"lifecycle": False})["id"]
    kodexa.control.add_fault("PUT /api/executions/*/cancel", times=-1, status=status, body=body, headers=headers)
    kodexa.control.add_fault("GET /api/executions", times=-1, status=status, body=body, headers=headers)
    texts: list[str] = []
    with json_log(logging.DEBUG) as log:
        client.force_login(alice)
        cancel = _cancel(client, execution, "the key must not come back")
        texts.append(_follow(client, cancel, execution, kodexa))
        listing = client.get(reverse("executions:list"))
        texts.append(_assert_clean(listing, kodexa))
        client.force_login(charlie)
        for name in ("audit:list", "audit:export_csv", "audit:export_json"):
            response = client.get(reverse(name), {"execution_id": execution})
            assert response.status_code == 200
            page = b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()
            assert execution in page  # the attempt is listed, so its error text was really looked at
            texts.append(page)
            texts.extend(f"{name}: {value}" for name, value in response.headers.items())
    events = _audit(execution)
    assert [e.action for e in events] == ["cancel.requested", "cancel.failed"]
    assert events[1].upstream_status == status and events[1].error  # the failure is still described
    texts += [repr(e.__dict__) for e in events]
    texts.append(log.text)
    for text in texts:
        assert _leaked(key, text) == [], text[:3000]


@pytest.mark.parametrize("fault", FAULTS, ids=IDS)
def test_reprocess(alice_client, kodexa, fast_budget, other_host, fault):
    """Every fault on the reprocess POST ends in an audited failed or unknown outcome, shown, never sent twice."""
    family = sim_get(kodexa, "/api/document-families", pageSize=1)["content"][0]["id"]
    assistant = next(a for a in sim_get(kodexa, "/api/assistants", pageSize=200)["content"] if a["active"])["id"]
    execution = kodexa.control.add_execution(status="FAILED", documentFamilyId=family, assistantId=assistant,
                                             _sim={"lifecycle": False})["id"]
    _inject(kodexa, fault, "POST /api/document-families/*/reprocess", other_host)
    response = _timed(lambda: alice_client.post(
        reverse("executions:reprocess", args=[execution]),
        {"reason_category": "problem_fixed", "reason": f"fault {fault.name}", "assistants": [assistant],
         "token": secrets.token_hex(12)}))
    _assert_clean(response, kodexa)
    assert response.status_code == 302
    events = _audit(execution)
    assert [e.action for e in events] == ["reprocess.requested", f"reprocess.{fault.cancel_outcome}"]
    outcome = events[1]
    assert outcome.error and kodexa.api_key not in outcome.error and kodexa.api_key not in str(outcome.details)
    assert kodexa.control.calls()["by_route"][REPROCESS_ROUTE] == 1  # never re-sent
    page = alice_client.get(response["Location"])
    body = _assert_clean(page, kodexa)
    assert outcome.details["message"] in html.unescape(body)
    assert kodexa.control.calls()["by_route"][REPROCESS_ROUTE] == 1  # showing the result sends nothing
    _assert_not_forwarded(kodexa)
