"""ExecutionQuery: the typed form of the /executions/ filters, shared by the list, saved views and dashboards."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from django.utils import timezone

from executions.kodexa import After, AnyOf, Before, Clause, Equals, ExecutionField, ExecutionStatus

# Kodexa ids are UUIDs; anything else in an execution URL is a 404 with no upstream call.
EXECUTION_ID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_EXECUTION_ID = re.compile(rf"^{EXECUTION_ID_PATTERN}$")

# (value in URLs and saved views, label). The value is what Kodexa's `sort` parameter takes.
SORT_CHOICES: tuple[tuple[str, str], ...] = (
    ("createdOn,desc", "Newest first"),
    ("createdOn,asc", "Oldest first"),
    ("startDate,desc", "Recently started"),
    ("updatedOn,desc", "Recently updated"),
    ("priority,desc", "Highest priority"),
    ("status,asc", "Status"),
)
DEFAULT_SORT = SORT_CHOICES[0][0]
PAGE_SIZE_CHOICES = (20, 50, 100, 200)
DEFAULT_PAGE_SIZE = 20
FILTERABLE_STATUSES = tuple(s for s in ExecutionStatus if s is not ExecutionStatus.UNKNOWN)


def is_execution_id(value: str) -> bool:
    return bool(_EXECUTION_ID.match(value.strip()))


@dataclass(frozen=True, slots=True)
class ExecutionQuery:
    statuses: tuple[ExecutionStatus, ...] = ()
    assistant_id: str | None = None
    text: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    # Relative window for saved views and dashboards ("failed in the last 24 hours"); wins over created_after.
    created_within_hours: int | None = None
    sort: str = DEFAULT_SORT
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    parent_execution_id: str | None = field(default=None)

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
        return clauses

    @property
    def sort_param(self) -> str:
        return self.sort

    @property
    def is_filtered(self) -> bool:
        return bool(self.statuses or self.assistant_id or self.text or self.created_after or self.created_before
                    or self.created_within_hours)

    def with_page(self, page: int) -> ExecutionQuery:
        return replace(self, page=page)

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
        """The JSON form used by saved views and dashboard files (DESIGN.md section 7)."""
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
        if self.sort != DEFAULT_SORT:
            view["sort"] = self.sort
        if self.page_size != DEFAULT_PAGE_SIZE:
            view["page_size"] = self.page_size
        return view


def _local_input(value: datetime) -> str:
    """The value a `datetime-local` input shows (UTC, minutes)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
