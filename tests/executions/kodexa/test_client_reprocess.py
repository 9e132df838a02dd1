"""The reprocess POST on the wire: its body, its answer, and that it is never sent twice."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
import responses
from responses.registries import OrderedRegistry

from executions.kodexa import KodexaBadRequest, KodexaClient, KodexaHTTPError, KodexaTimeout, ReprocessResponse

BASE = "https://kodexa.test"
KEY = "sk-SUPER-SECRET-KEY-0123456789"
FAMILY = "5b0e3a52-0c4e-4e0b-9a51-2f7f4b8f0a11"
ASSISTANT = "a1b2c3d4-0000-4000-8000-000000000001"
URL = f"{BASE}/api/document-families/{FAMILY}/reprocess"


@pytest.fixture
def client() -> Iterator[KodexaClient]:
    c = KodexaClient(BASE, KEY, max_retries=3, backoff_factor=0, retry_after_cap=0.05)
    yield c
    c.close()


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(registry=OrderedRegistry, assert_all_requests_are_fired=False) as mock:
        yield mock


def test_reprocess_posts_the_assistant_ids_and_reads_the_family(client: KodexaClient,
                                                               rsps: responses.RequestsMock) -> None:
    rsps.post(URL, json={"id": FAMILY, "path": "invoices/2026/acme.pdf"})
    result = client.reprocess_document_family(FAMILY, [ASSISTANT])
    assert isinstance(result, ReprocessResponse)
    assert result.status == 200 and result.family is not None and result.family.id == FAMILY
    request = rsps.calls[0].request
    assert request.method == "POST" and request.headers["x-api-key"] == KEY
    assert json.loads(request.body) == {"assistantIds": [ASSISTANT]}


@pytest.mark.parametrize("body", [{"ok": True}, None])
def test_an_accepted_reprocess_without_a_family_body_is_still_accepted(client: KodexaClient,
                                                                       rsps: responses.RequestsMock,
                                                                       body: object) -> None:
    if body is None:
        rsps.post(URL, status=204)
    else:
        rsps.post(URL, json=body)
    assert client.reprocess_document_family(FAMILY, [ASSISTANT]).family is None


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_the_post_is_never_retried_on_status(client: KodexaClient, rsps: responses.RequestsMock, status: int) -> None:
    rsps.post(URL, status=status, json={"title": "nope"})
    rsps.post(URL, json={"id": FAMILY})
    with pytest.raises(KodexaHTTPError) as info:
        client.reprocess_document_family(FAMILY, [ASSISTANT])
    assert info.value.status == status
    assert len(rsps.calls) == 1


def test_the_post_is_never_retried_after_a_read_timeout(client: KodexaClient, rsps: responses.RequestsMock) -> None:
    rsps.post(URL, body=requests.exceptions.ReadTimeout("slow"))
    rsps.post(URL, json={"id": FAMILY})
    with pytest.raises(KodexaTimeout):
        client.reprocess_document_family(FAMILY, [ASSISTANT])
    assert len(rsps.calls) == 1


def test_a_refusal_is_a_bad_request_with_kodexas_words(client: KodexaClient, rsps: responses.RequestsMock) -> None:
    rsps.post(URL, status=400, json={"title": "Bad Request", "detail": "Assistant is not active"})
    with pytest.raises(KodexaBadRequest) as info:
        client.reprocess_document_family(FAMILY, [ASSISTANT])
    assert "not active" in str(info.value.detail)


@pytest.mark.parametrize(("family", "assistants"), [("../x", [ASSISTANT]), (FAMILY, ["a/b"]), (FAMILY, []),
                                                    (FAMILY, ["x" * 65])])
def test_ids_that_are_not_ids_are_refused_before_any_http(client: KodexaClient, rsps: responses.RequestsMock,
                                                          family: str, assistants: list[str]) -> None:
    with pytest.raises(ValueError):
        client.reprocess_document_family(family, assistants)
    assert len(rsps.calls) == 0
