"""Route table and handlers for the Kodexa API (``/api/...``) and the control plane (``/_sim/...``).

Handlers are called with ``state.lock`` held and the lifecycle synced; they return a ``Response``
or raise ``ApiError``. Everything that touches sockets (latency, faults) stays in server.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from .faults import FAULT_MODES
from .listing import list_page, page_envelope, page_params
from .problems import ApiError
from .store import SimState
from .world import ASSISTANT_SCHEMA, EXECUTION_SCHEMA, FAMILY_SCHEMA, NAMED_SCHEMA


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        if not self.body.strip():
            return {}
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "Request body is not valid JSON") from None

    def json_object(self) -> dict[str, Any]:
        data = self.json()
        if not isinstance(data, dict):
            raise ApiError(400, "Request body must be a JSON object")
        return data


@dataclass
class Response:
    status: int
    payload: Any = None  # JSON-encoded unless ``raw`` is set
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json"

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return json.dumps(self.payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


Handler = Callable[[SimState, Request], Response]


@dataclass(frozen=True)
class Route:
    template: str  # e.g. "/api/executions/{id}/cancel", also the key under which calls are counted
    methods: dict[str, Handler]
    pattern: re.Pattern[str]


def _compile(template: str) -> re.Pattern[str]:
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return re.compile(regex)


# ---------------------------------------------------------------- /api handlers


def _ok(payload: Any, status: int = 200) -> Response:
    return Response(status, payload)


def list_executions(state: SimState, request: Request) -> Response:
    # Free text and missing columns are unknowns of the executions list only; the page base, filter
    # dialect and sort form are the platform's, so every list follows them (_list_modes).
    config = state.config
    return _ok(
        list_page(
            state.world.executions.values(),
            request.query,
            schema=EXECUTION_SCHEMA,
            text_fields=("id", "description"),
            default_sort=[("createdOn", True)],
            query_search=config.query_search == "on",
            unfilterable=config.unfilterable,
            **_list_modes(state),
        )
    )


def _list_modes(state: SimState) -> dict[str, Any]:
    config = state.config
    return {
        "page_base": config.page_base,
        "filter_dialect": config.filter_dialect,
        "sort_separator": config.sort_separator,
    }


def get_execution(state: SimState, request: Request) -> Response:
    return _ok(state.execution(request.params["id"]))


def create_execution(state: SimState, request: Request) -> Response:
    return _ok(state.create(request.json_object()), 201)


def update_execution(state: SimState, request: Request) -> Response:
    return _ok(state.update(request.params["id"], request.json_object()))


def cancel_execution(state: SimState, request: Request) -> Response:
    status, execution = state.cancel(request.params["id"])
    return _ok(execution, status)


def reprocess_family(state: SimState, request: Request) -> Response:
    return _ok(state.reprocess(request.params["id"], request.json()))


def list_status_messages(state: SimState, request: Request) -> Response:
    return _ok(state.messages(request.params["id"]))


def add_status_message(state: SimState, request: Request) -> Response:
    return _ok(state.add_message(request.params["id"], request.json_object()), 201)


def list_logs(state: SimState, request: Request) -> Response:
    index, size = page_params(request.query, state.config.page_base)
    return _ok(page_envelope(state.logs(request.params["id"]), index=index, size=size))


def _collection(
    attribute: str, label: str, schema: dict[str, str], text_fields: tuple[str, ...], sort_field: str
) -> tuple[Handler, Handler]:
    def list_all(state: SimState, request: Request) -> Response:
        items = getattr(state.world, attribute).values()
        return _ok(
            list_page(
                items,
                request.query,
                schema=schema,
                text_fields=text_fields,
                default_sort=[(sort_field, False)],
                **_list_modes(state),
            )
        )

    def get_one(state: SimState, request: Request) -> Response:
        item = getattr(state.world, attribute).get(request.params["id"])
        if item is None:
            raise ApiError(404, f"{label} {request.params['id']} not found")
        return _ok(item)

    return list_all, get_one


def list_organizations(state: SimState, request: Request) -> Response:
    organization = state.world.organization
    return _ok(
        list_page(
            [organization],
            request.query,
            schema=NAMED_SCHEMA,
            text_fields=("name", "slug"),
            default_sort=[("name", False)],
            **_list_modes(state),
        )
    )


def get_organization(state: SimState, request: Request) -> Response:
    if request.params["id"] != state.world.organization["id"]:
        raise ApiError(404, f"Organization {request.params['id']} not found")
    return _ok(state.world.organization)


def account_me(state: SimState, request: Request) -> Response:
    return _ok(state.world.user)


# ---------------------------------------------------------------- /_sim handlers


def sim_reset(state: SimState, request: Request) -> Response:
    state.reset()
    return _ok(state.describe())


def sim_list_faults(state: SimState, request: Request) -> Response:
    return _ok(state.faults.list())


def sim_add_faults(state: SimState, request: Request) -> Response:
    """One fault object or a list of them; answers with the whole registry (ids included)."""
    data = request.json()
    specs = data if isinstance(data, list) else [data]
    try:
        added = [state.faults.add(spec).to_json() for spec in specs if isinstance(spec, dict)]
    except (ValueError, TypeError) as error:
        raise ApiError(400, f"Invalid fault: {error} (modes: {', '.join(FAULT_MODES)})") from None
    if len(added) != len(specs):
        raise ApiError(400, "Each fault must be a JSON object")
    return _ok({"added": added, "faults": state.faults.list()}, 201)


def sim_clear_faults(state: SimState, request: Request) -> Response:
    state.faults.clear()
    return _ok({"faults": []})


def sim_delete_fault(state: SimState, request: Request) -> Response:
    try:
        fault_id = int(request.params["id"])
    except ValueError:
        raise ApiError(404, "No such fault") from None
    if not state.faults.remove(fault_id):
        raise ApiError(404, "No such fault")
    return _ok({"faults": state.faults.list()})


def sim_calls(state: SimState, request: Request) -> Response:
    return _ok(state.calls.snapshot())


def sim_clear_calls(state: SimState, request: Request) -> Response:
    state.calls.clear()
    return _ok(state.calls.snapshot())


def sim_add_execution(state: SimState, request: Request) -> Response:
    """Like POST /api/executions, plus ``"_sim": {"lifecycle": false}`` to keep it exactly as given."""
    fields = request.json_object()
    options = fields.pop("_sim", None) or {}
    return _ok(state.create(fields, lifecycle=bool(options.get("lifecycle", True))), 201)


def sim_advance(state: SimState, request: Request) -> Response:
    body = request.json_object()
    try:
        seconds = float(body.get("seconds", 0))
        if seconds < 0:
            raise ValueError
    except (TypeError, ValueError):
        raise ApiError(400, "'seconds' must be a non-negative number") from None
    state.advance(seconds)
    return _ok(state.describe())


def sim_config(state: SimState, request: Request) -> Response:
    return _ok(state.describe())


def sim_configure(state: SimState, request: Request) -> Response:
    return _ok(state.configure(request.json_object()))


# ---------------------------------------------------------------- tables

_LIST_ASSISTANTS, _GET_ASSISTANT = _collection("assistants", "Assistant", ASSISTANT_SCHEMA, ("name",), "name")
_LIST_FAMILIES, _GET_FAMILY = _collection("families", "Document family", FAMILY_SCHEMA, ("path",), "path")
_LIST_PROJECTS, _GET_PROJECT = _collection("projects", "Project", NAMED_SCHEMA, ("name",), "name")
_LIST_STORES, _GET_STORE = _collection("stores", "Document store", NAMED_SCHEMA, ("name", "slug"), "name")

_API_TABLE: list[tuple[str, dict[str, Handler]]] = [
    ("/api/executions", {"GET": list_executions, "POST": create_execution}),
    ("/api/executions/{id}", {"GET": get_execution, "PUT": update_execution}),
    ("/api/executions/{id}/cancel", {"PUT": cancel_execution}),
    ("/api/executions/{id}/status-messages", {"GET": list_status_messages, "POST": add_status_message}),
    ("/api/executions/{id}/logs", {"GET": list_logs}),
    ("/api/assistants", {"GET": _LIST_ASSISTANTS}),
    ("/api/assistants/{id}", {"GET": _GET_ASSISTANT}),
    ("/api/document-families", {"GET": _LIST_FAMILIES}),
    ("/api/document-families/{id}", {"GET": _GET_FAMILY}),
    ("/api/document-families/{id}/reprocess", {"POST": reprocess_family}),
    ("/api/organizations", {"GET": list_organizations}),
    ("/api/organizations/{id}", {"GET": get_organization}),
    ("/api/projects", {"GET": _LIST_PROJECTS}),
    ("/api/projects/{id}", {"GET": _GET_PROJECT}),
    ("/api/document-stores", {"GET": _LIST_STORES}),
    ("/api/document-stores/{id}", {"GET": _GET_STORE}),
    ("/api/account/me", {"GET": account_me}),
]
_CONTROL_TABLE: list[tuple[str, dict[str, Handler]]] = [
    ("/_sim/reset", {"POST": sim_reset}),
    ("/_sim/faults", {"GET": sim_list_faults, "POST": sim_add_faults, "DELETE": sim_clear_faults}),
    ("/_sim/faults/{id}", {"DELETE": sim_delete_fault}),
    ("/_sim/calls", {"GET": sim_calls, "DELETE": sim_clear_calls}),
    ("/_sim/executions", {"POST": sim_add_execution}),
    ("/_sim/advance", {"POST": sim_advance}),
    ("/_sim/config", {"GET": sim_config, "PUT": sim_configure, "PATCH": sim_configure}),
]


def _build(table: list[tuple[str, dict[str, Handler]]]) -> list[Route]:
    return [Route(template, methods, _compile(template)) for template, methods in table]


API_ROUTES = _build(_API_TABLE)
CONTROL_ROUTES = _build(_CONTROL_TABLE)
_ID_LIKE = re.compile(r"^(?:[0-9a-fA-F-]{8,}|\d+)$")


def resolve(path: str) -> tuple[Route | None, dict[str, str]]:
    """The route for a path (any method) and its decoded path parameters."""
    routes = CONTROL_ROUTES if path.startswith("/_sim") else API_ROUTES
    for route in routes:
        match = route.pattern.fullmatch(path)
        if match:
            return route, {name: unquote(value) for name, value in match.groupdict().items()}
    return None, {}


def call_key(method: str, path: str, route: Route | None) -> str:
    """Calls are counted by route template; unknown paths get id-like segments folded into {id}."""
    if route is not None:
        return f"{method} {route.template}"
    segments = ["{id}" if _ID_LIKE.match(segment) else segment for segment in path.split("/")]
    return f"{method} {'/'.join(segments)}"
