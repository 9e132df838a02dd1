"""Paging, free-text query, filter and sort for list endpoints, answered in the Spring Page envelope."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from .filters import (
    DialectError,
    FilterSyntaxError,
    Schema,
    SortFormError,
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


def page_params(query: Query, page_base: int = 1) -> tuple[int, int]:
    """The zero-based page index and the page size.

    ``page`` counts from ``page_base`` (1 by default, 0 on a tenant that counts from zero); below it is
    an error. ``pageSize`` above the maximum is clamped, below 1 is an error.
    """
    index = _int_at_least(query, "page", page_base, page_base) - page_base
    size = min(_int_at_least(query, "pageSize", DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE)
    return index, size


def _int_at_least(query: Query, name: str, default: int, minimum: int) -> int:
    values = query.get(name)
    if not values or values[-1] == "":
        return default
    try:
        value = int(values[-1])
    except ValueError:
        message = "must be an integer"
        raise ApiError(400, f"Invalid request parameters: {name} {message}", errors={name: message}) from None
    if value < minimum:
        message = f"must be >= {minimum}"
        raise ApiError(400, f"Invalid request parameters: {name} {message}", errors={name: message})
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
    page_base: int = 1,
    filter_dialect: str = "any",
    sort_separator: str = "any",
    query_search: bool = True,
    unfilterable: Collection[str] = (),
) -> dict[str, Any]:
    """One page of ``records`` as the envelope; the keywords after ``default_sort`` are the strict modes.

    ``query_search=False`` ignores ``query``; ``unfilterable`` fields are left out of what filter and sort
    may name, so they fail as a field that is not a column does (the default order still uses them).
    """
    index, size = page_params(query, page_base)
    queryable = {name: kind for name, kind in schema.items() if name not in unfilterable}
    try:
        predicate = compile_filters(query.get("filter") or [], queryable, filter_dialect)
    except DialectError as error:
        raise ApiError(400, f"filter: {error}", errors={"filter": str(error)}) from None
    except FilterSyntaxError as error:
        raise ApiError(400, f"Invalid filter or sort: {error}", errors={"filter": str(error)}) from None
    except UnknownFieldError as error:
        raise _no_such_column(error) from None
    try:
        sort_keys = parse_sort(query.get("sort") or [], queryable, sort_separator) or list(default_sort)
    except SortFormError as error:
        raise ApiError(400, f"sort: {error}", errors={"sort": str(error)}) from None
    except FilterSyntaxError as error:
        raise ApiError(400, f"Invalid filter or sort: {error}", errors={"sort": str(error)}) from None
    except UnknownFieldError as error:
        raise _no_such_column(error) from None
    matches_text = text_matcher(query, text_fields) if query_search else None
    selected = [
        record
        for record in records
        if (matches_text is None or matches_text(record)) and (predicate is None or predicate(record))
    ]
    ordered = sort_records(selected, sort_keys, schema)
    return page_envelope(ordered, index=index, size=size)


def _no_such_column(error: UnknownFieldError) -> ApiError:
    # The real API compiles filters to SQL and fails in the database (kdx CLI notes): a server error
    # that names no parameter.
    return ApiError(500, f'failed to count records: ERROR: column "{error.field}" does not exist (SQLSTATE 42703)')


def page_envelope(ordered: Sequence[Any], *, index: int, size: int, sorted_: bool = True) -> dict[str, Any]:
    """Spring Data's Page JSON for the zero-based page ``index``.

    ``number`` is that index: on a 1-based tenant it is ``page - 1`` (the legacy convention), on a
    0-based one it equals ``page``. A page past the end is empty with ``last: true``.
    """
    total = len(ordered)
    offset = index * size
    content = list(ordered[offset : offset + size])
    total_pages = math.ceil(total / size) if total else 0
    sort_info = {"empty": not sorted_, "sorted": sorted_, "unsorted": not sorted_}
    return {
        "content": content,
        "first": index == 0,
        "last": index + 1 >= total_pages,
        "number": index,
        "numberOfElements": len(content),
        "size": size,
        "totalElements": total,
        "totalPages": total_pages,
        "empty": not content,
        "sort": sort_info,
        "pageable": {
            "offset": offset,
            "pageNumber": index,
            "pageSize": size,
            "paged": True,
            "unpaged": False,
            "sort": dict(sort_info),
        },
    }
