"""Pytest fixtures for a live kodexa_sim on loopback (imported by tests/conftest.py)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

import kodexa_sim
from kodexa_sim.control import SimControl

SIM_SEED = 1234
SIM_CANCEL_DELAY_MS = 300


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
    )
    yield server
    server.stop()


@pytest.fixture
def sim(sim_server: kodexa_sim.SimServer) -> Iterator[SimHandle]:
    """The session simulator, reset to its seeded state (no faults, zero calls) before the test."""
    control = SimControl(sim_server.url, sim_server.api_key)
    control.reset()
    yield SimHandle(url=sim_server.url, api_key=sim_server.api_key, control=control, server=sim_server)
