"""The simulation clock: wall time scaled by ``speed`` plus manual jumps from ``/_sim/advance``.

The lifecycle reads only this clock, so tests can freeze time (speed 0) or fast-forward it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class SimClock:
    def __init__(self, *, epoch: datetime | None = None, speed: float = 1.0) -> None:
        self._epoch = epoch
        self._speed = speed
        self.restart()

    def restart(self) -> None:
        """Start again at the epoch (or the real current time when no epoch was given)."""
        self._anchor = self._epoch or datetime.now(UTC).replace(microsecond=0)
        self._mono = time.monotonic()
        self._offset = 0.0

    @property
    def speed(self) -> float:
        return self._speed

    def set_speed(self, speed: float) -> None:
        # Re-anchor so a speed change never makes time jump backwards.
        self._anchor = self.now()
        self._mono = time.monotonic()
        self._offset = 0.0
        self._speed = speed

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._mono) * self._speed + self._offset
        return self._anchor + timedelta(seconds=elapsed)

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._offset += seconds
        return self.now()
