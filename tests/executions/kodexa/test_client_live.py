"""The client against the live stand-in on loopback: real sockets, every fault mode of the control plane."""

from __future__ import annotations

import pytest

import kodexa_sim
from executions.kodexa import (
    AnyOf,
    ExecutionField,
    ExecutionStatus,
    FilterDialect,
    KodexaAuthError,
    KodexaBadResponse,
    KodexaClient,
    KodexaConflict,
    KodexaConnectionError,
    KodexaNotFound,
    KodexaRateLimited,
    KodexaRedirect,
    KodexaServerError,
    KodexaTimeout,
    TenantForms,
)

MISSING = "0f6c1e9a-3a7d-4c1e-9f0e-2b8f6d7a1c99"


@pytest.fixture
def client(sim):  # type: ignore[no-untyped-def]
    client = KodexaClient(sim.url, sim.api_key, connect_timeout=0.5, read_timeout=1.0, total_timeout=3.0,
                          backoff_factor=0.05)
    yield client
    client.close()


@pytest.mark.parametrize("dialect", list(FilterDialect))
def test_both_dialects_filter_the_same_way(sim, dialect):
    client = KodexaClient(sim.url, sim.api_key, forms=TenantForms(filter_dialect=dialect))
    page = client.list_executions(page_size=200, filters=[AnyOf(ExecutionField.STATUS, ["FAILED", "SKIPPED"])])
    assert page.items and {e.status for e in page.items} <= {ExecutionStatus.FAILED, ExecutionStatus.SKIPPED}


def test_paging_and_typed_results(client):
    first, second = client.list_executions(page=1, page_size=5), client.list_executions(page=2, page_size=5)
    assert first.number == 1 and first.has_next and not first.has_previous
    assert {e.id for e in first.items}.isdisjoint(e.id for e in second.items)
    execution = client.get_execution(first.items[0].id)
    assert execution.id == first.items[0].id and execution.created_on is not None


def test_cancel_then_cancel_again(sim, client):
    execution = sim.control.add_execution(status="RUNNING", _sim={"lifecycle": False})
    response = client.cancel_execution(execution["id"])
    assert response.status == 200 and response.execution.status is ExecutionStatus.CANCELLING
    assert client.cancel_execution(execution["id"]).execution.status is ExecutionStatus.CANCELLING


def test_cancel_of_a_finished_execution_in_both_modes(sim, client):
    finished = client.list_executions(page_size=1, filters=[AnyOf(ExecutionField.STATUS, ["SUCCEEDED"])]).items[0]
    with pytest.raises(KodexaConflict):
        client.cancel_execution(finished.id)
    sim.control.configure(terminal_cancel="idempotent")
    assert client.cancel_execution(finished.id).execution.status is ExecutionStatus.SUCCEEDED


def test_wrong_key_and_unknown_id(sim, client):
    with pytest.raises(KodexaAuthError):
        KodexaClient(sim.url, "wrong-key").get_account()
    with pytest.raises(KodexaNotFound):
        client.get_execution(MISSING)


def test_known_key_without_access_is_forbidden():
    # A stand-in of its own: the session one has no restricted key.
    with kodexa_sim.start(api_key="panel-key", restricted_keys=["no-access-key"], executions=10) as server:
        client = KodexaClient(server.url, "no-access-key", connect_timeout=0.5, read_timeout=1.0, total_timeout=3.0)
        try:
            for call in (client.get_account, lambda: client.list_executions(page_size=1)):
                with pytest.raises(KodexaAuthError) as info:
                    call()
                assert info.value.status == 403 and info.value.is_forbidden
                assert "no-access-key" not in str(info.value) and "no-access-key" not in repr(info.value)
        finally:
            client.close()


@pytest.mark.parametrize(
    ("fault", "error", "maybe_sent"),
    [
        ({"status": 500}, KodexaServerError, None),
        ({"status": 429, "headers": {"Retry-After": "0"}}, KodexaRateLimited, None),
        ({"mode": "timeout", "delay_ms": 2500}, KodexaTimeout, None),
        ({"mode": "reset"}, KodexaConnectionError, True),
        ({"mode": "malformed"}, KodexaBadResponse, None),
        ({"mode": "html", "status": 200}, KodexaBadResponse, None),
        ({"mode": "redirect"}, KodexaRedirect, None),
        ({"mode": "oversized", "size_bytes": 6_000_000}, KodexaBadResponse, None),
        ({"mode": "trickle", "delay_ms": 6000}, KodexaTimeout, None),
    ],
)
def test_every_fault_mode_maps_to_its_error_and_a_put_is_sent_once(sim, client, fault, error, maybe_sent):
    execution = sim.control.add_execution(status="RUNNING", _sim={"lifecycle": False})
    sim.control.add_fault("PUT /api/executions/*/cancel", times=-1, **fault)
    with pytest.raises(error) as info:
        client.cancel_execution(execution["id"])
    if maybe_sent is not None:
        assert info.value.maybe_sent is maybe_sent
    assert sim.api_key not in str(info.value) and sim.api_key not in repr(info.value)
    assert sim.control.calls()["by_route"]["PUT /api/executions/{id}/cancel"] == 1


def test_get_is_retried_through_transient_failures(sim, client):
    sim.control.add_fault("GET /api/executions/*", status=503, times=2)
    execution = sim.control.add_execution(status="RUNNING")
    assert client.get_execution(execution["id"]).id == execution["id"]
    assert sim.control.calls()["by_route"]["GET /api/executions/{id}"] == 3


def test_status_messages_and_names(sim, client):
    execution = client.list_executions(page_size=1, filters=[AnyOf(ExecutionField.STATUS, ["RUNNING"])]).items[0]
    messages = client.list_status_messages(execution.id)
    assert all(m.execution_id in (None, execution.id) for m in messages)
    assert client.get_assistant(execution.assistant_id).name
    assert client.list_assistants().items
