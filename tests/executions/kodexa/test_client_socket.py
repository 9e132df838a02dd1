"""Real sockets on loopback (no stand-in): slow bodies, redirects, resets, hangs, refused connections."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from executions.kodexa import KodexaClient, KodexaConnectionError, KodexaRedirect, KodexaTimeout
from executions.kodexa.transport import DeadlineRetry

from .payloads import execution

KEY = "sk-socket-test-key-987654321"
ID = "0f6c1e9a-3a7d-4c1e-9f0e-2b8f6d7a1c01"


class Recorder:
    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()
        self.redirect_to = ""
        self.retry_after_served = False

    def hit(self, method: str, path: str) -> None:
        with self.lock:
            self.calls[(method, path)] += 1


def make_handler(rec: Recorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

        def _json(self, status: int, body: object, extra: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _dispatch(self) -> None:
            rec.hit(self.command, self.path)
            kind = self.path.rstrip("/").split("/")[-1]
            if self.path.endswith("/cancel"):
                kind = self.path.split("/")[-2]
            if kind == "trickle":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "100000")
                self.end_headers()
                with contextlib.suppress(OSError):
                    for _ in range(200):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(0.05)
            elif kind == "redirect":
                self.send_response(302)
                self.send_header("Location", rec.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif kind == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            elif kind == "hang":
                time.sleep(1.5)
            elif kind == "busy":
                if not rec.retry_after_served:
                    rec.retry_after_served = True
                    self._json(503, {"title": "busy"}, {"Retry-After": "30"})
                else:
                    self._json(200, execution(id="busy"))
            else:
                self._json(200, execution(id=kind if kind != "executions" else "x"))

        do_GET = _dispatch
        do_PUT = _dispatch

    return Handler


@contextlib.contextmanager
def serve(host: str = "127.0.0.1") -> Iterator[tuple[str, Recorder]]:
    rec = Recorder()
    server = ThreadingHTTPServer((host, 0), make_handler(rec))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}", rec
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def upstream() -> Iterator[tuple[str, Recorder]]:
    with serve() as pair:
        yield pair


def make_client(url: str, **kwargs: object) -> KodexaClient:
    defaults: dict[str, object] = {
        "connect_timeout": 0.5,
        "read_timeout": 0.3,
        "total_timeout": 0.8,
        "backoff_factor": 0,
        "retry_after_cap": 0.2,
    }
    defaults.update(kwargs)
    return KodexaClient(url, KEY, **defaults)  # type: ignore[arg-type]


def test_happy_path_over_a_real_socket(upstream: tuple[str, Recorder]) -> None:
    url, rec = upstream
    client = make_client(url)
    assert client.get_execution("abc").id == "abc"
    assert client.get_execution("abc").id == "abc"  # reused pooled connection still has sane timeouts
    assert rec.calls[("GET", "/api/executions/abc")] == 2


def test_trickling_body_hits_the_total_deadline(upstream: tuple[str, Recorder]) -> None:
    url, _ = upstream
    client = make_client(url, total_timeout=0.6)
    start = time.monotonic()
    with pytest.raises(KodexaTimeout) as info:
        client.get_execution("trickle")
    elapsed = time.monotonic() - start
    assert 0.5 < elapsed < 1.2
    assert info.value.status == 200 and info.value.maybe_sent


def test_redirect_to_another_host_is_not_followed() -> None:
    try:
        second = serve("127.0.0.2")
        second_url, second_rec = second.__enter__()
    except OSError:
        pytest.skip("cannot bind 127.0.0.2 here")
    try:
        with serve() as (url, rec):
            rec.redirect_to = f"{second_url}/api/executions/stolen?token=abc"
            with pytest.raises(KodexaRedirect) as info:
                make_client(url).get_execution("redirect")
            assert info.value.status == 302 and "token" not in str(info.value)
            time.sleep(0.1)
            assert sum(second_rec.calls.values()) == 0
            assert sum(rec.calls.values()) == 1
    finally:
        second.__exit__(None, None, None)


def test_reset_on_put_is_outcome_unknown_and_sent_once(upstream: tuple[str, Recorder]) -> None:
    url, rec = upstream
    with pytest.raises(KodexaConnectionError) as info:
        make_client(url).cancel_execution("reset")
    assert info.value.maybe_sent is True
    assert rec.calls[("PUT", "/api/executions/reset/cancel")] == 1


def test_reset_on_get_is_retried_then_reported(upstream: tuple[str, Recorder]) -> None:
    url, rec = upstream
    with pytest.raises(KodexaConnectionError) as info:
        make_client(url, max_retries=2).get_execution("reset")
    assert info.value.maybe_sent is True
    assert rec.calls[("GET", "/api/executions/reset")] == 3


def test_put_read_timeout_is_not_retried(upstream: tuple[str, Recorder]) -> None:
    url, rec = upstream
    with pytest.raises(KodexaTimeout):
        make_client(url).cancel_execution("hang")
    assert rec.calls[("PUT", "/api/executions/hang/cancel")] == 1


def test_get_read_timeout_is_retried(upstream: tuple[str, Recorder]) -> None:
    url, rec = upstream
    with pytest.raises(KodexaTimeout):
        make_client(url, max_retries=1, read_timeout=0.2).get_execution("hang")
    assert rec.calls[("GET", "/api/executions/hang")] == 2


def test_retry_after_is_honoured_but_capped(upstream: tuple[str, Recorder]) -> None:
    url, rec = upstream
    start = time.monotonic()
    assert make_client(url, total_timeout=5).get_execution("busy").id == "busy"
    elapsed = time.monotonic() - start
    assert 0.19 <= elapsed < 2.0  # slept the 0.2 s cap, not the 30 s asked for
    assert rec.calls[("GET", "/api/executions/busy")] == 2


def test_connection_refused_was_never_sent() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(KodexaConnectionError) as info:
        make_client(f"http://127.0.0.1:{port}", max_retries=1).cancel_execution("abc")
    assert info.value.maybe_sent is False


def test_refused_put_is_retried_and_arrives_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # A refused connection sent nothing, so retrying the cancel cannot apply it twice. The port is bound but not
    # listening (the kernel refuses the connect) and starts listening when the client backs off before its retry:
    # no timing guess, and a client that gave up on a refused PUT would fail here.
    rec = Recorder()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(rec), bind_and_activate=False)
    server.daemon_threads = True
    server.server_bind()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    opened = threading.Event()
    real_sleep = DeadlineRetry.sleep

    def listen_then_sleep(retry: DeadlineRetry, response: object = None) -> None:
        if not opened.is_set():
            server.server_activate()
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
            opened.set()
        real_sleep(retry, response)

    monkeypatch.setattr(DeadlineRetry, "sleep", listen_then_sleep)
    try:
        response = make_client(url, max_retries=2).cancel_execution("abc")
        assert response.status == 200 and response.execution is not None and response.execution.id == "abc"
        assert opened.is_set()  # the first attempt really was refused
        assert rec.calls[("PUT", "/api/executions/abc/cancel")] == 1
    finally:
        if opened.is_set():
            server.shutdown()
        server.server_close()


@contextlib.contextmanager
def unanswered_port() -> Iterator[int]:
    """A port whose accept queue is full: Linux drops further SYNs, so connect() has to time out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(8):
            f = socket.socket()
            f.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                f.connect(("127.0.0.1", port))
            fillers.append(f)
        probe = socket.socket()
        probe.settimeout(0.2)
        try:
            probe.connect(("127.0.0.1", port))
        except TimeoutError:
            pass
        else:
            pytest.skip("this kernel accepts connections past the backlog; connect timeout not reproducible")
        finally:
            probe.close()
        yield port
    finally:
        for f in fillers:
            f.close()
        listener.close()


def test_connect_timeout_against_a_full_backlog() -> None:
    with unanswered_port() as port:
        start = time.monotonic()
        with pytest.raises(KodexaConnectionError) as info:
            make_client(f"http://127.0.0.1:{port}", connect_timeout=0.2, max_retries=0).cancel_execution(
                "abc"
            )
        assert info.value.maybe_sent is False
        assert time.monotonic() - start < 1.5


def test_connect_retries_never_start_an_attempt_that_would_overrun_the_deadline() -> None:
    """Retried connect timeouts of 0.4 s in a 1.0 s budget: a third attempt, started at 0.8 s, would end at
    1.2 s. It is not started."""
    with unanswered_port() as port:
        start = time.monotonic()
        with pytest.raises(KodexaConnectionError):
            make_client(f"http://127.0.0.1:{port}", connect_timeout=0.4, total_timeout=1.0,
                        max_retries=5).get_execution("abc")
        elapsed = time.monotonic() - start
    assert 0.75 < elapsed <= 1.05, elapsed  # two attempts, and within the budget


def test_get_retries_stop_at_the_total_deadline(upstream: tuple[str, Recorder]) -> None:
    url, rec = upstream
    start = time.monotonic()
    with pytest.raises(KodexaTimeout):
        make_client(url, max_retries=10, read_timeout=0.25, total_timeout=0.6).get_execution("hang")
    assert time.monotonic() - start < 1.2  # not 11 x 0.25 s
    assert 2 <= rec.calls[("GET", "/api/executions/hang")] <= 4


def test_retries_used_are_logged(upstream: tuple[str, Recorder], caplog: pytest.LogCaptureFixture) -> None:
    url, _ = upstream
    caplog.set_level(logging.INFO, logger="executions.kodexa")
    make_client(url, total_timeout=5).get_execution("busy")
    (record,) = [r for r in caplog.records if r.name == "executions.kodexa"]
    assert record.upstream_retries == 1  # type: ignore[attr-defined]
    assert record.upstream_status == "200"  # type: ignore[attr-defined]
