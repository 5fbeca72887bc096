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
``time-machine`` traveller is moved to the emulator's time whenever the clock moves.

**In virtual mode the process clock stands still between moves.** It used to tick with real time
in between, and that made outcomes depend on how fast the machine ran: a handler invoked 1.5 s
(real) after the last move stamped a rate-limit claim 1.5 s late, so ``advance(31)`` past a 30 s
window landed inside it (a flake seen under load). Frozen, every handler invoked at virtual time T
reads exactly T. The one library that needs time to pass on its own is botocore's adaptive retry
(its token bucket refills on ``time.time()`` and would wait forever): while the process follows a
virtual clock, that bucket's clock reads ``time.monotonic()``, which it uses only for differences.
In wall mode the process clock ticks with real time, as the clock it follows does.
``time.monotonic()`` is never moved, so timeouts and sleeps stay real.

We chose one clock over "the default start follows the real date" because tests and the demo start
at explicit instants (a DST Sunday, a Monday 06:00): only a single clock makes them independent of
the day they run.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Literal

import time_machine
from botocore.retries import bucket as botocore_bucket

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
            self._travel = time_machine.travel(self.now().timestamp(), tick=self._ticks)
            self._traveller = self._travel.start()
            _botocore_bucket_on_monotonic(True)

    def release_process(self) -> None:
        """Give the process its own clock back."""
        with self._lock:
            if self._travel is None:
                return
            self._travel.stop()
            self._travel = self._traveller = self._real_anchor = None
            _botocore_bucket_on_monotonic(False)

    @property
    def _ticks(self) -> bool:
        return self.mode == "wall"

    def _move_process_clock(self) -> None:
        if self._traveller is not None:
            self._traveller.move_to(self.now().timestamp(), tick=self._ticks)

    def _real_now(self) -> datetime:
        # While following, datetime.now() reads this clock: count real time from the anchor instead.
        if self._real_anchor is None:
            return datetime.now(UTC)
        anchor, monotonic = self._real_anchor
        return anchor + timedelta(seconds=time.monotonic() - monotonic)


_WALL_CLOCK_TIME = botocore_bucket.Clock.current_time


def _monotonic_time(self: botocore_bucket.Clock) -> float:
    return time.monotonic()


def _botocore_bucket_on_monotonic(on: bool) -> None:
    """botocore's adaptive-retry token bucket measures refills with ``Clock.current_time``
    (``time.time()``); under a frozen process clock no token would ever come back. It uses the
    value only for differences, so monotonic time serves it exactly."""
    botocore_bucket.Clock.current_time = _monotonic_time if on else _WALL_CLOCK_TIME  # type: ignore[method-assign]
