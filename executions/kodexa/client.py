"""The one HTTP client for the Kodexa REST API.

Pure Python + requests (no Django), so it can be unit-tested without settings and pointed at any base URL
(the real platform, the `kodexa_sim` stand-in, a test server).
"""

from __future__ import annotations

import logging
import re
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import urlsplit

import orjson
import requests
import urllib3.exceptions as u3
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .errors import (
    KodexaBadResponse,
    KodexaConnectionError,
    KodexaError,
    KodexaFilterRejected,
    KodexaHTTPError,
    KodexaRateLimited,
    KodexaRedirect,
    KodexaSearchUnavailable,
    KodexaTimeout,
    error_class_for_status,
    extract_detail,
    unknown_column,
)
from .filters import Clause, Contains, ExecutionField, FilterDialect, build_filter
from .redact import Redactor
from .tenant import DEFAULT_FORMS, Probe, TenantForms
from .transport import (
    DeadlineRetry,
    Secret,
    call_deadline,
    never_connected,
    parse_retry_after,
    read_timed_out,
    retries_used,
    socket_of,
    status_from_retry_error,
)
from .types import Assistant, DocumentFamily, Execution, Page, StatusMessage
from .urls import (
    ROUTE_ACCOUNT,
    ROUTE_ASSISTANT,
    ROUTE_ASSISTANTS,
    ROUTE_CANCEL,
    ROUTE_DOCUMENT_FAMILY,
    ROUTE_EXECUTION,
    ROUTE_EXECUTIONS,
    ROUTE_REPROCESS,
    ROUTE_STATUS_MESSAGES,
    route_path,
    validate_base_url,
    validate_id,
)

logger = logging.getLogger("executions.kodexa")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
# Told of every call once it ends, for metrics: (method, route template, HTTP status or None when no answer came,
# the KodexaError class name when the call failed, seconds, retries). The client knows nothing of what listens.
CallHook = Callable[[str, str, int | None, str | None, float, int], None]
_JSON_TYPES = ("application/json", "application/problem+json")
_SORT = re.compile(r"\s*(?P<field>[A-Za-z]+)\s*(?:[,:]\s*(?P<dir>(?i:asc|desc)))?\s*")
# Error bodies only feed a one-line detail; reading more would just cost memory.
_ERROR_BODY_LIMIT = 64 * 1024
_CHUNK = 64 * 1024
MAX_PAGE_SIZE = 1000
_EMPTY = object()  # an empty 2xx body, distinct from a JSON `null`


@dataclass(frozen=True, slots=True)
class CancelResponse:
    """Outcome of an accepted cancel: what the audit log needs (status, latency) plus the body if any."""

    execution: Execution | None
    status: int
    elapsed_ms: float


@dataclass(frozen=True, slots=True)
class ReprocessResponse:
    """Outcome of an accepted reprocess: status and latency for the audit log, and the family if Kodexa sent it."""

    family: DocumentFamily | None
    status: int
    elapsed_ms: float


@dataclass(frozen=True, slots=True)
class _Result:
    status: int
    data: Any
    elapsed_ms: float
    retries: int



class KodexaClient:
    """Typed access to the Kodexa executions API. Safe to share across threads."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
        total_timeout: float = 20.0,
        forms: TenantForms = DEFAULT_FORMS,
        max_body_bytes: int = 5_000_000,
        max_retries: int = 3,
        backoff_factor: float = 0.3,
        retry_after_cap: float = 5.0,
        pool_size: int = 32,
        user_agent: str = "kodexa-admin/0.1",
        request_id_provider: Callable[[], str | None] | None = None,
        on_call: CallHook | None = None,
    ) -> None:
        self.base_url = validate_base_url(base_url)
        if not isinstance(api_key, str) or not api_key or any(c.isspace() or ord(c) < 33 for c in api_key):
            # The message must not echo the value.
            raise ValueError("Kodexa API key is empty or contains whitespace/control characters")
        for name, value in (
            ("connect_timeout", connect_timeout),
            ("read_timeout", read_timeout),
            ("total_timeout", total_timeout),
        ):
            if not value > 0:
                raise ValueError(f"{name} must be positive")
        if max_body_bytes < 1 or max_retries < 0 or pool_size < 1:
            raise ValueError("max_body_bytes and pool_size must be positive, max_retries >= 0")
        parts = urlsplit(self.base_url)
        self._origin = (parts.scheme, parts.hostname, parts.port)
        self._api_key = Secret(api_key)
        self._redact = Redactor(api_key)
        self.connect_timeout = float(connect_timeout)
        self.read_timeout = float(read_timeout)
        self.total_timeout = float(total_timeout)
        self.forms = forms
        self.max_body_bytes = int(max_body_bytes)
        self.max_retries = int(max_retries)
        self.backoff_factor = float(backoff_factor)
        self.retry_after_cap = float(retry_after_cap)
        self.pool_size = int(pool_size)
        self.user_agent = user_agent
        self._request_id_provider = request_id_provider
        self._on_call = on_call
        self._local = threading.local()
        # Weak, so sessions of threads that ended (thread-pool churn) are freed rather than kept here.
        self._sessions: weakref.WeakSet[requests.Session] = weakref.WeakSet()
        self._sessions_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"KodexaClient(base_url={self.base_url!r}, forms={self.forms!r})"

    __str__ = __repr__

    # --- sessions -----------------------------------------------------------------------------------

    def build_retry(self) -> Retry:
        """GET-only retries. PUT still gets connect retries, which happen before anything is sent;
        read errors and retry-on-status never re-send a cancel that may already have been applied."""
        return DeadlineRetry(
            total=self.max_retries,
            connect=self.max_retries,
            read=self.max_retries,
            status=self.max_retries,
            other=0,
            redirect=0,
            backoff_factor=self.backoff_factor,
            backoff_jitter=self.backoff_factor / 2,
            backoff_max=self.retry_after_cap,
            status_forcelist=frozenset({429, 502, 503, 504}),
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True,
            # Typed int in urllib3 but only compared; a float cap works and keeps tests fast.
            retry_after_max=self.retry_after_cap,  # type: ignore[arg-type]
            raise_on_status=False,
            raise_on_redirect=False,
        )

    def _session(self) -> requests.Session:
        # One session per thread: the panel fans reads out to thread pools, and Session is not
        # documented as thread-safe.
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            # No proxies, .netrc or CA overrides from the environment: the key goes only where base_url says,
            # and requests skips a per-call environment lookup.
            session.trust_env = False
            adapter = HTTPAdapter(
                pool_connections=4, pool_maxsize=self.pool_size, max_retries=self.build_retry()
            )
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            session.headers.update(
                {
                    "User-Agent": self.user_agent,
                    "Accept": "application/json",
                    # Makes Spring answer 401 instead of redirecting to a login page.
                    "X-Requested-With": "XMLHttpRequest",
                    "x-api-key": self._api_key.reveal(),
                }
            )
            self._local.session = session
            with self._sessions_lock:
                self._sessions.add(session)
        return session

    def close(self) -> None:
        """Close every thread's session (their pooled sockets)."""
        with self._sessions_lock:
            sessions, self._sessions = list(self._sessions), weakref.WeakSet()
        for session in sessions:
            session.close()
        self._local = threading.local()

    # --- public API ---------------------------------------------------------------------------------

    def list_executions(
        self,
        *,
        page: int = 1,
        page_size: int = 20,
        filters: Sequence[Clause] = (),
        query: str | None = None,
        sort: Sequence[str] = ("createdOn,desc",),
        forms: TenantForms | None = None,
        request_id: str | None = None,
    ) -> Page[Execution]:
        """One page of executions. `page` counts from 1 whatever the tenant does (`forms.page_base`).

        Where the tenant ignores free-text `query`, the text becomes a description filter, which only SpringFilter
        can say: in the eq dialect that raises KodexaSearchUnavailable and nothing is sent."""
        forms = forms or self.forms
        _check_paging(page, page_size)
        filters = list(filters)
        text = _query_text(query)
        if text != "*" and not forms.query_search:
            if forms.filter_dialect is not FilterDialect.SPRING:
                raise KodexaSearchUnavailable()
            filters.append(Contains(ExecutionField.DESCRIPTION, text))
            text = "*"
        params: list[tuple[str, str]] = [
            ("page", str(page - 1 + forms.page_base)),
            ("pageSize", str(page_size)),
            ("query", text),
        ]
        params += [("sort", _sort_param(s, forms.sort_separator)) for s in sort]
        filter_text = build_filter(filters, forms.filter_dialect)
        if filter_text:
            params.append(("filter", filter_text))
        return self._call(
            "GET",
            ROUTE_EXECUTIONS,
            params=params,
            request_id=request_id,
            parse=lambda d: Page.from_api(d, Execution.from_api, page=page, page_size=page_size),
        ).data

    def probe_executions(self, params: Sequence[tuple[str, str]]) -> Probe:
        """GET /api/executions with exactly these parameters: how the panel finds out what a tenant reads."""
        def parse(data: Any) -> Probe:
            page = Page.from_api(data, Execution.from_api, page=1, page_size=1)
            return Probe(total=page.total_elements, ids=tuple(e.id for e in page.items))

        return self._call("GET", ROUTE_EXECUTIONS, params=params, parse=parse).data

    def get_execution(self, execution_id: str, *, request_id: str | None = None) -> Execution:
        return self._call(
            "GET", ROUTE_EXECUTION, execution_id, request_id=request_id, parse=Execution.from_api
        ).data

    def cancel_execution(self, execution_id: str, *, request_id: str | None = None) -> CancelResponse:
        """PUT the cancel once (never retried after it may have been sent)."""
        result = self._call(
            "PUT", ROUTE_CANCEL, execution_id, request_id=request_id, allow_empty=True, parse=_cancel_body
        )
        return CancelResponse(execution=result.data, status=result.status, elapsed_ms=result.elapsed_ms)

    def reprocess_document_family(self, family_id: str, assistant_ids: Sequence[str], *,
                                  request_id: str | None = None) -> ReprocessResponse:
        """POST the reprocess once: like a cancel, it is never re-sent after it may have reached Kodexa (each
        accepted POST starts new executions). Kodexa answers with the document family."""
        ids = [validate_id(assistant_id) for assistant_id in assistant_ids]  # ValueError before any HTTP
        if not ids:
            raise ValueError("at least one assistant id is required")
        result = self._call("POST", ROUTE_REPROCESS, family_id, body={"assistantIds": ids}, request_id=request_id,
                            allow_empty=True, parse=_family_body)
        return ReprocessResponse(family=result.data, status=result.status, elapsed_ms=result.elapsed_ms)

    def list_status_messages(
        self, execution_id: str, *, request_id: str | None = None
    ) -> tuple[StatusMessage, ...]:
        return self._call(
            "GET", ROUTE_STATUS_MESSAGES, execution_id, request_id=request_id, parse=_parse_status_messages
        ).data

    def get_assistant(self, assistant_id: str, *, request_id: str | None = None) -> Assistant:
        return self._call(
            "GET", ROUTE_ASSISTANT, assistant_id, request_id=request_id, parse=Assistant.from_api
        ).data

    def list_assistants(self, *, page_size: int = 200, forms: TenantForms | None = None,
                        request_id: str | None = None) -> Page[Assistant]:
        forms = forms or self.forms
        _check_paging(1, page_size)
        params = [("page", str(forms.page_base)), ("pageSize", str(page_size)), ("query", "*"),
                  ("sort", f"name{forms.sort_separator}asc")]
        return self._call(
            "GET",
            ROUTE_ASSISTANTS,
            params=params,
            request_id=request_id,
            parse=lambda d: Page.from_api(d, Assistant.from_api, page=1, page_size=page_size),
        ).data

    def get_document_family(self, family_id: str, *, request_id: str | None = None) -> DocumentFamily:
        return self._call(
            "GET", ROUTE_DOCUMENT_FAMILY, family_id, request_id=request_id, parse=DocumentFamily.from_api
        ).data

    def get_account(self, *, request_id: str | None = None) -> dict[str, Any]:
        """The current user: a cheap connectivity and credentials check."""
        return self._call("GET", ROUTE_ACCOUNT, request_id=request_id, parse=_account_body).data

    # --- plumbing -----------------------------------------------------------------------------------

    def _request_id(self, explicit: str | None) -> str | None:
        candidate = explicit
        if candidate is None and self._request_id_provider is not None:
            try:
                candidate = self._request_id_provider()
            except Exception:  # a broken provider must not break the call
                candidate = None
        if isinstance(candidate, str) and _REQUEST_ID.match(candidate):
            return candidate
        return None

    def _call(
        self,
        method: str,
        route: str,
        object_id: str | None = None,
        *,
        params: Sequence[tuple[str, str]] | None = None,
        body: Any = None,
        request_id: str | None = None,
        allow_empty: bool = False,
        parse: Callable[[Any], Any],
    ) -> _Result:
        """Send one request (with the adapter's retries), read a bounded body, parse it, map failures,
        and log exactly one line. The returned `_Result.data` is the parsed value."""
        path = route_path(route, object_id)  # ValueError on a bad id, before any HTTP
        url = self.base_url + path
        split = urlsplit(url)
        if (split.scheme, split.hostname, split.port) != self._origin:
            raise ValueError("refusing to call a host other than the configured Kodexa host")
        headers = {}
        rid = self._request_id(request_id)
        if rid:
            headers["X-Request-ID"] = rid

        start = time.monotonic()
        deadline = start + self.total_timeout
        retries = 0
        outcome: str = "?"
        status: int | None = None
        error: str | None = None
        call_deadline.value = deadline
        call_deadline.attempt_floor = self.connect_timeout
        try:
            response = self._send(method, url, params, body, headers, start, route, path)
            retries = retries_used(response)
            outcome = str(response.status_code)
            status = response.status_code
            filtered = any(name in ("filter", "sort") for name, _ in params or ())
            result = self._handle(response, method, path, start, deadline, retries, allow_empty, filtered)
            try:
                parsed = None if result.data is _EMPTY else parse(result.data)
            except KodexaBadResponse as exc:
                # Shape errors carry the call's status and latency like every other error.
                raise KodexaBadResponse(
                    exc.message, status=result.status, elapsed_ms=_ms(start), method=method, path=path
                ) from None
            return _Result(result.status, parsed, result.elapsed_ms, retries)
        except KodexaError as exc:
            name = type(exc).__name__
            outcome = f"{exc.status} {name}" if exc.status is not None else name
            status, error = exc.status, name
            raise
        finally:
            call_deadline.value = None
            elapsed = (time.monotonic() - start) * 1000
            logger.info(
                "kodexa %s %s -> %s in %.0f ms (retries %d)",
                method,
                route,
                outcome,
                elapsed,
                retries,
                extra={
                    "upstream_method": method,
                    "upstream_route": route,
                    "upstream_status": outcome,
                    "upstream_ms": round(elapsed, 1),
                    "upstream_retries": retries,
                    "upstream_request_id": rid,
                },
            )
            if self._on_call is not None:
                try:
                    self._on_call(method, route, status, error, elapsed / 1000, retries)
                except Exception:  # counting a call must never fail it
                    logger.warning("the on_call hook failed", exc_info=True)

    def _send(
        self,
        method: str,
        url: str,
        params: Sequence[tuple[str, str]] | None,
        body: Any,
        headers: Mapping[str, str],
        start: float,
        route: str,
        path: str,
    ) -> requests.Response:
        ctx = {"method": method, "path": path}
        try:
            return self._session().request(
                method,
                url,
                params=params,
                json=body,
                headers=headers,
                timeout=(self.connect_timeout, self.read_timeout),
                allow_redirects=False,
                stream=True,
            )
        # `from None` throughout: the requests exceptions embed the full URL, query string included.
        except requests.exceptions.ConnectTimeout:
            raise KodexaConnectionError(
                "Timed out connecting to Kodexa", maybe_sent=False, elapsed_ms=_ms(start), **ctx
            ) from None
        except requests.exceptions.ReadTimeout:
            raise KodexaTimeout(elapsed_ms=_ms(start), **ctx) from None
        except requests.exceptions.RetryError as exc:
            # Only with raise_on_status=True, kept as a guard: map by the last status urllib3 saw.
            status = status_from_retry_error(exc)
            cls = error_class_for_status(status) if status else KodexaHTTPError
            raise cls(
                "Kodexa kept failing after retries", status=status, elapsed_ms=_ms(start), **ctx
            ) from None
        except (requests.exceptions.SSLError, requests.exceptions.ProxyError):
            raise KodexaConnectionError(
                "Could not establish a connection to Kodexa", maybe_sent=False, elapsed_ms=_ms(start), **ctx
            ) from None
        except requests.exceptions.ConnectionError as exc:
            if read_timed_out(exc):
                raise KodexaTimeout(elapsed_ms=_ms(start), **ctx) from None
            unsent = never_connected(exc)
            message = "Could not connect to Kodexa" if unsent else "Connection to Kodexa broke"
            raise KodexaConnectionError(
                message, maybe_sent=not unsent, elapsed_ms=_ms(start), **ctx
            ) from None
        except requests.exceptions.RequestException as exc:
            raise KodexaConnectionError(
                f"Request to Kodexa failed ({type(exc).__name__})",
                maybe_sent=True,
                elapsed_ms=_ms(start),
                **ctx,
            ) from None

    def _handle(
        self,
        response: requests.Response,
        method: str,
        path: str,
        start: float,
        deadline: float,
        retries: int,
        allow_empty: bool,
        filtered: bool = False,
    ) -> _Result:
        status = response.status_code
        ctx: dict[str, Any] = {"method": method, "path": path, "status": status}
        is_error = not 200 <= status < 300
        try:
            if 300 <= status < 400:
                # Never followed: the x-api-key header would go to wherever Location points.
                # Only the status is recorded; the Location (and its query) is not.
                raise KodexaRedirect(
                    f"Kodexa answered with a redirect ({status})", elapsed_ms=_ms(start), **ctx
                )
            body = self._read_body(response, deadline, start, ctx, truncate=is_error)
        finally:
            response.close()
        content_type = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if is_error:
            self._raise_for_status(response, body, start, ctx, filtered=filtered)
        if not body.strip():
            if allow_empty:
                return _Result(status, _EMPTY, _ms(start), retries)
            raise KodexaBadResponse("Kodexa sent an empty response", elapsed_ms=_ms(start), **ctx)
        if content_type not in _JSON_TYPES:
            raise KodexaBadResponse("Kodexa sent a non-JSON response", elapsed_ms=_ms(start), **ctx)
        try:
            # orjson: a 50-row page (150 KB) parses in a third of the standard library's time. It is also
            # stricter (NaN, Infinity and lone surrogates are malformed), which suits an untrusted upstream.
            data = orjson.loads(body)
        except (ValueError, RecursionError):
            raise KodexaBadResponse("Kodexa sent malformed JSON", elapsed_ms=_ms(start), **ctx) from None
        return _Result(status, data, _ms(start), retries)

    def _raise_for_status(
        self, response: requests.Response, body: bytes, start: float, ctx: dict[str, Any], *, filtered: bool
    ) -> NoReturn:
        # Some servers echo the credential they rejected, anywhere in the body.
        detail, incident_id = extract_detail(body, redact=self._redact)
        status = ctx["status"]
        cls = error_class_for_status(status)
        kwargs: dict[str, Any] = {
            "detail": detail,
            "incident_id": incident_id,
            "elapsed_ms": _ms(start),
            **ctx,
        }
        column = unknown_column(detail)
        if column is not None or (filtered and status in (400, 422)):
            # Kodexa compiles filters to SQL: a field that is not a column is its 500, and not an outage.
            raise KodexaFilterRejected(field=column, **kwargs)
        if cls is KodexaRateLimited:
            kwargs["retry_after"] = parse_retry_after(response.headers.get("Retry-After"))
        raise cls(**kwargs)

    def _read_body(
        self,
        response: requests.Response,
        deadline: float,
        start: float,
        ctx: dict[str, Any],
        *,
        truncate: bool,
    ) -> bytes:
        """Read at most max_body_bytes, finishing before the total deadline.

        Per-read socket timeouts alone would let a server trickle one byte every few seconds forever, so
        the socket timeout is shrunk to the time left before each read.
        """
        limit = min(self.max_body_bytes, _ERROR_BODY_LIMIT) if truncate else self.max_body_bytes
        declared = response.headers.get("Content-Length", "")
        if not truncate and declared.isdigit() and int(declared) > limit:
            raise KodexaBadResponse("Kodexa response too large", elapsed_ms=_ms(start), **ctx)
        raw = response.raw
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    if truncate:
                        # An error's status is already known; its body only adds detail. Retries that used up
                        # the budget (429 + Retry-After) must still end as the error they are, not a timeout.
                        break
                    raise KodexaTimeout(
                        "Kodexa response took longer than the total timeout", elapsed_ms=_ms(start), **ctx
                    )
                sock = socket_of(raw)
                if sock is not None:
                    sock.settimeout(min(self.read_timeout, remaining))
                chunk = raw.read1(_CHUNK, decode_content=True)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    if truncate:
                        chunks.append(chunk[: len(chunk) - (size - limit)])
                        break
                    raise KodexaBadResponse("Kodexa response too large", elapsed_ms=_ms(start), **ctx)
                chunks.append(chunk)
        except (u3.ReadTimeoutError, TimeoutError):
            if not truncate:
                raise KodexaTimeout("Kodexa stopped sending the response", elapsed_ms=_ms(start), **ctx) from None
        except u3.DecodeError:
            raise KodexaBadResponse("Kodexa sent an undecodable body", elapsed_ms=_ms(start), **ctx) from None
        except (u3.ProtocolError, u3.HTTPError, OSError) as exc:
            raise KodexaConnectionError(
                f"Connection to Kodexa broke while reading ({type(exc).__name__})",
                maybe_sent=True,
                elapsed_ms=_ms(start),
                **ctx,
            ) from None
        return b"".join(chunks)


# --- helpers ----------------------------------------------------------------------------------------


def _ms(start: float) -> float:
    return round((time.monotonic() - start) * 1000, 1)


def _check_paging(page: int, page_size: int) -> None:
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise ValueError("page must be an integer >= 1")
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be an integer between 1 and {MAX_PAGE_SIZE}")


def _query_text(query: str | None) -> str:
    if query is None or not query.strip():
        return "*"
    text = query.strip()
    if len(text) > 500 or re.search(r"[\x00-\x1f\x7f]", text):
        raise ValueError("query text is too long or contains control characters")
    return text


def _sort_param(spec: str, separator: str = ",") -> str:
    """`field,dir` (or `field:dir`) from `field,dir`, `field:dir` or `field`; the field must be on the
    allowlist. The v2 reference shows `field,dir`, Kodexa's own CLI notes `field:dir` (docs/kodexa-api.md)."""
    match = _SORT.fullmatch(spec) if isinstance(spec, str) else None
    if match is None:
        raise ValueError("sort must look like 'field,asc' or 'field:desc'")
    field_name = ExecutionField(match["field"]).value  # ValueError off the allowlist
    return f"{field_name}{separator}{(match['dir'] or 'asc').lower()}"


def _cancel_body(data: Any) -> Execution | None:
    try:
        return Execution.from_api(data)
    except KodexaBadResponse:
        # The 2xx already says the cancel was accepted; an odd JSON body must not turn that into a
        # failure in the audit log.
        logger.warning("kodexa cancel accepted with an unrecognised JSON body")
        return None


def _family_body(data: Any) -> DocumentFamily | None:
    """The documented answer is the family; a body of another shape is not a failure of the action itself."""
    if isinstance(data, dict) and data.get("id"):
        return DocumentFamily.from_api(data)
    return None


def _account_body(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise KodexaBadResponse("Kodexa sent an unexpected account payload")
    return data


def _parse_status_messages(data: Any) -> tuple[StatusMessage, ...]:
    # Documented as a bare array; a page envelope is accepted too in case a deployment wraps it.
    if isinstance(data, dict) and isinstance(data.get("content"), list):
        data = data["content"]
    if not isinstance(data, list):
        raise KodexaBadResponse("Kodexa sent unexpected status messages")
    messages = (StatusMessage.from_api(item) for item in data[:1000])
    return tuple(m for m in messages if m is not None)
