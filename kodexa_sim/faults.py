"""Injected faults: what a flaky network, proxy or overloaded upstream does to a client.

A fault matches ``METHOD /path/glob`` (``*`` = one path segment, ``**`` = anything, method ``*`` =
any) and fires ``times`` times (None or -1 = forever; 0 is refused). Faults are tried in
registration order. The wire-level behaviour of each mode lives in server.py; this module only
keeps the registry.
"""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

FAULT_MODES = ("status", "timeout", "reset", "malformed", "html", "redirect", "oversized", "trickle")
DEFAULT_TIMEOUT_MS = 30000
DEFAULT_OVERSIZED_BYTES = 20 * 1024 * 1024


@dataclass
class Fault:
    id: int
    match: str
    mode: str = "status"
    status: int | None = None
    delay_ms: int = 0
    times: int | None = 1  # remaining firings; None = forever
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    location: str | None = None
    size_bytes: int = DEFAULT_OVERSIZED_BYTES
    hits: int = 0
    _method: str = field(default="*", repr=False)
    _pattern: re.Pattern[str] | None = field(default=None, repr=False)

    def matches(self, method: str, path: str) -> bool:
        if self._method not in ("*", method.upper()):
            return False
        return self._pattern is not None and self._pattern.fullmatch(path) is not None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("_method")
        data.pop("_pattern")
        return data


def compile_glob(path_glob: str) -> re.Pattern[str]:
    parts = []
    for segment in path_glob.split("/"):
        if segment == "**":
            parts.append(".*")
        else:
            parts.append("[^/]*".join(re.escape(piece) for piece in segment.split("*")))
    # "/api/**" should also match "/api" itself.
    return re.compile("/".join(parts).replace("/.*", "(?:/.*)?"))


def _times(value: Any) -> int | None:
    """How many requests a fault hits: a positive count, or None for forever (spelled null or -1).

    0 is refused rather than read as "never": a fault that can never fire is a mistake in the test
    that registered it, and a 400 says so where a silently idle fault would not.
    """
    if value is None:
        return None
    times = int(value)  # a TypeError or ValueError becomes the control plane's 400 too
    if times == -1:
        return None
    if times < 1:
        raise ValueError("'times' must be a positive integer, or null or -1 for forever")
    return times


class FaultRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._next_id = 1

    def add(self, spec: dict[str, Any]) -> Fault:
        """Validate a fault spec from the control plane; raises ValueError with a readable message."""
        match = str(spec.get("match") or "").strip()
        if not match:
            raise ValueError("'match' is required, e.g. \"PUT /api/executions/*/cancel\"")
        method, _, path_glob = match.partition(" ")
        if not path_glob:
            method, path_glob = "*", method
        if not path_glob.startswith("/"):
            raise ValueError("the path part of 'match' must start with '/'")
        mode = spec.get("mode") or "status"
        if mode not in FAULT_MODES:
            raise ValueError(f"'mode' must be one of {', '.join(FAULT_MODES)}")
        times = _times(spec.get("times", 1))
        status = spec.get("status")
        headers = spec.get("headers") or {}
        if not isinstance(headers, dict):
            raise ValueError("'headers' must be an object")
        with self._lock:
            fault = Fault(
                id=self._next_id,
                match=match,
                mode=mode,
                status=int(status) if status is not None else None,
                delay_ms=int(spec.get("delay_ms") or 0),
                times=times,
                headers={str(k): str(v) for k, v in headers.items()},
                body=spec.get("body"),
                location=spec.get("location"),
                size_bytes=int(spec.get("size_bytes") or DEFAULT_OVERSIZED_BYTES),
                _method=method.upper(),
                _pattern=compile_glob(path_glob.split("?", 1)[0]),
            )
            self._next_id += 1
            self._faults.append(fault)
            return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first live fault matching this request, with one firing used up."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.hits += 1
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.to_json() for fault in self._faults]

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [fault for fault in self._faults if fault.id != fault_id]
            return len(self._faults) != before

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
