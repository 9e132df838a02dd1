"""ExecutionQuery: the typed form of the /executions/ filters, shared by the list, saved views and dashboards."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.utils import timezone

from executions.kodexa import After, AnyOf, Before, Clause, Equals, ExecutionField, ExecutionStatus
from executions.preferences.clock import user_zone

# Kodexa ids are UUIDs; anything else in an execution URL is a 404 with no upstream call.
EXECUTION_ID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_EXECUTION_ID = re.compile(rf"^{EXECUTION_ID_PATTERN}$")

# (value in URLs and saved views, label). The value is what Kodexa's `sort` parameter takes.
SORT_CHOICES: tuple[tuple[str, str], ...] = (
    ("createdOn,desc", "Newest first"),
    ("createdOn,asc", "Oldest first"),
    ("startDate,desc", "Recently started"),
    ("updatedOn,desc", "Recently updated"),
    ("updatedOn,asc", "Longest without an update"),
    ("priority,desc", "Highest priority"),
    ("status,asc", "Status"),
)
DEFAULT_SORT = SORT_CHOICES[0][0]
PAGE_SIZE_CHOICES = (20, 50, 100, 200)
DEFAULT_PAGE_SIZE = 20
FILTERABLE_STATUSES = tuple(s for s in ExecutionStatus if s is not ExecutionStatus.UNKNOWN)


def is_execution_id(value: str) -> bool:
    return bool(_EXECUTION_ID.match(value.strip()))


# The first characters of an id, as the list shows it (8 hex digits) or longer, dashes where a UUID has them.
ID_PREFIX_MIN = 8
_UUID_DASHES = (8, 13, 18, 23)
_HEX = frozenset("0123456789abcdef")


def id_prefix(value: str) -> str | None:
    """The search box's text as the start of an execution id (at least 8 hex digits, lower case, dashes where a
    UUID has them), or None: a full id opens the execution, and other text is a text search."""
    text = value.strip().lower()
    if len(text) < ID_PREFIX_MIN or len(text) >= 36 or is_execution_id(text):
        return None
    if all(ch == "-" if i in _UUID_DASHES else ch in _HEX for i, ch in enumerate(text)):
        return text
    return None


# The created-time presets: (hours, label). Stored as `created_within_hours`, so a saved "last 24 hours" moves with
# time. Any other number of hours (a view from a file) is shown as "Last N hours".
CREATED_PRESETS: tuple[tuple[int, str], ...] = ((1, "Last hour"), (24, "Last 24 hours"), (24 * 7, "Last 7 days"))
CUSTOM_RANGE = "custom"  # the form's "Custom range" choice: the after/before inputs, no moving window


# --- validation: the one place for the rules of a query ----------------------------------------------------

MAX_TEXT = 200
MAX_PAGE = 10_000
MAX_WITHIN_HOURS = 24 * 366
MAX_STALLED_MINUTES = 7 * 24 * 60
# A running execution with no update for this long is marked stuck on the list; the "no progress" filter offers it
# first.
STUCK_AFTER_MINUTES = 15
STALLED_CHOICES = (15, 30, 60, 240)
# Any well-formed id is accepted (not only the assistants listed): the list may be unavailable, or a shared link
# may name an assistant that has since been deleted.
_ASSISTANT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
# Four-digit years only (strftime writes year 1 as "1", which no date input reads back), with a day to spare at
# the top so the value can still be shown in any time zone.
EARLIEST_DATETIME = datetime(1000, 1, 1, tzinfo=UTC)
LATEST_DATETIME = datetime(9998, 12, 31, 23, 59, 59, tzinfo=UTC)
OUT_OF_RANGE = f"Enter a date between {EARLIEST_DATETIME:%Y-%m-%d} and {LATEST_DATETIME:%Y-%m-%d} (UTC)."
_STATUS_VALUES = {s.value: s for s in FILTERABLE_STATUSES}
_SORT_VALUES = {value for value, _ in SORT_CHOICES}
QUERY_PARAMS = ("status", "assistant", "q", "created_after", "created_before", "created_within_hours", "stalled",
                "sort", "page_size", "page")


def parse_utc_datetime(text: str) -> datetime:
    """An ISO 8601 date or date-time as aware UTC. A value without an offset is in the active zone (the user's
    clock, UTC unless they chose local; the inputs' labels say which): links the panel writes carry an explicit
    offset, so they mean the same instant for everyone. Raises ValueError with the message to show."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError("Enter a valid date/time.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=user_zone())
    try:
        utc = parsed.astimezone(UTC)
    except OverflowError:  # an offset pushes it past year 1 or 9999
        raise ValueError(OUT_OF_RANGE) from None
    if not EARLIEST_DATETIME <= utc <= LATEST_DATETIME:
        raise ValueError(OUT_OF_RANGE)
    return utc


def _int(text: str, low: int, high: int) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError("Enter a whole number.") from None
    if value < low:
        raise ValueError(f"Ensure this value is greater than or equal to {low}.")
    if value > high:
        raise ValueError(f"Ensure this value is less than or equal to {high}.")
    return value


def _choice(text: str, allowed: Iterable[object]) -> str:
    if text not in {str(a) for a in allowed}:
        raise ValueError(f"Select a valid choice. {text[:80]} is not one of the available choices.")
    return text


def _text(text: str) -> str:
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise ValueError(f"Ensure this value has at most {MAX_TEXT} characters (it has {len(text)}).")
    if any(ord(ch) < 32 for ch in text):
        raise ValueError("Search text cannot contain control characters.")
    return text


def _assistant(text: str) -> str:
    if not _ASSISTANT_ID.match(text):
        raise ValueError("Not a valid assistant id.")
    return text


_PARSERS: dict[str, Callable[[str], object]] = {
    "assistant": _assistant,
    "q": _text,
    "created_after": parse_utc_datetime,
    "created_before": parse_utc_datetime,
    "created_within_hours": lambda text: _int(text, 1, MAX_WITHIN_HOURS),
    "stalled": lambda text: _int(text, 1, MAX_STALLED_MINUTES),
    "sort": lambda text: _choice(text, _SORT_VALUES),
    "page_size": lambda text: int(_choice(text.strip(), PAGE_SIZE_CHOICES)),
    "page": lambda text: _int(text, 1, MAX_PAGE),
}


@dataclass(frozen=True, slots=True)
class ExecutionQuery:
    statuses: tuple[ExecutionStatus, ...] = ()
    assistant_id: str | None = None
    text: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    # Relative window for saved views and dashboards ("failed in the last 24 hours"); wins over created_after.
    created_within_hours: int | None = None
    # Running, and no update from Kodexa for this many minutes: stuck, most likely. Relative, like the window above.
    stalled_minutes: int | None = None
    sort: str = DEFAULT_SORT
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    parent_execution_id: str | None = field(default=None)

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> tuple[ExecutionQuery, dict[str, list[str]]]:
        """The query that /executions/ parameters describe, and every error by parameter name.

        `params` is a QueryDict or a mapping of strings or lists of strings. Unknown names are ignored, an empty
        value means no filter, and with errors the query holds the valid parts only."""
        values = _lists(params)
        errors: dict[str, list[str]] = {}
        statuses: dict[ExecutionStatus, None] = {}
        for text in values.get("status", []):
            if text in _STATUS_VALUES:
                statuses[_STATUS_VALUES[text]] = None
            elif text:
                errors.setdefault("status", []).append(
                    f"Select a valid choice. {text[:80]} is not one of the available choices.")
        parsed: dict[str, Any] = {}
        for name, parse in _PARSERS.items():
            texts = [text for text in values.get(name, []) if text.strip()]
            if texts:
                try:
                    parsed[name] = parse(texts[-1])
                except ValueError as exc:
                    errors.setdefault(name, []).append(str(exc))
        after, before = parsed.get("created_after"), parsed.get("created_before")
        if after and before and after >= before:
            errors.setdefault("created_before", []).append("Must be later than “created after”.")
        query = cls(statuses=tuple(statuses), assistant_id=parsed.get("assistant"), text=parsed.get("q") or None,
                    created_after=after, created_before=before,
                    created_within_hours=parsed.get("created_within_hours"), stalled_minutes=parsed.get("stalled"),
                    sort=parsed.get("sort", DEFAULT_SORT),
                    page=parsed.get("page", 1), page_size=parsed.get("page_size", DEFAULT_PAGE_SIZE))
        return query, errors

    def clauses(self, *, now: datetime | None = None) -> list[Clause]:
        """The Kodexa filter clauses; values are quoted by the client's filter builder, never here."""
        clauses: list[Clause] = []
        if self.statuses:
            values = [s.value for s in self.statuses]
            clauses.append(Equals(ExecutionField.STATUS, values[0]) if len(values) == 1
                           else AnyOf(ExecutionField.STATUS, values))
        if self.assistant_id:
            clauses.append(Equals(ExecutionField.ASSISTANT_ID, self.assistant_id))
        if self.parent_execution_id:
            clauses.append(Equals(ExecutionField.PARENT_EXECUTION_ID, self.parent_execution_id))
        after = self.created_after
        if self.created_within_hours:
            after = (now or timezone.now()) - timedelta(hours=self.created_within_hours)
        if after:
            clauses.append(After(ExecutionField.CREATED_ON, after))
        if self.created_before:
            clauses.append(Before(ExecutionField.CREATED_ON, self.created_before))
        if self.stalled_minutes:
            quiet_since = (now or timezone.now()) - timedelta(minutes=self.stalled_minutes)
            if ExecutionStatus.RUNNING not in self.statuses:
                clauses.append(Equals(ExecutionField.STATUS, ExecutionStatus.RUNNING.value))
            clauses.append(Before(ExecutionField.UPDATED_ON, quiet_since))
        return clauses

    @property
    def is_filtered(self) -> bool:
        return bool(self.statuses or self.assistant_id or self.text or self.created_after or self.created_before
                    or self.created_within_hours or self.stalled_minutes)

    def to_params(self, *, include_page: bool = True) -> list[tuple[str, str]]:
        """URL query pairs that reproduce this query on /executions/ (shareable links)."""
        params: list[tuple[str, str]] = [("status", s.value) for s in self.statuses]
        if self.assistant_id:
            params.append(("assistant", self.assistant_id))
        if self.text:
            params.append(("q", self.text))
        if self.created_after:
            params.append(("created_after", _local_input(self.created_after)))
        if self.created_before:
            params.append(("created_before", _local_input(self.created_before)))
        if self.created_within_hours:
            params.append(("created_within_hours", str(self.created_within_hours)))
        if self.stalled_minutes:
            params.append(("stalled", str(self.stalled_minutes)))
        if self.sort != DEFAULT_SORT:
            params.append(("sort", self.sort))
        if self.page_size != DEFAULT_PAGE_SIZE:
            params.append(("page_size", str(self.page_size)))
        if include_page and self.page != 1:
            params.append(("page", str(self.page)))
        return params

    def querystring(self, **overrides: object) -> str:
        query = replace(self, **overrides) if overrides else self
        return urlencode(query.to_params())

    def to_view(self) -> dict[str, object]:
        """The JSON form used by saved views and dashboard files (docs/dashboards.md)."""
        view: dict[str, object] = {}
        if self.statuses:
            view["status"] = [s.value for s in self.statuses]
        if self.assistant_id:
            view["assistant"] = self.assistant_id
        if self.text:
            view["q"] = self.text
        if self.created_after:
            view["created_after"] = self.created_after.isoformat()
        if self.created_before:
            view["created_before"] = self.created_before.isoformat()
        if self.created_within_hours:
            view["created_within_hours"] = self.created_within_hours
        if self.stalled_minutes:
            view["stalled"] = self.stalled_minutes
        if self.sort != DEFAULT_SORT:
            view["sort"] = self.sort
        if self.page_size != DEFAULT_PAGE_SIZE:
            view["page_size"] = self.page_size
        return view


def _lists(params: Mapping[str, object]) -> dict[str, list[str]]:
    if hasattr(params, "lists"):
        return {key: [str(v) for v in values] for key, values in params.lists()}
    return {key: [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
            for key, value in params.items()}


def _local_input(value: datetime) -> str:
    """A date in a link: UTC to the minute, with its offset ("2026-11-28T15:00Z"), so a link shared between people
    on different clocks means the same instant. The inputs show it in the viewer's zone (ZonedDateTimeInput)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
