"""Time passes in the simulator: runs progress and finish, new executions arrive, cancels complete.

These use their own simulator with a frozen clock (speed 0) so only /_sim/advance moves time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

import kodexa_sim
from kodexa_sim.control import SimControl

EPOCH = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


class Frozen:
    def __init__(self, server: kodexa_sim.SimServer) -> None:
        self.server = server
        self.control = SimControl(server.url, server.api_key)
        self.session = requests.Session()

    def get(self, path: str, **params: Any) -> Any:
        response = self.session.get(self.server.url + path, params=params,
                                    headers={"x-api-key": self.server.api_key}, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def put(self, path: str) -> requests.Response:
        return self.session.put(self.server.url + path, headers={"x-api-key": self.server.api_key}, timeout=10)

    def all(self) -> list[dict[str, Any]]:
        return self.get("/api/executions", pageSize=1000)["content"]


@pytest.fixture(scope="module")
def frozen_server() -> Iterator[kodexa_sim.SimServer]:
    server = kodexa_sim.start(api_key="life-key", seed=2024, speed=0, epoch=EPOCH, cancel_delay_ms=3000)
    yield server
    server.stop()


@pytest.fixture
def frozen(frozen_server: kodexa_sim.SimServer) -> Iterator[Frozen]:
    handle = Frozen(frozen_server)
    handle.control.reset()
    yield handle
    handle.session.close()


def by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in rows}


def test_seed_covers_every_status(frozen: Frozen) -> None:
    counts = Counter(row["status"] for row in frozen.all())
    assert set(counts) == {"PENDING", "REQUESTED", "RUNNING", "SUCCEEDED", "FAILED", "SKIPPED", "CANCELLING",
                           "CANCELLED", "PENDING_REPROCESSING", "REPROCESSED"}
    assert counts["RUNNING"] >= 10
    assert sum(counts.values()) == 300


def test_seed_edge_cases(frozen: Frozen) -> None:
    rows = frozen.all()
    failed = [row for row in rows if row["status"] == "FAILED"]
    assert all(row["exceptionDetails"] for row in failed)
    urls = {row["exceptionDetails"]["documentationUrl"] for row in failed}
    assert "javascript:alert(1)" in urls and any(str(url).startswith("https://") for url in urls)
    assert any(len(row["exceptionDetails"]["stackTrace"]) > 1 and row["exceptionDetails"]["advice"]
               and row["exceptionDetails"]["help"] for row in failed)
    assert all(any(step["status"] == "FAILED" and step["exceptionDetails"] for step in row["pipeline"]["steps"])
               for row in failed)
    descriptions = [row.get("description") or "" for row in rows]
    assert any("<script>alert(1)</script>" in text for text in descriptions)
    assert any(len(text) > 2000 for text in descriptions)
    assert any(text is None for text in (row.get("description") for row in rows))
    assert any("targets" not in row for row in rows) and any(row.get("pipeline") is None for row in rows)
    ids = {row["id"] for row in rows}
    children = [row for row in rows if row.get("parentExecutionId")]
    assert len(children) >= 3 and all(child["parentExecutionId"] in ids for child in children)
    step_counts = {len(row["pipeline"]["steps"]) for row in rows if row.get("pipeline")}
    assert min(step_counts) >= 2 and max(step_counts) <= 6


def test_some_lookups_point_to_nothing(frozen: Frozen) -> None:
    rows = frozen.all()
    headers = {"x-api-key": frozen.server.api_key}
    assistants = {a["id"] for a in frozen.get("/api/assistants", pageSize=100)["content"]}
    families = {f["id"] for f in frozen.get("/api/document-families", pageSize=1000)["content"]}
    orphan_assistant = next(row for row in rows if row["assistantId"] not in assistants)
    orphan_family = next(row for row in rows if row.get("documentFamilyId") and row["documentFamilyId"] not in families)
    base = frozen.server.url
    assert requests.get(f"{base}/api/assistants/{orphan_assistant['assistantId']}", headers=headers,
                        timeout=5).status_code == 404
    assert requests.get(f"{base}/api/document-families/{orphan_family['documentFamilyId']}", headers=headers,
                        timeout=5).status_code == 404
    assert len(assistants) == 8


def test_frozen_clock_means_frozen_data(frozen: Frozen) -> None:
    assert frozen.all() == frozen.all()


def test_running_executions_progress_and_new_ones_arrive(frozen: Frozen) -> None:
    before = by_id(frozen.all())
    frozen.control.advance(90)
    after = by_id(frozen.all())
    assert len(after) >= len(before) + 2  # arrivals every ~30 s
    arrived = [row for key, row in after.items() if key not in before]
    assert all(row["createdOn"] > max(r["createdOn"] for r in before.values()) for row in arrived)
    moved = [key for key, row in before.items()
             if row["status"] == "RUNNING" and after[key]["changeSequence"] > row["changeSequence"]]
    assert moved
    started = [key for key, row in before.items() if row["status"] in ("PENDING", "REQUESTED")]
    assert all(after[key]["status"] in ("RUNNING", "SUCCEEDED", "FAILED") for key in started)
    assert all(after[key]["startDate"] for key in started)


def test_runs_finish_but_slow_ones_stay_running(frozen: Frozen) -> None:
    running = [row["id"] for row in frozen.all() if row["status"] == "RUNNING"]
    frozen.control.advance(600)
    after = by_id(frozen.all())
    statuses = Counter(after[key]["status"] for key in running)
    assert statuses["RUNNING"] >= 2  # the slow batch runs
    assert statuses["SUCCEEDED"] + statuses["FAILED"] >= len(running) // 2
    finished = [after[key] for key in running if after[key]["status"] == "SUCCEEDED"]
    for row in finished:
        assert row["endDate"] and row["processingTime"] > 0
        assert {step["status"] for step in row["pipeline"]["steps"]} == {"SUCCEEDED"}
        assert row["statusDetails"]["progress"] == len(row["pipeline"]["steps"])
    frozen.control.advance(3600)
    assert not any(after_row["status"] == "RUNNING" for key, after_row in by_id(frozen.all()).items()
                   if key in running)


def test_running_steps_advance(frozen: Frozen) -> None:
    slow = next(row for row in frozen.all() if row["status"] == "RUNNING" and "(large batch)" in row["description"])
    frozen.control.advance(120)
    later = frozen.get(f"/api/executions/{slow['id']}")
    assert later["status"] == "RUNNING"
    done_before = sum(step["progress"] for step in slow["pipeline"]["steps"])
    assert sum(step["progress"] for step in later["pipeline"]["steps"]) > done_before
    assert any(step["status"] == "RUNNING" and step["start"] for step in later["pipeline"]["steps"])
    messages = frozen.get(f"/api/executions/{slow['id']}/status-messages")
    assert 1 <= len(messages) <= 10


def test_cancel_completes_after_the_delay_in_sim_time(frozen: Frozen) -> None:
    target = next(row for row in frozen.all() if row["status"] == "RUNNING")
    response = frozen.put(f"/api/executions/{target['id']}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "CANCELLING"
    frozen.control.advance(1)
    assert frozen.get(f"/api/executions/{target['id']}")["status"] == "CANCELLING"
    frozen.control.advance(2.5)
    done = frozen.get(f"/api/executions/{target['id']}")
    assert done["status"] == "CANCELLED" and done["endDate"]
    assert "RUNNING" not in {step["status"] for step in done["pipeline"]["steps"]}
    assert "CANCELLED" in {step["status"] for step in done["pipeline"]["steps"]}
    frozen.control.advance(600)
    assert frozen.get(f"/api/executions/{target['id']}")["status"] == "CANCELLED"


def test_seeded_cancelling_ones_complete(frozen: Frozen) -> None:
    cancelling = [row["id"] for row in frozen.all() if row["status"] == "CANCELLING"]
    frozen.control.advance(4)
    assert {frozen.get(f"/api/executions/{key}")["status"] for key in cancelling} == {"CANCELLED"}


def test_speed_can_be_changed_at_runtime(frozen: Frozen) -> None:
    now = frozen.control.config()["now"]
    frozen.control.configure(speed=0)
    assert frozen.control.config()["now"] == now
    assert frozen.control.advance(10)["now"] > now
