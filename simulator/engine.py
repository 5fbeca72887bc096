"""A minute-by-minute model of one endpoint serving traces under four strategies.

- ``icpilot``: the real ``decide()`` on every minute (schedule edges fall on minutes), the alarms
  icpilot configures (no-capacity, idle, high-load) as state transitions, and AAS target tracking
  between icpilot's bounds when the policy asks for it;
- ``aas-only``: AWS's documented recipe alone: target tracking on invocations per copy (scale out
  after 3 breaching minutes, in after 15, with the policy's cooldowns) plus the step policy that adds
  one copy after a minute with NoCapacityInvocationFailures;
- ``always-on``: ``max_copies`` loaded all day;
- ``oracle``: perfect foresight, fewest accelerator-minutes that serve every request (see oracle.py).

A copy costs its accelerators from the minute it starts loading. Copies load in
``load_minutes``; an endpoint holds at most ``max_instances x accelerators`` (copies beyond wait).
A minute's requests are served in proportion to loaded slot capacity; the rest wait one minute and
are served late (delayed) if there is room then, else refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from icpilot.capacity import Reservation
from icpilot.decision import (
    Action,
    AlarmKind,
    ComponentObservation,
    ComponentState,
    EndpointObservation,
    Trigger,
    TriggerKind,
    decide,
)
from icpilot.instance_types import INSTANCE_TYPES
from icpilot.policy.model import ComponentPolicy

from .traces import MinuteDemand, Throughput


@dataclass
class SimComponent:
    name: str
    policy: ComponentPolicy
    reservation: Reservation
    demand: MinuteDemand
    throughput: Throughput
    load_minutes: int


@dataclass
class Fleet:
    """One component's copies under one strategy."""

    loaded: int = 0
    loading: list[int] = field(default_factory=list)  # minute each loading copy is ready
    desired: int = 0

    def set(self, n: int, t: int, load: int) -> None:
        self.desired = n
        while self.loaded + len(self.loading) > n:
            if self.loading:
                self.loading.pop()
            else:
                self.loaded -= 1
        while self.loaded + len(self.loading) < n:
            self.loading.append(t + load)

    def step(self, t: int) -> None:
        ready = [r for r in self.loading if r <= t]
        self.loaded += len(ready)
        self.loading = [r for r in self.loading if r > t]

    @property
    def paid(self) -> int:
        return self.loaded + len(self.loading)


@dataclass
class Result:
    strategy: str
    copies: dict[str, list[int]]
    served: dict[str, int]
    delayed: dict[str, int]
    refused: dict[str, int]
    accelerator_minutes: float
    cold_starts: int
    minutes_at_zero: dict[str, int]

    @property
    def accelerator_hours(self) -> float:
        return self.accelerator_minutes / 60


def _serve(
    c: SimComponent, fleet: Fleet, t: int, waiting: tuple[int, float]
) -> tuple[int, int, int, tuple[int, float]]:
    """(served, delayed, refused, now waiting). Requests a busy minute cannot take wait one minute
    (a client retry or queue) and are served late ("delayed") if the next minute has room; with no
    copy at all they fail at once (NoCapacityInvocationFailures), as SageMaker does."""
    late_requests, late_seconds = waiting
    requests = c.demand.requests[t]
    need = c.demand.slot_seconds[t]
    capacity = fleet.loaded * c.throughput.slots_per_copy * 60.0
    if fleet.loaded == 0:
        return 0, 0, requests + late_requests, (0, 0.0)
    delayed = (
        late_requests
        if capacity >= late_seconds
        else int(late_requests * capacity / late_seconds)
        if late_seconds
        else 0
    )
    refused = late_requests - delayed
    capacity = max(0.0, capacity - late_seconds * (delayed / late_requests if late_requests else 0))
    served = requests if capacity >= need else int(requests * capacity / need) if need else requests
    left = requests - served
    return served, delayed, refused, (left, need * left / requests if requests else 0.0)


class TargetTracking:
    """AAS target tracking on invocations per copy per minute (3 minutes out, 15 in)."""

    def __init__(self, target: float, out_cooldown: int, in_cooldown: int) -> None:
        self.target, self.out_cooldown, self.in_cooldown = target, out_cooldown, in_cooldown
        self.high = 0
        self.low = 0
        self.last = -(10**6)

    def desired(self, fleet: Fleet, invocations: int, t: int, lo: int, hi: int) -> int | None:
        if fleet.loaded == 0:
            return None  # no per-copy metric at zero copies: target tracking cannot act
        per_copy = invocations / fleet.loaded
        self.high = self.high + 1 if per_copy > self.target else 0
        self.low = self.low + 1 if per_copy < 0.9 * self.target else 0
        want = max(lo, min(hi, math.ceil(fleet.loaded * per_copy / self.target))) if per_copy else lo
        if self.high >= 3 and want > fleet.desired and t - self.last >= self.out_cooldown:
            self.last = t
            return want
        if self.low >= 15 and want < fleet.desired and t - self.last >= self.in_cooldown:
            self.last = t
            return max(want, 1 if lo == 0 else lo)  # target tracking never scales in to zero
        return None


def _accel(c: SimComponent) -> float:
    return c.reservation.accelerators or 1.0


def _capacity_ok(components: list[SimComponent], fleets: dict[str, Fleet], who: str, n: int, total: float) -> int:
    """Cap ``who``'s copies so every component's copies fit the endpoint's accelerators."""
    others = sum(fleets[c.name].paid * _accel(c) for c in components if c.name != who)
    mine = next(c for c in components if c.name == who)
    return max(0, min(n, int((total - others) // _accel(mine))))


def run(
    strategy: str, components: list[SimComponent], instance_type: str, max_instances: int, start: datetime, minutes: int
) -> Result:
    total_accel = INSTANCE_TYPES[instance_type].accelerators * max_instances
    fleets = {c.name: Fleet() for c in components}
    states = {c.name: ComponentState() for c in components}
    result = Result(
        strategy,
        {c.name: [] for c in components},
        dict.fromkeys(fleets, 0),
        dict.fromkeys(fleets, 0),
        dict.fromkeys(fleets, 0),
        0.0,
        0,
        dict.fromkeys(fleets, 0),
    )
    waiting: dict[str, tuple[int, float]] = {c.name: (0, 0.0) for c in components}
    tt = {
        c.name: TargetTracking(
            c.policy.autoscaling.target if c.policy.autoscaling else 20.0,
            int(_minutes(c.policy.autoscaling.scale_out_cooldown if c.policy.autoscaling else "1m")),
            int(_minutes(c.policy.autoscaling.scale_in_cooldown if c.policy.autoscaling else "5m")),
        )
        for c in components
    }
    alarm = {c.name: {"no-capacity": False} for c in components}
    idle_run = dict.fromkeys(fleets, 0)
    load_run = dict.fromkeys(fleets, 0)
    last_refused = dict.fromkeys(fleets, 0)
    step_cooldown = dict.fromkeys(fleets, -(10**6))
    if strategy == "always-on":
        for c in components:
            fleets[c.name].set(_capacity_ok(components, fleets, c.name, c.policy.max_copies, total_accel), 0, 0)
    for t in range(minutes):
        now = start + timedelta(minutes=t)
        for c in components:
            fleets[c.name].step(t)
        for c in components:
            fleet = fleets[c.name]
            served, delayed, refused, waiting[c.name] = _serve(c, fleet, t, waiting[c.name])
            result.served[c.name] += served + delayed
            result.delayed[c.name] += delayed
            result.refused[c.name] += refused
            invocations = served + delayed
            if fleet.loaded == 0 and served == 0:
                refused = max(refused, c.demand.requests[t])  # what the no-capacity alarm counts
            idle_run[c.name] = idle_run[c.name] + 1 if invocations == 0 else 0
            per_copy = invocations / fleet.loaded if fleet.loaded else 0
            hl = c.policy.high_load
            load_run[c.name] = load_run[c.name] + 1 if hl and per_copy > hl.threshold else 0
            if strategy == "aas-only":
                if last_refused[c.name] and t - step_cooldown[c.name] >= 1:
                    fleet.set(
                        _capacity_ok(
                            components, fleets, c.name, min(c.policy.max_copies, fleet.desired + 1), total_accel
                        ),
                        t,
                        c.load_minutes,
                    )
                    step_cooldown[c.name] = t
                elif (want := tt[c.name].desired(fleet, invocations, t, 0, c.policy.max_copies)) is not None:
                    fleet.set(_capacity_ok(components, fleets, c.name, want, total_accel), t, c.load_minutes)
            elif strategy == "icpilot":
                triggers = [Trigger(TriggerKind.TICK, source="minute")]
                if (refused > 0) != alarm[c.name]["no-capacity"]:
                    alarm[c.name]["no-capacity"] = refused > 0
                    if refused > 0:
                        triggers.append(Trigger(TriggerKind.ALARM, alarm=AlarmKind.NO_CAPACITY))
                idle_minutes = int(_minutes(c.policy.idle_scale_to_zero_after)) if c.policy.idle_delay else None
                idle_now = idle_minutes is not None and idle_run[c.name] >= idle_minutes
                if idle_now and fleet.desired > 0:  # on the transition, and from the tick while in ALARM
                    triggers.append(Trigger(TriggerKind.ALARM, alarm=AlarmKind.IDLE))
                if hl and load_run[c.name] >= hl.minutes and load_run[c.name] % max(1, hl.minutes) == 0:
                    triggers.append(Trigger(TriggerKind.ALARM, alarm=AlarmKind.HIGH_LOAD))
                for trigger in triggers:
                    observation = ComponentObservation(
                        c.name, "Updating" if fleet.loading else "InService", fleet.desired, fleet.loaded, c.reservation
                    )
                    endpoint = EndpointObservation(
                        "sim",
                        instance_type,
                        max_instances,
                        tuple(
                            ComponentObservation(
                                o.name, "InService", fleets[o.name].desired, fleets[o.name].loaded, o.reservation
                            )
                            for o in components
                        ),
                    )
                    d = decide(
                        c.policy,
                        observation,
                        endpoint,
                        states[c.name],
                        trigger,
                        now,
                        lead=timedelta(minutes=c.load_minutes),
                    )
                    if d.action == Action.SCALE:
                        if fleet.desired == 0 and d.target > 0:
                            states[c.name] = ComponentState(warmup_started_at=now)
                        else:
                            states[c.name] = ComponentState(warmup_started_at=states[c.name].warmup_started_at)
                        fleet.set(_capacity_ok(components, fleets, c.name, d.target, total_accel), t, c.load_minutes)
                    elif d.action == Action.DEFER:
                        states[c.name] = ComponentState(
                            pending_target=d.target,
                            pending_reason=d.reason,
                            warmup_started_at=states[c.name].warmup_started_at,
                        )
                if c.policy.autoscaling and not fleet.loading:
                    from icpilot.windows import bounds_at

                    b = bounds_at(c.policy, now)
                    if (want := tt[c.name].desired(fleet, invocations, t, b.floor, b.ceiling)) is not None:
                        fleet.set(_capacity_ok(components, fleets, c.name, want, total_accel), t, c.load_minutes)
            last_refused[c.name] = refused
        for c in components:
            fleet = fleets[c.name]
            if (
                fleet.loading
                and fleet.loaded == 0
                and len(fleet.loading) == fleet.paid
                and all(r == t + c.load_minutes for r in fleet.loading)
            ):
                result.cold_starts += 1
            result.copies[c.name].append(fleet.paid)
            result.minutes_at_zero[c.name] += fleet.paid == 0
            result.accelerator_minutes += fleet.paid * _accel(c)
    return result


def _minutes(duration: str | int | None) -> float:
    from icpilot.policy.model import parse_duration

    return parse_duration(duration or 0).total_seconds() / 60
