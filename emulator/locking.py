"""The emulator's locks.

``HandOverLock``, the emulator's one lock: every AWS call and every clock step hold it, one at a
time. A Lambda handler that the clock invokes runs inside the clock step, and one an AWS call invokes
(an EventBridge rule) inside that call, so under the lock. When
that handler fans its work out to threads (``icpilot.service.fanout``), their AWS calls wait for the
lock its own thread holds while it waits for them: a deadlock. ``handed_over`` lets the handler's
thread give the lock up, however deep it holds it, for as long as the handler runs, as a real Lambda
holds nothing of AWS's. ``threading.RLock`` cannot say who owns it or how deep, so this wraps one.

Handing the lock over lets other threads' AWS calls in while such a handler runs (as on AWS), but
not their clock steps: a step (``Emulator.advance``) also holds the stepping lock, which another
thread waits for with the emulator's lock handed over, and so does every handler while it runs
(re-entered inside a step), so virtual time never moves under a handler, however it was invoked.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class HandOverLock:
    """A re-entrant lock whose owner can hand it over while it waits for other threads."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._owner: int | None = None
        self._depth = 0

    def acquire(self) -> None:
        self._lock.acquire()
        self._owner = threading.get_ident()
        self._depth += 1

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
        self._lock.release()

    def __enter__(self) -> HandOverLock:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    @contextmanager
    def handed_over(self) -> Iterator[None]:
        """Release the lock entirely if this thread holds it; take it back as deep afterwards."""
        if self._owner != threading.get_ident():
            yield
            return
        depth = self._depth
        for _ in range(depth):
            self.release()
        try:
            yield
        finally:
            for _ in range(depth):
                self.acquire()
