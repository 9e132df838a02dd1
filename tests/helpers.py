"""Small helpers for tests that talk to the stand-in directly (never through the code under test)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests


def sim_get(sim, path: str, **params: Any) -> Any:  # type: ignore[no-untyped-def]
    response = requests.get(f"{sim.url}{path}", params=params, headers={"x-api-key": sim.api_key}, timeout=10)
    response.raise_for_status()
    return response.json()


def sim_cannot_filter_on(sim, field: str) -> bool:  # type: ignore[no-untyped-def]
    """The stand-in is a strict tenant that answers a filter on `field` as a field that is not a column."""
    return field in (sim.control.config().get("unfilterable") or [])


def sim_executions(sim, filter: str | None = None, page_size: int = 1000) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The stand-in's executions (newest first), filtered here with its own parser: a strict stand-in may refuse
    the filter's dialect, and the test's truth must not depend on which one it reads."""
    from kodexa_sim.filters import compile_filters
    from kodexa_sim.world import EXECUTION_SCHEMA

    executions = sim_get(sim, "/api/executions", pageSize=page_size)["content"]
    if not filter:
        return executions
    predicate = compile_filters([filter], EXECUTION_SCHEMA)
    return [e for e in executions if predicate is None or predicate(e)]


def sim_execution(sim, filter: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    found = sim_executions(sim, filter)
    assert found, f"the stand-in's seed has no execution matching {filter}"
    return found[0]


def upstream_calls(sim) -> int:  # type: ignore[no-untyped-def]
    return sim.control.calls()["total"]


def reset_calls(sim) -> None:  # type: ignore[no-untyped-def]
    import urllib.request

    request = urllib.request.Request(f"{sim.url}/_sim/calls", method="DELETE", headers={"x-api-key": sim.api_key})
    urllib.request.urlopen(request, timeout=10).close()


def _configured_console() -> logging.Handler:
    """The handler settings.LOGGING installs on the root logger (pytest adds its own capture handlers too)."""
    consoles = [h for h in logging.getLogger().handlers if h.name == "console"]
    assert len(consoles) == 1, logging.getLogger().handlers
    return consoles[0]


class JsonLines:
    def __init__(self, stream: io.StringIO) -> None:
        self._stream = stream

    @property
    def text(self) -> str:
        return self._stream.getvalue()

    def records(self) -> list[dict[str, Any]]:
        """Every line parsed as JSON: a line that is not one whole object fails the test here."""
        return [json.loads(line) for line in self.text.splitlines()]


@contextmanager
def json_log(level: int = logging.INFO) -> Iterator[JsonLines]:
    """What the console handler would print, written to a buffer by a twin with its formatter and filters."""
    console = _configured_console()
    stream = io.StringIO()
    twin = logging.StreamHandler(stream)
    twin.setFormatter(console.formatter)
    for log_filter in console.filters:
        twin.addFilter(log_filter)
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(twin)
    root.setLevel(level)
    try:
        yield JsonLines(stream)
    finally:
        root.removeHandler(twin)
        root.setLevel(previous_level)
