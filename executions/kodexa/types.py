"""Typed, immutable views of Kodexa payloads.

`from_api` never trusts the payload: missing, null and wrongly typed fields become None or empty, and only
a payload that cannot be an object at all (no dict, no id) raises `KodexaBadResponse`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from .dates import parse_datetime
from .errors import KodexaBadResponse, clean_text

T = TypeVar("T")

# Bounds keep one pathological record from blowing up a page render.
MAX_FRAMES = 200
MAX_FRAME_CHARS = 500
MAX_TEXT_CHARS = 10_000
MAX_ITEMS = 1_000


# --- tolerant field readers -------------------------------------------------------------------------


def _str(value: object, *, limit: int = MAX_TEXT_CHARS) -> str | None:
    if type(value) is str:  # the common case first: these readers run some 3,000 times per 50-row page
        return value if len(value) <= limit else value[:limit]
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        return None
    return value[:limit]


def _id(value: object) -> str | None:
    text = _str(value, limit=200)
    return text.strip() or None if text is not None else None


def _int(value: object) -> int | None:
    if type(value) is int:
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return list(value[:MAX_ITEMS]) if isinstance(value, list) else []


def _require_dict(data: object, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise KodexaBadResponse(f"Kodexa sent an unexpected {what} payload")
    return data


def _percent(progress: int | None, progress_max: int | None) -> int | None:
    if progress is None or progress_max is None or progress_max <= 0:
        return None
    # Upstream counters are not trusted to stay within 0..max.
    return max(0, min(100, round(100 * progress / progress_max)))


def _span(start: datetime | None, end: datetime | None, *, running: bool) -> timedelta | None:
    if start is None:
        return None
    if end is None:
        if not running:
            return None
        end = datetime.now(UTC)
    delta = end - start
    return delta if delta >= timedelta(0) else None


def _pretty_json(value: Mapping[str, Any]) -> str:
    """Indented, keys sorted, for people to read. The client's parser accepts 1,024 levels of nesting; the
    indenting encoder recurses in Python and gives up far sooner, so very deep JSON is summarised."""
    try:
        return json.dumps(dict(value), indent=2, sort_keys=True, default=str)
    except RecursionError:
        return "(too deeply nested to show)"


# --- statuses ---------------------------------------------------------------------------------------


class ExecutionStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    REQUESTED = "REQUESTED"
    SKIPPED = "SKIPPED"
    CANCELLING = "CANCELLING"
    CANCELLED = "CANCELLED"
    PENDING_REPROCESSING = "PENDING_REPROCESSING"
    REPROCESSED = "REPROCESSED"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def parse(cls, value: str | None) -> ExecutionStatus:
        """The status for an API string; UNKNOWN for anything new or malformed (never raises)."""
        if not isinstance(value, str):
            return cls.UNKNOWN
        if (exact := _STATUS_BY_VALUE.get(value)) is not None:
            return exact
        try:
            return cls(value.strip().upper())
        except ValueError:
            return cls.UNKNOWN

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_cancellable(self) -> bool:
        # CANCELLING is excluded: a second cancel adds nothing but a confusing audit row.
        return self in _CANCELLABLE

    @property
    def accepts_cancel(self) -> bool:
        """A cancel may be sent: a run not finished, or one stuck in CANCELLING (the cancel is sent again)."""
        return self in _CANCELLABLE or self is ExecutionStatus.CANCELLING

    @property
    def is_active(self) -> bool:
        return not self.is_terminal and self is not ExecutionStatus.UNKNOWN

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


_STATUS_BY_VALUE = {status.value: status for status in ExecutionStatus}
_TERMINAL = frozenset(
    {
        ExecutionStatus.SUCCEEDED,
        ExecutionStatus.FAILED,
        ExecutionStatus.SKIPPED,
        ExecutionStatus.CANCELLED,
        ExecutionStatus.REPROCESSED,
    }
)
_CANCELLABLE = frozenset({ExecutionStatus.PENDING, ExecutionStatus.REQUESTED, ExecutionStatus.RUNNING})
# --- nested objects ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusDetails:
    message: str | None = None
    detail: str | None = None
    progress: int | None = None
    progress_max: int | None = None
    step_status: ExecutionStatus | None = None

    @classmethod
    def from_api(cls, data: object) -> StatusDetails | None:
        if not isinstance(data, Mapping):
            return None
        # Legacy payloads call the step status `status`; v2 calls it `stepStatus`.
        raw_status = data.get("stepStatus", data.get("status"))
        return cls(
            message=_str(data.get("message")),
            detail=_str(data.get("detail")),
            progress=_int(data.get("progress")),
            progress_max=_int(data.get("progressMax")),
            step_status=ExecutionStatus.parse(raw_status) if isinstance(raw_status, str) else None,
        )

    @property
    def percent(self) -> int | None:
        return _percent(self.progress, self.progress_max)


@dataclass(frozen=True, slots=True)
class ValidationError:
    option: str | None = None
    message: str | None = None
    description: str | None = None

    @classmethod
    def from_api(cls, data: object) -> ValidationError | None:
        if isinstance(data, str):
            return cls(message=data[:MAX_TEXT_CHARS])
        if not isinstance(data, Mapping):
            return None
        return cls(
            option=_str(data.get("option")),
            message=_str(data.get("message")),
            description=_str(data.get("description")),
        )


def _render_frame(frame: object) -> str | None:
    """One readable line per stack frame, whatever shape the platform used."""
    if isinstance(frame, str):
        text = frame
    elif isinstance(frame, Mapping):
        cls_name = _str(frame.get("className") or frame.get("declaringClass"))
        method = _str(frame.get("methodName") or frame.get("name") or frame.get("function"))
        file_name = _str(frame.get("fileName") or frame.get("filename") or frame.get("file"))
        line = _int(frame.get("lineNumber", frame.get("lineno", frame.get("line"))))
        if cls_name or method:
            where = ".".join(p for p in (cls_name, method) if p)
            loc = f"{file_name}:{line}" if file_name and line is not None else (file_name or "")
            text = f"at {where}({loc})" if loc else f"at {where}"
        elif file_name:
            text = f"{file_name}:{line}" if line is not None else file_name
        else:
            text = ", ".join(f"{k}={v}" for k, v in sorted(frame.items(), key=lambda kv: str(kv[0])))
    elif frame is None:
        return None
    else:
        text = str(frame)
    text = clean_text(text, limit=MAX_FRAME_CHARS)
    return text or None


def _stack_trace(value: object) -> tuple[str, ...]:
    # Legacy bodies send the trace as one string; v2 as a list of frames.
    items: list[Any] = value.splitlines() if isinstance(value, str) else _list(value)
    frames = (_render_frame(item) for item in items[:MAX_FRAMES])
    return tuple(f for f in frames if f)


@dataclass(frozen=True, slots=True)
class ExceptionDetails:
    message: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    status_code: int | None = None
    help: str | None = None
    advice: str | None = None
    description: str | None = None
    documentation_url: str | None = None
    executed_version: str | None = None
    stack_trace: tuple[str, ...] = ()
    validation_errors: tuple[ValidationError, ...] = ()

    @classmethod
    def from_api(cls, data: object) -> ExceptionDetails | None:
        if not isinstance(data, Mapping) or not data:
            return None
        validation = (ValidationError.from_api(v) for v in _list(data.get("validationErrors")))
        return cls(
            message=_str(data.get("message")),
            error_type=_str(data.get("errorType")),
            error_message=_str(data.get("errorMessage")),
            status_code=_int(data.get("statusCode")),
            help=_str(data.get("help")),
            advice=_str(data.get("advice")),
            description=_str(data.get("description")),
            documentation_url=_str(data.get("documentationUrl"), limit=2_000),
            executed_version=_str(data.get("executedVersion"), limit=200),
            stack_trace=_stack_trace(data.get("stackTrace")),
            validation_errors=tuple(v for v in validation if v is not None),
        )

    @property
    def safe_documentation_url(self) -> str | None:
        """The URL only when it is safe to put in an href (no javascript:, data:, ...)."""
        url = (self.documentation_url or "").strip()
        try:
            parts = urlsplit(url)
        except ValueError:
            return None
        if parts.scheme.lower() in ("http", "https") and parts.netloc and not any(c.isspace() for c in url):
            return url
        return None


@dataclass(frozen=True, slots=True)
class Step:
    id: str | None = None
    name: str | None = None
    ref: str | None = None
    step_type: str | None = None
    status: ExecutionStatus = ExecutionStatus.UNKNOWN
    status_raw: str | None = None
    status_message: str | None = None
    progress: int | None = None
    progress_max: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    processing_time_ms: int | None = None
    exception_details: ExceptionDetails | None = None

    @classmethod
    def from_api(cls, data: object) -> Step | None:
        if not isinstance(data, Mapping):
            return None
        status_raw = _str(data.get("status"), limit=100)
        return cls(
            id=_id(data.get("id")),
            name=_str(data.get("name"), limit=500),
            ref=_str(data.get("ref"), limit=500),
            step_type=_str(data.get("stepType"), limit=100),
            status=ExecutionStatus.parse(status_raw),
            status_raw=status_raw,
            status_message=_str(data.get("statusMessage")),
            progress=_int(data.get("progress")),
            progress_max=_int(data.get("progressMax")),
            start=parse_datetime(data.get("start")),
            end=parse_datetime(data.get("end")),
            processing_time_ms=_int(data.get("processingTime")),
            exception_details=ExceptionDetails.from_api(data.get("exceptionDetails")),
        )

    @property
    def percent(self) -> int | None:
        if self.status in (ExecutionStatus.SUCCEEDED, ExecutionStatus.REPROCESSED):
            return 100
        return _percent(self.progress, self.progress_max)

    @property
    def duration(self) -> timedelta | None:
        return _span(self.start, self.end, running=self.status.is_active)


@dataclass(frozen=True, slots=True)
class Target:
    type: str | None = None
    ref: str | None = None
    document_family_id: str | None = None
    content_object_id: str | None = None
    labels_to_apply: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, data: object) -> Target | None:
        if not isinstance(data, Mapping):
            return None
        labels = (_str(v, limit=200) for v in _list(data.get("labelsToApply")))
        return cls(
            type=_str(data.get("type"), limit=100),
            ref=_str(data.get("ref"), limit=500),
            document_family_id=_id(data.get("documentFamilyId")),
            content_object_id=_id(data.get("contentObjectId")),
            labels_to_apply=tuple(v for v in labels if v),
        )


# --- top-level resources ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Execution:
    id: str
    uuid: str | None = None
    change_sequence: int | None = None
    created_on: datetime | None = None
    updated_on: datetime | None = None
    organization_id: str | None = None
    assistant_id: str | None = None
    document_family_id: str | None = None
    parent_execution_id: str | None = None
    session_id: str | None = None
    description: str | None = None
    status: ExecutionStatus = ExecutionStatus.UNKNOWN
    status_raw: str | None = None
    status_details: StatusDetails | None = None
    priority: int | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    processing_time_ms: int | None = None
    logging_enabled: bool | None = None
    # Read-only views of free-form dicts; excluded from hash because mappings are unhashable.
    context: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    exception_details: ExceptionDetails | None = None
    steps: tuple[Step, ...] = ()
    pipeline_exceptions: tuple[ExceptionDetails, ...] = ()
    targets: tuple[Target, ...] = ()
    raw: Mapping[str, Any] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False, hash=False
    )

    @property
    def error_title(self) -> str | None:
        """What went wrong, in one line: the execution's own error, else its pipeline's, else a failing step's."""
        candidates = [self.exception_details, *self.pipeline_exceptions,
                      *(step.exception_details for step in self.steps)]
        for details in candidates:
            if details is not None and (text := details.message or details.error_message):
                return text
        return None

    def __reduce__(self) -> tuple[Any, ...]:
        # The mapping views do not pickle (the shared cache pickles); the payload parses back to the same execution.
        return (Execution.from_api, (dict(self.raw),))

    @classmethod
    def from_api(cls, data: object) -> Execution:
        payload = _require_dict(data, "execution")
        execution_id = _id(payload.get("id"))
        if execution_id is None:
            raise KodexaBadResponse("Kodexa sent an execution without an id")
        pipeline = _dict(payload.get("pipeline"))
        steps = (Step.from_api(s) for s in _list(pipeline.get("steps")))
        pipeline_exc = (ExceptionDetails.from_api(e) for e in _list(pipeline.get("exceptions")))
        targets_raw = payload.get("targets")
        # v2 wraps targets in {"instances": [...]}; tolerate a bare list too.
        target_items = (
            _list(targets_raw.get("instances")) if isinstance(targets_raw, Mapping) else (_list(targets_raw))
        )
        targets = (Target.from_api(t) for t in target_items)
        status_raw = _str(payload.get("status"), limit=100)
        return cls(
            id=execution_id,
            uuid=_id(payload.get("uuid")),
            change_sequence=_int(payload.get("changeSequence")),
            created_on=parse_datetime(payload.get("createdOn")),
            updated_on=parse_datetime(payload.get("updatedOn")),
            organization_id=_id(payload.get("organizationId")),
            assistant_id=_id(payload.get("assistantId")),
            document_family_id=_id(payload.get("documentFamilyId")),
            parent_execution_id=_id(payload.get("parentExecutionId")),
            session_id=_id(payload.get("sessionId")),
            description=_str(payload.get("description")),
            status=ExecutionStatus.parse(status_raw),
            status_raw=status_raw,
            status_details=StatusDetails.from_api(payload.get("statusDetails")),
            priority=_int(payload.get("priority")),
            start_date=parse_datetime(payload.get("startDate")),
            end_date=parse_datetime(payload.get("endDate")),
            processing_time_ms=_int(payload.get("processingTime")),
            logging_enabled=_bool(payload.get("loggingEnabled")),
            context=MappingProxyType(dict(_dict(payload.get("context")))),
            exception_details=ExceptionDetails.from_api(payload.get("exceptionDetails")),
            steps=tuple(s for s in steps if s is not None),
            pipeline_exceptions=tuple(e for e in pipeline_exc if e is not None),
            targets=tuple(t for t in targets if t is not None),
            raw=MappingProxyType(dict(payload)),
        )

    @property
    def status_display(self) -> str:
        """The label, or the raw upstream string when the status is one we do not know yet."""
        if self.status is ExecutionStatus.UNKNOWN and self.status_raw:
            return clean_text(self.status_raw, limit=60)
        return self.status.label

    @property
    def percent(self) -> int | None:
        """0-100 from the steps (each contributes its own progress), else statusDetails, None when nothing tells.

        Steps win because statusDetails often counts whole steps only (0 of 3 while the first is half done).
        """
        if self.steps:
            parts = []
            for step in self.steps:
                if step.status.is_terminal:
                    parts.append(1.0)
                elif (pct := step.percent) is not None:
                    parts.append(pct / 100)
                else:
                    parts.append(0.0)
            return max(0, min(100, round(100 * sum(parts) / len(parts))))
        if self.status_details is not None and self.status_details.percent is not None:
            return self.status_details.percent
        if self.status in (ExecutionStatus.SUCCEEDED, ExecutionStatus.REPROCESSED):
            return 100
        return None

    @property
    def duration(self) -> timedelta | None:
        return _span(self.start_date, self.end_date, running=self.status.is_active)

    @property
    def context_json(self) -> str:
        return _pretty_json(self.context)

    @property
    def raw_json(self) -> str:
        return _pretty_json(self.raw)


@dataclass(frozen=True, slots=True)
class StatusMessage:
    id: str | None = None
    execution_id: str | None = None
    datetime: datetime | None = None
    title: str | None = None
    subtitle: str | None = None
    type: str | None = None

    @classmethod
    def from_api(cls, data: object) -> StatusMessage | None:
        if not isinstance(data, Mapping):
            return None
        return cls(
            id=_id(data.get("id")),
            execution_id=_id(data.get("executionId")),
            datetime=parse_datetime(data.get("datetime")),
            title=_str(data.get("title"), limit=1_000),
            subtitle=_str(data.get("subtitle"), limit=2_000),
            type=_str(data.get("type"), limit=50),
        )


@dataclass(frozen=True, slots=True)
class Assistant:
    id: str
    name: str | None = None
    description: str | None = None
    color: str | None = None
    active: bool | None = None
    project_id: str | None = None
    project_name: str | None = None

    @classmethod
    def from_api(cls, data: object) -> Assistant:
        payload = _require_dict(data, "assistant")
        assistant_id = _id(payload.get("id"))
        if assistant_id is None:
            raise KodexaBadResponse("Kodexa sent an assistant without an id")
        return cls(
            id=assistant_id,
            name=_str(payload.get("name"), limit=500),
            description=_str(payload.get("description")),
            color=_str(payload.get("color"), limit=50),
            active=_bool(payload.get("active")),
            project_id=_id(_dict(payload.get("project")).get("id")),
            project_name=_str(_dict(payload.get("project")).get("name"), limit=500),
        )

    @property
    def display_name(self) -> str:
        return self.name or self.id


@dataclass(frozen=True, slots=True)
class DocumentFamily:
    id: str
    path: str | None = None
    original_path: str | None = None
    store_ref: str | None = None
    document_status: str | None = None

    @classmethod
    def from_api(cls, data: object) -> DocumentFamily:
        payload = _require_dict(data, "document family")
        family_id = _id(payload.get("id"))
        if family_id is None:
            raise KodexaBadResponse("Kodexa sent a document family without an id")
        status = payload.get("documentStatus")
        # documentStatus is an object in some payloads ({status: ...}) and a string in others.
        if isinstance(status, Mapping):
            status = status.get("status") or status.get("name")
        return cls(
            id=family_id,
            path=_str(payload.get("path"), limit=2_000),
            original_path=_str(payload.get("originalPath"), limit=2_000),
            store_ref=_str(payload.get("storeRef"), limit=500),
            document_status=_str(status, limit=100),
        )

    @property
    def display_name(self) -> str:
        return self.path or self.original_path or self.id


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    number: int
    size: int
    total_elements: int
    total_pages: int
    first: bool
    last: bool
    # Items dropped because they were unusable (no id, not an object): the UI can say so.
    skipped: int = 0

    @property
    def has_next(self) -> bool:
        return not self.last

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @classmethod
    def from_api(
        cls, data: object, parse_item: Callable[[object], T], *, page: int, page_size: int
    ) -> Page[T]:
        """Parse a Spring page; `page` is the 1-based page that was requested (the server's `number` is
        0-based in the stand-in and undocumented in v2, so it is not trusted)."""
        payload = _require_dict(data, "page")
        content = payload.get("content")
        if not isinstance(content, list):
            raise KodexaBadResponse("Kodexa sent a page without content")
        items: list[T] = []
        skipped = 0
        for raw_item in content[:MAX_ITEMS]:
            try:
                items.append(parse_item(raw_item))
            except KodexaBadResponse:
                skipped += 1
        skipped += max(0, len(content) - MAX_ITEMS)
        size = _int(payload.get("size"))
        size = size if size is not None and size > 0 else page_size
        total_elements = _int(payload.get("totalElements"))
        seen_so_far = (page - 1) * size + len(content)
        if total_elements is None or total_elements < seen_so_far:
            total_elements = seen_so_far
        total_pages = _int(payload.get("totalPages"))
        if total_pages is None or total_pages < 0:
            total_pages = math.ceil(total_elements / size) if size else 0
        last_flag = _bool(payload.get("last"))
        last = last_flag if last_flag is not None else page >= total_pages
        if not content:
            # An empty page past the end must not offer a "next" link that loops forever.
            last = True
        return cls(
            items=tuple(items),
            number=page,
            size=size,
            total_elements=total_elements,
            total_pages=max(total_pages, page if content else total_pages),
            first=page == 1,
            last=last,
            skipped=skipped,
        )
