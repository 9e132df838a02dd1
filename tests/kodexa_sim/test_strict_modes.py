"""The strict modes: one flag per form Kodexa's public sources disagree on, each checked over real HTTP.

A frozen simulator of its own (speed 0, no arrivals) keeps totals and pages stable between two
requests; it is reset before and after every test so a mode never leaks into the next one.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

import kodexa_sim
from kodexa_sim.config import RUNTIME_SETTINGS
from kodexa_sim.control import SimControl, SimControlError
from tests.kodexa_sim.test_sim_control import ROOT, cli_sim

KEY = "strict-key"
HEADERS = {"x-api-key": KEY}
EPOCH = datetime(2026, 2, 25, 10, 0, tzinfo=UTC)
DEFAULTS = {
    "filter_dialect": "any",
    "sort_separator": "any",
    "page_base": 1,
    "query_search": "on",
    "error_style": "problem",
    "unfilterable": [],
}
SPRING_OPERATORS = [":", "!", "~", ">", "<", ">:", "<:", ">=", "<="]
EQ_OPERATORS = ["eq", "ne", "gt", "lt", "ge", "le", "==", "!="]
SPRING_HINT = "this server reads SpringFilter: field:'value'"
EQ_HINT = "this server reads the eq dialect: field eq 'value'"
MISSING_PRIORITY = 'failed to count records: ERROR: column "priority" does not exist (SQLSTATE 42703)'


def frozen_sim(**modes: Any) -> kodexa_sim.SimServer:
    return kodexa_sim.start(api_key=KEY, seed=7, executions=60, speed=0, arrival_seconds=0, epoch=EPOCH, **modes)


@pytest.fixture(scope="module")
def frozen_server() -> Iterator[kodexa_sim.SimServer]:
    with frozen_sim() as server:
        yield server


@pytest.fixture
def api(frozen_server: kodexa_sim.SimServer) -> Iterator[Api]:
    control = SimControl(frozen_server.url, KEY)
    control.reset()
    yield Api(frozen_server.url, control)
    control.reset()


class Api:
    def __init__(self, url: str, control: SimControl) -> None:
        self.url = url
        self.control = control

    def get(self, path: str, params: Any = None, headers: dict[str, str] | None = None) -> requests.Response:
        return requests.get(self.url + path, params=params, headers=HEADERS if headers is None else headers, timeout=10)

    def executions(self, **params: Any) -> requests.Response:
        return self.get("/api/executions", params=params)

    def page(self, **params: Any) -> dict[str, Any]:
        response = self.executions(**params)
        assert response.status_code == 200, response.text
        return response.json()

    def ids(self, **params: Any) -> list[str]:
        return [execution["id"] for execution in self.page(pageSize=1000, **params)["content"]]


def detail(response: requests.Response) -> str:
    assert response.headers["Content-Type"].startswith("application/problem+json"), response.headers
    return response.json()["detail"]


# ---------------------------------------------------------------- defaults


def test_defaults_forgive_every_form_and_are_shown(api: Api) -> None:
    config = api.control.config()
    assert {name: config[name] for name in DEFAULTS} == DEFAULTS
    failed = api.ids(filter="status:'FAILED'")
    assert failed and api.ids(filter="status eq 'FAILED'") == failed
    assert api.ids(filter="(status:'FAILED' or status eq 'RUNNING')") == api.ids(
        filter="status in ('FAILED','RUNNING')"
    )
    assert api.ids(sort="priority,desc") == api.ids(sort="priority:desc")
    first = api.page(page=1, pageSize=5)
    assert first["number"] == 0 and first["first"] is True
    assert api.executions(page=0).status_code == 400
    assert api.page(query="no-such-text-anywhere")["totalElements"] == 0
    error = api.executions(page=0)
    assert error.headers["Content-Type"] == "application/problem+json" and error.json()["status"] == 400


# ---------------------------------------------------------------- filter dialect


@pytest.mark.parametrize("operator", EQ_OPERATORS)
def test_spring_dialect_refuses_each_eq_operator_naming_its_position(api: Api, operator: str) -> None:
    api.control.configure(filter_dialect="spring")
    expression = f"status:'FAILED' and priority {operator} 3"
    response = api.executions(filter=expression)
    assert response.status_code == 400
    position = expression.index(f" {operator} ") + 1
    assert detail(response) == f"filter: unexpected {operator!r} at position {position} ({SPRING_HINT})"


@pytest.mark.parametrize("operator", SPRING_OPERATORS)
def test_eq_dialect_refuses_each_spring_operator_naming_its_position(api: Api, operator: str) -> None:
    api.control.configure(filter_dialect="eq")
    expression = f"status eq 'FAILED' and description{operator}'x'"
    response = api.executions(filter=expression)
    assert response.status_code == 400
    position = expression.index("description") + len("description")
    assert detail(response) == f"filter: unexpected {operator!r} at position {position} ({EQ_HINT})"


@pytest.mark.parametrize(("dialect", "operators"), [("spring", SPRING_OPERATORS), ("eq", EQ_OPERATORS)])
def test_each_dialect_reads_its_own_operators(api: Api, dialect: str, operators: list[str]) -> None:
    expressions = ["description ~ '*o*'" if operator == "~" else f"priority {operator} 5" for operator in operators]
    # Read under the forgiving default first: the strict dialect must select exactly the same rows.
    expected = [api.ids(filter=expression) for expression in expressions]
    assert all(expected[:2]) and len(set(map(tuple, expected))) > 2
    api.control.configure(filter_dialect=dialect)
    assert [api.ids(filter=expression) for expression in expressions] == expected


def test_spring_and_eq_dialects_select_the_same_rows_with_the_shared_words(api: Api) -> None:
    # and/or/not/parentheses/in/null belong to both dialects.
    expected = api.ids(filter="not(status in ('SUCCEEDED')) and (priority>3 or description:null)")
    assert expected
    api.control.configure(filter_dialect="spring")
    assert api.ids(filter="not(status in ('SUCCEEDED')) and (priority>3 or description:null)") == expected
    api.control.configure(filter_dialect="eq")
    assert api.ids(filter="not(status in ('SUCCEEDED')) and (priority gt 3 or description eq null)") == expected


def test_the_first_offending_operator_is_named(api: Api) -> None:
    api.control.configure(filter_dialect="spring")
    response = api.executions(filter="status:'A' or (status == 'B' and priority ne 3)")
    assert detail(response) == f"filter: unexpected '==' at position 22 ({SPRING_HINT})"


def test_filter_dialect_at_start_up_and_reset_restores_it() -> None:
    with frozen_sim(filter_dialect="eq") as server:
        control = SimControl(server.url, KEY)
        url = server.url + "/api/executions"
        assert requests.get(url, params={"filter": "status:'FAILED'"}, headers=HEADERS, timeout=10).status_code == 400
        assert (
            requests.get(url, params={"filter": "status eq 'FAILED'"}, headers=HEADERS, timeout=10).status_code == 200
        )
        control.configure(filter_dialect="any")
        assert requests.get(url, params={"filter": "status:'FAILED'"}, headers=HEADERS, timeout=10).status_code == 200
        assert control.reset()["filter_dialect"] == "eq"
        assert requests.get(url, params={"filter": "status:'FAILED'"}, headers=HEADERS, timeout=10).status_code == 400


def test_filter_dialect_applies_to_every_list(api: Api) -> None:
    api.control.configure(filter_dialect="eq")
    assert api.get("/api/assistants", params={"filter": "active:true"}).status_code == 400
    assert api.get("/api/assistants", params={"filter": "active eq true"}).status_code == 200


# ---------------------------------------------------------------- sort separator


# Each accepted form with the same order written for the forgiving default.
SPRING_SORTS = [
    ("priority,desc", "priority:desc"),
    (["priority,desc", "createdOn,asc"], "priority:desc;createdOn:asc"),
    ("priority", "priority:asc"),
]
KDX_SORTS = [
    ("priority:desc", "priority,desc"),
    ("priority:desc;createdOn:asc", ["priority,desc", "createdOn,asc"]),
    (["priority:desc", "createdOn:asc"], ["priority,desc", "createdOn,asc"]),
    ("priority", "priority,asc"),
]


@pytest.mark.parametrize(
    ("separator", "accepted", "refused"),
    [
        (",", SPRING_SORTS, ["priority:desc", "priority,desc;createdOn,asc", "priority;createdOn"]),
        (":", KDX_SORTS, ["priority,desc", "priority:desc;createdOn,asc"]),
    ],
)
def test_sort_in_the_other_form_is_400(api: Api, separator: str, accepted: list[Any], refused: list[str]) -> None:
    expected = [api.ids(sort=same) for _, same in accepted]
    assert expected[0] != list(reversed(expected[0]))
    api.control.configure(sort_separator=separator)
    assert api.control.config()["sort_separator"] == separator
    # The order proves each accepted sort was applied, not just accepted.
    assert [api.ids(sort=sort) for sort, _ in accepted] == expected
    for sort in refused:
        response = api.executions(sort=sort)
        assert response.status_code == 400, sort
        assert detail(response).startswith(f"sort: unexpected {(':' if separator == ',' else ',')!r}") or (
            ";" in sort and detail(response).startswith("sort: unexpected ';'")
        ), detail(response)


def test_sort_separator_default_reads_both(api: Api) -> None:
    assert api.ids(sort="priority,desc;createdOn:asc") == api.ids(sort=["priority:desc", "createdOn,asc"])


def test_sort_separator_at_start_up_and_reset_restores_it() -> None:
    with frozen_sim(sort_separator=":") as server:
        control = SimControl(server.url, KEY)
        url = server.url + "/api/executions"
        assert requests.get(url, params={"sort": "createdOn,desc"}, headers=HEADERS, timeout=10).status_code == 400
        control.configure(sort_separator=",")
        assert requests.get(url, params={"sort": "createdOn:desc"}, headers=HEADERS, timeout=10).status_code == 400
        assert requests.get(url, params={"sort": "createdOn,desc"}, headers=HEADERS, timeout=10).status_code == 200
        control.reset()
        assert requests.get(url, params={"sort": "createdOn:desc"}, headers=HEADERS, timeout=10).status_code == 200


# ---------------------------------------------------------------- page base


def test_page_base_zero(api: Api) -> None:
    one_based = [api.page(page=page, pageSize=7) for page in (1, 2)]
    total = one_based[0]["totalElements"]
    api.control.configure(page_base=0)
    first, second = api.page(page=0, pageSize=7), api.page(page=1, pageSize=7)
    assert first["content"] == one_based[0]["content"] and second["content"] == one_based[1]["content"]
    assert (first["number"], first["first"], first["pageable"]["pageNumber"]) == (0, True, 0)
    assert (second["number"], second["first"], second["pageable"]["offset"]) == (1, False, 7)
    # The default page is the first one.
    assert api.page(pageSize=7)["content"] == first["content"]
    last_page = (total - 1) // 7
    assert api.page(page=last_page, pageSize=7)["last"] is True
    assert api.page(page=last_page - 1, pageSize=7)["last"] is False
    beyond = api.page(page=last_page + 1, pageSize=7)
    assert beyond["content"] == [] and beyond["last"] is True and beyond["number"] == last_page + 1
    negative = api.executions(page=-1)
    assert negative.status_code == 400 and detail(negative) == "Invalid request parameters: page must be >= 0"


def test_page_base_one_keeps_number_zero_based(api: Api) -> None:
    assert api.control.config()["page_base"] == 1
    second = api.page(page=2, pageSize=7)
    assert second["number"] == 1 and second["pageable"]["offset"] == 7
    beyond = api.page(page=1000, pageSize=7)
    assert beyond["content"] == [] and beyond["last"] is True and beyond["number"] == 999
    for page in (0, -1):
        response = api.executions(page=page)
        assert response.status_code == 400 and detail(response) == "Invalid request parameters: page must be >= 1"


def test_page_base_applies_to_every_list(api: Api) -> None:
    execution_id = api.ids()[0]
    logs_first = api.get(f"/api/executions/{execution_id}/logs", params={"page": 1, "pageSize": 1}).json()
    assistants_first = api.get("/api/assistants", params={"page": 1, "pageSize": 3}).json()
    api.control.configure(page_base=0)
    logs = api.get(f"/api/executions/{execution_id}/logs", params={"page": 0, "pageSize": 1}).json()
    assistants = api.get("/api/assistants", params={"page": 0, "pageSize": 3}).json()
    assert logs["content"] == logs_first["content"] and logs["number"] == 0
    assert assistants["content"] == assistants_first["content"] and assistants["number"] == 0
    # The panel's "page=1" now reads the second page.
    assert api.get("/api/assistants", params={"page": 1, "pageSize": 3}).json()["content"] != assistants["content"]


def test_page_base_at_start_up_and_reset_restores_it() -> None:
    with frozen_sim(page_base=0) as server:
        control = SimControl(server.url, KEY)
        url = server.url + "/api/executions"
        assert requests.get(url, params={"page": 0}, headers=HEADERS, timeout=10).json()["number"] == 0
        control.configure(page_base=1)
        assert requests.get(url, params={"page": 0}, headers=HEADERS, timeout=10).status_code == 400
        assert control.reset()["page_base"] == 0
        assert requests.get(url, params={"page": 0}, headers=HEADERS, timeout=10).status_code == 200


# ---------------------------------------------------------------- free-text query


def test_query_search_off_ignores_query(api: Api) -> None:
    total = api.page()["totalElements"]
    execution_id = api.ids()[0]
    assert api.ids(query=execution_id) == [execution_id]
    api.control.configure(query_search="off")
    assert api.control.config()["query_search"] == "off"
    for text in (execution_id, "no-such-text-anywhere", "*", ""):
        assert api.page(query=text)["totalElements"] == total, text
    # Only the executions list: other lists keep their free text.
    assert api.get("/api/assistants", params={"query": "no-such-assistant"}).json()["totalElements"] == 0
    api.control.configure(query_search=True)
    assert api.page(query="no-such-text-anywhere")["totalElements"] == 0


def test_query_search_at_start_up_and_reset_restores_it() -> None:
    with frozen_sim(query_search=False) as server:
        control = SimControl(server.url, KEY)
        url = server.url + "/api/executions"
        assert control.config()["query_search"] == "off"
        assert requests.get(url, params={"query": "zzz"}, headers=HEADERS, timeout=10).json()["totalElements"] == 60
        control.configure(query_search="on")
        assert requests.get(url, params={"query": "zzz"}, headers=HEADERS, timeout=10).json()["totalElements"] == 0
        control.reset()
        assert requests.get(url, params={"query": "zzz"}, headers=HEADERS, timeout=10).json()["totalElements"] == 60


# ---------------------------------------------------------------- error style


def assert_legacy(response: requests.Response, status: int, message: str, errors: dict[str, str] | None = None) -> str:
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"message", "errors", "incidentId"}
    assert body["message"] == message
    assert body["errors"] == (errors or {})
    assert uuid.UUID(body["incidentId"]).version == 4
    return body["incidentId"]


def test_legacy_error_bodies_for_every_status() -> None:
    with frozen_sim(error_style="legacy", restricted_keys=["no-access"], unfilterable=["priority"]) as server:
        url, control = server.url, SimControl(server.url, KEY)

        def call(method: str, path: str, key: str | None = KEY, **kwargs: Any) -> requests.Response:
            headers = {"x-api-key": key} if key else {}
            return requests.request(method, url + path, headers=headers, timeout=10, **kwargs)

        first = assert_legacy(
            call("GET", "/api/executions", params={"page": "x"}),
            400,
            "Invalid request parameters: page must be an integer",
            {"page": "must be an integer"},
        )
        second = assert_legacy(
            call("GET", "/api/executions", params={"pageSize": 0}),
            400,
            "Invalid request parameters: pageSize must be >= 1",
            {"pageSize": "must be >= 1"},
        )
        assert first != second  # a fresh incident id each time
        response = call("GET", "/api/executions", params={"filter": "status:"})
        assert response.status_code == 400 and set(response.json()["errors"]) == {"filter"}
        response = call("GET", "/api/executions", params={"sort": "createdOn,sideways"})
        assert response.status_code == 400 and set(response.json()["errors"]) == {"sort"}
        assert_legacy(call("GET", "/api/executions", key=None), 401, "Missing or invalid API key")
        assert_legacy(
            call("GET", "/api/account/me", key="no-access"),
            403,
            "Authenticated, but this key has no access to the organization",
        )
        assert_legacy(call("GET", "/api/nothing-here"), 404, "No route for GET /api/nothing-here")
        missing = "00000000-0000-4000-8000-000000000000"
        assert call("GET", f"/api/executions/{missing}").json()["message"].endswith("not found")
        method = call("DELETE", "/api/executions")
        assert_legacy(method, 405, "Method DELETE not allowed; use GET, POST")
        assert method.headers["Allow"] == "GET, POST"
        done = call("GET", "/api/executions", params={"filter": "status:'SUCCEEDED'", "pageSize": 1})
        assert_legacy(
            call("PUT", f"/api/executions/{done.json()['content'][0]['id']}/cancel"),
            409,
            "Execution is not in a cancellable state",
        )
        assert_legacy(call("GET", "/api/executions", params={"sort": "priority,desc"}), 500, MISSING_PRIORITY)
        control.add_fault("GET /api/account/me", status=503, headers={"Retry-After": "1"})
        fault = call("GET", "/api/account/me")
        assert_legacy(fault, 503, "Injected fault (Service Unavailable)")
        assert fault.headers["Retry-After"] == "1"
        # The control plane is not Kodexa: its errors stay problem+json.
        refused = call("PUT", "/_sim/config", json={"error_style": "xml"})
        assert refused.status_code == 400 and refused.headers["Content-Type"] == "application/problem+json"
        assert call("GET", "/_sim/config", key="wrong").json()["status"] == 401


def test_error_style_at_run_time_and_reset(api: Api) -> None:
    assert detail(api.executions(page=0)) == "Invalid request parameters: page must be >= 1"
    api.control.configure(error_style="legacy")
    assert_legacy(
        api.executions(page=0), 400, "Invalid request parameters: page must be >= 1", {"page": "must be >= 1"}
    )
    api.control.reset()
    assert api.executions(page=0).headers["Content-Type"] == "application/problem+json"


# ---------------------------------------------------------------- unfilterable fields


def test_unfilterable_field_is_a_500_on_filter_and_sort(api: Api) -> None:
    assert api.executions(filter="priority>3").status_code == 200
    api.control.configure(unfilterable=["priority", "createdOn"])
    assert api.control.config()["unfilterable"] == ["priority", "createdOn"]
    for params in (
        {"filter": "priority>3"},
        {"filter": "status:'FAILED' or priority eq 1"},
        {"sort": "priority,desc"},
        {"sort": "status:asc;priority:desc"},
    ):
        response = api.executions(**params)
        assert response.status_code == 500, params
        assert response.headers["Content-Type"] == "application/problem+json"
        assert detail(response) == MISSING_PRIORITY
    # Other fields still work, and so does the default order even though createdOn may not be named.
    assert api.executions(filter="status:'FAILED'", sort="status,asc").status_code == 200
    assert api.page()["totalElements"] == 60
    assert api.executions(sort="createdOn,desc").status_code == 500


def test_unfilterable_is_checked_against_the_execution_fields(api: Api) -> None:
    with pytest.raises(ValueError, match="nosuch"):
        frozen_sim(unfilterable=["nosuch"])
    with pytest.raises(SimControlError) as refused:
        api.control.configure(unfilterable=["priority", "nosuch"])
    assert refused.value.status == 400 and "nosuch" in refused.value.body
    assert api.control.config()["unfilterable"] == []


def test_unfilterable_at_start_up_and_reset_restores_it() -> None:
    with frozen_sim(unfilterable=["sessionId"]) as server:
        control = SimControl(server.url, KEY)
        url = server.url + "/api/executions"
        assert requests.get(url, params={"sort": "sessionId"}, headers=HEADERS, timeout=10).status_code == 500
        control.configure(unfilterable=[])
        assert requests.get(url, params={"sort": "sessionId"}, headers=HEADERS, timeout=10).status_code == 200
        assert control.reset()["unfilterable"] == ["sessionId"]
        assert requests.get(url, params={"sort": "sessionId"}, headers=HEADERS, timeout=10).status_code == 500


# ---------------------------------------------------------------- runtime settings


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("filter_dialect", "rsql"),
        ("sort_separator", ";"),
        ("page_base", 2),
        ("page_base", True),
        ("query_search", "maybe"),
        ("error_style", "xml"),
        ("unfilterable", 5),
    ],
)
def test_invalid_runtime_values_are_400_and_change_nothing(api: Api, name: str, value: Any) -> None:
    before = api.control.config()
    with pytest.raises(SimControlError) as refused:
        api.control.configure(latency_ms=500, **{name: value})
    assert refused.value.status == 400 and name in refused.value.body
    after = api.control.config()
    assert after["latency_ms"] == 0 and after[name] == before[name]


def test_every_strict_mode_is_a_runtime_setting_and_reset_restores_start_up_values(api: Api) -> None:
    assert set(DEFAULTS) <= set(RUNTIME_SETTINGS)
    changed = {
        "filter_dialect": "spring",
        "sort_separator": ":",
        "page_base": 0,
        "query_search": "off",
        "error_style": "legacy",
        "unfilterable": ["priority"],
    }
    shown = api.control.configure(**changed)
    assert {name: shown[name] for name in changed} == changed
    reset = api.control.reset()
    assert {name: reset[name] for name in DEFAULTS} == DEFAULTS


# ---------------------------------------------------------------- command line


def test_cli_strict_flags() -> None:
    flags = (
        "--api-key",
        KEY,
        "--executions",
        "30",
        "--speed",
        "0",
        "--arrival-seconds",
        "0",
        "--filter-dialect",
        "eq",
        "--sort-separator",
        ":",
        "--page-base",
        "0",
        "--query-search",
        "off",
        "--error-style",
        "legacy",
        "--unfilterable",
        "priority",
        "--unfilterable",
        "sessionId",
    )
    with cli_sim(*flags) as url:
        control = SimControl(url, KEY)
        config = control.config()
        assert {name: config[name] for name in DEFAULTS} == {
            "filter_dialect": "eq",
            "sort_separator": ":",
            "page_base": 0,
            "query_search": "off",
            "error_style": "legacy",
            "unfilterable": ["priority", "sessionId"],
        }

        def get(**params: Any) -> requests.Response:
            return requests.get(url + "/api/executions", params=params, headers=HEADERS, timeout=10)

        problem = f"unexpected ':' at position 6 ({EQ_HINT})"
        assert_legacy(get(filter="status:'FAILED'"), 400, f"filter: {problem}", {"filter": problem})
        assert get(filter="status eq 'FAILED'").status_code == 200
        assert get(sort="createdOn,desc").status_code == 400 and get(sort="createdOn:desc").status_code == 200
        first = get(page=0, pageSize=10).json()
        assert first["number"] == 0 and len(first["content"]) == 10
        assert get(page=2, pageSize=10).json()["number"] == 2
        assert get(query="no-such-text").json()["totalElements"] == 30
        assert_legacy(
            get(sort="sessionId:asc"),
            500,
            'failed to count records: ERROR: column "sessionId" does not exist (SQLSTATE 42703)',
        )
        control.configure(page_base=1)
        assert control.reset()["page_base"] == 0


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--unfilterable", "nosuch"), "kodexa_sim: unfilterable: 'nosuch' is not an execution field"),
        (("--filter-dialect", "rsql"), "invalid choice: 'rsql'"),
        (("--page-base", "2"), "invalid choice: 2"),
    ],
)
def test_cli_refuses_invalid_strict_flags(flags: tuple[str, ...], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kodexa_sim", "--port", "0", *flags],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and message in result.stderr and result.stdout == ""
