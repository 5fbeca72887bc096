"""Copy-hours and accelerator-hours from recorded transitions, against always-on; the daily
report's other figures (cold starts, times to ready, delayed requests, forecast error). Pure.

A component's copies are piecewise constant between transitions (``CopyChange``: time, from, to). Over a
period [since, until] the count at ``since`` is the last transition's ``to`` before it, or the
first later transition's ``from`` (nothing changed before that, even when that transition came
after ``until``), or the current count when there was no transition at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .transitions import CopyChange


@dataclass(frozen=True)
class Usage:
    component: str
    copy_hours: float
    accelerator_hours: float
    always_on_copy_hours: float
    always_on_accelerator_hours: float
    changes: int

    @property
    def saved_fraction(self) -> float:
        return (
            1 - self.accelerator_hours / self.always_on_accelerator_hours if self.always_on_accelerator_hours else 0.0
        )


def copy_hours(
    transitions: Sequence[CopyChange],
    since: datetime,
    until: datetime,
    current: int,
    settings: Sequence[tuple[datetime, int]] = (),
) -> tuple[float, int]:
    """(copy-hours in [since, until], number of changes in it).

    ``settings`` are copy counts someone else set, ``(time, count)``: Application Auto Scaling's
    successful scaling activities (target tracking, step policies), which icpilot's transitions do
    not record. Both kinds are one timeline; a change both recorded counts once."""
    points: list[tuple[datetime, int | None, int]] = sorted(
        [(t, f, to) for t, f, to in transitions] + [(t, None, count) for t, count in settings],
        key=lambda p: p[0],
    )
    before = [p for p in points if p[0] <= since]
    later = [p for p in points if p[0] > since]
    inside = [p for p in later if p[0] <= until]
    # The count the period starts with: the last setting before it, else what the first later
    # recorded transition started from (nothing changed before), else today's count.
    count = before[-1][2] if before else next((p[1] for p in later if p[1] is not None), current)
    total, t, changes = 0.0, since, 0
    for when, _from, to in inside:
        total += count * (when - t).total_seconds() / 3600
        changes += to != count
        count, t = to, when
    total += count * (until - t).total_seconds() / 3600
    return total, changes


def usage(
    component: str,
    transitions: Sequence[CopyChange],
    since: datetime,
    until: datetime,
    current: int,
    accelerators: float,
    ceiling: int,
    settings: Sequence[tuple[datetime, int]] = (),
) -> Usage:
    hours, changes = copy_hours(transitions, since, until, current, settings)
    span = (until - since).total_seconds() / 3600
    per_copy = accelerators or 1.0  # CPU-only components: count copies
    return Usage(
        component,
        round(hours, 3),
        round(hours * per_copy, 3),
        round(ceiling * span, 3),
        round(ceiling * span * per_copy, 3),
        changes,
    )


def local_day(day: date, zone: str) -> tuple[datetime, datetime]:
    """[local midnight, next local midnight) of ``day`` in ``zone``, in UTC: 23 or 25 hours on DST days."""
    tz = ZoneInfo(zone)
    since = datetime.combine(day, time(0), tz).astimezone(UTC)
    until = datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)
    return since, until


def cold_starts(transitions: Sequence[CopyChange], since: datetime, until: datetime) -> list[datetime]:
    """When the component was raised from zero copies within (since, until]."""
    return sorted(c.at for c in transitions if since < c.at <= until and c.from_copies == 0 and c.to_copies > 0)


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) by linear interpolation between order statistics; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def delayed_requests(
    refused_per_minute: list[float], since: datetime, warm_ups: list[tuple[datetime, datetime]]
) -> float:
    """The refused requests that fell while a warm-up from zero was under way ([started, ready)):
    a waiting client (icpilot_client) retried them and was served once the copy was ready."""
    total = 0.0
    for i, value in enumerate(refused_per_minute):
        minute = since + timedelta(minutes=i)
        if value and any(start <= minute < ready for start, ready in warm_ups):
            total += value
    return total


def weighted_absolute_error(expected: list[float], actual: list[float]) -> float | None:
    """sum |expected - actual| / sum actual (WAPE): the forecast's miss as a share of the demand
    it had to meet; None when there was no demand."""
    demand = sum(actual)
    if demand <= 0:
        return None
    return sum(abs(e - a) for e, a in zip(expected, actual, strict=True)) / demand
