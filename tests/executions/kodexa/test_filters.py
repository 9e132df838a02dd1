from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from executions.kodexa import (
    After,
    AnyOf,
    Before,
    Contains,
    Equals,
    ExecutionField,
    ExecutionStatus,
    FilterDialect,
    UnsupportedFilter,
    build_filter,
)

F = ExecutionField
SPRING, EQ = FilterDialect.SPRING, FilterDialect.EQ

HOSTILE = [
    "' or '1'='1",
    "\\' or 1=1",
    "') or (status:'X",
    "x' and status:'RUNNING",
    "a\\",
    "\\",
    "\\\\'",
    "'",
    "''",
    "status eq 'FAILED'",
    " and ",
    "(",
    ")) or ((",
    "ünïcödé 😀 ' \\ 漢字",
    "\u2028line sep\u2029",
    "*",
    "%27%20or%201%3D1",
    ("'\\" * 2500) + "x" * 5000,  # 10 kB
]


# --- a tiny reference tokenizer/parser, independent of the implementation -------------------------


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == " ":
            i += 1
        elif ch in "()":
            tokens.append((ch, ch))
            i += 1
        elif ch == "'":
            i += 1
            out = []
            while True:
                if i >= len(text):
                    raise AssertionError("unterminated string")
                if text[i] == "\\":
                    out.append(text[i + 1])
                    i += 2
                elif text[i] == "'":
                    i += 1
                    break
                else:
                    out.append(text[i])
                    i += 1
            tokens.append(("str", "".join(out)))
        elif ch in ":<>~!":
            tokens.append(("op", ch))
            i += 1
        elif ch.isalpha():
            j = i
            while j < len(text) and (text[j].isalnum() or text[j] == "."):
                j += 1
            word = text[i:j]
            kind = "op" if word in ("eq", "gt", "lt", "like") else "kw" if word in ("and", "or") else "id"
            tokens.append((kind, word))
            i = j
        elif ch.isdigit():
            j = i
            while j < len(text) and text[j].isdigit():
                j += 1
            tokens.append(("num", text[i:j]))
            i = j
        else:
            raise AssertionError(f"unexpected character {ch!r} at {i}")
    return tokens


def comparisons(text: str) -> list[tuple[str, str, str]]:
    """Parse `cmp ((and|or) cmp)*` with parentheses; return the (field, op, value) triples."""
    tokens = tokenize(text)
    found: list[tuple[str, str, str]] = []
    pos = 0

    def term() -> None:
        nonlocal pos
        if tokens[pos][0] == "(":
            pos += 1
            expr()
            assert tokens[pos][0] == ")", "unbalanced parentheses"
            pos += 1
            return
        (k1, field), (k2, op), (k3, value) = tokens[pos : pos + 3]
        assert (k1, k2) == ("id", "op") and k3 in ("str", "num"), tokens[pos : pos + 3]
        found.append((field, op, value))
        pos += 3

    def expr() -> None:
        nonlocal pos
        term()
        while pos < len(tokens) and tokens[pos][0] == "kw":
            pos += 1
            term()

    expr()
    assert pos == len(tokens), "trailing tokens"
    return found


# --- rendering --------------------------------------------------------------------------------------


def test_spring_dialect_rendering() -> None:
    rendered = build_filter(
        [
            AnyOf(F.STATUS, [ExecutionStatus.FAILED, "RUNNING"]),
            Equals(F.ASSISTANT_ID, "a1"),
            After(F.CREATED_ON, datetime(2026, 1, 1, tzinfo=UTC)),
            Before(F.CREATED_ON, datetime(2026, 1, 2, 1, tzinfo=timezone(timedelta(hours=1)))),
            Contains(F.DESCRIPTION, "invoice"),
            Equals(F.PRIORITY, 5),
        ],
        SPRING,
    )
    assert rendered == (
        "(status:'FAILED' or status:'RUNNING') and assistantId:'a1' and createdOn>'2026-01-01T00:00:00Z'"
        " and createdOn<'2026-01-02T00:00:00Z' and description~'*invoice*' and priority:5"
    )


def test_eq_dialect_rendering() -> None:
    rendered = build_filter(
        [
            AnyOf(F.STATUS, ["FAILED", "RUNNING"]),
            Equals(F.DOCUMENT_FAMILY_ID, "d1"),
            After(F.START_DATE, datetime(2026, 1, 1, tzinfo=UTC)),
            Before(F.END_DATE, datetime(2026, 2, 1)),
        ],
        EQ,
    )
    assert rendered == (
        "(status eq 'FAILED' or status eq 'RUNNING') and documentFamilyId eq 'd1'"
        " and startDate gt '2026-01-01T00:00:00Z' and endDate lt '2026-02-01T00:00:00Z'"
    )
    with pytest.raises(UnsupportedFilter):
        build_filter([Contains(F.DESCRIPTION, "x")], EQ)


def test_empty_and_single_value() -> None:
    assert build_filter([], SPRING) is None
    assert build_filter([AnyOf(F.STATUS, ["FAILED", "FAILED"])], "spring") == "status:'FAILED'"
    with pytest.raises(ValueError):
        build_filter([AnyOf(F.STATUS, [])], SPRING)
    with pytest.raises(ValueError):
        build_filter([AnyOf(F.STATUS, ["x"] * 0 + [str(i) for i in range(101)])], SPRING)


def test_fields_are_allowlisted() -> None:
    with pytest.raises(ValueError):
        build_filter([Equals("status) or (id", "x")], SPRING)  # type: ignore[arg-type]
    assert build_filter([Equals("status", "x")], SPRING) == "status:'x'"  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        build_filter([Equals(F.STATUS, "x")], "sql")


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\x00b", "\x1b[31m", "tab\there", "\x7f"])
def test_control_characters_are_rejected(bad: str) -> None:
    for dialect in FilterDialect:
        with pytest.raises(ValueError):
            build_filter([Equals(F.DESCRIPTION, bad)], dialect)


def test_bad_value_types_are_rejected() -> None:
    with pytest.raises(TypeError):
        build_filter([Equals(F.PRIORITY, True)], SPRING)
    with pytest.raises(TypeError):
        build_filter([After(F.CREATED_ON, "2026-01-01")], SPRING)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        build_filter([Contains(F.DESCRIPTION, "***")], SPRING)
    with pytest.raises(ValueError):
        build_filter([Equals(F.DESCRIPTION, "x" * 20_000)], SPRING)


# --- injection properties ---------------------------------------------------------------------------


def _fuzz_strings(n: int) -> list[str]:
    rng = random.Random(1234)
    alphabet = "'\\() :*~<>!=andoreq" + "AZaz09" + "é😀漢"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(n)]


@pytest.mark.parametrize("dialect", list(FilterDialect))
def test_hostile_values_round_trip_as_one_token(dialect: FilterDialect) -> None:
    op = ":" if dialect is SPRING else "eq"
    for value in HOSTILE + _fuzz_strings(300):
        rendered = build_filter([Equals(F.DESCRIPTION, value), Equals(F.STATUS, "FAILED")], dialect)
        assert rendered is not None
        assert comparisons(rendered) == [("description", op, value), ("status", op, "FAILED")], value

        any_of = build_filter([AnyOf(F.ASSISTANT_ID, [value, "safe"])], dialect)
        assert any_of is not None
        assert comparisons(any_of) == [("assistantId", op, value), ("assistantId", op, "safe")]


def test_hostile_contains_text_stays_one_token() -> None:
    for value in HOSTILE + _fuzz_strings(300):
        expected = value.replace("*", "").strip()
        if not expected:
            continue
        rendered = build_filter([Contains(F.DESCRIPTION, value), Equals(F.STATUS, "X")], SPRING)
        assert rendered is not None
        assert comparisons(rendered) == [("description", "~", f"*{expected}*"), ("status", ":", "X")]


def test_reference_tokenizer_catches_a_naive_builder() -> None:
    # Guard against a tokenizer that would accept anything: unescaped quoting must be detected.
    naive = "description:'" + "' or '1'='1" + "'"
    with pytest.raises(AssertionError):
        assert comparisons(naive) == [("description", ":", "' or '1'='1")]
