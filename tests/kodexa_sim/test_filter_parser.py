"""Unit tests of the filter/sort language (no server)."""

from __future__ import annotations

import pytest

from kodexa_sim.filters import (
    BoolOp,
    Comparison,
    FilterSyntaxError,
    Not,
    UnknownFieldError,
    compile_filters,
    parse_filter,
    parse_sort,
    sort_records,
    tokenize,
)

SCHEMA = {"id": "string", "status": "string", "description": "string", "priority": "int",
          "createdOn": "datetime", "active": "bool"}
ROWS = [
    {"id": "a", "status": "FAILED", "description": "Invoice O'Brien", "priority": 5,
     "createdOn": "2026-01-02T10:00:00Z"},
    {"id": "b", "status": "RUNNING", "description": "contract", "priority": 1, "createdOn": "2026-01-01T00:00:00Z"},
    {"id": "c", "status": "SUCCEEDED", "description": None, "priority": None, "createdOn": "2026-01-03T00:00:00Z"},
    {"id": "d", "status": "FAILED", "description": "path\\to\\invoice", "priority": 9, "createdOn": None},
]


def ids(expr: str | list[str]) -> list[str]:
    predicate = compile_filters([expr] if isinstance(expr, str) else expr, SCHEMA)
    return [row["id"] for row in ROWS if predicate is None or predicate(row)]


def test_tokenizer_reads_escapes_and_operators() -> None:
    tokens = tokenize(r"description:'O\'Brien \\ x' and priority>=5")
    assert [t.kind for t in tokens] == ["word", "op", "string", "keyword", "word", "op", "number", "end"]
    assert tokens[2].value == "O'Brien \\ x"
    assert tokens[5].value == ">="


@pytest.mark.parametrize("expr", ["status:'FAILED'", "status : 'FAILED'", "status eq 'FAILED'",
                                  "status=='FAILED'", "STATUS EQ 'FAILED'".replace("STATUS", "status")])
def test_equality_dialects(expr: str) -> None:
    assert ids(expr) == ["a", "d"]


def test_inequality_and_null_semantics() -> None:
    assert ids("status!'FAILED'") == ["b", "c"]
    assert ids("status ne 'FAILED'") == ids("status != 'FAILED'") == ["b", "c"]
    assert ids("priority > 1") == ["a", "d"]  # null priority is never compared
    assert ids("description:null") == ["c"]
    assert ids("description!null") == ["a", "b", "d"]
    # Three-valued logic: not(unknown) is unknown, so the null description stays out.
    assert ids("not(description~'*invoice*')") == ["b"]


def test_like_is_case_insensitive_with_wildcards() -> None:
    assert ids("description~'*INVOICE*'") == ["a", "d"]
    assert ids("description~'invoice*'") == ["a"]
    assert ids("description~'contract'") == ["b"]
    assert ids(r"description~'*\\to\\*'") == ["d"]


def test_and_binds_tighter_than_or_and_parentheses_override() -> None:
    assert ids("status:'RUNNING' or status:'FAILED' and priority gt 6") == ["b", "d"]
    assert ids("(status:'RUNNING' or status:'FAILED') and priority gt 6") == ["d"]
    assert ids("not (status:'FAILED' or status:'RUNNING')") == ["c"]


def test_in_list_and_repeated_filters() -> None:
    assert ids("status in ['RUNNING', 'SUCCEEDED']") == ["b", "c"]
    assert ids("status in ('RUNNING')") == ["b"]
    assert ids(["status:'FAILED'", "priority < 6"]) == ["a"]


def test_dates_compare_as_datetimes() -> None:
    assert ids("createdOn > '2026-01-02'") == ["a", "c"]
    assert ids("createdOn >= '2026-01-02T12:00:00+02:00'") == ["a", "c"]
    assert ids("createdOn < '2026-01-01T00:00:00.0010001Z'") == ["b"]
    assert ids("createdOn le '2026-01-01'") == ["b"]


def test_injection_stays_inside_the_literal() -> None:
    assert ids(r"description:'\' or \'1\'=\'1'") == []
    with pytest.raises(FilterSyntaxError):
        parse_filter("description:'' or '1'='1'")


def test_tree_shape() -> None:
    node = parse_filter("a:1 or b:2 and not(c:3)")
    assert isinstance(node, BoolOp) and node.op == "or"
    assert node.items[0] == Comparison("a", "=", 1)
    inner = node.items[1]
    assert isinstance(inner, BoolOp) and inner.op == "and" and isinstance(inner.items[1], Not)
    assert parse_filter("   ") is None


@pytest.mark.parametrize("expr", ["status:'x", "status 'x'", "status:", "(status:'x'", "status:'x')",
                                  "status:RUNNING", "status:'a' and", "status = 'x'", "status:\"x\"", "x in 'a'"])
def test_syntax_errors(expr: str) -> None:
    with pytest.raises(FilterSyntaxError):
        compile_filters([expr], SCHEMA)


def test_unknown_field_and_bad_values() -> None:
    with pytest.raises(UnknownFieldError) as error:
        compile_filters(["nosuch:'x'"], SCHEMA)
    assert error.value.field == "nosuch"
    for expr in ("priority:'high'", "createdOn > 'yesterday'", "priority~'5'", "priority > null"):
        with pytest.raises(FilterSyntaxError):
            compile_filters([expr], SCHEMA)


def test_bool_field() -> None:
    predicate = compile_filters(["active:true"], SCHEMA)
    assert predicate is not None and predicate({"active": True}) and not predicate({"active": False})


def test_sort_parsing_both_syntaxes() -> None:
    assert parse_sort(["priority,desc", "id:asc;status"], SCHEMA) == [("priority", True), ("id", False),
                                                                       ("status", False)]
    assert parse_sort(["", " ; "], SCHEMA) == []
    with pytest.raises(FilterSyntaxError):
        parse_sort(["priority,sideways"], SCHEMA)
    with pytest.raises(UnknownFieldError):
        parse_sort(["nosuch:desc"], SCHEMA)


def test_sort_puts_nulls_like_postgres() -> None:
    ascending = [row["id"] for row in sort_records(ROWS, [("priority", False)], SCHEMA)]
    descending = [row["id"] for row in sort_records(ROWS, [("priority", True)], SCHEMA)]
    assert ascending == ["b", "a", "d", "c"]
    assert descending == ["c", "d", "a", "b"]
    by_status = [row["id"] for row in sort_records(ROWS, [("status", False), ("createdOn", True)], SCHEMA)]
    assert by_status == ["d", "a", "b", "c"]


def test_springfilter_greater_or_equal_colon_forms() -> None:
    assert ids("priority>:5") == ids("priority >= 5") == ["a", "d"]
    assert ids("priority<:5") == ids("priority le 5") == ["a", "b"]


def test_a_misplaced_string_is_named_where_it_starts() -> None:
    with pytest.raises(FilterSyntaxError, match="unexpected 'B' at position 11"):
        parse_filter("status:'A' 'B'")
