"""Contract tests: plain HTTP, so they run against a real Kodexa tenant too.

Set KODEXA_CONTRACT_URL and KODEXA_CONTRACT_KEY to aim them at a tenant; otherwise they use the
live simulator. Tests that need a state a tenant cannot guarantee (a RUNNING execution to cancel)
skip there when none is found. Sim-only settings are only touched when ``api.control`` is set.
Tests that change data (cancels, status messages) use ``writes_allowed``: against a tenant they run
only with KODEXA_CONTRACT_ALLOW_WRITES=1, since they would cancel someone's real execution.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from kodexa_sim.control import SimControl

pytestmark = pytest.mark.contract

TERMINAL = {"SUCCEEDED", "FAILED", "SKIPPED", "CANCELLED", "REPROCESSED"}
ENVELOPE_KEYS = {"content", "first", "last", "number", "numberOfElements", "size", "totalElements",
                 "totalPages", "empty", "sort", "pageable"}


@dataclass
class Api:
    url: str
    key: str
    control: SimControl | None  # None against a real tenant
    session: requests.Session

    def get(self, path: str, *, headers: dict[str, str] | None = None, **params: Any) -> requests.Response:
        return self.session.get(self.url + path, params=params, headers=self._headers(headers), timeout=15)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.put(self.url + path, headers=self._headers(None), timeout=15, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.post(self.url + path, headers=self._headers(None), timeout=15, **kwargs)

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        return {"x-api-key": self.key, "Accept": "application/json"} if headers is None else headers

    def executions(self, **params: Any) -> dict[str, Any]:
        response = self.get("/api/executions", **params)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    url, key = os.environ.get("KODEXA_CONTRACT_URL"), os.environ.get("KODEXA_CONTRACT_KEY")
    with requests.Session() as session:
        if url and key:
            yield Api(url.rstrip("/"), key, None, session)
        else:
            sim = request.getfixturevalue("sim")
            yield Api(sim.url, sim.api_key, sim.control, session)


ALLOW_WRITES = "KODEXA_CONTRACT_ALLOW_WRITES"


def require_writes(api: Api) -> None:
    """Skip a test that changes data on a real tenant unless the operator opted in; the stand-in is always fair game."""
    if api.control is None and os.environ.get(ALLOW_WRITES) != "1":
        pytest.skip(f"changes data on the tenant (cancels executions, posts status messages); set {ALLOW_WRITES}=1")


@pytest.fixture
def writes_allowed(api: Api) -> None:
    """For tests that change data: see ``require_writes``."""
    require_writes(api)


def assert_problem(response: requests.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "status", "detail"} <= set(body)
    return body


def running_execution(api: Api) -> dict[str, Any]:
    """An execution to cancel or post to; on a tenant that is a real one, so writes must be allowed."""
    require_writes(api)
    if api.control is not None:
        return api.control.add_execution(status="RUNNING", description="contract cancel target")
    page = api.executions(filter="status:'RUNNING'", pageSize=1)
    if not page["content"]:
        pytest.skip("no RUNNING execution on this tenant")
    return page["content"][0]


def wait_for(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


# ---------------------------------------------------------------- auth

def test_missing_key_is_401_problem(api: Api) -> None:
    body = assert_problem(api.get("/api/executions", headers={}), 401)
    assert body["title"] == "Unauthorized"


def test_wrong_key_is_401(api: Api) -> None:
    assert_problem(api.get("/api/executions", headers={"x-api-key": "nope"}), 401)


def test_legacy_access_token_header_is_accepted(api: Api) -> None:
    assert api.get("/api/account/me", headers={"x-access-token": api.key}).status_code == 200


def test_api_key_wins_over_access_token(api: Api) -> None:
    assert api.get("/api/account/me", headers={"x-api-key": api.key, "x-access-token": "junk"}).status_code == 200
    assert_problem(api.get("/api/account/me", headers={"x-api-key": "junk", "x-access-token": api.key}), 401)


def test_bearer_token_is_accepted(api: Api) -> None:
    assert api.get("/api/account/me", headers={"Authorization": f"Bearer {api.key}"}).status_code == 200


# ---------------------------------------------------------------- paging

def test_page_envelope_shape(api: Api) -> None:
    page = api.executions(page=1, pageSize=5)
    assert set(page) >= ENVELOPE_KEYS
    assert page["number"] == 0 and page["first"] is True and page["size"] == 5
    assert page["numberOfElements"] == len(page["content"]) <= 5
    assert page["totalPages"] == -(-page["totalElements"] // 5)
    assert {"empty", "sorted", "unsorted"} <= set(page["sort"])
    assert {"offset", "pageNumber", "pageSize", "paged", "unpaged", "sort"} <= set(page["pageable"])


def test_second_page_follows_first(api: Api) -> None:
    first, second = api.executions(page=1, pageSize=3), api.executions(page=2, pageSize=3)
    assert second["number"] == 1 and second["pageable"]["offset"] == 3
    assert not {e["id"] for e in first["content"]} & {e["id"] for e in second["content"]}


def test_default_page_size_is_20_and_order_is_newest_first(api: Api) -> None:
    page = api.executions()
    assert page["size"] == 20
    created = [e["createdOn"] for e in page["content"]]
    assert created == sorted(created, reverse=True)


def test_page_size_above_max_is_clamped(api: Api) -> None:
    assert api.executions(pageSize=5000)["size"] == 1000


def test_page_past_the_end_is_empty_and_last(api: Api) -> None:
    page = api.executions(page=100000, pageSize=10)
    assert page["content"] == [] and page["empty"] is True and page["last"] is True


@pytest.mark.parametrize("params", [{"page": 0}, {"pageSize": 0}, {"page": "abc"}, {"pageSize": "-1"}])
def test_bad_paging_is_400(api: Api, params: dict[str, Any]) -> None:
    assert_problem(api.get("/api/executions", **params), 400)


# ---------------------------------------------------------------- filters

@pytest.mark.parametrize("expr", ["status:'FAILED'", "status: 'FAILED'", "status eq 'FAILED'", "status=='FAILED'"])
def test_equality_in_both_dialects(api: Api, expr: str) -> None:
    page = api.executions(filter=expr, pageSize=50)
    assert page["totalElements"] > 0
    assert {e["status"] for e in page["content"]} == {"FAILED"}


def test_not_equal_in_both_dialects(api: Api) -> None:
    for expr in ("status!'SUCCEEDED'", "status ne 'SUCCEEDED'", "status != 'SUCCEEDED'"):
        page = api.executions(filter=expr, pageSize=100)
        assert page["totalElements"] > 0 and "SUCCEEDED" not in {e["status"] for e in page["content"]}


def test_or_with_parentheses_and_and(api: Api) -> None:
    everything = api.executions(pageSize=1)["totalElements"]
    failed = api.executions(filter="status:'FAILED'", pageSize=1)["totalElements"]
    cancelled = api.executions(filter="status eq 'CANCELLED'", pageSize=1)["totalElements"]
    either = api.executions(filter="(status:'FAILED' or status eq 'CANCELLED') and createdOn > '2000-01-01'",
                            pageSize=1)["totalElements"]
    assert either == failed + cancelled < everything


def test_and_binds_tighter_than_or(api: Api) -> None:
    a = api.executions(filter="status:'FAILED' or status:'CANCELLED' and priority > 100000", pageSize=1)
    b = api.executions(filter="status:'FAILED'", pageSize=1)
    assert a["totalElements"] == b["totalElements"]


def test_repeated_filters_are_anded(api: Api) -> None:
    page = api.executions(filter=["status:'FAILED'", "createdOn >= '2000-01-01T00:00:00Z'"], pageSize=100)
    assert page["totalElements"] > 0 and {e["status"] for e in page["content"]} == {"FAILED"}
    assert api.executions(filter=["status:'FAILED'", "status:'SUCCEEDED'"])["totalElements"] == 0


def test_not_and_like(api: Api) -> None:
    total = api.executions(pageSize=1)["totalElements"]
    like = api.executions(filter="description~'*INVOICE*'", pageSize=1)["totalElements"]
    unlike = api.executions(filter="not(description~'*invoice*')", pageSize=1)["totalElements"]
    nulls = api.executions(filter="description:null", pageSize=1)["totalElements"]
    assert like > 0 and like + unlike + nulls == total


def test_quoted_value_with_apostrophe(api: Api) -> None:
    page = api.executions(filter=r"description~'*O\'Brien*'", pageSize=50)
    if api.control is not None:
        assert page["totalElements"] >= 1
    assert all("o'brien" in (e["description"] or "").lower() for e in page["content"])


def test_injection_attempt_matches_nothing(api: Api) -> None:
    escaped = api.executions(filter=r"description:'\' or \'1\'=\'1'")
    assert escaped["totalElements"] == 0
    raw = api.get("/api/executions", filter="description:'' or '1'='1'")
    assert raw.status_code == 400 or raw.json()["totalElements"] == 0


def test_date_comparison(api: Api) -> None:
    future = api.executions(filter="createdOn > '2999-01-01'")
    assert future["totalElements"] == 0
    past = api.executions(filter="createdOn gt '2000-01-01T00:00:00.000+02:00'", pageSize=1)
    assert past["totalElements"] == api.executions(pageSize=1)["totalElements"]


def test_unknown_filter_field_is_500(api: Api) -> None:
    body = assert_problem(api.get("/api/executions", filter="nosuchfield:'x'"), 500)
    assert 'column "nosuchfield" does not exist' in body["detail"]


def test_filter_syntax_error_is_400(api: Api) -> None:
    assert_problem(api.get("/api/executions", filter="status:'unterminated"), 400)


# ---------------------------------------------------------------- sort and query

@pytest.mark.parametrize("sort", ["priority,asc", "priority:asc"])
def test_sort_both_syntaxes(api: Api, sort: str) -> None:
    page = api.executions(sort=sort, filter="priority > 0", pageSize=100)
    priorities = [e["priority"] for e in page["content"]]
    assert priorities == sorted(priorities)


def test_multiple_sorts(api: Api) -> None:
    for params in ({"sort": "status:asc;createdOn:desc"}, {"sort": ["status,asc", "createdOn,desc"]}):
        rows = [(e["status"], e["createdOn"]) for e in api.executions(pageSize=200, **params)["content"]]
        assert rows == sorted(rows, key=lambda row: (row[0], [-ord(c) for c in row[1]]))


def test_unknown_sort_field_is_500(api: Api) -> None:
    assert_problem(api.get("/api/executions", sort="nosuchfield,desc"), 500)


def test_free_text_query(api: Api) -> None:
    sample = api.executions(filter="description~'*invoice*'", pageSize=1)["content"][0]
    by_id = api.executions(query=sample["id"])
    assert [e["id"] for e in by_id["content"]] == [sample["id"]]
    page = api.executions(query="INVOICE", pageSize=50)
    assert page["totalElements"] > 0
    assert all("invoice" in ((e["description"] or "") + e["id"]).lower() for e in page["content"])
    assert api.executions(query="*")["totalElements"] == api.executions()["totalElements"]


# ---------------------------------------------------------------- single resources and errors

def test_get_execution_shape(api: Api) -> None:
    execution_id = api.executions(filter="status:'FAILED'", pageSize=1)["content"][0]["id"]
    execution = api.get(f"/api/executions/{execution_id}").json()
    assert {"id", "uuid", "changeSequence", "createdOn", "status", "statusDetails", "pipeline",
            "exceptionDetails", "organizationId", "assistantId"} <= set(execution)
    assert execution["exceptionDetails"]["message"]


def test_unknown_route_is_404_problem(api: Api) -> None:
    assert_problem(api.get("/api/no-such-thing"), 404)


def test_unknown_execution_is_404_problem(api: Api) -> None:
    assert_problem(api.get(f"/api/executions/{uuid.uuid4()}"), 404)
    assert_problem(api.put(f"/api/executions/{uuid.uuid4()}/cancel"), 404)


# ---------------------------------------------------------------- cancel

@pytest.mark.usefixtures("writes_allowed")
def test_cancel_moves_to_cancelling_then_cancelled(api: Api) -> None:
    execution = running_execution(api)
    response = api.put(f"/api/executions/{execution['id']}/cancel")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] in ("CANCELLING", "CANCELLED")
    assert body["changeSequence"] > execution["changeSequence"]
    again = api.put(f"/api/executions/{execution['id']}/cancel")
    assert again.status_code in (200, 409)

    def cancelled() -> bool:
        return api.get(f"/api/executions/{execution['id']}").json()["status"] == "CANCELLED"

    assert wait_for(cancelled, timeout=60 if api.control is None else 5)
    final = api.get(f"/api/executions/{execution['id']}").json()
    assert final["endDate"]
    assert "RUNNING" not in {step["status"] for step in (final["pipeline"] or {}).get("steps", [])}


def test_cancel_of_cancelling_is_200_unchanged(api: Api) -> None:
    if api.control is None:
        pytest.skip("needs a CANCELLING execution held still")
    execution = api.control.add_execution(status="CANCELLING", _sim={"lifecycle": False})
    api.control.configure(cancel_delay_ms=60000)
    response = api.put(f"/api/executions/{execution['id']}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "CANCELLING"


@pytest.mark.usefixtures("writes_allowed")
def test_cancel_of_terminal_execution(api: Api) -> None:
    """The real behaviour is undocumented: either 200 with the unchanged execution, or 409."""
    execution = api.executions(filter="status:'SUCCEEDED'", pageSize=1)["content"][0]
    response = api.put(f"/api/executions/{execution['id']}/cancel")
    if response.status_code == 200:
        assert response.json()["status"] == "SUCCEEDED"
        assert response.json()["changeSequence"] == execution["changeSequence"]
    else:
        assert "not in a cancellable state" in assert_problem(response, 409)["detail"]


@pytest.mark.parametrize("mode,expected", [("conflict", 409), ("idempotent", 200)])
def test_terminal_cancel_modes(api: Api, mode: str, expected: int) -> None:
    if api.control is None:
        pytest.skip("the mode is a simulator setting")
    api.control.configure(terminal_cancel=mode)
    for status in TERMINAL | {"PENDING_REPROCESSING"}:
        execution = api.executions(filter=f"status:'{status}'", pageSize=1)["content"][0]
        response = api.put(f"/api/executions/{execution['id']}/cancel")
        assert response.status_code == expected, (status, response.text)
        if expected == 200:
            assert response.json() == api.get(f"/api/executions/{execution['id']}").json()


# ---------------------------------------------------------------- status messages, logs, lookups

@pytest.mark.usefixtures("writes_allowed")
def test_status_messages(api: Api) -> None:
    execution = running_execution(api)
    path = f"/api/executions/{execution['id']}/status-messages"
    created = api.post(path, json={"title": "Checking totals", "type": "REVIEWING", "subtitle": "page 2"})
    assert created.status_code in (200, 201), created.text
    assert {"id", "datetime", "executionId", "title", "type", "subtitle"} <= set(created.json())
    for number in range(12):
        api.post(path, json={"title": f"note {number}", "type": "THINKING"})
    messages = api.get(path).json()
    assert isinstance(messages, list) and len(messages) <= 10
    assert [m["datetime"] for m in messages] == sorted(m["datetime"] for m in messages)
    assert_problem(api.post(path, json={"title": "x", "type": "SHOUTING"}), 400)
    assert_problem(api.post(path, json={"type": "THINKING"}), 400)


def test_logs_are_a_page(api: Api) -> None:
    execution_id = api.executions(filter="status:'SUCCEEDED'", pageSize=1)["content"][0]["id"]
    page = api.get(f"/api/executions/{execution_id}/logs").json()
    assert set(page) >= ENVELOPE_KEYS
    assert all({"id", "logDate", "entry"} <= set(entry) for entry in page["content"])


def test_assistant_and_family_lookups(api: Api) -> None:
    execution = api.executions(filter="status:'SUCCEEDED'", pageSize=1)["content"][0]
    assistant = api.get(f"/api/assistants/{execution['assistantId']}")
    assert assistant.status_code == 200 and assistant.json()["name"]
    assert {"id", "name", "description", "color", "active", "project"} <= set(assistant.json())
    family = api.get(f"/api/document-families/{execution['documentFamilyId']}")
    assert family.status_code == 200 and family.json()["path"]
    assert_problem(api.get(f"/api/assistants/{uuid.uuid4()}"), 404)
    assert_problem(api.get(f"/api/document-families/{uuid.uuid4()}"), 404)


def test_assistants_list_and_query(api: Api) -> None:
    page = api.get("/api/assistants").json()
    assert set(page) >= ENVELOPE_KEYS and page["totalElements"] > 0
    name = page["content"][0]["name"]
    found = api.get("/api/assistants", query=name.lower()).json()
    assert name in {a["name"] for a in found["content"]}


# Each reference collection with the fields an object of it must carry.
REFERENCE_COLLECTIONS = [
    ("/api/organizations", {"id", "name", "slug"}),
    ("/api/projects", {"id", "name"}),
    ("/api/document-stores", {"id", "name", "slug"}),
    ("/api/document-families", {"id", "path", "storeRef"}),
]


@pytest.mark.parametrize(("collection", "fields"), REFERENCE_COLLECTIONS)
def test_reference_list_lookup_and_unknown_id(api: Api, collection: str, fields: set[str]) -> None:
    response = api.get(collection, page=1, pageSize=2)
    assert response.status_code == 200, response.text
    page = response.json()
    assert set(page) >= ENVELOPE_KEYS
    assert page["number"] == 0 and page["size"] == 2 and page["numberOfElements"] == len(page["content"]) <= 2
    assert page["totalPages"] == -(-page["totalElements"] // 2)
    if not page["content"]:
        assert api.control is None, f"the stand-in seeds {collection}"
        pytest.skip(f"{collection} is empty on this tenant")
    assert all(fields <= set(item) for item in page["content"])
    first = page["content"][0]
    one = api.get(f"{collection}/{first['id']}")
    assert one.status_code == 200, one.text
    assert one.json()["id"] == first["id"] and fields <= set(one.json())
    assert_problem(api.get(f"{collection}/{uuid.uuid4()}"), 404)


def test_writes_against_a_tenant_need_the_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    with requests.Session() as session:
        tenant = Api("https://tenant.example", "k", None, session)
        stand_in = Api("http://127.0.0.1:9", "k", SimControl("http://127.0.0.1:9", "k"), session)
        monkeypatch.delenv(ALLOW_WRITES, raising=False)
        require_writes(stand_in)  # the stand-in is always written to
        for value in (None, "0", "yes"):
            if value is not None:
                monkeypatch.setenv(ALLOW_WRITES, value)
            with pytest.raises(pytest.skip.Exception, match=ALLOW_WRITES):
                require_writes(tenant)
        monkeypatch.setenv(ALLOW_WRITES, "1")
        require_writes(tenant)


def test_account_me(api: Api) -> None:
    response = api.get("/api/account/me")
    assert response.status_code == 200 and response.json()["id"]


# --- the probes the panel's detection relies on (docs/kodexa-api.md, "Finding out what the tenant reads") ---


def test_probe_the_first_row_without_page_is_the_first_row_of_page_zero_or_one(api: Api) -> None:
    baseline = api.executions(pageSize=2)["content"]
    if len(baseline) < 2:
        pytest.skip("SKIPPED: the tenant has fewer than two executions; the page base cannot be told")
    firsts = {}
    for page in ("0", "1"):
        response = api.get("/api/executions", page=page, pageSize=1)
        firsts[page] = response.json()["content"][0]["id"] if response.status_code == 200 and \
            response.json()["content"] else None
    # Exactly one of the two bases starts where a request without `page` starts.
    assert [page for page, first in firsts.items() if first == baseline[0]["id"]] in (["0"], ["1"]), firsts


def test_probe_a_query_that_matches_nothing_narrows_or_is_ignored_entirely(api: Api) -> None:
    total = api.executions(pageSize=1)["totalElements"]
    found = api.executions(pageSize=1, query=f"no-such-text-{uuid.uuid4().hex}")["totalElements"]
    assert found in (0, total)  # honoured, or ignored: never a partial answer the panel could mistake


def test_probe_one_filter_in_each_dialect_is_either_refused_or_narrows_to_the_execution(api: Api) -> None:
    first = api.executions(pageSize=1)["content"]
    if not first:
        pytest.skip("SKIPPED: the tenant has no executions to filter on")
    target = first[0]["id"]
    readers = []
    for dialect, expression in (("spring", f"id:'{target}'"), ("eq", f"id eq '{target}'")):
        response = api.get("/api/executions", pageSize=2, filter=expression)
        if response.status_code == 200:
            ids = [e["id"] for e in response.json()["content"]]
            if ids == [target]:
                readers.append(dialect)
        else:
            assert 400 <= response.status_code <= 500, response.text  # refused, never a redirect or a 502
    assert readers, "neither dialect narrowed the list to one execution"


# ---------------------------------------------------------------- reprocess

def _finished_with_family(api: Api) -> dict[str, Any]:
    page = api.executions(filter="status:'FAILED'", pageSize=50)
    for execution in page["content"]:
        if execution.get("documentFamilyId") and execution.get("assistantId"):
            return execution
    pytest.skip("no FAILED execution with a document family and an assistant on this tenant")


@pytest.mark.usefixtures("writes_allowed")
def test_reprocess_starts_one_execution_per_assistant_and_answers_the_family(api: Api) -> None:
    execution = _finished_with_family(api)
    family_id, assistant_id = execution["documentFamilyId"], execution["assistantId"]
    before = api.executions(filter=f"documentFamilyId:'{family_id}'", pageSize=200)["totalElements"]
    response = api.post(f"/api/document-families/{family_id}/reprocess", json={"assistantIds": [assistant_id]})
    assert response.status_code == 200, response.text
    assert response.json()["id"] == family_id
    after = api.executions(filter=f"documentFamilyId:'{family_id}'", pageSize=200, sort="createdOn,desc")
    assert after["totalElements"] == before + 1
    newest = after["content"][0]
    assert newest["assistantId"] == assistant_id
    assert newest["status"] in ("PENDING", "REQUESTED", "RUNNING")


def test_reprocess_of_an_unknown_family_is_404(api: Api) -> None:
    assert_problem(api.post(f"/api/document-families/{uuid.uuid4()}/reprocess", json={"assistantIds": []}), 404)


def test_reprocess_with_an_unknown_or_inactive_assistant_is_400_and_starts_nothing(api: Api) -> None:
    if api.control is None:
        pytest.skip("the stand-in's refusals; a tenant's may differ (docs name no error bodies)")
    family = api.get("/api/document-families", pageSize=1).json()["content"][0]
    inactive = [a for a in api.get("/api/assistants", pageSize=200).json()["content"] if not a["active"]]
    active = [a for a in api.get("/api/assistants", pageSize=200).json()["content"] if a["active"]]
    total = api.executions(pageSize=1)["totalElements"]
    for body in ({"assistantIds": [str(uuid.uuid4())]}, {"assistantIds": [active[0]["id"], inactive[0]["id"]]},
                 {"assistantIds": []}, {"assistantIds": "x"}, {}):
        assert_problem(api.post(f"/api/document-families/{family['id']}/reprocess", json=body), 400)
    assert api.executions(pageSize=1)["totalElements"] == total
