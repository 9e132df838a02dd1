"""The simulator's data: reference entities, executions and their status messages.

Plain dicts shaped exactly like the v2 JSON, so serialising is just ``json.dumps``. Keys that an
execution legitimately lacks (seeded "missing optional field" cases) are simply absent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .timeutil import iso

EXECUTION_STATUSES = (
    "PENDING",
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "REQUESTED",
    "SKIPPED",
    "CANCELLING",
    "CANCELLED",
    "PENDING_REPROCESSING",
    "REPROCESSED",
)
ACTIVE_STATUSES = frozenset({"PENDING", "REQUESTED", "RUNNING"})
# Statuses that PUT .../cancel refuses (or ignores, in idempotent mode).
UNCANCELLABLE_STATUSES = frozenset(
    {"SUCCEEDED", "FAILED", "SKIPPED", "CANCELLED", "REPROCESSED", "PENDING_REPROCESSING"}
)
MESSAGE_TYPES = (
    "THINKING",
    "SEARCHING",
    "PLANNING",
    "REVIEWING",
    "PROCESSING",
    "ANALYZING",
    "WRITING",
    "WAITING",
)
MAX_STATUS_MESSAGES = 10

# Field -> type maps used by filter and sort on each list endpoint.
EXECUTION_SCHEMA = {
    "id": "string",
    "status": "string",
    "assistantId": "string",
    "documentFamilyId": "string",
    "organizationId": "string",
    "parentExecutionId": "string",
    "sessionId": "string",
    "description": "string",
    "priority": "int",
    "createdOn": "datetime",
    "updatedOn": "datetime",
    "startDate": "datetime",
    "endDate": "datetime",
}
ASSISTANT_SCHEMA = {
    "id": "string",
    "name": "string",
    "description": "string",
    "color": "string",
    "active": "bool",
    "createdOn": "datetime",
    "updatedOn": "datetime",
}
FAMILY_SCHEMA = {
    "id": "string",
    "path": "string",
    "originalPath": "string",
    "storeRef": "string",
    "documentStatus": "string",
    "createdOn": "datetime",
    "updatedOn": "datetime",
}
NAMED_SCHEMA = {
    "id": "string",
    "name": "string",
    "slug": "string",
    "createdOn": "datetime",
    "updatedOn": "datetime",
}

_MESSAGE_NAMESPACE = uuid.UUID("6f1c3b52-1f0e-4a59-9b1d-6b0c2a7e9d10")


@dataclass
class World:
    organization: dict[str, Any]
    user: dict[str, Any]
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    stores: dict[str, dict[str, Any]] = field(default_factory=dict)
    assistants: dict[str, dict[str, Any]] = field(default_factory=dict)
    families: dict[str, dict[str, Any]] = field(default_factory=dict)
    executions: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _message_count: int = 0

    def add_message(
        self, execution_id: str, *, at: datetime, title: str, type: str, subtitle: str | None = None
    ) -> dict[str, Any]:
        # Ids derive from a counter, not uuid4, so a seeded run is reproducible.
        self._message_count += 1
        message = {
            "id": str(uuid.uuid5(_MESSAGE_NAMESPACE, f"{execution_id}:{self._message_count}")),
            "executionId": execution_id,
            "datetime": iso(at),
            "title": title,
            "subtitle": subtitle,
            "type": type,
        }
        kept = self.messages.setdefault(execution_id, [])
        kept.append(message)
        kept.sort(key=lambda item: item["datetime"])
        del kept[:-MAX_STATUS_MESSAGES]
        return message


def blank_step(*, step_id: str, name: str, ref: str, progress_max: int = 1, step_type: str = "MODEL") -> dict[str, Any]:
    return {
        "id": step_id,
        "name": name,
        "ref": ref,
        "stepType": step_type,
        "status": "PENDING",
        "statusMessage": None,
        "progress": 0,
        "progressMax": progress_max,
        "start": None,
        "end": None,
        "processingTime": None,
        "options": {},
        "optionTypes": {},
        "context": {},
        "conditional": None,
        "inputId": None,
        "outputId": None,
        "outputIds": None,
        "extensionPackRef": None,
        "exceptionDetails": None,
    }


def blank_execution(*, execution_id: str, created: datetime, organization_id: str) -> dict[str, Any]:
    """Every field of the v2 Execution with neutral defaults; callers fill in what they know."""
    return {
        "id": execution_id,
        "uuid": execution_id.replace("-", ""),
        "changeSequence": 1,
        "createdOn": iso(created),
        "updatedOn": iso(created),
        "organizationId": organization_id,
        "assistantId": None,
        "documentFamilyId": None,
        "parentExecutionId": None,
        "sessionId": None,
        "description": None,
        "status": "PENDING",
        "statusDetails": {
            "message": "Waiting to be scheduled",
            "detail": None,
            "progress": 0,
            "progressMax": 0,
            "stepStatus": "PENDING",
        },
        "priority": 5,
        "startDate": None,
        "endDate": None,
        "processingTime": None,
        "loggingEnabled": True,
        "deleteLoggingOnSuccess": False,
        "context": {"eventType": "CONTENT_CREATED"},
        "exceptionDetails": None,
        "pipeline": {"id": None, "ref": None, "valid": True, "exceptions": [], "steps": []},
        "targets": {"instances": []},
    }


def message_type_for_step(name: str) -> str:
    """Pick a plausible status-message type from a step name."""
    lowered = name.lower()
    for words, kind in (
        (("ocr", "classif", "detect", "analy"), "ANALYZING"),
        (("extract", "lookup", "match", "search"), "SEARCHING"),
        (("valid", "review", "check", "verify"), "REVIEWING"),
        (("publish", "store", "write", "export", "notify"), "WRITING"),
        (("plan", "route"), "PLANNING"),
    ):
        if any(word in lowered for word in words):
            return kind
    return "PROCESSING"
