"""Wire-level tests through the real mounted urllib3 Retry (the `responses` library patches the adapter)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
from responses.registries import OrderedRegistry
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from executions.kodexa import (
    AnyOf,
    CancelResponse,
    Contains,
    ExecutionField,
    ExecutionStatus,
    KodexaAuthError,
    KodexaBadRequest,
    KodexaBadResponse,
    KodexaClient,
    KodexaConflict,
    KodexaConnectionError,
    KodexaError,
    KodexaHTTPError,
    KodexaNotFound,
    KodexaRateLimited,
    KodexaRedirect,
    KodexaServerError,
    KodexaTimeout,
    TenantForms,
)

from .payloads import EXEC_ID, execution, page

BASE = "https://kodexa.test"
KEY = "sk-SUPER-SECRET-KEY-0123456789"
EXEC_URL = f"{BASE}/api/executions/{EXEC_ID}"
CANCEL_URL = f"{EXEC_URL}/cancel"
LIST_URL = f"{BASE}/api/executions"


@pytest.fixture
def client() -> Iterator[KodexaClient]:
    c = KodexaClient(BASE, KEY, max_retries=3, backoff_factor=0, retry_after_cap=0.05)
    yield c
    c.close()


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(registry=OrderedRegistry, assert_all_requests_are_fired=False) as mock:
        yield mock


# --- request shape ----------------------------------------------------------------------------------


def test_headers_timeouts_and_stream(client: KodexaClient, rsps: responses.RequestsMock) -> None:
    rsps.get(EXEC_URL, json=execution())
    ex = client.get_execution(EXEC_ID, request_id="req-123")
    assert ex.id == EXEC_ID and ex.status is ExecutionStatus.FAILED
    req = rsps.calls[0].request
    assert req.headers["x-api-key"] == KEY
    assert req.headers["Accept"] == "application/json"
    assert req.headers["X-Requested-With"] == "XMLHttpRequest"
    assert req.headers["User-Agent"] == "kodexa-admin/0.1"
    assert req.headers["X-Request-ID"] == "req-123"
    assert "x-access-token" not in req.headers and "Authorization" not in req.headers
    assert req.req_kwargs["timeout"] == (3.05, 10.0)
    assert req.req_kwargs["stream"] is True


def test_adapter_retry_configuration(client: KodexaClient) -> None:
    adapter = client._session().get_adapter(BASE)
    retry = adapter.max_retries
    assert retry.total == 3 and retry.connect == 3 and retry.read == 3 and retry.status == 3
    assert retry.allowed_methods == frozenset({"GET"})
    assert retry.status_forcelist == frozenset({429, 502, 503, 504})
    assert retry.respect_retry_after_header and not retry.raise_on_status
    assert retry.redirect == 0 and retry.retry_after_max == 0.05
    assert adapter._pool_maxsize == 32


def test_retry_after_is_capped(client: KodexaClient) -> None:
    retry = client.build_retry()
    assert retry.parse_retry_after("3600") == 0.05
    assert retry.parse_retry_after("0") == 0


def test_request_id_provider_and_sanitising(rsps: responses.RequestsMock) -> None:
    ids = iter(["from-provider", "bad id\r\nX-Evil: 1", "-"])
    c = KodexaClient(BASE, KEY, request_id_provider=lambda: next(ids))
    for _ in range(3):
        rsps.get(EXEC_URL, json=execution())
        c.get_execution(EXEC_ID)
    assert rsps.calls[0].request.headers["X-Request-ID"] == "from-provider"
    assert "X-Request-ID" not in rsps.calls[1].request.headers
    assert "X-Request-ID" not in rsps.calls[2].request.headers

    def broken() -> str:
        raise RuntimeError("boom")

    rsps.get(EXEC_URL, json=execution())
    assert KodexaClient(BASE, KEY, request_id_provider=broken).get_execution(EXEC_ID).id == EXEC_ID


def test_cancel_is_a_bodyless_put_returning_the_execution(
    client: KodexaClient, rsps: responses.RequestsMock
) -> None:
    rsps.put(CANCEL_URL, json=execution(status="CANCELLING"))
    result = client.cancel_execution(EXEC_ID)
    assert isinstance(result, CancelResponse)
    assert result.status == 200 and result.elapsed_ms >= 0
    assert result.execution is not None and result.execution.status is ExecutionStatus.CANCELLING
    req = rsps.calls[0].request
    assert req.method == "PUT" and not req.body
    assert req.headers.get("Content-Length") in (None, "0")


def test_cancel_with_empty_or_odd_body(client: KodexaClient, rsps: responses.RequestsMock) -> None:
    rsps.put(CANCEL_URL, status=200, body="")
    rsps.put(CANCEL_URL, status=204)
    rsps.put(CANCEL_URL, json={"ok": True})
    rsps.put(CANCEL_URL, status=200, body="<html>login</html>", content_type="text/html")
    assert client.cancel_execution(EXEC_ID).execution is None
    assert client.cancel_execution(EXEC_ID).status == 204
    assert client.cancel_execution(EXEC_ID).execution is None  # accepted, body unrecognised
    with pytest.raises(KodexaBadResponse) as info:  # a 200 HTML page is not Kodexa accepting the cancel
        client.cancel_execution(EXEC_ID)
    assert info.value.status == 200


def test_list_executions_query_parameters(client: KodexaClient, rsps: responses.RequestsMock) -> None:
    rsps.get(
        LIST_URL, json=page([execution(), execution(id="e2", status="BRAND_NEW")], number=1, size=2, total=5)
    )
    result = client.list_executions(
        page=2,
        page_size=2,
        filters=[
            AnyOf(ExecutionField.STATUS, ["FAILED", "RUNNING"]),
            Contains(ExecutionField.DESCRIPTION, "x'y"),
        ],
        sort=["createdOn:desc", "status"],
    )
    assert [e.id for e in result.items] == [EXEC_ID, "e2"]
    assert result.items[1].status is ExecutionStatus.UNKNOWN and result.items[1].status_raw == "BRAND_NEW"
    assert result.number == 2 and result.total_elements == 5 and result.has_next and result.has_previous
    params = rsps.calls[0].request.params
    assert params["page"] == "2" and params["pageSize"] == "2" and params["query"] == "*"
    assert params["filter"] == "(status:'FAILED' or status:'RUNNING') and description~'*x\\'y*'"
    qs = rsps.calls[0].request.url.split("?", 1)[1]
    assert "sort=createdOn%2Cdesc" in qs and "sort=status%2Casc" in qs


def test_the_sort_separator_and_page_base_follow_the_tenant(rsps: responses.RequestsMock) -> None:
    rsps.get(LIST_URL, json=page([execution()]))
    rsps.get(LIST_URL, json=page([execution()]))
    colon = KodexaClient(BASE, KEY, forms=TenantForms(sort_separator=":", page_base=0))
    colon.list_executions(sort=["createdOn,desc", "status"], page=1)
    colon.list_executions(page=3, forms=TenantForms())  # a call may say otherwise
    colon.close()
    first = rsps.calls[0].request.url.split("?", 1)[1]
    assert "sort=createdOn%3Adesc" in first and "sort=status%3Aasc" in first and "page=0&" in first
    assert "page=3&" in rsps.calls[1].request.url.split("?", 1)[1]
    with pytest.raises(ValueError, match="sort_separator"):
        TenantForms(sort_separator=";")
    with pytest.raises(ValueError, match="page_base"):
        TenantForms(page_base=2)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"page": 0},
        {"page": -1},
        {"page_size": 0},
        {"page_size": 1001},
        {"page": True},
        {"sort": ["evil,desc"]},
        {"sort": ["createdOn,sideways"]},
        {"query": "a\nb"},
    ],
)
def test_list_arguments_are_validated_before_http(
    client: KodexaClient, rsps: responses.RequestsMock, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        client.list_executions(**kwargs)
    assert len(rsps.calls) == 0


def test_other_endpoints(client: KodexaClient, rsps: responses.RequestsMock) -> None:
    rsps.get(
        f"{EXEC_URL}/status-messages",
        json=[
            {
                "id": "m1",
                "executionId": EXEC_ID,
                "datetime": "2026-02-25T10:00:00Z",
                "title": "t",
                "type": "THINKING",
            },
            "junk",
        ],
    )
    rsps.get(f"{BASE}/api/assistants/a1", json={"id": "a1", "name": "Invoice Extractor"})
    rsps.get(f"{BASE}/api/assistants", json=page([{"id": "a1", "name": "A"}, {"id": "a2"}]))
    rsps.get(f"{BASE}/api/document-families/f1", json={"id": "f1", "path": "x.pdf"})
    rsps.get(f"{BASE}/api/account/me", json={"email": "ops@example.com"})
    assert [m.title for m in client.list_status_messages(EXEC_ID)] == ["t"]
    assert client.get_assistant("a1").name == "Invoice Extractor"
    assert [a.id for a in client.list_assistants().items] == ["a1", "a2"]
    assert client.get_document_family("f1").path == "x.pdf"
    assert client.get_account() == {"email": "ops@example.com"}
    assert rsps.calls[2].request.params["pageSize"] == "200"


def test_problem_json_success_content_type_is_accepted(
    client: KodexaClient, rsps: responses.RequestsMock
) -> None:
    rsps.get(EXEC_URL, body=json.dumps(execution()), content_type="application/problem+json; charset=utf-8")
    assert client.get_execution(EXEC_ID).id == EXEC_ID


# --- retries ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [502, 503, 504, 429])
def test_get_is_retried_then_succeeds(
    client: KodexaClient, rsps: responses.RequestsMock, status: int
) -> None:
    rsps.get(EXEC_URL, status=status, json={"title": "busy"})
    rsps.get(EXEC_URL, json=execution())
    assert client.get_execution(EXEC_ID).id == EXEC_ID
    assert len(rsps.calls) == 2


def test_get_retries_are_bounded(client: KodexaClient, rsps: responses.RequestsMock) -> None:
    for _ in range(6):
        rsps.get(EXEC_URL, status=503, json={"detail": "down for maintenance"})
    with pytest.raises(KodexaServerError) as info:
        client.get_execution(EXEC_ID)
    assert len(rsps.calls) == 4  # 1 + max_retries
    assert info.value.status == 503 and info.value.detail == "down for maintenance"


def test_rate_limited_after_retries_carries_retry_after(
    client: KodexaClient, rsps: responses.RequestsMock
) -> None:
    for _ in range(4):
        rsps.get(EXEC_URL, status=429, json={"title": "Too Many Requests"}, headers={"Retry-After": "7"})
    with pytest.raises(KodexaRateLimited) as info:
        client.get_execution(EXEC_ID)
    assert info.value.retry_after == 7.0 and info.value.status == 429


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_put_is_never_retried_on_status(
    client: KodexaClient, rsps: responses.RequestsMock, status: int
) -> None:
    rsps.put(CANCEL_URL, status=status, json={"title": "nope"})
    rsps.put(CANCEL_URL, json=execution())
    with pytest.raises(KodexaHTTPError) as info:
        client.cancel_execution(EXEC_ID)
    assert info.value.status == status
    assert len(rsps.calls) == 1


def test_no_retries_when_disabled(rsps: responses.RequestsMock) -> None:
    rsps.get(EXEC_URL, status=503)
    with pytest.raises(KodexaServerError):
        KodexaClient(BASE, KEY, max_retries=0).get_execution(EXEC_ID)
    assert len(rsps.calls) == 1


# --- error mapping ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, KodexaBadRequest),
        (422, KodexaBadRequest),
        (401, KodexaAuthError),
        (403, KodexaAuthError),
        (404, KodexaNotFound),
        (409, KodexaConflict),
        (405, KodexaHTTPError),
        (418, KodexaHTTPError),
        (500, KodexaServerError),
        (501, KodexaServerError),
        (301, KodexaRedirect),
        (302, KodexaRedirect),
        (303, KodexaRedirect),
        (307, KodexaRedirect),
        (308, KodexaRedirect),
    ],
)
def test_status_maps_to_error_class(
    client: KodexaClient, rsps: responses.RequestsMock, status: int, cls: type[KodexaError]
) -> None:
    rsps.put(CANCEL_URL, status=status, json={"detail": f"detail {status}"})
    with pytest.raises(cls) as info:
        client.cancel_execution(EXEC_ID)
    assert type(info.value) is cls
    err = info.value
    assert err.status == status and err.method == "PUT" and err.path == f"/api/executions/{EXEC_ID}/cancel"
    assert err.elapsed_ms is not None and err.elapsed_ms >= 0
    if status in (401, 403):
        assert isinstance(err, KodexaAuthError) and err.is_forbidden is (status == 403)


def test_redirect_is_not_followed_and_location_is_not_recorded(
    client: KodexaClient, rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    evil = "https://evil.test/steal?token=abc&q=user-text"
    rsps.get(EXEC_URL, status=302, headers={"Location": evil})
    rsps.get(evil, json=execution())
    caplog.set_level(logging.INFO, logger="executions.kodexa")
    with pytest.raises(KodexaRedirect) as info:
        client.get_execution(EXEC_ID)
    assert isinstance(info.value, KodexaBadResponse) and info.value.status == 302
    assert len(rsps.calls) == 1
    for text in (str(info.value), repr(info.value), caplog.text):
        assert "evil.test" not in text and "token=" not in text


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {
                "type": "about:blank",
                "title": "Conflict",
                "status": 409,
                "detail": "Execution is not cancellable",
            },
            "Execution is not cancellable",
        ),
        ({"title": "Only a title"}, "Only a title"),
        ({"message": "legacy message", "incidentId": "inc-42"}, "legacy message"),
        ({"errorMessage": "from errorMessage"}, "from errorMessage"),
        ({"errors": {"name": "must not be blank"}}, "name: must not be blank"),
        ({"detail": "   ", "title": "fallback title"}, "fallback title"),
        ({"detail": "line1\r\nline2\x00\x1b[31m"}, "line1 line2 [31m"),
    ],
)
def test_error_detail_extraction(
    client: KodexaClient, rsps: responses.RequestsMock, body: dict[str, Any], expected: str
) -> None:
    rsps.put(CANCEL_URL, status=409, body=json.dumps(body), content_type="application/problem+json")
    with pytest.raises(KodexaConflict) as info:
        client.cancel_execution(EXEC_ID)
    assert info.value.detail == expected
    if "incidentId" in body:
        assert info.value.incident_id == "inc-42" and "inc-42" in str(info.value)


def test_error_detail_is_bounded_and_never_the_raw_body(
    client: KodexaClient, rsps: responses.RequestsMock
) -> None:
    rsps.get(EXEC_URL, status=404, json={"detail": "x" * 5000})
    rsps.get(
        EXEC_URL,
        status=500,
        body="<html><body>Stack trace: secret internals</body></html>" * 100,
        content_type="text/html",
    )
    with pytest.raises(KodexaNotFound) as nf:
        client.get_execution(EXEC_ID)
    assert nf.value.detail is not None and len(nf.value.detail) <= 300
    rsps.get(EXEC_URL, status=500, body="<html>x</html>", content_type="text/html")
    with pytest.raises(KodexaServerError) as se:
        client.get_execution(EXEC_ID)
    assert se.value.detail is None and "secret internals" not in str(se.value)
    assert str(se.value).startswith("Kodexa is unavailable")


def test_echoed_key_is_redacted_from_detail(client: KodexaClient, rsps: responses.RequestsMock) -> None:
    rsps.get(EXEC_URL, status=401, json={"detail": f"Invalid API key {KEY}"})
    with pytest.raises(KodexaAuthError) as info:
        client.get_execution(EXEC_ID)
    assert KEY not in str(info.value) and "[redacted]" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"body": "{not json", "content_type": "application/json"}, "malformed JSON"),
        ({"body": "<html>hi</html>", "content_type": "text/html"}, "non-JSON"),
        ({"body": json.dumps(execution()), "content_type": "text/plain"}, "non-JSON"),
        ({"json": [execution()]}, "unexpected execution"),
        ({"json": "just a string"}, "unexpected execution"),
        ({"body": "null", "content_type": "application/json"}, "unexpected execution"),
        ({"json": {"status": "RUNNING"}}, "without an id"),
        ({"body": "", "content_type": "application/json"}, "empty"),
        ({"body": "[" * 100_000 + "]" * 100_000, "content_type": "application/json"}, "malformed JSON"),
    ],
)
def test_bad_success_bodies(
    client: KodexaClient, rsps: responses.RequestsMock, kwargs: dict[str, Any], message: str
) -> None:
    rsps.get(EXEC_URL, **kwargs)
    with pytest.raises(KodexaBadResponse) as info:
        client.get_execution(EXEC_ID)
    assert message in info.value.message
    assert info.value.status == 200


def test_oversized_body(rsps: responses.RequestsMock) -> None:
    small = KodexaClient(BASE, KEY, max_body_bytes=1000)
    rsps.get(EXEC_URL, json=execution(description="x" * 5000))
    with pytest.raises(KodexaBadResponse, match="too large"):
        small.get_execution(EXEC_ID)

    def streamed(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        return (
            200,
            {"Content-Type": "application/json"},
            json.dumps(execution(description="y" * 5000)).encode(),
        )

    rsps.add_callback(responses.GET, EXEC_URL, callback=streamed)
    with pytest.raises(KodexaBadResponse, match="too large"):
        small.get_execution(EXEC_ID)


def test_oversized_error_body_is_truncated_not_fatal(rsps: responses.RequestsMock) -> None:
    small = KodexaClient(BASE, KEY, max_body_bytes=100_000)
    rsps.put(
        CANCEL_URL,
        status=409,
        body=json.dumps({"detail": "short", "pad": "p" * 200_000}),
        content_type="application/json",
    )
    with pytest.raises(KodexaConflict) as info:
        small.cancel_execution(EXEC_ID)
    assert info.value.detail is None  # truncated JSON cannot be parsed: generic message instead


@pytest.mark.parametrize(
    ("exc", "cls", "maybe_sent"),
    [
        (requests.exceptions.ConnectTimeout("connect timed out"), KodexaConnectionError, False),
        (
            requests.exceptions.ConnectionError(
                MaxRetryError(None, "/x", NewConnectionError(None, "refused"))
            ),
            KodexaConnectionError,
            False,
        ),
        (
            requests.exceptions.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError())),
            KodexaConnectionError,
            True,
        ),
        (requests.exceptions.ConnectionError("something odd"), KodexaConnectionError, True),
        (requests.exceptions.ReadTimeout("read timed out"), KodexaTimeout, True),
        (requests.exceptions.SSLError("bad cert"), KodexaConnectionError, False),
    ],
)
def test_transport_errors(
    client: KodexaClient,
    rsps: responses.RequestsMock,
    exc: Exception,
    cls: type[KodexaError],
    maybe_sent: bool,
) -> None:
    rsps.put(CANCEL_URL, body=exc)
    with pytest.raises(cls) as info:
        client.cancel_execution(EXEC_ID)
    assert type(info.value) is cls
    assert info.value.maybe_sent is maybe_sent  # type: ignore[attr-defined]
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_retry_error_is_mapped_by_last_status(rsps: responses.RequestsMock) -> None:
    c = KodexaClient(BASE, KEY, max_retries=1)
    rsps.get(
        EXEC_URL, body=requests.exceptions.RetryError("Max retries exceeded (too many 503 error responses)")
    )
    with pytest.raises(KodexaServerError) as info:
        c.get_execution(EXEC_ID)
    assert info.value.status == 503


# --- input validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_id",
    [
        "",
        "../admin",
        "a/b",
        "x?y=1",
        "x#y",
        "%2e%2e",
        "-leading",
        "a" * 65,
        "id with space",
        "ümlaut",
        "a\nb",
        None,
        123,
        "a.b",
        "a_b",
    ],
)
def test_invalid_ids_raise_before_any_http(
    client: KodexaClient, rsps: responses.RequestsMock, bad_id: Any
) -> None:
    for call in (
        client.get_execution,
        client.cancel_execution,
        client.list_status_messages,
        client.get_assistant,
        client.get_document_family,
    ):
        with pytest.raises(ValueError):
            call(bad_id)
    assert len(rsps.calls) == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://kodexa.example.com",
        "ftp://kodexa.test",
        "https://user:pw@kodexa.test",
        "https://kodexa.test/?x=1",
        "https://kodexa.test/#frag",
        "kodexa.test",
        "",
        "   ",
        "https://",
        "https://kodexa.test:99999",
        "https://kodexa.test/a b",
        "javascript:alert(1)",
        "http://10.0.0.1:8080",
        "http://127.evil.test",
    ],
)
def test_base_url_validation_rejects(url: str) -> None:
    with pytest.raises(ValueError):
        KodexaClient(url, KEY)


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("https://platform.kodexa.ai/", "https://platform.kodexa.ai"),
        ("https://platform.kodexa.com/api/", "https://platform.kodexa.com/api"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("http://127.1.2.3:1/", "http://127.1.2.3:1"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://[::1]:8765/", "http://[::1]:8765"),
        ("HTTPS://Kodexa.Test", "https://Kodexa.Test"),
    ],
)
def test_base_url_validation_accepts(url: str, normalised: str) -> None:
    assert KodexaClient(url, KEY).base_url == normalised


@pytest.mark.parametrize("key", ["", " ", "abc def", "abc\r\nX-Evil: 1", None])
def test_api_key_validation_does_not_echo_the_key(key: Any) -> None:
    with pytest.raises(ValueError) as info:
        KodexaClient(BASE, key)
    if key and len(key.strip()) > 3:
        assert key not in str(info.value)


def test_constructor_rejects_bad_numbers() -> None:
    for kwargs in (
        {"connect_timeout": 0},
        {"read_timeout": -1},
        {"total_timeout": 0},
        {"max_body_bytes": 0},
        {"max_retries": -1},
        {"pool_size": 0},
    ):
        with pytest.raises(ValueError):
            KodexaClient(BASE, KEY, **kwargs)


# --- secrecy and logging ----------------------------------------------------------------------------


def test_key_never_leaks_into_reprs_errors_or_logs(
    client: KodexaClient, rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rsps.get(EXEC_URL, status=401, json={"detail": "bad key"})
    rsps.put(CANCEL_URL, body=requests.exceptions.ConnectionError(f"boom {KEY}"))
    rsps.get(EXEC_URL, json=execution())
    errors: list[KodexaError] = []
    for call in (client.get_execution, client.cancel_execution):
        try:
            call(EXEC_ID)
        except KodexaError as exc:
            errors.append(exc)
    client.get_execution(EXEC_ID)
    assert len(errors) == 2
    texts = [
        repr(client),
        str(client),
        repr(client._api_key),
        *map(str, errors),
        *map(repr, errors),
        caplog.text,
    ]
    texts += [json.dumps(r.__dict__, default=str) for r in caplog.records]
    assert all(KEY not in t for t in texts)


def test_one_log_line_per_call_with_route_template(
    client: KodexaClient, rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="executions.kodexa")
    rsps.get(LIST_URL, status=503)
    rsps.get(LIST_URL, json=page([execution()]))
    rsps.put(CANCEL_URL, status=409, json={"detail": "already finished"})
    client.list_executions(filters=[Contains(ExecutionField.DESCRIPTION, "customer secret text")])
    with pytest.raises(KodexaConflict):
        client.cancel_execution(EXEC_ID, request_id="r-1")
    records = [r for r in caplog.records if r.name == "executions.kodexa"]
    assert len(records) == 2
    first, second = records
    assert first.levelno == logging.INFO
    assert first.upstream_method == "GET" and first.upstream_route == "/api/executions"  # type: ignore[attr-defined]
    assert first.upstream_status == "200" and isinstance(first.upstream_ms, float)  # type: ignore[attr-defined]
    assert second.upstream_route == "/api/executions/{id}/cancel"  # type: ignore[attr-defined]
    assert second.upstream_status == "409 KodexaConflict"  # type: ignore[attr-defined]
    assert second.upstream_request_id == "r-1"  # type: ignore[attr-defined]
    assert "customer secret text" not in caplog.text and EXEC_ID not in caplog.text


def test_sessions_are_thread_local(client: KodexaClient) -> None:
    sessions: list[requests.Session] = []
    threads = [threading.Thread(target=lambda: sessions.append(client._session())) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(s) for s in sessions}) == 3
    assert client._session() is client._session()


def test_retry_sleep_never_passes_the_deadline() -> None:
    from urllib3 import HTTPResponse

    from executions.kodexa import transport

    retry = KodexaClient(BASE, KEY, retry_after_cap=3600).build_retry()
    transport.call_deadline.value = transport.time.monotonic() + 0.1
    try:
        start = transport.time.monotonic()
        retry.sleep(HTTPResponse(headers={"Retry-After": "3600"}))
        assert 0.05 < transport.time.monotonic() - start < 0.5
        transport.call_deadline.value = transport.time.monotonic() - 1
        assert retry.is_exhausted()
    finally:
        transport.call_deadline.value = None
    assert not retry.is_exhausted()


def _fragments_of(secret: str, text: str, width: int = 8) -> list[str]:
    lowered = text.lower()
    return [secret[i : i + width] for i in range(len(secret) - width + 1) if secret[i : i + width].lower() in lowered]


KEY_ECHOES = {
    "detail": {"detail": f"bad key {KEY}"},
    "title": {"title": f"Unauthorized {KEY}"},
    "message": {"message": f"key {KEY} unknown"},
    "errorMessage": {"errorMessage": KEY},
    "incidentId": {"detail": "failed", "incidentId": KEY},
    "instance": {"detail": "failed", "instance": f"/api/executions/{KEY}"},
    "errors map": {"errors": {"x-api-key": KEY}},
    "errors list": {"errors": [{"field": "x-api-key", "message": KEY}, f"header {KEY}"]},
    "long detail": {"detail": "x" * 280 + KEY},  # the key straddles the 300-character cut
    "upper case": {"detail": KEY.upper()},
    "lower case": {"message": KEY.lower()},
    "fragment": {"detail": f"prefix {KEY[4:16]} suffix"},
    "control characters": {"detail": f"\x1b[0m{KEY}\r\n"},
}


@pytest.mark.parametrize("body", KEY_ECHOES.values(), ids=KEY_ECHOES.keys())
def test_an_error_body_echoing_the_key_never_carries_it_out(
    client: KodexaClient, rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture, body: dict[str, Any]
) -> None:
    rsps.put(CANCEL_URL, status=500, json=body, headers={"X-Echo": KEY, "Retry-After": KEY})
    caplog.set_level(logging.DEBUG)
    with pytest.raises(KodexaServerError) as info:
        client.cancel_execution(EXEC_ID)
    error = info.value
    for text in (str(error), repr(error), error.message, error.detail or "", error.incident_id or "", caplog.text):
        assert _fragments_of(KEY, text) == [], text
    assert error.detail  # something was still said


def test_an_incident_id_comes_only_from_incident_id_not_from_instance(
    client: KodexaClient, rsps: responses.RequestsMock
) -> None:
    rsps.put(CANCEL_URL, status=500, json={"detail": "boom", "instance": "/api/executions/abc"})
    with pytest.raises(KodexaServerError) as info:
        client.cancel_execution(EXEC_ID)
    assert info.value.incident_id is None and "incident" not in str(info.value)


@pytest.mark.parametrize(
    ("errors", "expected"),
    [
        ({"name": "must not be blank"}, "name: must not be blank"),
        ([{"field": "name", "message": "must not be blank"}, "status is unknown"],
         "name: must not be blank; status is unknown"),
    ],
)
def test_legacy_error_items_are_shown_as_a_map_or_a_list(
    client: KodexaClient, rsps: responses.RequestsMock, errors: object, expected: str
) -> None:
    rsps.put(CANCEL_URL, status=400, json={"errors": errors})
    with pytest.raises(KodexaBadRequest) as info:
        client.cancel_execution(EXEC_ID)
    assert info.value.detail == expected
