"""Moto-style state transitions, evaluated lazily.

Every run is planned up front as a timeline of events (start, each step's start/progress/end,
finish or failure). Before answering a request the server replays every event whose time has
come, in time order, so no background thread is needed and a frozen clock means frozen data.
Cancelling or rewriting an execution bumps its generation, which silently drops its queued events.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from .timeutil import iso, millis_between, parse_datetime
from .world import World, message_type_for_step


@dataclass
class RunPlan:
    """How a PENDING/REQUESTED/RUNNING execution will play out."""

    start: datetime
    durations: list[float]  # seconds per pipeline step
    fail_step: int | None = None
    failure: dict[str, Any] | None = None  # exceptionDetails for the failing step and the execution
    worker: str = "kodexa-worker-1"


class ArrivalSource(Protocol):
    """Creates the executions that 'arrive' while the simulator runs."""

    def next_time(self) -> datetime | None: ...

    def create(self, world: World, at: datetime) -> tuple[dict[str, Any], RunPlan]: ...


@dataclass(order=True)
class _Event:
    at: datetime
    seq: int
    execution_id: str = field(compare=False)
    generation: int = field(compare=False)
    kind: str = field(compare=False)
    arg: Any = field(compare=False, default=None)


class Scheduler:
    def __init__(self, *, arrivals: ArrivalSource | None = None, max_executions: int = 20000) -> None:
        self._heap: list[_Event] = []
        self._seq = itertools.count()
        self._generation: dict[str, int] = {}
        self._plans: dict[str, RunPlan] = {}
        self.arrivals = arrivals
        self.max_executions = max_executions

    # ------------------------------------------------------------ planning

    def plan_run(self, execution: dict[str, Any], plan: RunPlan) -> None:
        generation = self.forget(execution["id"])
        self._plans[execution["id"]] = plan
        push = self._pusher(execution["id"], generation)
        push(plan.start, "start")
        moment = plan.start
        steps = execution["pipeline"]["steps"]
        for index, seconds in enumerate(plan.durations[: len(steps)]):
            push(moment, "step_start", index)
            progress_max = max(1, int(steps[index].get("progressMax") or 1))
            for tick in range(1, progress_max):
                push(moment + timedelta(seconds=seconds * tick / progress_max), "step_progress", (index, tick))
            moment += timedelta(seconds=seconds)
            if index == plan.fail_step:
                push(moment, "step_fail", index)
                return
            push(moment, "step_end", index)
        push(moment, "finish")

    def plan_cancel(self, execution_id: str, at: datetime) -> None:
        generation = self.forget(execution_id)
        self._pusher(execution_id, generation)(at, "cancel_done")

    def forget(self, execution_id: str) -> int:
        """Drop whatever was queued for this execution; returns its new generation."""
        generation = self._generation.get(execution_id, 0) + 1
        self._generation[execution_id] = generation
        self._plans.pop(execution_id, None)
        return generation

    def _pusher(self, execution_id: str, generation: int) -> Callable[..., None]:
        def push(at: datetime, kind: str, arg: Any = None) -> None:
            heapq.heappush(self._heap, _Event(at, next(self._seq), execution_id, generation, kind, arg))

        return push

    # ------------------------------------------------------------ replay

    def run_until(self, world: World, now: datetime) -> None:
        while True:
            event_at = self._heap[0].at if self._heap else None
            arrival_at = self._next_arrival(world)
            if arrival_at is not None and arrival_at <= now and (event_at is None or arrival_at <= event_at):
                assert self.arrivals is not None
                execution, plan = self.arrivals.create(world, arrival_at)
                world.executions[execution["id"]] = execution
                self.plan_run(execution, plan)
                continue
            if event_at is None or event_at > now:
                return
            event = heapq.heappop(self._heap)
            if self._generation.get(event.execution_id) != event.generation:
                continue
            execution = world.executions.get(event.execution_id)
            if execution is not None:
                _apply(world, execution, event, self._plans.get(event.execution_id))

    def _next_arrival(self, world: World) -> datetime | None:
        if self.arrivals is None or len(world.executions) >= self.max_executions:
            return None
        return self.arrivals.next_time()


# ---------------------------------------------------------------- event effects


def _apply(world: World, execution: dict[str, Any], event: _Event, plan: RunPlan | None) -> None:
    at, kind = event.at, event.kind
    steps: list[dict[str, Any]] = execution["pipeline"]["steps"]
    details = execution.setdefault("statusDetails", {})
    message = world.add_message

    if kind == "start":
        execution["status"] = "RUNNING"
        execution["startDate"] = execution.get("startDate") or iso(at)
        details.update(
            message="Planning pipeline", detail=None, progress=0, progressMax=len(steps), stepStatus="RUNNING"
        )
        worker = plan.worker if plan else "kodexa-worker-1"
        message(
            execution["id"],
            at=at,
            title="Planning pipeline",
            type="PLANNING",
            subtitle=f"{len(steps)} steps scheduled on {worker}",
        )
    elif kind == "step_start":
        step = steps[event.arg]
        step.update(status="RUNNING", start=iso(at), progress=0, statusMessage=f"Running {step['name']}")
        details.update(message=f"Running {step['name']}", detail=None, stepStatus="RUNNING")
        message(
            execution["id"],
            at=at,
            title=step["name"],
            type=message_type_for_step(step["name"]),
            subtitle=step["ref"],
        )
    elif kind == "step_progress":
        index, tick = event.arg
        step = steps[index]
        step["progress"] = tick
        details["detail"] = f"{step['name']}: {tick} of {step['progressMax']}"
    elif kind == "step_end":
        step = steps[event.arg]
        _close_step(step, at, "SUCCEEDED")
        step["progress"] = step["progressMax"]
        step["statusMessage"] = None
        details.update(progress=event.arg + 1, detail=None)
    elif kind == "step_fail":
        failure = (plan.failure if plan else None) or {"message": "Step failed", "errorType": "Processing"}
        step = steps[event.arg]
        _close_step(step, at, "FAILED")
        step.update(
            statusMessage=failure.get("errorMessage") or failure.get("message"),
            exceptionDetails={**failure, "stackTrace": list(failure.get("stackTrace") or [])},
        )
        for later in steps[event.arg + 1 :]:
            later["status"] = "SKIPPED"
        _finish(execution, at, "FAILED")
        execution["exceptionDetails"] = failure
        details.update(message=f"{step['name']} failed", detail=failure.get("errorMessage"), stepStatus="FAILED")
        message(
            execution["id"],
            at=at,
            title=f"{step['name']} failed",
            type="REVIEWING",
            subtitle=failure.get("message"),
        )
    elif kind == "finish":
        _finish(execution, at, "SUCCEEDED")
        details.update(
            message="Completed",
            detail=None,
            progress=len(steps),
            progressMax=len(steps),
            stepStatus="SUCCEEDED",
        )
        message(
            execution["id"],
            at=at,
            title="Execution completed",
            type="WRITING",
            subtitle=f"{len(steps)} steps succeeded",
        )
    elif kind == "cancel_done":
        for step in steps:
            if step.get("status") == "RUNNING":
                _close_step(step, at, "CANCELLED")
        _finish(execution, at, "CANCELLED")
        details.update(message="Cancelled", detail=None, stepStatus="CANCELLED")
        message(
            execution["id"],
            at=at,
            title="Execution cancelled",
            type="WAITING",
            subtitle="Running steps were stopped",
        )
    execution["changeSequence"] = int(execution.get("changeSequence") or 0) + 1
    execution["updatedOn"] = iso(at)


def _close_step(step: dict[str, Any], at: datetime, status: str) -> None:
    step["status"] = status
    step["end"] = iso(at)
    if step.get("start"):
        step["processingTime"] = millis_between(parse_datetime(step["start"]), at)


def _finish(execution: dict[str, Any], at: datetime, status: str) -> None:
    execution["status"] = status
    execution["endDate"] = iso(at)
    if execution.get("startDate"):
        execution["processingTime"] = millis_between(parse_datetime(execution["startDate"]), at)
