"""The one brain: (policy, observed state, trigger, now) -> Decision. Pure: no AWS, no clock.

Used by every Lambda, the CLI's ``plan`` and the simulator. A decision always says why.

Rules, in order:
1. A Failed component, or a component on an endpoint that is Failed, Deleting, OutOfService or
   UpdateRollbackFailed, is not touched (reported once).
2. An active override pins the copies (within 0..max_copies) and AAS's bounds; alarms wait.
3. The intent: for a schedule or tick, the current intent (a deferred one, else SageMaker's
   desired count); for an alarm, what the alarm asks — no-capacity: at least ``warmup_copies`` at
   once; high-load: ``step`` more; idle: zero, unless a window's floor, an override or the
   scale-to-zero guard after a recent scale-from-zero says no.
4. The intent is moved into the schedule bounds [floor, ceiling] at ``now``. Between the bounds
   icpilot leaves the count to AAS, so it never fights it. An alarm or demand signal held down by
   the policy's own ceiling is reported (CeilingReached): the policy said no, not the hardware.
5. A raise is capped at what the endpoint hosts beside the other components. Higher-priority
   components' pending intents are reserved first; lower-priority ``preemptible`` components give
   up copies above their floors. Every cap is reported (CapacityRefused) with the numbers.
6. A component being created or updated, or on an endpoint being created or updated, cannot take
   a write: the intent is deferred, not dropped. So is a scale from zero of a component declared
   ``after:`` others until they are ready, and a scale to zero of one others depend on while they run.
7. While a scale-from-zero warm-up is loading, AAS dynamic scale-out is suspended so the
   no-capacity step policy does not add copies on top of icpilot's (restored once ready).
8. icpilot owns the last copy: while a component keeps copies, AAS's MinCapacity is at least 1
   (``aas_min_holding_last_copy``), so target tracking scales between 1 and the ceiling and only
   icpilot's idle rule (its delay, guard and ``after:`` order, with its events) takes it to zero.

Also: a client's demand signal scales from zero like the no-capacity alarm, sized by the requests
waiting (a no-op when copies exist); the forecast floor (learned demand, ``predictive``) is one
more floor below the ceiling; windows opening within the lead time already count; and a cap is
said once per episode (``last_refusal``), not on every tick while it lasts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from ..policy.model import ComponentPolicy
from .capacity import Reservation, copies_that_fit
from .events import EventDraft, EventType
from .instance_types import INSTANCE_TYPES
from .status import BUSY, ENDPOINT_BUSY, ENDPOINT_DOWN, ComponentStatus
from .windows import Bounds, bounds_with_lead

CAPS = (EventType.CAPACITY_REFUSED, EventType.CEILING_REACHED)  # each said once per distinct cap


def copies(n: int | None) -> str:
    """'1 copy', '3 copies': reasons are read by people."""
    return f"{n} copy" if n == 1 else f"{n} copies"


class TriggerKind(StrEnum):
    SCHEDULE = "schedule"
    TICK = "tick"
    ALARM = "alarm"
    MANUAL = "manual"
    DEMAND = "demand"  # a client met a component at zero copies (icpilot_client's demand signal)
    FORECAST = "forecast"  # the hourly forecast run (learned demand)


class AlarmKind(StrEnum):
    NO_CAPACITY = "no-capacity"
    HIGH_LOAD = "high-load"
    IDLE = "idle"


@dataclass(frozen=True)
class Trigger:
    kind: TriggerKind
    source: str = ""
    rule: str | None = None
    alarm: AlarmKind | None = None
    requested_at: datetime | None = None  # when the demand showed (an alarm's state change); default: now
    # no-capacity alarm: requests that found no copy in its last period; demand signal: requests waiting
    failed_requests: float | None = None
    # high-load alarm: its last datapoint, invocations per copy in its period (CloudWatch's, not the payload's)
    load_per_copy: float | None = None


@dataclass(frozen=True)
class ComponentObservation:
    name: str
    status: str
    desired: int
    current: int
    reservation: Reservation
    failure_reason: str | None = None


@dataclass(frozen=True)
class EndpointObservation:
    name: str
    instance_type: str
    max_instances: int
    components: tuple[ComponentObservation, ...] = ()
    current_instances: int | None = None
    # Components on the endpoint that are not the policy's and could not be described (deleted
    # between List and Describe, or outside icpilot's IAM scope): left out, never a hard dependency.
    unobserved: tuple[str, ...] = ()
    status: str = "InService"  # EndpointStatus (DescribeEndpoint)
    failure_reason: str | None = None


@dataclass(frozen=True)
class ComponentState:
    """What icpilot remembers about a component (DynamoDB); all optional."""

    pending_target: int | None = None
    pending_reason: str | None = None
    override_copies: int | None = None
    override_until: datetime | None = None
    last_action: str | None = None
    warmup_started_at: datetime | None = None
    last_refusal: str | None = None  # the last cap said (CapacityRefused/CeilingReached), so it is said once


@dataclass(frozen=True)
class Peer:
    """Another component on the same endpoint, as the policy and icpilot's state see it."""

    name: str
    priority: int
    preemptible: bool
    floor: int
    pending_target: int | None = None
    ready: bool = False
    copies: int = 0
    after: tuple[str, ...] = ()


class Action(StrEnum):
    NONE = "none"
    SCALE = "scale"
    DEFER = "defer"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class Decision:
    component: str
    action: Action
    from_copies: int
    target: int
    reason: str
    bounds: Bounds
    aas_min: int
    aas_max: int
    pin_aas: bool = False
    suspend_scale_out: bool = False
    starts_warmup: bool = False
    preempt: tuple[tuple[str, int], ...] = ()
    expected_ready_at: datetime | None = None
    refusal: str | None = None  # "<limit>:<granted>" of a capacity refusal, for de-duplication
    events: tuple[EventDraft, ...] = field(default_factory=tuple)
    next_state: ComponentState = field(default_factory=lambda: ComponentState())  # once carried out


def _still_at(refusal: str | None, copies: int) -> bool:
    """True while the component holds the copies a cap already said granted ("<limit>:<granted>"):
    the episode at that cap goes on. Below or above it, the next refusal is news again."""
    granted = refusal.rpartition(":")[2] if refusal else ""
    return granted.isdigit() and int(granted) == copies


def next_state(
    state: ComponentState,
    action: Action,
    target: int,
    reason: str,
    now: datetime,
    starts_warmup: bool,
    refusal: str | None,
) -> ComponentState:
    """The state a decision leads to once it is carried out (Instance Scheduler's rule: the decision
    returns the new stored state). SCALE settles any pending intent (and starts a warm-up clock
    from zero); DEFER keeps the intent for the tick; NONE settles a pending intent that is met;
    BLOCKED remembers that it said so. Overrides are the operator's and pass through."""
    state = replace(state, last_refusal=refusal)
    if action == Action.SCALE:
        started = now if starts_warmup else state.warmup_started_at
        return replace(state, pending_target=None, pending_reason=None, last_action="scaled", warmup_started_at=started)
    if action == Action.DEFER:
        return replace(state, pending_target=target, pending_reason=reason, last_action=Action.DEFER.value)
    if action == Action.BLOCKED:
        return replace(state, last_action=Action.BLOCKED.value)
    if state.pending_target is not None:
        return replace(state, pending_target=None, pending_reason=None, last_action="settled")
    return state


def aas_min_holding_last_copy(aas_min: int, aas_max: int, copies_kept: int) -> int:
    """AAS's MinCapacity for a component that keeps ``copies_kept`` copies: at least 1 while it has
    any (rule 8). With MinCapacity 0, target tracking scales in to zero by itself after its 15
    low datapoints (AWS's scale-to-zero recipe), long before icpilot's idle delay, with no event."""
    return max(aas_min, min(1, copies_kept, aas_max))


def _others(
    component: ComponentObservation, endpoint: EndpointObservation, me: int, peers: dict[str, Peer]
) -> dict[str, int]:
    """Copies to hold for every other component: desired, or a higher-priority peer's pending intent."""
    held = {}
    for c in endpoint.components:
        if c.name == component.name:
            continue
        peer = peers.get(c.name)
        copies = c.desired
        if peer is not None and peer.priority > me and peer.pending_target is not None:
            copies = max(copies, peer.pending_target)
        held[c.name] = copies
    return held


def _fit(component: ComponentObservation, endpoint: EndpointObservation, held: dict[str, int]) -> int | None:
    itype = INSTANCE_TYPES.get(endpoint.instance_type)
    if itype is None:
        return None  # unknown instance type: SageMaker places or waits; nothing to cap by
    reservations = {c.name: c.reservation for c in endpoint.components}
    return copies_that_fit(
        itype, endpoint.max_instances, component.reservation, [(reservations[n], k) for n, k in held.items()]
    )


def _warm_up_started(desired: int, target: int, now: datetime, ready: datetime, what: str) -> EventDraft:
    return EventDraft(
        type=EventType.WARM_UP_STARTED,
        reason=f"{what} {copies(target)}; expected ready at {ready.isoformat(timespec='seconds')}",
        from_copies=desired,
        to_copies=target,
        details={
            "expected_ready_at": ready.isoformat(),
            "expected_time_to_ready_seconds": int((ready - now) / timedelta(seconds=1)),
        },
    )


def _sized_warmup(policy: ComponentPolicy, failed_per_minute: float | None) -> int:
    """Copies a scale-from-zero starts: ``warmup_copies``, or as many as the failed requests need at
    the target-tracking target (invocations per copy per minute), whichever is more.

    Worked example: 180 requests failed in the alarm's minute, target 55 per copy -> ceil(180 / 55) = 4
    copies at once instead of 1 and three scale-outs a load time apart each."""
    per_copy = _invocations_target(policy)
    if not failed_per_minute or per_copy is None:
        return policy.warmup_copies
    return max(policy.warmup_copies, math.ceil(failed_per_minute / per_copy))


def _invocations_target(policy: ComponentPolicy) -> float | None:
    """Target tracking's invocations per copy per minute, when it tracks invocations (None otherwise)."""
    tracking = policy.autoscaling
    return tracking.target if tracking is not None and tracking.metric == "invocations_per_copy" else None


def _sized_scale_out(policy: ComponentPolicy, stepped: int, serving: int, load_per_copy: float | None) -> int:
    """Copies a high-load alarm asks for: ``stepped`` (``step`` more than now), or as many as the alarm's
    datapoint says the load needs, whichever is more. The load is the datapoint (invocations per copy
    per minute) times the copies serving; it needs the copies that bring it to the target-tracking
    target, or without target tracking on invocations, to the alarm's own threshold.

    Worked example: 1 copy serving 165 invocations a minute, target 55 -> ceil(165 / 55) = 3 copies in
    one write instead of +1 now and +1 a load time later (SageMaker refuses a second write while the
    first copy loads, so a one-step ramp to 3 takes two load times)."""
    per_copy = _invocations_target(policy) or (policy.high_load.threshold if policy.high_load else None)
    if not load_per_copy or per_copy is None:
        return stepped
    return max(stepped, math.ceil(max(serving, 1) * load_per_copy / per_copy))


def decide(
    policy: ComponentPolicy,
    component: ComponentObservation,
    endpoint: EndpointObservation,
    state: ComponentState,
    trigger: Trigger,
    now: datetime,
    peers: tuple[Peer, ...] = (),
    lead: timedelta = timedelta(0),
    forecast_floor: int | None = None,
) -> Decision:
    """``lead``: how long a warm-up takes (learned time to ready, plus provisioning when no
    instance is free); windows opening within it already count, so copies are ready at the start.
    ``forecast_floor``: the copies learned demand holds from now to ``now + lead`` (predictive
    mode ``scale``, see ``forecast.forecast_floor``): one more floor, below any window's ceiling."""
    bounds = bounds_with_lead(policy, now, lead)
    peer_by_name = {p.name: p for p in peers}
    desired = component.desired
    window = f"windows {', '.join(bounds.active_rules)} active" if bounds.active_rules else "no window active"
    if forecast_floor is not None and min(forecast_floor, bounds.ceiling) > bounds.floor:
        bounds = Bounds(min(forecast_floor, bounds.ceiling), bounds.ceiling, bounds.active_rules)
        window += f"; forecast floor {bounds.floor} (learned demand)"
    warming = (
        state.warmup_started_at is not None
        and (component.status in BUSY or component.current < desired)
        and now < state.warmup_started_at + 3 * policy.time_to_ready
    )

    def result(
        action: Action,
        target: int,
        reason: str,
        events: list[EventDraft],
        aas_min: int | None = None,
        aas_max: int | None = None,
        **kw: object,
    ) -> Decision:
        values: dict[str, object] = {"suspend_scale_out": warming}
        values.update(kw)
        lo = bounds.floor if aas_min is None else aas_min
        hi = bounds.ceiling if aas_max is None else aas_max
        if not values.get("pin_aas"):
            lo = aas_min_holding_last_copy(lo, hi, target if action == Action.SCALE else desired)
        refused = next((e for e in events if e.type in CAPS), None)
        signature = f"{refused.details.get('limit')}:{refused.details.get('granted')}" if refused else None
        if signature is not None and signature == state.last_refusal:
            events = [e for e in events if e.type not in CAPS]  # said already
        elif signature is None and _still_at(state.last_refusal, target if action == Action.SCALE else desired):
            signature = state.last_refusal  # a tick between two asks at the same cap does not make it news
        starts = bool(values.get("starts_warmup"))
        return Decision(
            component=component.name,
            action=action,
            from_copies=desired,
            target=target,
            reason=reason,
            bounds=bounds,
            aas_min=lo,
            aas_max=hi,
            events=tuple(events),
            refusal=signature,
            next_state=next_state(state, action, target, reason, now, starts, signature),
            **values,  # type: ignore[arg-type]
        )

    if component.status == ComponentStatus.FAILED:
        reason = f"component is Failed: {component.failure_reason or 'no reason given'}; icpilot will not write to it"
        failed = (
            []
            if state.last_action == Action.BLOCKED.value
            else [EventDraft(type=EventType.ACTION_FAILED, reason=reason)]
        )
        return result(Action.BLOCKED, desired, reason, failed)

    if endpoint.status in ENDPOINT_DOWN:
        why = f": {endpoint.failure_reason}" if endpoint.failure_reason else ""
        reason = f"endpoint {endpoint.name} is {endpoint.status}{why}; icpilot will not write to its components"
        down = (
            []
            if state.last_action == Action.BLOCKED.value
            else [EventDraft(type=EventType.ACTION_FAILED, reason=reason)]
        )
        return result(Action.BLOCKED, desired, reason, down)
    # What refuses a copy-count write for now (the intent is deferred and retried), if anything.
    busy = (
        f"endpoint is {endpoint.status}"
        if endpoint.status in ENDPOINT_BUSY
        else (f"component is {component.status}" if component.status in BUSY else None)
    )

    events: list[EventDraft] = []
    overridden = state.override_copies is not None and state.override_until is not None and now < state.override_until
    if overridden:
        assert state.override_copies is not None and state.override_until is not None
        target = min(max(state.override_copies, 0), policy.max_copies)
        reason = f"override to {copies(target)} until {state.override_until.isoformat(timespec='seconds')}"
        if trigger.kind == TriggerKind.ALARM:
            reason = f"{trigger.alarm} alarm ignored: {reason}"
        elif trigger.kind == TriggerKind.DEMAND:
            reason = f"demand signal ignored: {reason}"
        action = Action.NONE if target == desired else (Action.DEFER if busy else Action.SCALE)
        from_zero = action == Action.SCALE and desired == 0 and target > 0
        ready_at = now + (lead if lead > timedelta(0) else policy.time_to_ready)
        if from_zero:
            events.append(_warm_up_started(desired, target, now, ready_at, "override warms up"))
        return result(
            action,
            target,
            reason,
            events,
            aas_min=target,
            aas_max=target,
            pin_aas=True,
            suspend_scale_out=False,
            starts_warmup=from_zero,
            expected_ready_at=ready_at if from_zero else None,
        )

    pending = state.pending_target
    if trigger.kind == TriggerKind.ALARM and trigger.alarm == AlarmKind.NO_CAPACITY:
        base = max(desired, _sized_warmup(policy, trigger.failed_requests), pending or 0)
        how_many = f"{trigger.failed_requests:.0f} requests" if trigger.failed_requests else "requests"
        why = f"no-capacity alarm: {how_many} failed at {copies(desired)}; warm up {base} at once"
    elif trigger.kind == TriggerKind.DEMAND:
        # Like the no-capacity alarm, seconds earlier, sized by the requests the client says wait:
        # the first write must be right, since SageMaker refuses a second one while copies load.
        if desired > 0:
            state_now = "warming" if component.current < desired else "ready"
            return result(
                Action.NONE, desired, f"demand signal: already {copies(desired)} ({state_now}); nothing to do", events
            )
        base = max(_sized_warmup(policy, trigger.failed_requests), pending or 0)
        queued = f" ({trigger.failed_requests:.0f} requests waiting)" if trigger.failed_requests else ""
        why = f"demand signal: a client found no copy{queued}; warm up {base} at once"
    elif trigger.kind == TriggerKind.ALARM and trigger.alarm == AlarmKind.HIGH_LOAD:
        step = policy.high_load.step if policy.high_load else 1
        before = max(desired, pending or 0)
        base = _sized_scale_out(policy, before + step, component.current, trigger.load_per_copy)
        if base > before + step:
            load = f"{trigger.load_per_copy:g} invocations per copy on {copies(max(component.current, 1))}"
            why = f"high-load alarm: {load}; {base} at once"
        else:
            why = f"high-load alarm: add {step} to {before}"
    elif (
        trigger.kind == TriggerKind.ALARM
        and trigger.alarm == AlarmKind.IDLE
        and pending is not None
        and pending > desired
    ):
        # A deferred scale-up (requests failed while the component was busy) outranks idleness: failed
        # requests are not Invocations, so the idle alarm stays in ALARM while they wait.
        base = pending
        why = f"idle alarm ignored: a deferred scale-up is pending ({state.pending_reason or 'pending intent'})"
    elif trigger.kind == TriggerKind.ALARM and trigger.alarm == AlarmKind.IDLE:
        recent = state.warmup_started_at is not None and now < state.warmup_started_at + policy.guard
        if bounds.floor > 0:
            return result(Action.NONE, desired, f"idle alarm ignored: the floor is {bounds.floor} ({window})", events)
        if recent:
            assert state.warmup_started_at is not None
            until = (state.warmup_started_at + policy.guard).isoformat()
            return result(
                Action.NONE,
                desired,
                f"idle alarm ignored: scaled from zero at {state.warmup_started_at.isoformat()}, guard until {until}",
                events,
            )
        base, why = 0, f"idle for {policy.idle_scale_to_zero_after}: scale to zero"
    else:
        base = pending if pending is not None else desired
        why = (state.pending_reason or "pending intent") if pending is not None and pending != desired else ""

    target = min(max(base, bounds.floor), bounds.ceiling)
    if target == base == desired and not why:
        reason = f"{copies(desired)} within [{bounds.floor}, {bounds.ceiling}] ({window})"
    elif target > base:
        reason = f"raise to the floor {bounds.floor} ({window})"
    elif target < base:
        reason = f"{why + '; ' if why else ''}lowered to the ceiling {bounds.ceiling} ({window})"
    else:
        reason = f"{why} ({window})"
    if trigger.kind in (TriggerKind.ALARM, TriggerKind.DEMAND) and base > bounds.ceiling and target <= desired:
        events.append(
            EventDraft(
                type=EventType.CEILING_REACHED,
                reason=f"the policy's ceiling is {bounds.ceiling} now ({window})",
                from_copies=desired,
                to_copies=target,
                details={"requested": base, "granted": target, "limit": "policy", "ceiling": bounds.ceiling},
            )
        )

    preempt: list[tuple[str, int]] = []
    lo = bounds.floor
    if target > desired:
        held = _others(component, endpoint, policy.priority, peer_by_name)
        fits = _fit(component, endpoint, held)
        if fits is not None and target > fits:
            # Take copies above their floors from lower-priority preemptible peers, lowest first.
            victims = sorted(
                (p for p in peers if p.priority < policy.priority and p.preemptible and held.get(p.name, 0) > p.floor),
                key=lambda p: p.priority,
            )
            for victim in victims:
                while fits is not None and target > fits and held[victim.name] > victim.floor:
                    held[victim.name] -= 1
                    fits = _fit(component, endpoint, held)
                if held[victim.name] < next(c.desired for c in endpoint.components if c.name == victim.name):
                    preempt.append((victim.name, held[victim.name]))
        if fits is not None and target > fits:
            granted = max(desired, fits)
            events.append(
                EventDraft(
                    type=EventType.CAPACITY_REFUSED,
                    reason=f"asked {copies(target)}, the endpoint hosts {fits} beside the other components",
                    from_copies=desired,
                    to_copies=granted,
                    details={
                        "requested": target,
                        "granted": granted,
                        "fits": fits,
                        "limit": "capacity",
                        "instance_type": endpoint.instance_type,
                        "max_instances": endpoint.max_instances,
                        "held_by_others": held,
                        "priority": policy.priority,
                        "per_copy": {
                            "accelerators": component.reservation.accelerators,
                            "cores": component.reservation.cores,
                            "memory_mb": component.reservation.memory_mb,
                        },
                    },
                )
            )
            reason += f"; capped at {granted} by endpoint capacity"
            target = granted
            lo = min(lo, target)  # AAS must not push past what fits either
        for name, kept in preempt:
            events.append(
                EventDraft(
                    type=EventType.PREEMPTED,
                    reason=f"{name} reduced to {copies(kept)} for higher-priority {component.name}",
                    to_copies=kept,
                    details={"victim": name, "for": component.name, "copies": kept},
                )
            )

    starts_warmup = desired == 0 and target > 0
    if starts_warmup:
        waiting = [d for d in policy.after if d in peer_by_name and not peer_by_name[d].ready]
        if waiting:
            why_wait = f"waiting for {', '.join(waiting)} to be ready (after:)"
            events.append(
                EventDraft(type=EventType.SCALE_DEFERRED, reason=why_wait, from_copies=desired, to_copies=target)
            )
            return result(Action.DEFER, target, f"{reason}; {why_wait}", events, aas_min=0)
    if target == 0 < desired:
        holding = [p.name for p in peers if component.name in p.after and p.copies > 0]
        if holding:
            why_hold = f"{', '.join(holding)} depend on it and still run (scale-down goes in reverse order)"
            events.append(EventDraft(type=EventType.SCALE_DEFERRED, reason=why_hold, from_copies=desired, to_copies=0))
            return result(Action.DEFER, 0, f"{reason}; {why_hold}", events, aas_min=lo)
    if target == desired:
        return result(Action.NONE, target, reason, events, aas_min=lo)
    if busy:
        events.append(
            EventDraft(
                type=EventType.SCALE_DEFERRED,
                reason=f"{busy}; retrying on the next tick",
                from_copies=desired,
                to_copies=target,
            )
        )
        return result(Action.DEFER, target, f"{reason}; deferred: {busy}", events, aas_min=lo)
    ready = now + (lead if lead > timedelta(0) else policy.time_to_ready)
    if starts_warmup:
        events.append(_warm_up_started(desired, target, now, ready, "warming up"))
    return result(
        Action.SCALE,
        target,
        reason,
        events,
        aas_min=lo,
        preempt=tuple(preempt),
        starts_warmup=starts_warmup,
        suspend_scale_out=warming or starts_warmup,
        expected_ready_at=ready if starts_warmup else None,
    )
