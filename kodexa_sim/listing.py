"""Paging, free-text query, filter and sort for list endpoints, answered in the Spring Page envelope."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .filters import (
    FilterSyntaxError,
    Schema,
    SortKey,
    UnknownFieldError,
    compile_filters,
    parse_sort,
    sort_records,
)
from .problems import ApiError

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 1000
Query = Mapping[str, Sequence[str]]


def page_params(query: Query) -> tuple[int, int]:
    """``page`` is 1-based; ``pageSize`` above the maximum is clamped, below 1 is an error."""
    page = _positive_int(query, "page", 1)
    size = min(_positive_int(query, "pageSize", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
    return page, size


def _positive_int(query: Query, name: str, default: int) -> int:
    values = query.get(name)
    if not values or values[-1] == "":
        return default
    try:
        value = int(values[-1])
    except ValueError:
        raise ApiError(400, f"Invalid request parameters: {name} must be an integer") from None
    if value < 1:
        raise ApiError(400, f"Invalid request parameters: {name} must be >= 1")
    return value


def text_matcher(query: Query, fields: Sequence[str]) -> Callable[[Mapping[str, Any]], bool] | None:
    """Free text: ``*`` or blank means everything, else a case-insensitive substring of any field."""
    text = (query.get("query") or [""])[-1].strip()
    if text in ("", "*"):
        return None
    needle = text.lower()
    return lambda record: any(needle in str(record.get(field) or "").lower() for field in fields)


def list_page(
    records: Iterable[Mapping[str, Any]],
    query: Query,
    *,
    schema: Schema,
    text_fields: Sequence[str],
    default_sort: Sequence[SortKey],
) -> dict[str, Any]:
    page, size = page_params(query)
    try:
        predicate = compile_filters(query.get("filter") or [], schema)
        sort_keys = parse_sort(query.get("sort") or [], schema) or list(default_sort)
    except FilterSyntaxError as error:
        raise ApiError(400, f"Invalid filter or sort: {error}") from None
    except UnknownFieldError as error:
        # The real API compiles filters to SQL and fails in the database (kdx CLI notes).
        raise ApiError(
            500, f'failed to count records: ERROR: column "{error.field}" does not exist (SQLSTATE 42703)'
        ) from None
    matches_text = text_matcher(query, text_fields)
    selected = [
        record
        for record in records
        if (matches_text is None or matches_text(record)) and (predicate is None or predicate(record))
    ]
    ordered = sort_records(selected, sort_keys, schema)
    return page_envelope(ordered, page=page, size=size)


def page_envelope(ordered: Sequence[Any], *, page: int, size: int, sorted_: bool = True) -> dict[str, Any]:
    """Spring Data's Page JSON. ``number`` is 0-based (legacy convention) while ``page`` is 1-based."""
    total = len(ordered)
    offset = (page - 1) * size
    content = list(ordered[offset : offset + size])
    total_pages = math.ceil(total / size) if total else 0
    number = page - 1
    sort_info = {"empty": not sorted_, "sorted": sorted_, "unsorted": not sorted_}
    return {
        "content": content,
        "first": number == 0,
        "last": number + 1 >= total_pages,
        "number": number,
        "numberOfElements": len(content),
        "size": size,
        "totalElements": total,
        "totalPages": total_pages,
        "empty": not content,
        "sort": sort_info,
        "pageable": {
            "offset": offset,
            "pageNumber": number,
            "pageSize": size,
            "paged": True,
            "unpaged": False,
            "sort": dict(sort_info),
        },
    }
