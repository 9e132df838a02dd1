"""Small helpers for tests that talk to the stand-in directly (never through the code under test)."""

from __future__ import annotations

from typing import Any

import requests


def sim_get(sim, path: str, **params: Any) -> Any:  # type: ignore[no-untyped-def]
    response = requests.get(f"{sim.url}{path}", params=params, headers={"x-api-key": sim.api_key}, timeout=10)
    response.raise_for_status()
    return response.json()


def sim_executions(sim, filter: str | None = None, page_size: int = 1000) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    params: dict[str, Any] = {"pageSize": page_size}
    if filter:
        params["filter"] = filter
    return sim_get(sim, "/api/executions", **params)["content"]


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
