"""Pytest fixtures for a live kodexa_sim on loopback (imported by tests/conftest.py)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

import kodexa_sim
from kodexa_sim.control import SimControl

SIM_SEED = 1234
SIM_CANCEL_DELAY_MS = 300

# Where Kodexa's public sources disagree, a strict tenant accepts one form of each (docs/kodexa-sim.md, "Strict
# modes"). KODEXA_SIM_TENANT=<name> starts the session's stand-in as that tenant; `.ci/run` runs the browse, cancel
# and dashboard tests against each of them, with the panel's settings on auto. Unset: the stand-in forgives all.
SIM_TENANTS: dict[str, dict[str, object]] = {
    # The documented forms, and nothing else accepted.
    "spring-comma-base1": {"filter_dialect": "spring", "sort_separator": ",", "page_base": 1, "query_search": "on"},
    # Every other form: eq filters, colon sorts, pages from 0, no text search, legacy error bodies.
    "eq-colon-base0-nosearch-legacy": {"filter_dialect": "eq", "sort_separator": ":", "page_base": 0,
                                       "query_search": "off", "error_style": "legacy"},
    # No text search (the panel falls back to a description filter) and no filter on the parent.
    "spring-nosearch-no-parent-filter": {"filter_dialect": "spring", "query_search": "off",
                                         "unfilterable": ["parentExecutionId"]},
}


def sim_tenant() -> dict[str, object]:
    name = os.environ.get("KODEXA_SIM_TENANT", "")
    if name and name not in SIM_TENANTS:
        raise pytest.UsageError(f"KODEXA_SIM_TENANT must be one of {', '.join(SIM_TENANTS)}")
    return dict(SIM_TENANTS[name]) if name else {}


@dataclass
class SimHandle:
    url: str
    api_key: str
    control: SimControl
    server: kodexa_sim.SimServer


@pytest.fixture(scope="session")
def sim_server() -> Iterator[kodexa_sim.SimServer]:
    """One simulator for the whole session (seed 1234, cancel delay 300 ms, real-time clock)."""
    server = kodexa_sim.start(
        port=0,
        api_key="test-key-" + secrets.token_hex(8),
        seed=SIM_SEED,
        cancel_delay_ms=SIM_CANCEL_DELAY_MS,
        terminal_cancel="conflict",
        **sim_tenant(),  # type: ignore[arg-type]
    )
    yield server
    server.stop()


@pytest.fixture
def sim(sim_server: kodexa_sim.SimServer) -> Iterator[SimHandle]:
    """The session simulator, reset to its seeded state (no faults, zero calls) before the test."""
    control = SimControl(sim_server.url, sim_server.api_key)
    control.reset()
    yield SimHandle(url=sim_server.url, api_key=sim_server.api_key, control=control, server=sim_server)
