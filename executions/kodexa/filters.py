"""The `filter` query parameter, built from typed clauses so user text can never change its structure.

Field names come only from the `ExecutionField` allowlist (an unknown field is an HTTP 500 upstream), and
every value is rendered as exactly one single-quoted token.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum, StrEnum

from .dates import format_datetime

MAX_VALUE_CHARS = 16_384
MAX_ANY_OF = 100
# C0 controls and DEL: CR/LF could split the expression in a naive parser, NUL truncates it.
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]")


class FilterDialect(StrEnum):
    SPRING = "spring"  # `status:'FAILED'`, what Kodexa's own tools send
    EQ = "eq"  # `status eq 'FAILED'`, as in the v2 executions docs


class ExecutionField(StrEnum):
    STATUS = "status"
    ASSISTANT_ID = "assistantId"
    DOCUMENT_FAMILY_ID = "documentFamilyId"
    ORGANIZATION_ID = "organizationId"
    PARENT_EXECUTION_ID = "parentExecutionId"
    CREATED_ON = "createdOn"
    UPDATED_ON = "updatedOn"
    START_DATE = "startDate"
    END_DATE = "endDate"
    PRIORITY = "priority"
    DESCRIPTION = "description"
    ID = "id"


class UnsupportedFilter(ValueError):
    """The clause cannot be expressed in the configured dialect."""


Scalar = str | int | datetime | Enum


def quote(value: str) -> str:
    """One single-quoted token: backslash and quote escaped, control characters refused."""
    if not isinstance(value, str):
        raise TypeError("filter values must be strings")
    if len(value) > MAX_VALUE_CHARS:
        raise ValueError("filter value too long")
    if _FORBIDDEN.search(value):
        raise ValueError("filter value contains control characters")
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _render_value(value: Scalar) -> str:
    # bool is an int subclass; the API has no boolean execution fields we filter on, so refuse it.
    if isinstance(value, bool):
        raise TypeError("boolean filter values are not supported")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return quote(format_datetime(value))
    if isinstance(value, Enum):
        return quote(str(value.value))
    return quote(value)


def _field(field: ExecutionField | str) -> ExecutionField:
    # ExecutionField("x") raises ValueError for anything off the allowlist.
    return field if isinstance(field, ExecutionField) else ExecutionField(field)


_OPS = {
    FilterDialect.SPRING: {"eq": ":", "gt": ">", "lt": "<", "like": "~"},
    FilterDialect.EQ: {"eq": " eq ", "gt": " gt ", "lt": " lt ", "like": None},
}


def _compare(field: ExecutionField, op: str, value: str, dialect: FilterDialect) -> str:
    symbol = _OPS[FilterDialect(dialect)][op]
    if symbol is None:
        raise UnsupportedFilter(f"'{op}' is not supported by the {dialect} filter dialect")
    return f"{field.value}{symbol}{value}"


@dataclass(frozen=True, slots=True)
class Equals:
    field: ExecutionField
    value: Scalar

    def render(self, dialect: FilterDialect) -> str:
        return _compare(_field(self.field), "eq", _render_value(self.value), dialect)


@dataclass(frozen=True, slots=True)
class AnyOf:
    field: ExecutionField
    values: Sequence[Scalar]

    def render(self, dialect: FilterDialect) -> str:
        field = _field(self.field)
        values = list(dict.fromkeys(self.values))  # de-duplicate, keep order
        if not values:
            raise ValueError("AnyOf needs at least one value")
        if len(values) > MAX_ANY_OF:
            raise ValueError("too many values in AnyOf")
        parts = [_compare(field, "eq", _render_value(v), dialect) for v in values]
        return parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"


@dataclass(frozen=True, slots=True)
class After:
    field: ExecutionField
    value: datetime

    def render(self, dialect: FilterDialect) -> str:
        if not isinstance(self.value, datetime):
            raise TypeError("After needs a datetime")
        return _compare(_field(self.field), "gt", _render_value(self.value), dialect)


@dataclass(frozen=True, slots=True)
class Before:
    field: ExecutionField
    value: datetime

    def render(self, dialect: FilterDialect) -> str:
        if not isinstance(self.value, datetime):
            raise TypeError("Before needs a datetime")
        return _compare(_field(self.field), "lt", _render_value(self.value), dialect)


@dataclass(frozen=True, slots=True)
class Contains:
    field: ExecutionField
    text: str

    def render(self, dialect: FilterDialect) -> str:
        # `*` is the wildcard; stripping it from user text keeps "contains" meaning "contains".
        text = self.text.replace("*", "").strip() if isinstance(self.text, str) else ""
        if not text:
            raise ValueError("Contains needs some text")
        return _compare(_field(self.field), "like", quote(f"*{text}*"), dialect)


Clause = Equals | AnyOf | After | Before | Contains


def build_filter(
    clauses: Iterable[Clause], dialect: FilterDialect | str = FilterDialect.SPRING
) -> str | None:
    """The clauses joined with `and`, or None when there are none."""
    dialect = FilterDialect(dialect)
    rendered = [clause.render(dialect) for clause in clauses]
    return " and ".join(rendered) if rendered else None
