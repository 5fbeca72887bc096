"""Moving the real clock, to prove that nothing the tests run depends on the date they run on.

``pytest --real-clock-shift=+365d`` moves the process clock (``time.time()``, ``datetime.now()``)
by that much for the whole session, and every subprocess the harness starts
(``python -m tests.real_clock MODULE ARGS``) runs with the same shift. The emulator's own clock
then follows its fixed start (see ``emulator.clock``): anything that still read the real date —
an SQS retention check, an idempotency expiry, a cached parameter — would meet a date a year away
and the test would fail. ``make test`` runs the time-sensitive suites this way, forwards and back.
"""

from __future__ import annotations

import os
import re
import runpy
import sys
from datetime import UTC, datetime, timedelta

import time_machine

ENV = "ICPILOT_TEST_REAL_CLOCK_SHIFT_SECONDS"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_shift(text: str) -> timedelta:
    """``+365d``, ``-365d``, ``90m``, ``3600s`` → a timedelta; anything else is an error naming the forms."""
    match = re.fullmatch(r"([+-]?)(\d+)([smhd])", text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a clock shift such as +365d, -365d, 90m or 3600s")
    sign, amount, unit = match.groups()
    seconds = int(amount) * _UNITS[unit]
    return timedelta(seconds=-seconds if sign == "-" else seconds)


def start_shift(shift: timedelta) -> time_machine.travel:
    """Move this process's clock by ``shift`` (ticking) and tell subprocesses to do the same."""
    travel = time_machine.travel((datetime.now(UTC) + shift).timestamp(), tick=True)
    travel.start()
    os.environ[ENV] = str(int(shift.total_seconds()))
    return travel


def command(module: str, *args: str) -> list[str]:
    """The command that runs ``python -m module args``, under the session's clock shift if there is one."""
    if os.environ.get(ENV):
        return [sys.executable, "-m", "tests.real_clock", module, *args]
    return [sys.executable, "-m", module, *args]


def main() -> None:
    """``python -m tests.real_clock MODULE ARGS``: run a module with the shift from the environment."""
    module, *args = sys.argv[1:]
    start_shift(timedelta(seconds=int(os.environ.get(ENV) or 0)))
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
