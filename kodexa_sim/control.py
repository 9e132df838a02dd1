"""A tiny client for the control plane (``/_sim/...``), standard library only."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


class SimControlError(RuntimeError):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"control plane answered {status}: {body}")
        self.status = status
        self.body = body


class SimControl:
    def __init__(self, url: str, api_key: str, *, timeout: float = 10.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("SimControl needs an http(s) URL")
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        # The URL is the simulator's own http:// base, never user input.
        request = urllib.request.Request(  # noqa: S310
            self.url + path,
            data=data,
            method=method,
            headers={"x-api-key": self.api_key, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (loopback URL)
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise SimControlError(error.code, error.read().decode("utf-8", "replace")) from None

    def reset(self) -> dict[str, Any]:
        """Seeded data back, faults and call counts cleared, runtime settings and clock restored."""
        return self._call("POST", "/_sim/reset")

    def add_fault(
        self,
        match: str,
        status: int | None = None,
        mode: str = "status",
        delay_ms: int = 0,
        times: int | None = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Register a fault; returns it with its id. ``extra`` takes ``location`` and ``size_bytes``."""
        spec = {
            "match": match,
            "status": status,
            "mode": mode,
            "delay_ms": delay_ms,
            "times": times,
            "headers": headers or {},
            "body": body,
            **extra,
        }
        return self._call("POST", "/_sim/faults", spec)["added"][0]

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_sim/faults")

    def remove_fault(self, fault_id: int) -> None:
        self._call("DELETE", f"/_sim/faults/{fault_id}")

    def clear_faults(self) -> None:
        self._call("DELETE", "/_sim/faults")

    def calls(self) -> dict[str, Any]:
        """``{"total": N, "by_route": {"GET /api/executions/{id}": n, ...}}``."""
        return self._call("GET", "/_sim/calls")

    def clear_calls(self) -> None:
        self._call("DELETE", "/_sim/calls")

    def add_execution(self, **fields: Any) -> dict[str, Any]:
        """Add an execution; pass ``_sim={"lifecycle": False}`` to keep it frozen in the given state."""
        return self._call("POST", "/_sim/executions", fields)

    def advance(self, seconds: float) -> dict[str, Any]:
        """Move simulated time forward; the lifecycle catches up immediately."""
        return self._call("POST", "/_sim/advance", {"seconds": seconds})

    def config(self) -> dict[str, Any]:
        return self._call("GET", "/_sim/config")

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change settings at runtime; ``reset()`` restores the start-up values.

        latency_ms, cancel_delay_ms, terminal_cancel, speed, arrival_seconds, and the strict modes
        filter_dialect, sort_separator, page_base, query_search, error_style and unfilterable (a list).
        """
        return self._call("PUT", "/_sim/config", settings)
