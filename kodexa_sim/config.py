"""Settings of one simulator instance (CLI flags and ``start()`` keywords share these)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from .world import EXECUTION_SCHEMA

TerminalCancel = Literal["idempotent", "conflict"]
TERMINAL_CANCEL_MODES = ("idempotent", "conflict")

# The strict modes: where Kodexa's public sources disagree, the real platform accepts one form and
# nobody can tell which. "any" (and the other defaults) forgive every form; the rest pick one, so a
# client's tests can prove it copes with each.
FILTER_DIALECTS = ("any", "spring", "eq")
SORT_SEPARATORS = ("any", ",", ":")
PAGE_BASES = (1, 0)
QUERY_SEARCH_MODES = ("on", "off")
ERROR_STYLES = ("problem", "legacy")


@dataclass
class SimConfig:
    api_key: str = "sim-key"
    seed: int = 42
    executions: int = 300
    latency_ms: int = 0
    cancel_delay_ms: int = 3000
    terminal_cancel: TerminalCancel = "conflict"
    speed: float = 1.0
    arrival_seconds: float = 30.0
    epoch: datetime | None = None
    max_executions: int = 20000
    extra_api_keys: tuple[str, ...] = field(default_factory=tuple)
    # Known keys without access to the organization: /api/ answers them 403, not 401 (API notes 11.2).
    restricted_keys: tuple[str, ...] = field(default_factory=tuple)
    filter_dialect: str = "any"
    sort_separator: str = "any"
    page_base: int = 1
    query_search: str = "on"
    error_style: str = "problem"
    # Execution fields that are not columns on the modelled tenant: filtering or sorting on them is a 500.
    unfilterable: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        # start() keywords and PUT /_sim/config bodies arrive as Python or JSON values; keep one form each.
        if isinstance(self.query_search, bool):
            self.query_search = "on" if self.query_search else "off"
        if isinstance(self.page_base, str) and self.page_base.strip() in ("0", "1"):
            self.page_base = int(self.page_base)
        if isinstance(self.unfilterable, str):
            self.unfilterable = (self.unfilterable,)
        elif isinstance(self.unfilterable, (list, tuple, set, frozenset)):
            self.unfilterable = tuple(self.unfilterable)

    def validate(self) -> None:
        if self.terminal_cancel not in TERMINAL_CANCEL_MODES:
            raise ValueError(f"terminal_cancel must be one of {TERMINAL_CANCEL_MODES}")
        if self.executions < 0 or self.latency_ms < 0 or self.cancel_delay_ms < 0:
            raise ValueError("executions, latency_ms and cancel_delay_ms must be >= 0")
        if self.speed < 0 or self.arrival_seconds < 0:
            raise ValueError("speed and arrival_seconds must be >= 0")
        if not self.api_key:
            raise ValueError("api_key must not be empty")
        if not all(self.restricted_keys):
            raise ValueError("restricted keys must not be empty")
        if set(self.restricted_keys) & {self.api_key, *self.extra_api_keys}:
            raise ValueError("a key cannot be both accepted and restricted")
        _check_choice("filter_dialect", self.filter_dialect, FILTER_DIALECTS)
        _check_choice("sort_separator", self.sort_separator, SORT_SEPARATORS)
        _check_choice("query_search", self.query_search, QUERY_SEARCH_MODES)
        _check_choice("error_style", self.error_style, ERROR_STYLES)
        # type() and not isinstance(): True == 1 would otherwise pass as page base 1.
        if type(self.page_base) is not int or self.page_base not in PAGE_BASES:
            raise ValueError(f"page_base must be 0 or 1, got {self.page_base!r}")
        if not isinstance(self.unfilterable, tuple) or not all(isinstance(name, str) for name in self.unfilterable):
            raise ValueError("unfilterable must be a list of execution field names")
        unknown = [name for name in self.unfilterable if name not in EXECUTION_SCHEMA]
        if unknown:
            raise ValueError(
                f"unfilterable: {', '.join(map(repr, unknown))} is not an execution field "
                f"(fields: {' '.join(EXECUTION_SCHEMA)})"
            )

    def public(self) -> dict[str, Any]:
        """What ``GET /_sim/config`` shows: everything except the keys."""
        data = asdict(self)
        data.pop("api_key")
        data.pop("extra_api_keys")
        data.pop("restricted_keys")
        data["epoch"] = self.epoch.isoformat() if self.epoch else None
        data["unfilterable"] = list(self.unfilterable)
        return data


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(repr(choice) for choice in choices)}, got {value!r}")


# Settings a running simulator lets a test change through PUT /_sim/config.
RUNTIME_SETTINGS = (
    "latency_ms",
    "cancel_delay_ms",
    "terminal_cancel",
    "speed",
    "arrival_seconds",
    "filter_dialect",
    "sort_separator",
    "page_base",
    "query_search",
    "error_style",
    "unfilterable",
)
# Of those, the ones that are numbers (JSON may send "200" or 200 for 200.0).
NUMERIC_SETTINGS = ("latency_ms", "cancel_delay_ms", "speed", "arrival_seconds")
