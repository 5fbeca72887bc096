"""The emulator's clock: virtual (advanced explicitly) or wall time.

Everything the emulator models over time (copies loading, instances provisioning, metric
timestamps, alarm periods, schedules falling due) reads this clock, never ``datetime.now()``.
In virtual mode a simulated day runs in seconds: ``advance`` jumps from one due event to the next.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Literal

ClockMode = Literal["virtual", "wall"]

# A fixed, recognisable default start: a Monday 06:00 UTC (07:00 in Berlin), so a demo day begins
# before business hours on a weekday.
DEFAULT_START = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


class EmulatorClock:
    """Virtual or wall clock. Thread-safe: the server handles requests on several threads."""

    def __init__(self, mode: ClockMode = "virtual", start: datetime | None = None) -> None:
        self._lock = threading.RLock()
        self.reset(mode, start)

    def reset(self, mode: ClockMode = "virtual", start: datetime | None = None) -> None:
        with self._lock:
            self.mode: ClockMode = mode
            start = start or DEFAULT_START
            if start.tzinfo is None:
                raise ValueError("the clock's start must be timezone-aware")
            self._virtual_now = start.astimezone(UTC)
            self._wall_offset = timedelta(0)

    def now(self) -> datetime:
        with self._lock:
            if self.mode == "wall":
                return datetime.now(UTC) + self._wall_offset
            return self._virtual_now

    def set(self, when: datetime) -> None:
        """Move the clock to ``when`` (forward only: the model never runs backwards)."""
        with self._lock:
            current = self.now()
            if when < current:
                raise ValueError(f"the clock moves forward only: {when} < {current}")
            if self.mode == "wall":
                self._wall_offset += when - current
            else:
                self._virtual_now = when.astimezone(UTC)
