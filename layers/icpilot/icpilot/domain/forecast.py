"""Learned demand: a per-component profile from past traffic and the copies worth holding ahead of it. Pure.

**Model.** The local day (in the policy's ``predictive.timezone``) is cut into 15-minute slots and
days into two classes, weekdays and weekends (traffic of people follows the working week; a
finer class needs more weeks of history than 14 days give). The policy's ``predictive.holidays``
are weekend days: their traffic is learned with the weekends' and they are held as weekends.
For every (class, slot) the profile keeps, across the days of that class in the history:

* ``peak``: a weighted upper quantile (q = 0.75) of the day's busiest minute in the slot, and
* ``occurrence``: the weighted fraction of those days with any request in the slot, and
* ``requests``: the weighted mean of the slot's requests across those days (quiet days count as
  zero): what a copy warmed for the slot could expect to serve (the rule that declines a warm-up
  for a lone request reads it, ``domain.warming``),

each day weighted ``0.7 ** weeks_ago`` so recent weeks count more and a drift of the peak hour is
followed within a week or two. An upper quantile of per-day values ignores one anomalous day in
either direction (a holiday's zero, an outage's retry storm) as long as the class has four or more
days; a class with fewer than three days in the history (the weekend of a first week) holds nothing; robust quantiles across days were chosen over a mean (pulled by any outlier) and over
exponential smoothing per minute (it forgets the weekly shape and smears the morning ramp).

**Copies worth holding (the ski-rental trade-off with the policy's cost block).** Holding the k-th
copy through a slot costs its price for the slot. Not holding it means, on the days demand comes,
a cold start for the requests it would have served: for ``min(load, slot)`` minutes each of them waits
(``delay_cost_per_minute`` x half the load) or, beyond the clients' patience, fails
(``refusal_cost``). The k-th copy is held when

    occurrence x served_k x min(load, 15) x min(refusal_cost, delay x load / 2) > price_per_minute x 15

where ``served_k = clamp(peak - (k - 1) C, 0, C)`` requests a minute and C what a copy serves in a
minute (the autoscaling target, invocations per copy per minute), and only in slots with demand on
at least half the days of the class: bursts at random times recur in a slot by chance, and holding
for them costs more than it saves (a weekly event inside the weekday class is missed: a limit). Worked example: an office slot
at peak 60 requests/minute, occurrence 1, C = 55, load 6 min, refusal $0.10, delay $0.01: copy 1
serves 55 -> 1 x 55 x 6 x min(0.10, 0.03) = $9.90 against 15 x $0.042 = $0.64: held; copy 2
serves 5 -> $0.90 > $0.64: held; copy 3 serves 0: not held. A trickle slot (one request in four
slots, occurrence 0.25, peak 1) is below the occurrence bar, and would be worth $0.045 anyway.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..policy.model import ComponentPolicy
from .capacity import Reservation
from .cost import CostModel

SLOT_MINUTES = 15
DEFAULT_PER_COPY_PER_MINUTE = 20.0  # without target tracking: a conservative requests/minute per copy
SLOTS_PER_DAY = 24 * 60 // SLOT_MINUTES
CLASSES = ("weekday", "weekend")
QUANTILE = 0.75
WEEKLY_DECAY = 0.7
MIN_DAYS_PER_CLASS = 3  # an upper quantile of fewer days is one day's accident
MIN_OCCURRENCE = 0.5  # demand on fewer than half the days of a class is not a pattern (bursts at random)


def day_class(day: date, holidays: frozenset[date] = frozenset()) -> str:
    """A holiday (the policy's ``predictive.holidays``) is a weekend day: its traffic is learned
    with the weekends' and its floors are theirs."""
    return "weekend" if day.weekday() >= 5 or day in holidays else "weekday"


def _slot(local: datetime) -> int:
    return (local.hour * 60 + local.minute) // SLOT_MINUTES


def weighted_quantile(values: list[float], weights: list[float], q: float) -> float:
    """The smallest value whose cumulative weight reaches q of the total (0 for no values)."""
    if not values:
        return 0.0
    pairs = sorted(zip(values, weights, strict=True))
    total = sum(w for _, w in pairs)
    if total <= 0:
        return 0.0
    running = 0.0
    for value, weight in pairs:
        running += weight
        if running >= q * total - 1e-12:
            return value
    return pairs[-1][0]


@dataclass(frozen=True)
class HoldingPrices:
    """The figures the ski-rental rule weighs (from the policy's cost block and the component)."""

    copy_per_minute: float
    refusal_cost: float
    delay_cost_per_minute: float
    load_minutes: float
    per_copy_per_minute: float  # requests a copy serves in a minute (the autoscaling target)
    max_copies: int

    @classmethod
    def of(
        cls, policy: ComponentPolicy, cost: CostModel, reservation: Reservation, load_minutes: float
    ) -> HoldingPrices:
        """The component's prices: its copy's share of the instance, the cost block, its load time."""
        tracking = policy.autoscaling
        per_copy = (
            tracking.target
            if tracking is not None and tracking.metric == "invocations_per_copy"
            else DEFAULT_PER_COPY_PER_MINUTE
        )
        return cls(
            cost.copy_per_minute(reservation),
            cost.refusal_cost,
            cost.delay_cost_per_minute,
            load_minutes,
            per_copy,
            policy.forecast_cap,
        )

    def worth_holding(self, peak: float, occurrence: float) -> int:
        """Copies worth holding through one slot for this demand (see the module docstring)."""
        if peak <= 0 or occurrence < MIN_OCCURRENCE or self.per_copy_per_minute <= 0:
            return 0
        per_request = min(self.refusal_cost, self.delay_cost_per_minute * self.load_minutes / 2)
        exposure = min(self.load_minutes, SLOT_MINUTES)
        holding = self.copy_per_minute * SLOT_MINUTES
        copies = 0
        for k in range(1, self.max_copies + 1):
            served = min(self.per_copy_per_minute, max(0.0, peak - (k - 1) * self.per_copy_per_minute))
            if occurrence * served * exposure * per_request <= holding:
                break
            copies = k
        return copies


@dataclass(frozen=True)
class Forecast:
    """A component's learned profile and the floors it implies, per day class and 15-minute slot."""

    timezone: str
    generated_at: datetime
    history_days: int
    peak: dict[str, list[float]]
    occurrence: dict[str, list[float]]
    floors: dict[str, list[int]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()  # the policy's, when it learned: days held as weekends
    # Mean requests per (class, slot); empty in a forecast stored before it was learned.
    requests: dict[str, list[float]] = field(default_factory=dict)

    def floor_at(self, when: datetime) -> int:
        local = when.astimezone(ZoneInfo(self.timezone))
        return self.floors[day_class(local.date(), self.holidays)][_slot(local)]

    def floor_within(self, now: datetime, lead: timedelta) -> int:
        """The highest floor from now to ``now + lead``: copies load before the predicted demand."""
        best, t = self.floor_at(now), now
        end = now + lead
        while t < end:
            t = min(t + timedelta(minutes=SLOT_MINUTES), end)
            best = max(best, self.floor_at(t))
        return best

    def unheld_odds_within(self, now: datetime, span: timedelta) -> float:
        """The odds that demand comes in ``[now, now + span)`` in a slot the forecast does not hold a
        copy for: the highest occurrence among those slots (0 when every slot with demand is held,
        or there is none). Demand in a held slot is met by the floor, which warms ahead of it."""
        odds, t, end = 0.0, now, now + span
        while t < end:
            local = t.astimezone(ZoneInfo(self.timezone))
            kind, slot = day_class(local.date(), self.holidays), _slot(local)
            if self.floors[kind][slot] == 0:
                odds = max(odds, self.occurrence[kind][slot])
            t += timedelta(minutes=SLOT_MINUTES)
        return odds

    def expected_at(self, when: datetime) -> float:
        local = when.astimezone(ZoneInfo(self.timezone))
        return self.peak[day_class(local.date(), self.holidays)][_slot(local)]

    def requests_within(self, now: datetime, span: timedelta) -> float | None:
        """The requests expected in ``[now, now + span)``: each slot's mean, in proportion to the
        part of the slot the span covers. None when this forecast has no request means."""
        if not self.requests:
            return None
        expected, t, end = 0.0, now.astimezone(UTC), (now + span).astimezone(UTC)
        zone, slot = ZoneInfo(self.timezone), timedelta(minutes=SLOT_MINUTES)
        while t < end:
            # Every zone's offset is a multiple of 15 minutes, so local slots end on UTC quarter
            # hours, also across a DST change (local wall-clock arithmetic is not safe there).
            slot_end = t.replace(minute=t.minute - t.minute % SLOT_MINUTES, second=0, microsecond=0) + slot
            step = min(end, slot_end) - t
            local = t.astimezone(zone)
            expected += self.requests[day_class(local.date(), self.holidays)][_slot(local)] * (step / slot)
            t += step
        return expected

    def to_item(self) -> dict[str, object]:
        """A compact JSON-able form for the state table (about 3 KB)."""
        return {
            "timezone": self.timezone,
            "generated_at": self.generated_at.isoformat(),
            "history_days": self.history_days,
            "peak": {k: [round(v, 1) for v in vs] for k, vs in self.peak.items()},
            "occurrence": {k: [round(v, 2) for v in vs] for k, vs in self.occurrence.items()},
            "floors": self.floors,
            **(
                {"requests": {k: [round(v, 2) for v in vs] for k, vs in self.requests.items()}} if self.requests else {}
            ),
            **({"holidays": sorted(d.isoformat() for d in self.holidays)} if self.holidays else {}),
        }

    @classmethod
    def from_item(cls, item: dict[str, object]) -> Forecast:
        """The inverse of ``to_item``; raises ValueError naming what is wrong."""
        try:
            peak = {str(k): [float(x) for x in v] for k, v in dict(item["peak"]).items()}  # type: ignore[call-overload]
            occurrence = {str(k): [float(x) for x in v] for k, v in dict(item["occurrence"]).items()}  # type: ignore[call-overload]
            floors = {str(k): [int(x) for x in v] for k, v in dict(item["floors"]).items()}  # type: ignore[call-overload]
            requests = {str(k): [float(x) for x in v] for k, v in dict(item.get("requests", {})).items()}  # type: ignore[call-overload]
            forecast = cls(
                str(item["timezone"]),
                datetime.fromisoformat(str(item["generated_at"])),
                int(str(item["history_days"])),
                peak,
                occurrence,
                floors,
                frozenset(date.fromisoformat(str(d)) for d in list(item.get("holidays", []))),  # type: ignore[call-overload]
                requests,
            )
            ZoneInfo(forecast.timezone)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"unreadable forecast item: {exc}") from None
        if any(len(forecast.floors.get(c, [])) != SLOTS_PER_DAY for c in CLASSES):
            raise ValueError(f"unreadable forecast item: floors need {SLOTS_PER_DAY} slots per class")
        if requests and any(len(requests.get(c, [])) != SLOTS_PER_DAY for c in CLASSES):
            raise ValueError(f"unreadable forecast item: requests need {SLOTS_PER_DAY} slots per class")
        return forecast

    def changed_from(self, other: Forecast | None) -> int:
        """How many (class, slot) floors differ from ``other`` (all of them when there is none)."""
        if other is None:
            return sum(1 for c in CLASSES for f in self.floors[c] if f)
        return sum(1 for c in CLASSES for a, b in zip(self.floors[c], other.floors[c], strict=True) if a != b)

    def held_copy_hours_per_week(self) -> float:
        return (5 * sum(self.floors["weekday"]) + 2 * sum(self.floors["weekend"])) * SLOT_MINUTES / 60


def learn(
    counts: list[float],
    start: datetime,
    now: datetime,
    timezone: str,
    prices: HoldingPrices,
    history: timedelta = timedelta(days=14),
    min_history: timedelta = timedelta(days=3),
    holidays: frozenset[date] = frozenset(),
) -> Forecast | None:
    """The forecast from per-minute request counts ``counts[i]`` at ``start + i minutes``; days in
    ``holidays`` are learned, and later held, as weekend days.

    Only minutes before ``now`` and within ``history`` of it are used (a forecast never sees the
    future it predicts); fewer than ``min_history`` of them -> None (stay reactive)."""
    zone = ZoneInfo(timezone)
    first = max(start, now - history)
    begin = max(0, math.ceil((first - start).total_seconds() / 60))
    end = min(len(counts), int((now - start).total_seconds() // 60))
    # History starts with the first request seen (CloudWatch has no datapoints before a component
    # had traffic, and a dense series reads those minutes as zeros).
    begin = next((i for i in range(begin, end) if counts[i] > 0), end)
    if end - begin < min_history.total_seconds() / 60:
        return None
    # Busiest minute and requests in all per (local day, slot).
    peaks: dict[tuple[date, int], float] = {}
    totals: dict[tuple[date, int], float] = {}
    days: set[date] = set()
    for i in range(begin, end):
        local = (start + timedelta(minutes=i)).astimezone(zone)
        key = (local.date(), _slot(local))
        days.add(local.date())
        totals[key] = totals.get(key, 0.0) + counts[i]
        if counts[i] > peaks.get(key, 0.0):
            peaks[key] = counts[i]
    today = now.astimezone(zone).date()
    # A day only partly in the history (the first, or today) would read as quiet: left out.
    first_local = (start + timedelta(minutes=begin)).astimezone(zone)
    partial = {today, first_local.date()} if first_local.time() != datetime.min.time() else {today}
    complete = sorted(d for d in days if d not in partial)
    if not complete:
        return None
    peak: dict[str, list[float]] = {}
    occurrence: dict[str, list[float]] = {}
    floors: dict[str, list[int]] = {}
    requests: dict[str, list[float]] = {}
    for cls in CLASSES:
        members = [d for d in complete if day_class(d, holidays) == cls]
        if len(members) < MIN_DAYS_PER_CLASS:
            members = []  # too few days to tell a pattern from one anomalous day: no floor for the class
        weights = [WEEKLY_DECAY ** ((today - d).days // 7) for d in members]
        total = sum(weights)
        peak[cls], occurrence[cls], requests[cls] = [], [], []
        for s in range(SLOTS_PER_DAY):
            values = [peaks.get((d, s), 0.0) for d in members]
            peak[cls].append(weighted_quantile(values, weights, QUANTILE))
            seen = sum(w for v, w in zip(values, weights, strict=True) if v > 0)
            occurrence[cls].append(seen / total if total else 0.0)
            served = sum(w * totals.get((d, s), 0.0) for d, w in zip(members, weights, strict=True))
            requests[cls].append(served / total if total else 0.0)
        floors[cls] = [prices.worth_holding(p, o) for p, o in zip(peak[cls], occurrence[cls], strict=True)]
    return Forecast(timezone, now, len(complete), peak, occurrence, floors, holidays, requests)


def forecast_floor(
    predictive_mode: str, cap: int, forecast: Forecast | None, now: datetime, lead: timedelta
) -> int | None:
    """The floor ``decide()`` gets: in mode ``scale`` only, the forecast's highest floor over the lead
    time, capped (the policy's ``predictive.max_copies``, else ``max_copies``); None otherwise."""
    if predictive_mode != "scale" or forecast is None:
        return None
    return min(forecast.floor_within(now, lead), cap)
