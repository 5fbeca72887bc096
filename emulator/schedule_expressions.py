"""EventBridge Scheduler's schedule expressions, as the emulator fires them.

The emulator is the stand-in that checks icpilot, so it does not borrow icpilot's own cron parser
(``icpilot.policy.cron``): the cron fields are read by ``aws_croniter`` (an independent AWS-cron
library: ``?``, ``L``, ``W``, ``#``, names, the year field), and the rest is written here from AWS's
documented rules (Scheduler User Guide, "Schedule types"):

- ``cron()`` is evaluated in the schedule's time zone. On a spring-forward day a time that does not
  exist is skipped; on a fall-back day a time that happens twice runs once (the first).
- ``rate(n minutes|hours|days)`` runs every n units from its start (a day is 24 hours, whatever DST
  does to the clock).
- ``at(yyyy-mm-ddThh:mm:ss)`` runs once, at that wall time in the schedule's time zone.

``tests/emulator/test_cron_and_dispatch.py`` checks these rules, and that icpilot's parser
agrees with this one on random expressions (two implementations, one behaviour).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aws_croniter import AwsCroniter
from aws_croniter.exceptions import AwsCroniterExpressionError

_CRON = re.compile(r"cron\((.+)\)")
_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_AT = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")
# Matches looked at for one fire time: a minutely cron crossing a skipped or repeated hour passes
# 60 wall times that do not fire; nothing else comes close.
_WALL_LOOKUPS = 1000


class ScheduleNotEmulated(ValueError):
    """The expression or time zone is not one Scheduler accepts: the schedule is not fired."""


def _wall_time_in_utc(wall: datetime, tz: ZoneInfo) -> datetime | None:
    """A naive wall time in ``tz`` as UTC: the first of two on a fall-back day, None when the
    clock skips it (spring forward)."""
    first = wall.replace(tzinfo=tz, fold=0)
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wall:
        return None
    return first.astimezone(UTC)


@dataclass(frozen=True)
class ScheduleClock:
    """One schedule's expression in its time zone; ``next_after`` is its next fire time in UTC."""

    text: str
    tz: ZoneInfo
    cron: AwsCroniter | None = None
    rate: timedelta | None = None
    at: datetime | None = None

    @classmethod
    def parse(cls, text: str, timezone: str | None) -> ScheduleClock:
        try:
            tz = ZoneInfo(timezone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            raise ScheduleNotEmulated(f"unknown time zone {timezone!r}") from None
        text = text.strip()
        if match := _CRON.fullmatch(text):
            try:
                return cls(text, tz, cron=AwsCroniter(match.group(1)))
            except AwsCroniterExpressionError as exc:
                raise ScheduleNotEmulated(f"{text}: {exc}") from None
        if match := _RATE.fullmatch(text):
            count, unit = int(match.group(1)), match.group(2).rstrip("s")
            if count <= 0:
                raise ScheduleNotEmulated(f"{text}: a rate must be positive")
            return cls(text, tz, rate=timedelta(**{f"{unit}s": count}))
        if match := _AT.fullmatch(text):
            wall = datetime.fromisoformat(match.group(1))
            at = _wall_time_in_utc(wall, tz) or wall.replace(tzinfo=tz).astimezone(UTC)
            return cls(text, tz, at=at)
        raise ScheduleNotEmulated(f"not a cron(), rate() or at() expression: {text!r}")

    def next_after(self, after: datetime, start: datetime) -> datetime | None:
        """The first fire time strictly after ``after`` (UTC); ``start``: when a rate() schedule began."""
        if self.cron is not None:
            return self._next_cron(after)
        if self.rate is not None:
            if after < start:
                return start
            return start + (int((after - start) / self.rate) + 1) * self.rate
        assert self.at is not None
        return self.at if self.at > after else None

    def _next_cron(self, after: datetime) -> datetime | None:
        """aws_croniter counts in UTC only, so it is given wall times dressed as UTC; each match is
        then placed in the zone (skipped when the clock skips it, once when it repeats)."""
        assert self.cron is not None
        wall = after.astimezone(self.tz).replace(tzinfo=None)
        for _ in range(_WALL_LOOKUPS):
            found = self.cron.get_next(wall.replace(tzinfo=UTC))[0]
            if found is None:
                return None
            wall = found.replace(tzinfo=None)
            fire = _wall_time_in_utc(wall, self.tz)
            if fire is not None and fire > after:  # not skipped, and not the repeat of a fall-back hour
                return fire
        raise ScheduleNotEmulated(f"{self.text}: no fire time within {_WALL_LOOKUPS} matches after {after}")
