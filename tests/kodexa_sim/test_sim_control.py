"""Simulator-only behaviour: faults, call counting, reset, determinism, concurrency, CLI, latency."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

import kodexa_sim
from kodexa_sim.control import SimControl, SimControlError

ROOT = Path(__file__).resolve().parents[2]


def get(sim, path: str, **kwargs) -> requests.Response:  # type: ignore[no-untyped-def]
    kwargs.setdefault("timeout", 10)
    return requests.get(sim.url + path, headers={"x-api-key": sim.api_key}, **kwargs)


def first_id(sim, status: str = "SUCCEEDED") -> str:  # type: ignore[no-untyped-def]
    page = get(sim, "/api/executions", params={"filter": f"status:'{status}'", "pageSize": 1}).json()
    return page["content"][0]["id"]


# ---------------------------------------------------------------- faults

def test_status_fault_fires_once_with_headers(sim) -> None:  # type: ignore[no-untyped-def]
    fault = sim.control.add_fault("GET /api/executions", status=503, headers={"Retry-After": "1"})
    assert fault["id"] >= 1 and fault["times"] == 1
    response = get(sim, "/api/executions")
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json()["status"] == 503
    assert get(sim, "/api/executions").status_code == 200
    assert sim.control.faults() == []


def test_fault_glob_matches_one_segment_and_counts_times(sim) -> None:  # type: ignore[no-untyped-def]
    sim.control.add_fault("PUT /api/executions/*/cancel", status=502, times=2)
    execution_id = first_id(sim, "RUNNING")
    assert get(sim, f"/api/executions/{execution_id}").status_code == 200
    cancel = f"{sim.url}/api/executions/{execution_id}/cancel"
    codes = [requests.put(cancel, headers={"x-api-key": sim.api_key}, timeout=5).status_code for _ in range(3)]
    assert codes == [502, 502, 200]


def test_forever_fault_and_double_star(sim) -> None:  # type: ignore[no-untyped-def]
    sim.control.add_fault("* /api/**", status=500, times=-1, body={"detail": "custom"})
    for _ in range(3):
        response = get(sim, "/api/assistants")
        assert response.status_code == 500 and response.json() == {"detail": "custom"}
    assert len(sim.control.faults()) == 1 and sim.control.faults()[0]["times"] is None
    sim.control.clear_faults()
    assert get(sim, "/api/assistants").status_code == 200


def test_faults_fire_in_registration_order(sim) -> None:  # type: ignore[no-untyped-def]
    sim.control.add_fault("GET /api/account/me", status=502)
    second = sim.control.add_fault("GET /api/account/me", status=504)
    assert [f["status"] for f in sim.control.faults()] == [502, 504]
    assert [get(sim, "/api/account/me").status_code for _ in range(3)] == [502, 504, 200]
    assert second["id"] > 0


def test_timeout_fault_holds_the_answer(sim) -> None:  # type: ignore[no-untyped-def]
    sim.control.add_fault("GET /api/account/me", mode="timeout", delay_ms=1500)
    with pytest.raises(requests.exceptions.ReadTimeout):
        get(sim, "/api/account/me", timeout=0.4)
    sim.control.add_fault("GET /api/account/me", mode="timeout", delay_ms=200)
    started = time.monotonic()
    assert get(sim, "/api/account/me").status_code == 200
    assert time.monotonic() - started >= 0.2


def test_delay_applies_before_status(sim) -> None:  # type: ignore[no-untyped-def]
    sim.control.add_fault("GET /api/account/me", status=503, delay_ms=250)
    started = time.monotonic()
    assert get(sim, "/api/account/me").status_code == 503
    assert time.monotonic() - started >= 0.25


def test_reset_fault_resets_the_connection(sim) -> None:  # type: ignore[no-untyped-def]
    sim.control.add_fault("GET /api/executions", mode="reset")
    with pytest.raises(requests.exceptions.ConnectionError):
        get(sim, "/api/executions")
    assert get(sim, "/api/executions").status_code == 200


def test_malformed_fault_is_invalid_json(sim) -> None:  # type: ignore[no-untyped-def]
    sim.control.add_fault("GET /api/executions", mode="malformed")
    response = get(sim, "/api/executions")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError):
        json.loads(response.content)


def test_html_fault(sim) -> None:  # type: ignore[no-untyped-def]
    sim.control.add_fault("GET /api/executions", mode="html")
    response = get(sim, "/api/executions")
    assert response.status_code == 502 and response.headers["Content-Type"].startswith("text/html")
    assert "<html>" in response.text


def test_redirect_fault(sim) -> None:  # type: ignore[no-untyped-def]
    sim.control.add_fault("GET /api/executions", mode="redirect")
    response = get(sim, "/api/executions", params={"page": 2}, allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"] == f"http://127.0.0.2:{sim.server.port}/api/executions?page=2"
    sim.control.add_fault("GET /api/executions", mode="redirect", location="https://evil.example/x")
    assert get(sim, "/api/executions", allow_redirects=False).headers["Location"] == "https://evil.example/x"


def test_oversized_fault(sim) -> None:  # type: ignore[no-untyped-def]
    sim.control.add_fault("GET /api/executions", mode="oversized")
    with get(sim, "/api/executions", stream=True) as response:
        assert response.status_code == 200
        assert int(response.headers["Content-Length"]) >= 20 * 1024 * 1024
    sim.control.add_fault("GET /api/executions", mode="oversized", size_bytes=3_000_000)
    body = get(sim, "/api/executions").json()
    assert len(body["padding"]) > 2_900_000


def test_trickle_fault_sends_a_valid_body_slowly(sim) -> None:  # type: ignore[no-untyped-def]
    sim.control.add_fault("GET /api/account/me", mode="trickle", delay_ms=600)
    started = time.monotonic()
    response = get(sim, "/api/account/me")
    assert time.monotonic() - started >= 0.5
    assert response.status_code == 200 and response.json()["id"]


def test_invalid_fault_is_400(sim) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SimControlError) as error:
        sim.control.add_fault("GET /api/x", mode="explode")
    assert error.value.status == 400


@pytest.mark.parametrize("times", [0, -2])
def test_times_must_be_positive_or_forever(sim, times: int) -> None:  # type: ignore[no-untyped-def]
    # 0 used to register a fault that then fired once; a fault that never fires is a mistake, so it is a 400.
    with pytest.raises(SimControlError) as error:
        sim.control.add_fault("GET /api/account/me", status=503, times=times)
    assert error.value.status == 400 and "'times'" in error.value.body
    assert sim.control.faults() == []
    assert get(sim, "/api/account/me").status_code == 200


# ---------------------------------------------------------------- calls, reset, control plane

def test_calls_are_counted_by_route_template(sim) -> None:  # type: ignore[no-untyped-def]
    execution_id = first_id(sim)
    get(sim, f"/api/executions/{execution_id}")
    get(sim, f"/api/executions/{execution_id}/status-messages")
    requests.get(sim.url + "/api/executions", timeout=5)  # 401, still counted
    sim.control.add_fault("GET /api/account/me", status=503)
    get(sim, "/api/account/me")  # faulted, still counted
    get(sim, "/api/nope/12345678")
    calls = sim.control.calls()
    assert calls["by_route"] == {
        "GET /api/executions": 2,
        "GET /api/executions/{id}": 1,
        "GET /api/executions/{id}/status-messages": 1,
        "GET /api/account/me": 1,
        "GET /api/nope/{id}": 1,
    }
    assert calls["total"] == 6  # control-plane calls are never counted
    sim.control.clear_calls()
    assert sim.control.calls() == {"total": 0, "by_route": {}}


def test_reset_restores_seeded_state(sim) -> None:  # type: ignore[no-untyped-def]
    execution_id = first_id(sim, "RUNNING")
    before = get(sim, f"/api/executions/{execution_id}").json()
    requests.put(f"{sim.url}/api/executions/{execution_id}/cancel", headers={"x-api-key": sim.api_key}, timeout=5)
    added = sim.control.add_execution(description="temporary")
    sim.control.add_fault("GET /api/assistants", status=500)
    sim.control.configure(terminal_cancel="idempotent")
    sim.control.reset()
    after = get(sim, f"/api/executions/{execution_id}").json()
    assert after["status"] == "RUNNING" and after["id"] == before["id"]
    assert get(sim, f"/api/executions/{added['id']}").status_code == 404
    assert sim.control.faults() == [] and sim.control.calls()["total"] == 2
    assert sim.control.config()["terminal_cancel"] == "conflict"


def test_restricted_key_is_403_on_the_api_only() -> None:
    with kodexa_sim.start(api_key="k", restricted_keys=["no-access"], executions=10) as server:
        for headers in ({"x-api-key": "no-access"}, {"Authorization": "Bearer no-access"}):
            for path in ("/api/executions", "/api/account/me", "/api/no-such-route"):
                response = requests.get(server.url + path, headers=headers, timeout=5)
                assert response.status_code == 403, (headers, path)
                assert response.headers["Content-Type"].startswith("application/problem+json")
                assert response.json()["title"] == "Forbidden" and response.json()["instance"] == path
        me = server.url + "/api/account/me"
        assert requests.get(me, headers={"x-api-key": "k"}, timeout=5).ok
        assert requests.get(me, headers={"x-api-key": "other"}, timeout=5).status_code == 401
        with pytest.raises(SimControlError) as error:  # the control plane takes only the accepted key
            SimControl(server.url, "no-access").calls()
        assert error.value.status == 401
        assert "restricted_keys" not in SimControl(server.url, "k").config()


def test_a_key_cannot_be_accepted_and_restricted() -> None:
    with pytest.raises(ValueError, match="both accepted and restricted"):
        kodexa_sim.start(api_key="k", restricted_keys=["k"], executions=10)


def test_control_plane_needs_the_key(sim) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SimControlError) as error:
        SimControl(sim.url, "wrong").calls()
    assert error.value.status == 401


def test_wrong_method_is_405(sim) -> None:  # type: ignore[no-untyped-def]
    response = requests.delete(f"{sim.url}/api/executions", headers={"x-api-key": sim.api_key}, timeout=5)
    assert response.status_code == 405 and "GET" in response.headers["Allow"]
    assert response.json()["status"] == 405


def test_add_execution_frozen_and_defaults(sim) -> None:  # type: ignore[no-untyped-def]
    added = sim.control.add_execution(status="RUNNING", description="held", _sim={"lifecycle": False})
    assert re.fullmatch(r"[0-9a-f]{32}", added["uuid"]) and added["pipeline"]["steps"]
    sim.control.advance(3600)
    again = get(sim, f"/api/executions/{added['id']}").json()
    assert again["status"] == "RUNNING" and again["changeSequence"] == added["changeSequence"]


def test_create_and_update_with_optimistic_locking(sim) -> None:  # type: ignore[no-untyped-def]
    headers = {"x-api-key": sim.api_key}
    created = requests.post(f"{sim.url}/api/executions", json={"description": "via api", "priority": 3},
                            headers=headers, timeout=5)
    assert created.status_code == 201
    body = created.json()
    assert body["status"] == "PENDING" and body["priority"] == 3
    url = f"{sim.url}/api/executions/{body['id']}"
    current = requests.get(url, headers=headers, timeout=5).json()
    ok = requests.put(url, json={**current, "description": "edited"}, headers=headers, timeout=5)
    assert ok.status_code == 200 and ok.json()["changeSequence"] == current["changeSequence"] + 1
    stale = requests.put(url, json={**current, "description": "stale"}, headers=headers, timeout=5)
    assert stale.status_code == 409
    assert requests.put(url, data=b"{not json", headers=headers, timeout=5).status_code == 400


def test_latency_setting_delays_api_but_not_control(sim) -> None:  # type: ignore[no-untyped-def]
    sim.control.configure(latency_ms=300)
    started = time.monotonic()
    assert get(sim, "/api/account/me").status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    sim.control.calls()
    assert time.monotonic() - started < 0.25


def test_latency_flag_on_start() -> None:
    with kodexa_sim.start(api_key="k", executions=10, latency_ms=200) as server:
        started = time.monotonic()
        assert requests.get(server.url + "/api/account/me", headers={"x-api-key": "k"}, timeout=5).ok
        assert time.monotonic() - started >= 0.2


# ---------------------------------------------------------------- determinism and concurrency

def test_same_seed_gives_same_data() -> None:
    epoch = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    bodies = []
    for seed in (99, 99, 100):
        with kodexa_sim.start(api_key="k", seed=seed, executions=80, speed=0, epoch=epoch) as server:
            response = requests.get(server.url + "/api/executions", params={"pageSize": 1000},
                                    headers={"x-api-key": "k"}, timeout=10)
            bodies.append(response.json())
    assert bodies[0] == bodies[1]
    assert bodies[0]["totalElements"] == 80
    assert [e["id"] for e in bodies[0]["content"]] != [e["id"] for e in bodies[2]["content"]]


def test_same_seed_same_relative_times_without_epoch() -> None:
    def snapshot(server):  # type: ignore[no-untyped-def]
        start = datetime.fromisoformat(SimControl(server.url, "k").config()["now"].replace("Z", "+00:00"))
        page = requests.get(server.url + "/api/executions", params={"pageSize": 1000, "sort": "id,asc"},
                            headers={"x-api-key": "k"}, timeout=10).json()
        return [(e["id"], e["status"], e["description"],
                 (datetime.fromisoformat(e["createdOn"].replace("Z", "+00:00")) - start).total_seconds())
                for e in page["content"]]

    with kodexa_sim.start(api_key="k", seed=5, executions=50, speed=0) as one:
        first = snapshot(one)
    time.sleep(1.1)
    with kodexa_sim.start(api_key="k", seed=5, executions=50, speed=0) as two:
        second = snapshot(two)
    assert first == second


def test_200_concurrent_connections_are_served_in_parallel(sim) -> None:  # type: ignore[no-untyped-def]
    # Each answer waits `latency`: a server taking one connection at a time needs 200 x latency (80 s) for the
    # batch, so finishing in under 10 x latency (and without per-request timeouts) shows they overlap.
    latency = 0.4
    sim.control.configure(latency_ms=int(latency * 1000))
    clients = 200
    started: list[float] = []
    barrier = threading.Barrier(clients, action=lambda: started.append(time.monotonic()))
    results: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        try:
            status = get(sim, "/api/account/me", timeout=10 * latency).status_code
        except requests.RequestException:
            status = -1
        with lock:
            results.append(status)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    elapsed = time.monotonic() - started[0]
    assert results == [200] * clients
    assert latency <= elapsed < 10 * latency


# ---------------------------------------------------------------- CLI

@contextlib.contextmanager
def cli_sim(*flags: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """``python -m kodexa_sim --port 0 FLAGS`` as a real process; yields its URL, then expects a clean SIGTERM exit."""
    process = subprocess.Popen([sys.executable, "-m", "kodexa_sim", "--port", "0", *flags],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, **(env or {})})
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        match = re.fullmatch(r"listening on (http://127\.0\.0\.1:(\d+))", line)
        assert match, line
        assert int(match.group(2)) > 0
        yield match.group(1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_cli_prints_listening_line_and_stops_on_sigterm() -> None:
    with cli_sim("--host", "127.0.0.1", "--api-key", "cli-key", "--seed", "3", "--executions", "20") as url:
        response = requests.get(url + "/api/executions", headers={"x-api-key": "cli-key"}, timeout=5)
        assert response.json()["totalElements"] == 20


def test_cli_takes_the_key_from_its_environment_so_ps_never_shows_it() -> None:
    with cli_sim("--executions", "5", env={"KODEXA_SIM_API_KEY": "env-only-key"}) as url:
        answer = requests.get(url + "/api/account/me", headers={"x-api-key": "env-only-key"}, timeout=5)
        assert answer.status_code == 200
        default = requests.get(url + "/api/account/me", headers={"x-api-key": "sim-key"}, timeout=5)
        assert default.status_code == 401


def test_cli_flag_wins_over_the_environment() -> None:
    with cli_sim("--api-key", "flag-key", "--executions", "5", env={"KODEXA_SIM_API_KEY": "env-key"}) as url:
        assert requests.get(url + "/api/account/me", headers={"x-api-key": "flag-key"}, timeout=5).status_code == 200
        assert requests.get(url + "/api/account/me", headers={"x-api-key": "env-key"}, timeout=5).status_code == 401


def test_cli_cancel_and_restricted_key_flags() -> None:
    # Each flag is set away from its default, so a flag the CLI dropped shows up as the default behaviour.
    flags = ("--api-key", "cli-key", "--executions", "20", "--speed", "0", "--arrival-seconds", "0",
             "--terminal-cancel", "idempotent", "--cancel-delay-ms", "5000", "--restricted-key", "no-access")
    with cli_sim(*flags) as url:
        headers = {"x-api-key": "cli-key"}
        control = SimControl(url, "cli-key")

        def status(execution_id: str) -> str:
            return requests.get(f"{url}/api/executions/{execution_id}", headers=headers, timeout=5).json()["status"]

        # --terminal-cancel idempotent: cancelling a finished execution is 200 unchanged (the default is 409).
        done = requests.get(url + "/api/executions", params={"filter": "status:'SUCCEEDED'", "pageSize": 1},
                            headers=headers, timeout=5).json()["content"][0]
        response = requests.put(f"{url}/api/executions/{done['id']}/cancel", headers=headers, timeout=5)
        assert response.status_code == 200
        assert response.json()["changeSequence"] == done["changeSequence"] and status(done["id"]) == "SUCCEEDED"

        # --cancel-delay-ms 5000: CANCELLING lasts 5 simulated seconds (the default is 3); --speed 0 freezes
        # the clock, so only /_sim/advance moves it.
        running = control.add_execution(status="RUNNING", _sim={"lifecycle": False})
        cancel = requests.put(f"{url}/api/executions/{running['id']}/cancel", headers=headers, timeout=5)
        assert cancel.json()["status"] == "CANCELLING"
        control.advance(4.9)
        assert status(running["id"]) == "CANCELLING"
        control.advance(0.2)
        assert status(running["id"]) == "CANCELLED"

        # --restricted-key: known to the API but without access.
        forbidden = requests.get(url + "/api/account/me", headers={"x-api-key": "no-access"}, timeout=5)
        assert forbidden.status_code == 403 and forbidden.json()["status"] == 403
