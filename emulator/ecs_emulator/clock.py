"""Virtual time: wall-clock UTC that runs at a configurable speed and can be pushed forward."""

from __future__ import annotations

import time
from datetime import datetime, timezone


class VirtualClock:
    """Seconds since the epoch, as the emulated world sees them.

    Starts at the real time, runs ``speed`` virtual seconds per real second, and jumps forward by
    ``advance``. ``offset`` (the total of all jumps) is what a state file persists across restarts.
    """

    def __init__(self, speed: float = 1.0, offset: float = 0.0) -> None:
        if speed <= 0:
            raise ValueError("clock speed must be positive")
        self.speed = speed
        self.offset = offset
        self._real_start = time.time()
        self._mono_start = time.monotonic()

    def now(self) -> float:
        elapsed = time.monotonic() - self._mono_start
        return self._real_start + elapsed * self.speed + self.offset

    def now_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=timezone.utc)

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.offset += seconds
        return self.now()
