"""Seeded synthetic demand for multi-day backtests: an office week, unscheduled bursts, a trickle.

Every scenario returns per-minute demand (``MinuteDemand``) starting at ``start`` and can be
written as an Azure-format CSV (absolute timestamps) for ``icpilot simulate`` (which places requests by their timestamps).
Requests draw their tokens like the Azure conversation trace (context ~ lognormal around 1,000
tokens, generated ~ lognormal around 200), so service seconds follow ``Throughput``.

- ``office``: weekdays 08:00-18:00 in ``timezone``, a bell-shaped day peaking at ``peak_hour``
  (``peak_requests`` per minute at the top), +-20 % from day to day and minute-to-minute Poisson
  noise, a quiet weekend, an optional public holiday (a weekday with no traffic) and an optional
  drift of the peak hour from a given week on (traffic moves, as it does).
  With ``lone_per_hour`` and ``meeting`` it has what real months have besides: lone requests at
  night and on weekends, and a weekly meeting outside the usual peak.
- ``bursty``: no pattern: a few bursts a day at random times (10-40 minutes, 20-200 requests per
  minute), nothing in between.
- ``trickle``: one request every 20-90 minutes, day and night.
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from .traces import MinuteDemand, Throughput

SCENARIOS = ("office", "bursty", "trickle")


def _tokens(rng: random.Random) -> tuple[int, int]:
    return max(1, int(rng.lognormvariate(math.log(1000), 0.6))), max(1, int(rng.lognormvariate(math.log(200), 0.5)))


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 50:  # normal approximation: exact enough, and fast for busy minutes
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class Builder:
    """Requests placed minute by minute; kept as (minute, context, generated) so a CSV can be written."""

    def __init__(self, minutes: int, throughput: Throughput, rng: random.Random) -> None:
        self.requests = [0] * minutes
        self.seconds = [0.0] * minutes
        self.rows: list[tuple[float, int, int]] = []
        self.throughput = throughput
        self.rng = rng

    def add(self, minute: int, count: int) -> None:
        if not 0 <= minute < len(self.requests):
            return
        for _ in range(count):
            ctx, gen = _tokens(self.rng)
            self.requests[minute] += 1
            self.seconds[minute] += self.throughput.service_seconds(ctx, gen)
            self.rows.append((minute * 60 + self.rng.random() * 60, ctx, gen))

    def demand(self) -> MinuteDemand:
        return MinuteDemand(self.requests, self.seconds)


def office(
    start: datetime,
    days: int,
    seed: int = 1,
    throughput: Throughput | None = None,
    timezone: str = "Europe/Berlin",
    peak_requests: float = 60.0,
    peak_hour: float = 13.0,
    holidays: tuple[date, ...] = (),
    drift_from_week: int | None = None,
    drift_hours: float = 1.0,
    lone_per_hour: float = 0.0,
    meeting: tuple[int, int, int, float] | None = None,
) -> Builder:
    """Office hours on weekdays: see the module docstring. ``start`` should be a local midnight.

    ``lone_per_hour``: lone requests outside office hours (nights, weekends, holidays), Poisson at
    that rate (someone working late, a cron job, a health check). ``meeting``: (weekday, hour,
    minutes, requests a minute) a weekly meeting that uses the model, e.g. (1, 16, 60, 40.0) on
    Tuesdays 16:00-17:00."""
    rng = random.Random(seed)
    zone = ZoneInfo(timezone)
    b = Builder(days * 1440, throughput or Throughput(), rng)
    day_factor: dict[date, float] = {}
    for m in range(days * 1440):
        local = (start + timedelta(minutes=m)).astimezone(zone)
        day = local.date()
        hour = local.hour + local.minute / 60
        in_meeting = meeting is not None and local.weekday() == meeting[0] and day not in holidays
        if in_meeting and meeting is not None and 0 <= (hour - meeting[1]) * 60 < meeting[2]:
            b.add(m, _poisson(rng, meeting[3]))
        if local.weekday() >= 5 or day in holidays or not 8 <= hour < 18:
            b.add(m, _poisson(rng, lone_per_hour / 60))
            continue
        if day not in day_factor:
            day_factor[day] = rng.uniform(0.8, 1.2)
        week = (local.date() - start.astimezone(zone).date()).days // 7 + 1
        peak = peak_hour + (drift_hours if drift_from_week is not None and week >= drift_from_week else 0.0)
        shape = math.exp(-(((hour - peak) / 2.5) ** 2))
        b.add(m, _poisson(rng, peak_requests * day_factor[day] * (0.15 + 0.85 * shape)))
    return b


def bursty(
    start: datetime, days: int, seed: int = 2, throughput: Throughput | None = None, per_day: float = 3
) -> Builder:
    """Bursts at random times: nothing to predict."""
    rng = random.Random(seed)
    b = Builder(days * 1440, throughput or Throughput(), rng)
    m = 0
    while m < days * 1440:
        m += int(rng.expovariate(per_day / 1440))
        length, rate = rng.randint(10, 40), rng.uniform(20, 200)
        for i in range(length):
            b.add(m + i, _poisson(rng, rate))
        m += length
    return b


def trickle(start: datetime, days: int, seed: int = 3, throughput: Throughput | None = None) -> Builder:
    """One request every 20-90 minutes."""
    rng = random.Random(seed)
    b = Builder(days * 1440, throughput or Throughput(), rng)
    m = rng.randint(0, 60)
    while m < days * 1440:
        b.add(m, 1)
        m += rng.randint(20, 90)
    return b


def scenario(name: str, start: datetime, days: int, seed: int | None = None, **kwargs: object) -> Builder:
    """One of ``SCENARIOS`` by name."""
    makers = {"office": office, "bursty": bursty, "trickle": trickle}
    if name not in makers:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    extra = {"seed": seed} if seed is not None else {}
    return makers[name](start, days, **extra, **kwargs)  # type: ignore[operator]
