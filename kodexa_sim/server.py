"""HTTP plumbing: a threaded HTTP/1.1 server, auth, latency, faults, and ``start()`` for tests.

Order of work for an /api/ request: count the call, wait ``latency_ms``, apply a matching fault
(faults model the network and proxies, so they fire before auth), check the key (401 unknown, 403
restricted), route, answer.
/_sim/ requests skip counting, latency and faults but need the same key.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
import traceback
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .config import SimConfig, TerminalCancel
from .faults import DEFAULT_TIMEOUT_MS, Fault
from .problems import PROBLEM_JSON, ApiError, error_body
from .routes import Request, Response, call_key, resolve
from .store import SimState

log = logging.getLogger("kodexa_sim")

_HTML_PAGE = (
    "<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_MALFORMED = b'{"content":[{"id":"0f6c1e9a-3a7d-4c1e-9f0e-2b8f6d7a1c01","status":"RUNN'


class SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # the listen backlog: 200+ clients may connect at the same instant

    def __init__(self, address: tuple[str, int], state: SimState, *, verbose: bool = False) -> None:
        self.state = state
        self.verbose = verbose
        super().__init__(address, SimRequestHandler)


class SimRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every answer carries Content-Length
    server_version = "kodexa-sim/1.0"
    server: SimHTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus the client's
        # delayed ACK adds ~40 ms to every keep-alive response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    # ------------------------------------------------------------ dispatch

    def _dispatch(self) -> None:
        state = self.server.state
        split = urlsplit(self.path)
        path = split.path
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._send(self._problem(400, "Malformed request body", path))
            return
        request = Request(self.command, path, parse_qs(split.query, keep_blank_values=True), body)
        route, request.params = resolve(path)
        if _is_control(path):
            self._send(self._answer(state, request, route))
            return
        state.calls.record(call_key(self.command, path, route))
        if path.startswith("/api/") and state.config.latency_ms:
            self._sleep(state.config.latency_ms / 1000)
        fault = state.faults.take(self.command, path)
        if fault is not None:
            self._deliver_fault(fault, state, request, route)
            return
        self._send(self._answer(state, request, route))

    def _answer(self, state: SimState, request: Request, route: Any) -> Response:
        path = request.path
        key = self._presented_key()
        config = state.config
        # A restricted key is known to the API, so 403 (API notes 11.2); the control plane is not Kodexa and
        # only takes the accepted keys, so there it is as good as a wrong key.
        if key in config.restricted_keys and not _is_control(path):
            return self._problem(403, "Authenticated, but this key has no access to the organization", path)
        if not key or key not in (config.api_key, *config.extra_api_keys):
            return self._problem(401, "Missing or invalid API key", path)
        if route is None:
            return self._problem(404, f"No route for {request.method} {path}", path)
        handler = route.methods.get(request.method)
        if handler is None:
            allowed = ", ".join(sorted(route.methods))
            return self._problem(
                405, f"Method {request.method} not allowed; use {allowed}", path, headers={"Allow": allowed}
            )
        try:
            with state.lock:
                state.sync()
                response = handler(state, request)
                # Encode under the lock so the body is a consistent snapshot.
                response.raw = response.encode()
                return response
        except ApiError as error:
            return self._problem(error.status, error.detail, path, headers=error.headers, errors=error.errors)
        except Exception:  # a simulator bug must still answer like a server, not drop the socket
            log.exception("unhandled error in %s %s", request.method, path)
            return self._problem(500, "Internal simulator error: " + traceback.format_exc(limit=1).strip(), path)

    def _presented_key(self) -> str | None:
        # x-api-key wins over the deprecated x-access-token, which is then ignored (docs S5).
        key = self.headers.get("x-api-key") or self.headers.get("x-access-token")
        if not key:
            authorization = self.headers.get("Authorization") or ""
            scheme, _, token = authorization.partition(" ")
            key = token.strip() if scheme.lower() == "bearer" else None
        return key or None

    def _problem(
        self,
        status: int,
        detail: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
    ) -> Response:
        """An error answer in the active error style; the control plane is not Kodexa and keeps problem+json."""
        style = "problem" if _is_control(path) else self.server.state.config.error_style
        body, content_type = error_body(style, status, detail, path, errors)
        return Response(status, body, headers=dict(headers or {}), content_type=content_type)

    # ------------------------------------------------------------ faults

    def _deliver_fault(self, fault: Fault, state: SimState, request: Request, route: Any) -> None:
        mode = fault.mode
        if mode == "timeout":
            self._sleep((fault.delay_ms or DEFAULT_TIMEOUT_MS) / 1000)
            self._send(self._answer(state, request, route))
            return
        if mode == "trickle":
            self._trickle(self._answer(state, request, route), fault)
            return
        if fault.delay_ms:
            self._sleep(fault.delay_ms / 1000)
        if mode == "reset":
            self._reset_connection()
        elif mode == "status":
            self._send(self._fault_status(fault, request.path))
        elif mode == "malformed":
            body = fault.body.encode() if isinstance(fault.body, str) else _MALFORMED
            self._send(Response(fault.status or 200, raw=body, headers=fault.headers))
        elif mode == "html":
            status = fault.status or 502
            page = (
                fault.body if isinstance(fault.body, str) else _HTML_PAGE.format(status=status, phrase=_phrase(status))
            )
            self._send(
                Response(status, raw=page.encode(), headers=fault.headers, content_type="text/html; charset=utf-8")
            )
        elif mode == "redirect":
            port = self.server.server_address[1]
            target = fault.location or f"http://127.0.0.2:{port}{self.path}"
            self._send(Response(fault.status or 302, raw=b"", headers={**fault.headers, "Location": target}))
        elif mode == "oversized":
            self._oversized(fault)

    def _fault_status(self, fault: Fault, path: str) -> Response:
        status = fault.status or 503
        if fault.body is None:
            return self._problem(status, f"Injected fault ({_phrase(status)})", path, headers=fault.headers)
        if isinstance(fault.body, str):
            content_type = PROBLEM_JSON if fault.body.lstrip().startswith("{") else "text/plain; charset=utf-8"
            return Response(status, raw=fault.body.encode(), headers=fault.headers, content_type=content_type)
        return Response(status, fault.body, headers=fault.headers, content_type=PROBLEM_JSON)

    def _reset_connection(self) -> None:
        # SO_LINGER with a zero timeout makes close() send RST: the client sees "connection reset".
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def _oversized(self, fault: Fault) -> None:
        prefix, suffix = b'{"content":[],"padding":"', b'"}'
        padding = max(0, fault.size_bytes - len(prefix) - len(suffix))
        self._write_head(200, "application/json", len(prefix) + padding + len(suffix), fault.headers)
        chunk = b"x" * (1 << 20)
        try:
            self.wfile.write(prefix)
            remaining = padding
            while remaining > 0:
                self.wfile.write(chunk[: min(remaining, len(chunk))])
                remaining -= len(chunk)
            self.wfile.write(suffix)
        except OSError:
            self.close_connection = True  # the client gave up, as it should

    def _trickle(self, response: Response, fault: Fault) -> None:
        body = response.raw if response.raw is not None else response.encode()
        self._write_head(response.status, response.content_type, len(body), {**response.headers, **fault.headers})
        if fault.delay_ms:
            # Spread the body over delay_ms, in at most 100 pieces.
            pieces = max(1, min(len(body), 100))
            size, pause = -(-len(body) // pieces), fault.delay_ms / 1000 / pieces
        else:
            size, pause = 16, 0.1
        try:
            for offset in range(0, len(body), size):
                if self._sleep(pause):
                    break
                self.wfile.write(body[offset : offset + size])
        except OSError:
            self.close_connection = True

    # ------------------------------------------------------------ wire helpers

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length) if length else b""

    def _sleep(self, seconds: float) -> bool:
        """Sleep, waking early on shutdown; returns True when the server is stopping."""
        return self.server.state.stopping.wait(seconds) if seconds > 0 else False

    def _write_head(self, status: int, content_type: str, length: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        for name, value in headers.items():
            if name.lower() not in ("content-length", "content-type"):
                self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def _send(self, response: Response) -> None:
        body = response.raw if response.raw is not None else response.encode()
        try:
            self._write_head(response.status, response.content_type, len(body), response.headers)
            if self.command != "HEAD":
                self.wfile.write(body)
        except OSError:
            self.close_connection = True


def _is_control(path: str) -> bool:
    return path == "/_sim" or path.startswith("/_sim/")


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# ---------------------------------------------------------------- in-process API


class SimServer:
    """A running simulator: ``.url``, ``.api_key``, ``.state`` and ``.stop()``."""

    def __init__(self, config: SimConfig, *, host: str = "127.0.0.1", port: int = 0, verbose: bool = False) -> None:
        self.state = SimState(config)
        self._httpd = SimHTTPServer((host, port), self.state, verbose=verbose)
        self.host = host
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"kodexa-sim-{self.port}",
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_key(self) -> str:
        return self.state.config.api_key

    def start(self) -> SimServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.state.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SimServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    api_key: str = "sim-key",
    seed: int = 42,
    executions: int = 300,
    latency_ms: int = 0,
    cancel_delay_ms: int = 3000,
    terminal_cancel: TerminalCancel = "conflict",
    speed: float = 1.0,
    arrival_seconds: float = 30.0,
    epoch: datetime | None = None,
    restricted_keys: Sequence[str] = (),
    filter_dialect: str = "any",
    sort_separator: str = "any",
    page_base: int = 1,
    query_search: str | bool = "on",
    error_style: str = "problem",
    unfilterable: Sequence[str] = (),
    verbose: bool = False,
    **extra: Any,
) -> SimServer:
    """Start a simulator on a daemon thread and return it once it accepts connections.

    ``restricted_keys`` are known keys without access: /api/ answers them 403. The strict modes
    (``filter_dialect`` to ``unfilterable``) take the command line's values; ``query_search`` also
    takes a bool. An invalid value raises ValueError.
    """
    config = replace(
        SimConfig(),
        api_key=api_key,
        seed=seed,
        executions=executions,
        latency_ms=latency_ms,
        cancel_delay_ms=cancel_delay_ms,
        terminal_cancel=terminal_cancel,
        speed=speed,
        arrival_seconds=arrival_seconds,
        epoch=epoch,
        restricted_keys=tuple(restricted_keys),
        filter_dialect=filter_dialect,
        sort_separator=sort_separator,
        page_base=page_base,
        query_search=query_search,  # type: ignore[arg-type]  # SimConfig turns a bool into "on"/"off"
        error_style=error_style,
        unfilterable=tuple(unfilterable),
        **extra,
    )
    return SimServer(config, host=host, port=port, verbose=verbose).start()
