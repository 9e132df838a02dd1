"""Settings of one simulator instance (CLI flags and ``start()`` keywords share these)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

TerminalCancel = Literal["idempotent", "conflict"]
TERMINAL_CANCEL_MODES = ("idempotent", "conflict")


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

    def public(self) -> dict[str, Any]:
        """What ``GET /_sim/config`` shows: everything except the keys."""
        data = asdict(self)
        data.pop("api_key")
        data.pop("extra_api_keys")
        data.pop("restricted_keys")
        data["epoch"] = self.epoch.isoformat() if self.epoch else None
        return data


# Settings a running simulator lets a test change through PUT /_sim/config.
RUNTIME_SETTINGS = ("latency_ms", "cancel_delay_ms", "terminal_cancel", "speed", "arrival_seconds")
