"""The emulator's clock: virtual (advanced explicitly) or wall time, and the process clock that follows it.

Everything the emulator models over time (copies loading, instances provisioning, metric
timestamps, alarm periods, schedules falling due) reads this clock. In virtual mode a simulated
day runs in seconds: ``advance`` jumps from one due event to the next.

**One clock for everything the emulator serves.** moto, Powertools and the standard library read
the process clock (``time.time()``, ``datetime.now()``): SQS retention and visibility, the
sent-timestamps of messages, idempotency-record expiry, parameter-cache max-age, log timestamps,
alarm and schedule stamps. If those ran on the real date while the emulator ran on its own, a
message stamped at virtual time would look days old to SQS's retention check and vanish (the suite
broke on the real 2026-11-27, four days after its fixed start). So while the emulator is active
(``emulated_aws()`` or the server) the process clock *follows* the emulator clock: a
``time-machine`` traveller is moved to the emulator's time whenever the clock moves, and ticks with
real time in between (botocore's adaptive retry bucket refills on ``time.time()``; a frozen clock
would stall it). We chose this over "the default start follows the real date" because tests and
the demo start at explicit instants (a DST Sunday, a Monday 06:00): only a single clock makes them
independent of the day they run. ``time.monotonic()`` is not moved, so timeouts and sleeps stay real.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Literal

import time_machine

ClockMode = Literal["virtual", "wall"]

# A fixed, recognisable default start: a Monday 06:00 UTC (07:00 in Berlin), so a demo day begins
# before business hours on a weekday. It never meets the real date (see the module docstring).
DEFAULT_START = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


class EmulatorClock:
    """Virtual or wall clock. Thread-safe: the server handles requests on several threads."""

    def __init__(self, mode: ClockMode = "virtual", start: datetime | None = None) -> None:
        self._lock = threading.RLock()
        self._travel: time_machine.travel | None = None
        self._traveller: time_machine.Traveller | None = None
        # The real clock as the process saw it when it began following (datetime, monotonic).
        self._real_anchor: tuple[datetime, float] | None = None
        self.reset(mode, start)

    def reset(self, mode: ClockMode = "virtual", start: datetime | None = None) -> None:
        with self._lock:
            self.mode: ClockMode = mode
            start = start or DEFAULT_START
            if start.tzinfo is None:
                raise ValueError("the clock's start must be timezone-aware")
            self._virtual_now = start.astimezone(UTC)
            self._wall_offset = timedelta(0)
            self._move_process_clock()

    def now(self) -> datetime:
        with self._lock:
            if self.mode == "wall":
                return self._real_now() + self._wall_offset
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
            self._move_process_clock()

    # ------------------------------------------------------------ process clock
    @property
    def following(self) -> bool:
        """True while the process clock follows this clock."""
        return self._traveller is not None

    def follow_process(self) -> None:
        """From now on ``time.time()``/``datetime.now()`` in this process read this clock (idempotent)."""
        with self._lock:
            if self._traveller is not None:
                return
            self._real_anchor = (datetime.now(UTC), time.monotonic())
            # A POSIX timestamp, not an aware datetime: time-machine would otherwise set TZ on every move.
            self._travel = time_machine.travel(self.now().timestamp(), tick=True)
            self._traveller = self._travel.start()

    def release_process(self) -> None:
        """Give the process its own clock back."""
        with self._lock:
            if self._travel is None:
                return
            self._travel.stop()
            self._travel = self._traveller = self._real_anchor = None

    def _move_process_clock(self) -> None:
        if self._traveller is not None:
            self._traveller.move_to(self.now().timestamp(), tick=True)

    def _real_now(self) -> datetime:
        # While following, datetime.now() reads this clock: count real time from the anchor instead.
        if self._real_anchor is None:
            return datetime.now(UTC)
        anchor, monotonic = self._real_anchor
        return anchor + timedelta(seconds=time.monotonic() - monotonic)
