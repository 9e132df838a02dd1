"""The JSON forms of saved views and dashboards (docs/dashboards.md), and their validation.

A view is validated by ExecutionQuery.from_params(), the rules of the /executions/ page, so they live in one
place; this module adds the JSON shape checks and reports every problem with its path in the document
(e.g. ``widgets[2].view.status[0]: unknown status "EXPLODED"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from executions.browse.query import FILTERABLE_STATUSES, ExecutionQuery
from executions.dashboards.models import (
    DEFAULT_REFRESH_SECONDS,
    DEFAULT_WIDGET_LIMIT,
    NAME_MAX_LENGTH,
    REFRESH_MAX_SECONDS,
    REFRESH_MIN_SECONDS,
    WIDGET_LIMIT_MAX,
    WIDGETS_PER_DASHBOARD_MAX,
    WidgetKind,
)
from executions.preferences.clock import ClockChoice, using

# Value types of the view's keys; the form checks the values themselves.
_VIEW_TYPES: dict[str, type | tuple[type, ...]] = {
    "status": list, "assistant": str, "q": str, "created_after": str, "created_before": str,
    "created_within_hours": int, "stalled": int, "sort": str, "page_size": int,
}
_STATUS_VALUES = {s.value for s in FILTERABLE_STATUSES}
_KINDS = {k.value for k in WidgetKind}
_TOP_KEYS = ("name", "team", "refresh_seconds", "widgets")
_WIDGET_KEYS = ("title", "kind", "limit", "trend", "view")


class ViewInvalid(ValueError):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class WidgetSpec:
    title: str
    kind: str
    limit: int
    view: dict[str, object]  # normalized: ExecutionQuery.to_view()
    trend: bool = False  # count widgets: a trend line over the query's window


@dataclass(frozen=True, slots=True)
class DashboardSpec:
    name: str
    team: str
    refresh_seconds: int
    widgets: tuple[WidgetSpec, ...]


def _type_name(expected: type | tuple[type, ...]) -> str:
    return {list: "a list", str: "a string", int: "an integer", dict: "an object"}.get(expected, str(expected))


def _is(value: object, expected: type) -> bool:
    # JSON true/false are ints to Python; they are never a valid number here.
    return isinstance(value, expected) and not (expected is int and isinstance(value, bool))


def view_check(view: object, *, path: str = "view") -> tuple[ExecutionQuery | None, list[str]]:
    """The query a view describes, or None and every error found, each prefixed by its path."""
    if not isinstance(view, Mapping):
        return None, [f"{path}: must be an object"]
    errors: list[str] = []
    params: dict[str, list[str]] = {}
    for key, value in view.items():
        expected = _VIEW_TYPES.get(key)
        if expected is None:
            errors.append(f"{path}.{key}: unknown field (expected one of {', '.join(_VIEW_TYPES)})")
            continue
        if not _is(value, expected):
            errors.append(f"{path}.{key}: must be {_type_name(expected)}")
            continue
        if key == "status":
            for index, status in enumerate(value):
                if not isinstance(status, str):
                    errors.append(f"{path}.status[{index}]: must be a string")
                elif status not in _STATUS_VALUES:
                    errors.append(f'{path}.status[{index}]: unknown status "{status}"')
                else:
                    params.setdefault("status", []).append(status)
        else:
            params[key] = [str(value)]
    with using(ClockChoice()):  # a stored view or a dashboard file means the same for everyone: no offset is UTC
        query, invalid = ExecutionQuery.from_params(params)
    errors.extend(f"{path}.{field}: {message}" for field, messages in invalid.items() for message in messages)
    if errors:
        return None, errors
    return query, []


def view_to_query(view: object) -> ExecutionQuery:
    """The query of a stored view; raises ViewInvalid (a stored view may predate a rule change)."""
    query, errors = view_check(view)
    if query is None:
        raise ViewInvalid(errors)
    return query


def dashboard_spec_check(data: object) -> tuple[DashboardSpec | None, list[str]]:
    """A dashboard file's content as a spec, or None and every error with its JSON path.

    Only the shape is checked here; whether the team exists is the importer's business (database)."""
    if not isinstance(data, Mapping):
        return None, ["$: must be an object with name, team, refresh_seconds and widgets"]
    errors = [f"{key}: unknown field (expected one of {', '.join(_TOP_KEYS)})" for key in data
              if key not in _TOP_KEYS]
    name = _text(data, "name", "name", errors)
    team = _text(data, "team", "team", errors)
    refresh = data.get("refresh_seconds", DEFAULT_REFRESH_SECONDS)
    if not _is(refresh, int) or not REFRESH_MIN_SECONDS <= refresh <= REFRESH_MAX_SECONDS:
        errors.append(f"refresh_seconds: must be an integer from {REFRESH_MIN_SECONDS} to {REFRESH_MAX_SECONDS}")
    widgets_raw = data.get("widgets", [])
    widgets: list[WidgetSpec] = []
    if not isinstance(widgets_raw, list):
        errors.append("widgets: must be a list")
        widgets_raw = []
    elif len(widgets_raw) > WIDGETS_PER_DASHBOARD_MAX:
        # Said once, before checking any widget: a huge file costs nothing more than its parse.
        errors.append(f"widgets: at most {WIDGETS_PER_DASHBOARD_MAX} widgets per dashboard "
                      f"(this file has {len(widgets_raw)})")
        widgets_raw = []
    for index, raw in enumerate(widgets_raw):
        widget = _widget_check(raw, path=f"widgets[{index}]", errors=errors)
        if widget is not None:
            widgets.append(widget)
    if errors:
        return None, errors
    return DashboardSpec(name=name, team=team, refresh_seconds=refresh, widgets=tuple(widgets)), []


def _text(data: Mapping, key: str, path: str, errors: list[str]) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        errors.append(f"{path}: required, a non-empty string")
        return ""
    if len(value.strip()) > NAME_MAX_LENGTH:
        errors.append(f"{path}: at most {NAME_MAX_LENGTH} characters")
    return value.strip()


def _widget_check(raw: object, *, path: str, errors: list[str]) -> WidgetSpec | None:
    if not isinstance(raw, Mapping):
        errors.append(f"{path}: must be an object with title, kind and view")
        return None
    before = len(errors)
    errors.extend(f"{path}.{key}: unknown field (expected one of {', '.join(_WIDGET_KEYS)})" for key in raw
                  if key not in _WIDGET_KEYS)
    title = _text(raw, "title", f"{path}.title", errors)
    kind = raw.get("kind")
    if kind not in _KINDS:
        errors.append(f"{path}.kind: must be one of {', '.join(sorted(_KINDS))}")
    limit = raw.get("limit", DEFAULT_WIDGET_LIMIT)
    if not _is(limit, int) or not 1 <= limit <= WIDGET_LIMIT_MAX:
        errors.append(f"{path}.limit: must be an integer from 1 to {WIDGET_LIMIT_MAX}")
    trend = raw.get("trend", False)
    if not isinstance(trend, bool):
        errors.append(f"{path}.trend: must be true or false")
    elif trend and kind in _KINDS and kind != WidgetKind.COUNT:
        errors.append(f"{path}.trend: only a count widget has a trend line")
    if "view" not in raw:
        errors.append(f"{path}.view: required")
        return None
    query, view_errors = view_check(raw["view"], path=f"{path}.view")
    errors.extend(view_errors)
    if query is None or len(errors) > before:
        return None
    return WidgetSpec(title=title, kind=str(kind), limit=int(limit), view=query.to_view(), trend=bool(trend))


def dashboard_spec_dump(*, name: str, team: str, refresh_seconds: int,
                        widgets: list[tuple[str, str, int, dict[str, object]]],
                        trends: frozenset[int] = frozenset()) -> dict[str, object]:
    """The JSON form; `limit` only for tables and `trend` only when set, where they mean something (so a round
    trip is exact). `trends`: the indexes of the widgets with a trend line."""
    items: list[dict[str, object]] = []
    for index, (title, kind, limit, view) in enumerate(widgets):
        item: dict[str, object] = {"title": title, "kind": kind}
        if kind == WidgetKind.TABLE:
            item["limit"] = limit
        if index in trends:
            item["trend"] = True
        item["view"] = view
        items.append(item)
    return {"name": name, "team": team, "refresh_seconds": refresh_seconds, "widgets": items}
