"""SimState: the one mutable object of a simulator, guarded by one lock.

Route handlers run with ``state.lock`` held, after ``sync()`` has replayed the lifecycle up to the
current simulated time, so every response is a consistent snapshot.
"""

from __future__ import annotations

import copy
import threading
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from .calls import CallCounter
from .clock import SimClock
from .config import NUMERIC_SETTINGS, RUNTIME_SETTINGS, SimConfig
from .faults import FaultRegistry
from .lifecycle import RunPlan, Scheduler
from .problems import ApiError
from .seed import Arrivals, ExecutionFactory, build_world
from .timeutil import iso, parse_datetime
from .world import ACTIVE_STATUSES, EXECUTION_STATUSES, MESSAGE_TYPES, UNCANCELLABLE_STATUSES, World

# Fields a client may not overwrite through POST/PUT: the server owns them.
_SERVER_FIELDS = ("id", "uuid", "changeSequence", "createdOn", "updatedOn")


class SimState:
    def __init__(self, config: SimConfig) -> None:
        config.validate()
        self._initial = replace(config)
        self.config = replace(config)
        self.lock = threading.RLock()
        self.stopping = threading.Event()  # wakes sleeping fault handlers on shutdown
        self.faults = FaultRegistry()
        self.calls = CallCounter()
        self.clock = SimClock(epoch=config.epoch, speed=config.speed)
        self.reset()

    # ------------------------------------------------------------ lifecycle of the simulator

    def reset(self) -> None:
        """Back to the seeded state, as if the server had just started."""
        with self.lock:
            self.config = replace(self._initial)
            self.clock = SimClock(epoch=self.config.epoch, speed=self.config.speed)
            now = self.clock.now()
            seeded = build_world(seed=self.config.seed, executions=self.config.executions, now=now)
            self.world: World = seeded.world
            self._factory: ExecutionFactory = seeded.factory
            self.arrivals = Arrivals(
                seeded.factory, seed=self.config.seed, start=now, mean_seconds=self.config.arrival_seconds
            )
            self.scheduler = Scheduler(arrivals=self.arrivals, max_executions=self.config.max_executions)
            for execution_id, plan in seeded.plans.items():
                self.scheduler.plan_run(self.world.executions[execution_id], plan)
            for execution_id in seeded.cancelling:
                self.scheduler.plan_cancel(execution_id, now + self._cancel_delay())
            self._created = 0
            self.faults.clear()
            self.calls.clear()
            self.sync()

    def sync(self) -> datetime:
        """Replay the lifecycle up to now; returns the simulated time."""
        with self.lock:
            now = self.clock.now()
            self.scheduler.run_until(self.world, now)
            return now

    def advance(self, seconds: float) -> datetime:
        with self.lock:
            self.clock.advance(seconds)
            return self.sync()

    def configure(self, changes: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            unknown = set(changes) - set(RUNTIME_SETTINGS)
            if unknown:
                raise ApiError(400, f"Unknown or read-only settings: {', '.join(sorted(unknown))}")
            try:
                converted = {name: _runtime_value(self.config, name, value) for name, value in changes.items()}
                # Build and check the whole new configuration first, so a bad value changes nothing.
                updated = replace(self.config, **converted)
                updated.validate()
            except (TypeError, ValueError) as error:
                raise ApiError(400, f"Invalid settings: {error}") from None
            self.config = updated
            now = self.sync()
            if "speed" in changes:
                self.clock.set_speed(self.config.speed)
            if "arrival_seconds" in changes:
                self.arrivals.mean_seconds = self.config.arrival_seconds
                self.arrivals.restart(now)
            return self.describe()

    def describe(self) -> dict[str, Any]:
        with self.lock:
            return {
                **self.config.public(),
                "now": iso(self.sync()),
                "executionCount": len(self.world.executions),
            }

    def _cancel_delay(self) -> timedelta:
        return timedelta(milliseconds=self.config.cancel_delay_ms)

    # ------------------------------------------------------------ executions

    def execution(self, execution_id: str) -> dict[str, Any]:
        execution = self.world.executions.get(execution_id)
        if execution is None:
            raise ApiError(404, f"Execution {execution_id} not found")
        return execution

    def cancel(self, execution_id: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            now = self.sync()
            execution = self.execution(execution_id)
            status = execution.get("status")
            if status in ACTIVE_STATUSES:
                execution["status"] = "CANCELLING"
                execution["changeSequence"] = int(execution.get("changeSequence") or 0) + 1
                execution["updatedOn"] = iso(now)
                if isinstance(execution.get("statusDetails"), dict):
                    execution["statusDetails"].update(message="Cancelling", detail="Cancel requested")
                self.world.add_message(
                    execution_id,
                    at=now,
                    title="Cancellation requested",
                    type="WAITING",
                    subtitle="Waiting for running steps to stop",
                )
                self.scheduler.plan_cancel(execution_id, now + self._cancel_delay())
                return 200, execution
            if status == "CANCELLING" or self.config.terminal_cancel == "idempotent":
                return 200, execution
            if status in UNCANCELLABLE_STATUSES:
                raise ApiError(409, "Execution is not in a cancellable state")
            return 200, execution  # an unknown status added through the control plane: leave it alone

    def reprocess(self, family_id: str, body: Any) -> dict[str, Any]:
        """POST /api/document-families/{id}/reprocess: one new PENDING execution per assistant, run like any other.

        Every assistant is checked before anything is created, so a refused request changes nothing."""
        with self.lock:
            family = self.world.families.get(family_id)
            if family is None:
                raise ApiError(404, f"Document family {family_id} not found")
            assistant_ids = body.get("assistantIds") if isinstance(body, dict) else None
            if (not isinstance(assistant_ids, list) or not assistant_ids
                    or not all(isinstance(item, str) for item in assistant_ids)):
                raise ApiError(400, "'assistantIds' must be a non-empty list of assistant ids")
            for assistant_id in assistant_ids:
                assistant = self.world.assistants.get(assistant_id)
                if assistant is None:
                    raise ApiError(400, f"Assistant {assistant_id} not found")
                if not assistant.get("active", True):
                    raise ApiError(400, f"Assistant {assistant_id} is not active")
            for assistant_id in dict.fromkeys(assistant_ids):  # a repeated id reprocesses once
                execution = self.create({"assistantId": assistant_id, "documentFamilyId": family_id,
                                         "status": "PENDING",
                                         "description": f"Reprocess of {family.get('path') or family_id}"})
                if isinstance(execution.get("context"), dict):
                    execution["context"]["documentFamilyId"] = family_id
            return family

    def create(self, fields: dict[str, Any], *, lifecycle: bool = True) -> dict[str, Any]:
        """POST /api/executions and /_sim/executions: fill every field not given with a default.

        A created PENDING/REQUESTED/RUNNING execution runs like the seeded ones unless ``lifecycle`` is off.
        """
        with self.lock:
            now = self.sync()
            self._created += 1
            execution = self._factory.new(now, assistant=self.world.assistants.get(str(fields.get("assistantId"))))
            # Created ids are random (not seeded): they must never collide with later arrivals.
            execution_id = str(fields.get("id") or uuid.uuid4())
            if execution_id in self.world.executions:
                raise ApiError(409, f"Execution {execution_id} already exists")
            execution.update(
                id=execution_id,
                uuid=execution_id.replace("-", ""),
                status="PENDING",
                statusDetails={**execution["statusDetails"], "message": "Waiting to be scheduled"},
            )
            self._merge(execution, fields, allow_times=True)
            status = execution.get("status")
            # A frozen execution may carry a status Kodexa might add one day, to test how clients cope.
            if status not in EXECUTION_STATUSES and lifecycle:
                raise ApiError(400, f"Unknown status {status!r}")
            self.world.executions = {execution_id: execution, **self.world.executions}
            self.world.add_message(execution_id, at=now, title="Execution created", type="WAITING")
            if lifecycle and status in ACTIVE_STATUSES and execution.get("pipeline"):
                start = now + timedelta(seconds=2) if status != "RUNNING" else now
                if status == "RUNNING":
                    execution["startDate"] = execution.get("startDate") or iso(now)
                plan: RunPlan = self._factory.plan(execution, start, total=(30.0, 180.0), fail_rate=0.0)
                self.scheduler.plan_run(execution, plan)
            elif status == "CANCELLING":
                self.scheduler.plan_cancel(execution_id, now + self._cancel_delay())
            return execution

    def update(self, execution_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """PUT /api/executions/{id}: optimistic locking on changeSequence, then a merge."""
        with self.lock:
            now = self.sync()
            execution = self.execution(execution_id)
            sent = fields.get("changeSequence")
            if sent is not None and sent != execution.get("changeSequence"):
                raise ApiError(
                    409, f"Stale changeSequence {sent}: the execution is at {execution.get('changeSequence')}"
                )
            if "id" in fields and fields["id"] != execution_id:
                raise ApiError(400, "The id in the body does not match the URL")
            old_status = execution.get("status")
            self._merge(execution, fields, allow_times=False)
            if execution.get("status") not in EXECUTION_STATUSES:
                execution["status"] = old_status
                raise ApiError(400, f"Unknown status {fields.get('status')!r}")
            if execution["status"] != old_status:
                # The writer took over: whatever the simulator had planned no longer applies.
                self.scheduler.forget(execution_id)
                if execution["status"] == "CANCELLING":
                    self.scheduler.plan_cancel(execution_id, now + self._cancel_delay())
            execution["changeSequence"] = int(execution.get("changeSequence") or 0) + 1
            execution["updatedOn"] = iso(now)
            return execution

    @staticmethod
    def _merge(execution: dict[str, Any], fields: dict[str, Any], *, allow_times: bool) -> None:
        for key, value in fields.items():
            if key in _SERVER_FIELDS and not (allow_times and key in ("createdOn", "updatedOn")):
                continue
            if key in ("createdOn", "updatedOn", "startDate", "endDate") and value is not None:
                try:
                    value = iso(parse_datetime(str(value)))
                except ValueError:
                    raise ApiError(400, f"{key} is not a date-time: {value!r}") from None
            execution[key] = copy.deepcopy(value)

    # ------------------------------------------------------------ status messages and logs

    def messages(self, execution_id: str) -> list[dict[str, Any]]:
        self.execution(execution_id)
        return self.world.messages.get(execution_id, [])

    def add_message(self, execution_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            now = self.sync()
            self.execution(execution_id)
            title, kind = body.get("title"), body.get("type")
            if not isinstance(title, str) or not title.strip():
                raise ApiError(400, "Invalid request parameters: title is required")
            if kind not in MESSAGE_TYPES:
                raise ApiError(400, f"Invalid request parameters: type must be one of {', '.join(MESSAGE_TYPES)}")
            subtitle = body.get("subtitle")
            return self.world.add_message(
                execution_id,
                at=now,
                title=title,
                type=kind,
                subtitle=str(subtitle) if subtitle is not None else None,
            )

    def logs(self, execution_id: str) -> list[dict[str, Any]]:
        """Log lines derived from the execution's current state, so they always agree with it."""
        execution = self.execution(execution_id)
        lines: list[tuple[str, str]] = [
            (
                execution["createdOn"],
                f"Execution created by {(execution.get('context') or {}).get('eventType', 'API')} event",
            )
        ]
        if execution.get("startDate"):
            lines.append((execution["startDate"], "Execution started"))
        for step in (execution.get("pipeline") or {}).get("steps") or []:
            if step.get("start"):
                lines.append((step["start"], f"Step '{step['name']}' ({step['ref']}) started"))
            if step.get("end"):
                lines.append(
                    (
                        step["end"],
                        f"Step '{step['name']}' finished with status {step['status']} "
                        f"in {step.get('processingTime')} ms",
                    )
                )
            for frame in (step.get("exceptionDetails") or {}).get("stackTrace") or []:
                lines.append(
                    (
                        step.get("end") or step["start"],
                        f"    at {frame.get('methodName')} ({frame.get('fileName')}:{frame.get('lineNumber')})",
                    )
                )
        if execution.get("endDate"):
            lines.append((execution["endDate"], f"Execution finished with status {execution['status']}"))
        namespace = uuid.UUID(int=int(execution.get("uuid") or "0", 16) if _is_hex(execution.get("uuid")) else 0)
        return [
            {"id": str(uuid.uuid5(namespace, str(index))), "logDate": when, "entry": entry}
            for index, (when, entry) in enumerate(lines)
        ]


def _is_hex(value: Any) -> bool:
    try:
        int(str(value), 16)
    except ValueError:
        return False
    return len(str(value)) == 32


def _runtime_value(config: SimConfig, name: str, value: Any) -> Any:
    """JSON numbers may come as strings or ints where floats are stored; the other settings are checked whole."""
    if name not in NUMERIC_SETTINGS:
        return value
    number = type(getattr(config, name))(value)
    if number < 0:
        raise ValueError(f"{name} must be a non-negative number")
    return number
