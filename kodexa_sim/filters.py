"""The ``filter`` and ``sort`` languages of the list endpoints.

Filters accept both dialects seen in Kodexa's sources, freely mixed:

* SpringFilter: ``status:'FAILED'``, ``status!'X'``, ``description~'*invoice*'``, ``>``, ``<``, ``>:``, ``<:``,
  ``>=``, ``<=``
* eq / RSQL-ish: ``status eq 'FAILED'``, ``ne``, ``gt``, ``lt``, ``ge``, ``le``, ``==``, ``!=``

A ``dialect`` of ``spring`` or ``eq`` refuses the other dialect's comparison operators (``DialectError``).

combined with ``and`` (binds tighter), ``or``, ``not(...)`` and parentheses; ``field in ['A', 'B']`` too.
A real tokenizer and recursive-descent parser, so quoting and escapes (``\\'``, ``\\\\``) behave
predictably and an injection attempt such as ``' or '1'='1`` stays inside its string literal.

Errors mimic the real API: bad syntax is a client error (400), while an unknown field reaches the
database there and fails with a 500 (``UnknownFieldError``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .timeutil import parse_datetime

FieldType = Literal["string", "int", "datetime", "bool"]
Schema = Mapping[str, FieldType]
Record = Mapping[str, Any]
Predicate = Callable[[Record], bool]


class FilterSyntaxError(ValueError):
    """The expression cannot be parsed or a value has the wrong type (HTTP 400)."""


class DialectError(FilterSyntaxError):
    """A comparison operator of the dialect this server does not read (HTTP 400)."""


class UnknownFieldError(LookupError):
    """A field the backing table does not have (HTTP 500 on the real API)."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


# ---------------------------------------------------------------- tokens


@dataclass(frozen=True)
class Token:
    kind: Literal["string", "number", "word", "keyword", "op", "punct", "end"]
    value: Any
    pos: int
    text: str = ""  # as written: ``value`` is normalised (":" and "==" are both "="), the dialect check needs this


_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null", "eq", "ne", "gt", "lt", "ge", "le"}
_WORD_OPS = {"eq": "=", "ne": "!=", "gt": ">", "lt": "<", "ge": ">=", "le": "<="}
_SYMBOL_OPS = {
    ":": "=",
    "==": "=",
    "!": "!=",
    "!=": "!=",
    "~": "like",
    ">": ">",
    "<": "<",
    ">:": ">=",
    "<:": "<=",
    ">=": ">=",
    "<=": "<=",
}
# Which comparison operators belong to which dialect, by how they are written. The tokenizer reads the
# longest symbol first, so "!=" is never "!" followed by "=", and ">:" never ">" followed by ":".
# and/or/not, parentheses, in and null belong to both.
SPRING_OPERATORS = frozenset({":", "!", "~", ">", "<", ">:", "<:", ">=", "<="})
EQ_OPERATORS = frozenset({"eq", "ne", "gt", "lt", "ge", "le", "==", "!="})
DIALECTS = ("any", "spring", "eq")
_DIALECT_HINTS = {
    "spring": "this server reads SpringFilter: field:'value'",
    "eq": "this server reads the eq dialect: field eq 'value'",
}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif char == "'":
            value, end = _read_string(text, i)
            tokens.append(Token("string", value, i, text[i:end]))
            i = end
        elif text[i : i + 2] in _SYMBOL_OPS:
            tokens.append(Token("op", _SYMBOL_OPS[text[i : i + 2]], i, text[i : i + 2]))
            i += 2
        elif char in _SYMBOL_OPS:
            tokens.append(Token("op", _SYMBOL_OPS[char], i, char))
            i += 1
        elif char in "()[],":
            tokens.append(Token("punct", char, i, char))
            i += 1
        elif match := _NUMBER.match(text, i):
            number = match.group()
            tokens.append(Token("number", float(number) if "." in number else int(number), i, number))
            i = match.end()
        elif match := _WORD.match(text, i):
            word = match.group()
            if word.lower() in _KEYWORDS:
                tokens.append(Token("keyword", word.lower(), i, word))
            else:
                tokens.append(Token("word", word, i, word))
            i = match.end()
        else:
            raise FilterSyntaxError(f"unexpected character {char!r} at position {i}")
    tokens.append(Token("end", None, n))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    """Read a single-quoted literal; a backslash escapes the next character (``\\'``, ``\\\\``)."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\":
            if i + 1 >= len(text):
                break
            out.append(text[i + 1])
            i += 2
        elif char == "'":
            return "".join(out), i + 1
        else:
            out.append(char)
            i += 1
    raise FilterSyntaxError(f"unterminated string starting at position {start}")


# ---------------------------------------------------------------- syntax tree


@dataclass(frozen=True)
class Comparison:
    field: str
    op: str  # one of = != like > < >= <= in
    value: Any  # a scalar, or a tuple of scalars for "in"


@dataclass(frozen=True)
class BoolOp:
    op: Literal["and", "or"]
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Comparison | BoolOp | Not


class _Parser:
    def __init__(self, text: str, dialect: str = "any") -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"dialect must be one of {DIALECTS}")
        self.tokens = tokenize(text)
        self.index = 0
        self.dialect = dialect

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at(self, kind: str, value: Any = None) -> bool:
        token = self.current
        return token.kind == kind and (value is None or token.value == value)

    def expect(self, kind: str, value: Any = None) -> Token:
        if not self.at(kind, value):
            wanted = repr(value) if value is not None else kind
            raise FilterSyntaxError(f"expected {wanted} at position {self.current.pos}")
        return self.take()

    def parse(self) -> Node:
        node = self.parse_or()
        if not self.at("end"):
            raise FilterSyntaxError(f"unexpected {self.current.value!r} at position {self.current.pos}")
        return node

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while self.at("keyword", "or"):
            self.take()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def parse_and(self) -> Node:
        items = [self.parse_unary()]
        while self.at("keyword", "and"):
            self.take()
            items.append(self.parse_unary())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def parse_unary(self) -> Node:
        if self.at("keyword", "not"):
            self.take()
            return Not(self.parse_unary())
        if self.at("punct", "("):
            self.take()
            node = self.parse_or()
            self.expect("punct", ")")
            return node
        return self.parse_comparison()

    def parse_comparison(self) -> Comparison:
        field = self.expect("word").value
        if self.at("keyword", "in"):
            self.take()
            return Comparison(field, "in", self.parse_list())
        token = self.current
        if token.kind == "op":
            op = token.value
        elif token.kind == "keyword" and token.value in _WORD_OPS:
            op = _WORD_OPS[token.value]
        else:
            raise FilterSyntaxError(f"expected an operator after {field!r} at position {token.pos}")
        self.check_dialect(token)
        self.take()
        return Comparison(field, op, self.parse_value())

    def check_dialect(self, token: Token) -> None:
        """Refuse the other dialect's operator; the parse runs left to right, so it is the first one."""
        written = token.text.lower()
        foreign = EQ_OPERATORS if self.dialect == "spring" else SPRING_OPERATORS if self.dialect == "eq" else ()
        if written in foreign:
            raise DialectError(f"unexpected {token.text!r} at position {token.pos} ({_DIALECT_HINTS[self.dialect]})")

    def parse_list(self) -> tuple[Any, ...]:
        closing = {"[": "]", "(": ")"}
        opener = self.current.value if self.at("punct") else None
        if opener not in closing:
            raise FilterSyntaxError(f"expected '[' or '(' at position {self.current.pos}")
        self.take()
        values = [self.parse_value()]
        while self.at("punct", ","):
            self.take()
            values.append(self.parse_value())
        self.expect("punct", closing[opener])
        return tuple(values)

    def parse_value(self) -> Any:
        token = self.take()
        if token.kind in ("string", "number"):
            return token.value
        if token.kind == "keyword" and token.value in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[token.value]
        raise FilterSyntaxError(f"expected a value at position {token.pos} (strings go in single quotes)")


def parse_filter(text: str, dialect: str = "any") -> Node | None:
    """Parse one filter expression; blank means "no filter"."""
    if not text.strip():
        return None
    return _Parser(text, dialect).parse()


# ---------------------------------------------------------------- compile and evaluate


def compile_filters(texts: Sequence[str], schema: Schema, dialect: str = "any") -> Predicate | None:
    """Compile repeated ``filter`` parameters (ANDed) into one predicate over records."""
    parts = []
    for text in texts:
        node = parse_filter(text, dialect)
        if node is not None:
            parts.append(_compile(node, schema))
    if not parts:
        return None
    # Only a definite True selects a row, as in SQL's WHERE.
    return lambda record: all(part(record) is True for part in parts)


# Internally predicates use SQL's three-valued logic: a comparison with a null column is unknown
# (None), so not(description~'*x*') does not select rows whose description is null.
Tristate = Callable[[Record], bool | None]


def _compile(node: Node, schema: Schema) -> Tristate:
    if isinstance(node, BoolOp):
        parts = [_compile(item, schema) for item in node.items]
        return _and(parts) if node.op == "and" else _or(parts)
    if isinstance(node, Not):
        inner = _compile(node.item, schema)

        def negate(record: Record) -> bool | None:
            value = inner(record)
            return None if value is None else not value

        return negate
    return _compile_comparison(node, schema)


def _and(parts: list[Tristate]) -> Tristate:
    def evaluate(record: Record) -> bool | None:
        unknown = False
        for part in parts:
            value = part(record)
            if value is False:
                return False
            unknown = unknown or value is None
        return None if unknown else True

    return evaluate


def _or(parts: list[Tristate]) -> Tristate:
    def evaluate(record: Record) -> bool | None:
        unknown = False
        for part in parts:
            value = part(record)
            if value is True:
                return True
            unknown = unknown or value is None
        return None if unknown else False

    return evaluate


def _compile_comparison(node: Comparison, schema: Schema) -> Tristate:
    field, op = node.field, node.op
    if field not in schema:
        raise UnknownFieldError(field)
    kind = schema[field]

    def read(record: Record) -> Any:
        raw = record.get(field)
        return None if raw is None else _coerce(raw, kind, field)

    if op == "in":
        allowed = {_coerce(value, kind, field) for value in node.value if value is not None}
        return _unless_null(read, lambda value: value in allowed)

    if node.value is None:
        # SQL null semantics: only (in)equality with null is meaningful.
        if op == "=":
            return lambda record: record.get(field) is None
        if op == "!=":
            return lambda record: record.get(field) is not None
        raise FilterSyntaxError(f"operator {op!r} cannot compare {field!r} with null")

    if op == "like":
        if kind != "string":
            raise FilterSyntaxError(f"operator '~' needs a text field, {field!r} is {kind}")
        pattern = _like_pattern(str(node.value))
        return _unless_null(read, lambda value: pattern.fullmatch(value) is not None)

    wanted = _coerce(node.value, kind, field)
    compare = _COMPARATORS[op]
    return _unless_null(read, lambda value: compare(value, wanted))


def _unless_null(read: Callable[[Record], Any], test: Callable[[Any], bool]) -> Tristate:
    """A comparison with a null column is unknown (None), as in SQL."""

    def evaluate(record: Record) -> bool | None:
        value = read(record)
        return None if value is None else test(value)

    return evaluate


_COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
}


def _coerce(value: Any, kind: FieldType, field: str) -> Any:
    try:
        if kind == "string":
            return value if isinstance(value, str) else _format_scalar(value)
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError
            return int(value) if not isinstance(value, float) else value
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "false"):
                return str(value).lower() == "true"
            raise ValueError
        return parse_datetime(str(value))
    except ValueError:
        raise FilterSyntaxError(f"invalid {kind} value {value!r} for field {field!r}") from None


def _format_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _like_pattern(text: str) -> re.Pattern[str]:
    # `*` is SpringFilter's wildcard; `%` is accepted too because the server compiles `~` to ILIKE.
    parts = (".*" if char in "*%" else re.escape(char) for char in text)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


# ---------------------------------------------------------------- sort

SortKey = tuple[str, bool]  # (field, descending)


SORT_SEPARATORS = ("any", ",", ":")


class SortFormError(FilterSyntaxError):
    """A sort written in the form this server does not read (HTTP 400)."""


def parse_sort(values: Sequence[str], schema: Schema, separator: str = "any") -> list[SortKey]:
    """``sort`` may repeat and each value may hold ``;``-separated ``field,dir`` or ``field:dir`` items.

    ``separator`` ``,`` reads only the Spring form (``createdOn,desc``, one item per ``sort``: a ``;``
    list is kdx's form); ``:`` reads only kdx's form (``createdOn:desc``, repeated or ``;``-separated).
    A bare field name is fine in both.
    """
    if separator not in SORT_SEPARATORS:
        raise ValueError(f"separator must be one of {SORT_SEPARATORS}")
    keys: list[SortKey] = []
    for value in values:
        _check_sort_form(value, separator)
        for item in value.split(";"):
            item = item.strip()
            if not item:
                continue
            written = "," if "," in item else ":" if ":" in item else None
            field, direction = item.split(written, 1) if written else (item, "asc")
            field, direction = field.strip(), direction.strip().lower() or "asc"
            if not field:
                raise FilterSyntaxError(f"sort item {item!r} has no field")
            if direction not in ("asc", "desc"):
                raise FilterSyntaxError(f"sort direction must be asc or desc, got {direction!r}")
            if field not in schema:
                raise UnknownFieldError(field)
            keys.append((field, direction == "desc"))
    return keys


def _check_sort_form(value: str, separator: str) -> None:
    foreign = {",": ":;", ":": ","}.get(separator, "")
    for char in foreign:
        if char in value:
            reads = "field,direction, one sort parameter per field" if separator == "," else "field:direction"
            raise SortFormError(f"unexpected {char!r} in {value!r} (this server reads {reads})")


def sort_records(records: Sequence[Record], keys: Sequence[SortKey], schema: Schema) -> list[Record]:
    """Stable multi-key sort with PostgreSQL's null placement (last when ascending, first when descending).

    Ties fall back to ``id`` so paging is stable across requests.
    """
    ordered = sorted(records, key=lambda record: str(record.get("id") or ""))
    for field, descending in reversed(keys):
        kind = schema[field]
        present = [record for record in ordered if record.get(field) is not None]
        missing = [record for record in ordered if record.get(field) is None]
        present.sort(key=lambda record, f=field, k=kind: _coerce(record[f], k, f), reverse=descending)
        ordered = missing + present if descending else present + missing
    return ordered
