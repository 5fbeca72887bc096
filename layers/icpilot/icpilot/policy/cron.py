"""EventBridge Scheduler expressions: ``cron(...)``, ``rate(...)`` and ``at(...)`` in an IANA zone.

Written by hand because AWS cron is not Unix cron, so croniter and friends would silently
mis-schedule: six fields (minutes hours day-of-month month day-of-week year), ``?`` in one of the
day fields, day-of-week 1-7 = SUN-SAT, ``L`` (last day of month / last <weekday> of month),
``W`` (nearest weekday) and ``#`` (nth weekday of the month). Times are wall-clock times in the
schedule's zone: a time skipped by a DST jump does not fire that day, and a time that occurs
twice fires once (the first occurrence), which is what EventBridge Scheduler documents.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_DAY_NAMES = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MONTH_NAMES = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}


class ScheduleExpressionError(ValueError):
    """The schedule expression is not valid EventBridge Scheduler syntax."""


def _expand(field: str, lo: int, hi: int, names: dict[str, int] | None = None) -> set[int]:
    values: set[int] = set()
    for part in field.split(","):
        step = 1
        if "/" in part:
            part, step_s = part.split("/", 1)
            step = int(step_s)
            if step <= 0:
                raise ScheduleExpressionError(f"bad step in {field!r}")
        if part in ("*", ""):
            start, end = lo, hi
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _value(a, names), _value(b, names)
        else:
            start = _value(part, names)
            end = hi if step != 1 else start
        if not (lo <= start <= hi and lo <= end <= hi):
            raise ScheduleExpressionError(f"value out of range {lo}-{hi} in {field!r}")
        if start <= end:
            values.update(range(start, end + 1, step))
        else:  # wrap-around range such as FRI-MON
            values.update(v for v in list(range(start, hi + 1)) + list(range(lo, end + 1)))
    return values


def _value(token: str, names: dict[str, int] | None) -> int:
    token = token.upper()
    if names and token in names:
        return names[token]
    try:
        return int(token)
    except ValueError:
        raise ScheduleExpressionError(f"unknown value {token!r}") from None


def _aws_weekday(d: date) -> int:
    """AWS numbering: 1 = Sunday ... 7 = Saturday."""
    return (d.isoweekday() % 7) + 1


@dataclass(frozen=True)
class CronExpression:
    minutes: frozenset[int]
    hours: frozenset[int]
    dom: str
    months: frozenset[int]
    dow: str
    years: frozenset[int] | None

    @classmethod
    def parse(cls, body: str) -> CronExpression:
        fields = body.split()
        if len(fields) != 6:
            raise ScheduleExpressionError(f"cron needs 6 fields, got {len(fields)}: {body!r}")
        minute, hour, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise ScheduleExpressionError("exactly one of day-of-month and day-of-week must be '?'")
        years = None if year == "*" else frozenset(_expand(year, 1970, 2199))
        expr = cls(
            minutes=frozenset(_expand(minute, 0, 59)),
            hours=frozenset(_expand(hour, 0, 23)),
            dom=dom.upper(),
            months=frozenset(_expand(month, 1, 12, _MONTH_NAMES)),
            dow=dow.upper(),
            years=years,
        )
        expr.day_matches(date(2024, 1, 1))  # validates the day fields early
        return expr

    def day_matches(self, d: date) -> bool:
        if d.month not in self.months or (self.years is not None and d.year not in self.years):
            return False
        last = calendar.monthrange(d.year, d.month)[1]
        if self.dom != "?":
            return self._dom_matches(d, last)
        return self._dow_matches(d, last)

    def _dom_matches(self, d: date, last: int) -> bool:
        spec = self.dom
        if spec == "L":
            return d.day == last
        m = re.fullmatch(r"L-(\d+)", spec)
        if m:
            return d.day == last - int(m.group(1))
        if spec == "LW":
            return d == _nearest_weekday(date(d.year, d.month, last))
        m = re.fullmatch(r"(\d+)W", spec)
        if m:
            target = int(m.group(1))
            if target > last:
                return False
            return d == _nearest_weekday(date(d.year, d.month, target))
        return d.day in _expand(spec, 1, 31)

    def _dow_matches(self, d: date, last: int) -> bool:
        spec = self.dow
        wd = _aws_weekday(d)
        m = re.fullmatch(r"([1-7]|[A-Z]{3})#([1-5])", spec)
        if m:
            return wd == _value(m.group(1), _DAY_NAMES) and (d.day - 1) // 7 + 1 == int(m.group(2))
        m = re.fullmatch(r"([1-7]|[A-Z]{3})L", spec)
        if m:
            return wd == _value(m.group(1), _DAY_NAMES) and d.day + 7 > last
        if spec == "L":
            return wd == 7
        return wd in _expand(spec, 1, 7, _DAY_NAMES)

    def next_after(self, after: datetime, tz: ZoneInfo, horizon_days: int = 366 * 5) -> datetime | None:
        """The first fire time strictly after ``after`` (aware), as an aware UTC datetime."""
        local = after.astimezone(tz)
        day = local.date()
        for _ in range(horizon_days):
            if self.day_matches(day):
                for h in sorted(self.hours):
                    for mi in sorted(self.minutes):
                        candidate = _resolve_local(day, time(h, mi), tz)
                        if candidate is not None and candidate > after:
                            return candidate
            day += timedelta(days=1)
        return None


def _nearest_weekday(d: date) -> date:
    """The weekday nearest to ``d`` within the same month (AWS/Quartz ``W`` rule)."""
    if d.weekday() < 5:
        return d
    last = calendar.monthrange(d.year, d.month)[1]
    if d.weekday() == 5:  # Saturday -> Friday, unless that leaves the month
        return d - timedelta(days=1) if d.day > 1 else d + timedelta(days=2)
    return d + timedelta(days=1) if d.day < last else d - timedelta(days=2)  # Sunday


def _resolve_local(day: date, at: time, tz: ZoneInfo) -> datetime | None:
    """Wall time in ``tz`` to UTC; None when the time does not exist (spring-forward gap)."""
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=tz, fold=0)
    # A non-existent local time does not survive the round trip through UTC.
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
        return None
    return first.astimezone(UTC)


_RATE = re.compile(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)")
_AT = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")
_CRON = re.compile(r"cron\((.+)\)")


@dataclass(frozen=True)
class ScheduleExpression:
    """A parsed Scheduler expression; ``next_after`` gives the next fire time in UTC."""

    text: str
    tz: ZoneInfo
    cron: CronExpression | None = None
    rate: timedelta | None = None
    at: datetime | None = None

    @classmethod
    def parse(cls, text: str, timezone: str | None = "UTC") -> ScheduleExpression:
        try:
            tz = ZoneInfo(timezone or "UTC")
        except Exception:
            raise ScheduleExpressionError(f"unknown time zone {timezone!r}") from None
        text = text.strip()
        if m := _CRON.fullmatch(text):
            return cls(text, tz, cron=CronExpression.parse(m.group(1)))
        if m := _RATE.fullmatch(text):
            n, unit = int(m.group(1)), m.group(2).rstrip("s")
            if n <= 0:
                raise ScheduleExpressionError("rate must be positive")
            return cls(text, tz, rate=timedelta(**{unit + "s": n}))
        if m := _AT.fullmatch(text):
            local = datetime.fromisoformat(m.group(1))
            resolved = _resolve_local(local.date(), local.time(), tz)
            return cls(text, tz, at=resolved or local.replace(tzinfo=tz).astimezone(UTC))
        raise ScheduleExpressionError(f"not a cron(), rate() or at() expression: {text!r}")

    def next_after(self, after: datetime, anchor: datetime | None = None) -> datetime | None:
        """Next fire time strictly after ``after``. ``anchor`` is when a rate() schedule started."""
        if self.cron is not None:
            return self.cron.next_after(after, self.tz)
        if self.rate is not None:
            start = anchor or after
            if after < start:
                return start
            periods = int((after - start) / self.rate) + 1
            return start + periods * self.rate
        assert self.at is not None
        return self.at if self.at > after else None
