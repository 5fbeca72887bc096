"""Measured time to ready -> the lead time warm-ups start ahead of demand, and the 'auto' idle
delay. Pure.

Lead time: the p90 of a component's recent measured times to ready (nearest rank, the last
``HISTORY`` warm-ups), or the policy's ``expected_time_to_ready`` until one is measured, plus the
endpoint's instance provisioning time when the copies will not fit on the instances running now.

Auto idle delay (the ski-rental break-even): keeping idle copies costs the instance time their
release would free, as AWS bills instances (``CostModel.holding_per_hour``: the instances needed
with them minus without, beside the other components' copies; never less than their share of the
instances they share); letting them go costs one cold start later. Keep them for as long as
keeping them costs what a cold start costs, no longer:
    delay = cold_start_cost / holding_cost_per_hour
Worked example: one flan-t5-xxl copy holds 2 of ml.g5.24xlarge's 4 GPUs ($10.18/h). Beside a
falcon-7b copy on that instance it frees nothing and pays its share, $5.09/h: with cold_start_cost
$2.00 the delay is 2.00 / 5.09 h = 23.6 min. Alone on the instance its release frees $10.18/h:
11.8 min. Without a cold_start_cost, the cost model's cold start: 8 min of loading ($0.68) + one
refused request ($0.10) = $0.78. Clamped to 5 min .. 24 h.

Learned cold-start price: a cold start costs most through the requests that meet it. The watcher
remembers, for the last ``HISTORY`` scale-ups from zero, how many requests a minute found the
component cold from the minute before the scale-up until it was ready (NoCapacityInvocationFailures)
and the next cold start is priced at their median over the measured time to ready, each request a
refusal or its wait (``CostModel.cold_start``, ``cold_request``), and with them the requests that
wait behind the backlog it leaves while that drains at what ``max_copies`` copies serve at the
autoscaling target (``cost.drain_minutes``). In the example, cold starts that met a median 90
requests a minute cost $72.68 without the drain: at its $5.09/h share the copy is kept 14.3 h after
the last request, because a burst arriving within that time costs less held warm than started cold.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..policy.model import ComponentPolicy, CostPolicy
from .capacity import Holding, Reservation
from .cost import CostModel, UnknownInstanceType, drain_minutes
from .forecast import Forecast
from .sizing import invocations_target

HISTORY = 10
MIN_IDLE = timedelta(minutes=5)
MAX_IDLE = timedelta(hours=24)


def p90(samples: Sequence[float]) -> float | None:
    """Nearest-rank 90th percentile; None for no samples."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = math.ceil(0.9 * len(ordered))
    return ordered[rank - 1]


def remember(history: Sequence[float], value: float) -> list[float]:
    """The history with ``value`` (a time to ready in seconds, or the requests a minute a cold start
    met) appended, the last ``HISTORY`` kept."""
    return [*history, round(value, 1)][-HISTORY:]


def time_to_ready(policy: ComponentPolicy, history: Sequence[float]) -> timedelta:
    measured = p90(history)
    return timedelta(seconds=measured) if measured is not None else policy.time_to_ready


def lead_time(
    policy: ComponentPolicy,
    history: Sequence[float],
    needs_new_instance: bool,
    provisioning: timedelta,
    queued: timedelta = timedelta(0),
) -> timedelta:
    """How long before a window opens its warm-up must start; whole minutes, rounded up.
    ``queued``: the time the writes of the warm-ups due with it take (``domain.bursts``)."""
    lead = time_to_ready(policy, history) + (provisioning if needs_new_instance else timedelta(0)) + queued
    # Whole seconds first: a measured 660.2 s (clock jitter) must not become a 12-minute lead.
    return timedelta(minutes=math.ceil(round(lead.total_seconds()) / 60))


@dataclass(frozen=True)
class IdleDelay:
    """The idle delay in force and the prices it weighs: holding the copies (USD an hour, the
    instance time their release frees or their share) against one cold start (USD)."""

    delay: timedelta
    holding_per_hour: float | None
    cold_start_cost: float | None
    explanation: str


def idle_delay(
    policy: ComponentPolicy,
    instance_type: str,
    reservation: Reservation | None,
    cost: CostPolicy | None = None,
    load: timedelta | None = None,
    met_at_cold_start: Sequence[float] | None = None,
    held: Holding | None = None,
) -> IdleDelay | None:
    """The idle scale-to-zero delay in force: fixed, derived ('auto'), or None (never).

    'auto' keeps an idle copy until holding it has cost one cold start (the deterministic
    ski-rental rule, at most 2x the reactive optimum): the policy's ``cold_start_cost`` if given,
    else the cost model's: the copy paid over its load time (``load``, default the expected time to
    ready) plus the requests past cold starts met (``met_at_cold_start``, requests a minute; their
    median), at least one refused request. Holding is priced as AWS bills it when ``held`` (the
    component's copies and its peers') is known: the instances its release frees, at least its
    share (``CostModel.holding_per_hour``); else one copy's share.
    """
    if policy.idle_scale_to_zero_after is None:
        return None
    if policy.idle_scale_to_zero_after != "auto":
        fixed = policy.idle_delay
        assert fixed is not None
        return IdleDelay(fixed, None, policy.cold_start_cost, f"fixed {policy.idle_scale_to_zero_after}")
    try:
        model = CostModel.of(cost or CostPolicy(), instance_type)
    except UnknownInstanceType:
        return IdleDelay(
            MAX_IDLE, None, policy.cold_start_cost, f"auto: no price for {instance_type}; keeping {MAX_IDLE}"
        )
    if reservation is None or (model.instance_accelerators and not reservation.accelerators and not reservation.cores):
        return IdleDelay(MAX_IDLE, None, policy.cold_start_cost, f"auto: no reservation known; keeping {MAX_IDLE}")
    per_hour = model.copy_per_hour(reservation) if held is None else model.holding_per_hour(reservation, held)
    if per_hour <= 0:
        return IdleDelay(MAX_IDLE, per_hour, policy.cold_start_cost, "auto: the copy costs nothing; keeping 24h")
    load_minutes = (load or policy.time_to_ready).total_seconds() / 60
    if policy.cold_start_cost is not None:
        cold, source = policy.cold_start_cost, "cold_start_cost"
    elif met_at_cold_start:
        met = statistics.median(met_at_cold_start)
        serves = policy.max_copies * per_copy if (per_copy := invocations_target(policy)) else None
        drain = drain_minutes(load_minutes, met, serves)
        cold = model.cold_start(reservation, load_minutes, met, drain)
        draining = f" + {drain:.0f} min draining" if drain >= 0.5 else ""
        source = (
            f"{load_minutes:.0f} min load{draining} meeting {met:.0f} requests/min, "
            f"the median of the last {len(met_at_cold_start)} cold starts"
        )
    else:
        cold = model.cold_start(reservation, load_minutes)
        source = f"{load_minutes:.0f} min load + refusal ${model.refusal_cost:.2f}"
    raw = timedelta(hours=cold / per_hour)
    delay = min(max(raw, MIN_IDLE), MAX_IDLE)
    delay = timedelta(minutes=math.ceil(delay.total_seconds() / 60))
    held_as = (
        f"copy ${per_hour:.2f}/h ({model.share(reservation):.0%} of {instance_type}"
        if held is None
        else f"{held.copies} held ${per_hour:.2f}/h (the instance time they free or share on {instance_type}"
    )
    text = (
        f"auto: cold start ${cold:.2f} ({source}) / {held_as} at ${model.instance_price_per_hour:.2f}/h) "
        f"= {raw.total_seconds() / 60:.1f} min -> {delay}"
    )
    return IdleDelay(delay, per_hour, cold, text)


def idle_delay_in_force(
    policy: ComponentPolicy,
    instance_type: str,
    reservation: Reservation | None,
    cost: CostPolicy,
    ready_history: Sequence[float],
    met_at_cold_start: Sequence[float],
    forecast: Forecast | None = None,
    now: datetime | None = None,
    held: Holding | None = None,
) -> IdleDelay | None:
    """The idle delay configure sets on the idle alarm, from what the state table has measured: the
    one rule shared by configure, ``icpilot plan`` and the simulator (``cost``: the endpoint's block).

    With learned demand acting (``predictive.mode: scale``) and an ``auto`` delay, the forecast
    prices the wait: a cold start is only paid if demand comes before the delay ends in a slot the
    forecast does not hold a copy for (a held slot is warmed ahead by the floor). So the copy is
    held ``cold start x odds / price``, the ski-rental break-even of the expected cold start, between
    MIN_IDLE and the delay without a forecast. Configure runs every ``ConfigureRate`` and re-derives it."""
    load = time_to_ready(policy, ready_history)  # measured: with provisioning when it was needed
    derived = idle_delay(policy, instance_type, reservation, cost, load, met_at_cold_start, held)
    if (
        derived is None
        or forecast is None
        or now is None
        or policy.idle_scale_to_zero_after != "auto"
        or policy.predictive.mode != "scale"
        or not derived.holding_per_hour
        or derived.cold_start_cost is None
    ):
        return derived
    odds = forecast.unheld_odds_within(now, derived.delay)
    raw = timedelta(hours=derived.cold_start_cost * odds / derived.holding_per_hour)
    delay = min(max(raw, MIN_IDLE), derived.delay)
    delay = timedelta(minutes=math.ceil(delay.total_seconds() / 60))
    if delay >= derived.delay:
        return derived
    text = f"{derived.explanation}; the forecast gives {odds:.0%} odds of unheld demand within it -> {delay}"
    return IdleDelay(delay, derived.holding_per_hour, derived.cold_start_cost, text)
