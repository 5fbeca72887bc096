"""The one brain: (policy, observed state, trigger, now) -> Decision. Pure: no AWS, no clock.

Used by every Lambda, the CLI's ``plan`` and the simulator. A decision always says why.

Rules, in order (each a function below, ``decide`` composes them; each ``Decision`` names its
``Rule``):
1. A Failed component, or a component on an endpoint that is Failed, Deleting, OutOfService or
   UpdateRollbackFailed, is not touched (reported once).
2. An active override pins the copies (within 0..max_copies) and AAS's bounds; alarms wait.
3. The intent: for a schedule or tick, the current intent (a deferred one, else SageMaker's
   desired count); for an alarm, what the alarm asks — no-capacity: at least ``warmup_copies`` at
   once, sized by the failures or what past cold starts met (``sizing.sized_warmup``); high-load:
   ``step`` more; idle: zero, unless a window's floor, an override or the scale-to-zero guard
   after a recent scale-from-zero says no; quiet (``consolidate_after``, from the tick): the copies
   above one that the quiet components of the endpoint give up to free an instance
   (``capacity.consolidated``).
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
   And while no scale-in to that minimum, beside the others' copies, would free an instance (AWS
   bills instances), MinCapacity is the copies held: a scale-in that saves nothing is not made
   (``sizing.kept_for_free``).

Also: a client's demand signal scales from zero like the no-capacity alarm, sized by the requests
waiting (a no-op when copies exist); the forecast floor (learned demand, ``predictive``) is one
more floor below the ceiling; windows opening within the lead time already count; and a cap is
said once per episode (``last_refusal``), not on every tick while it lasts.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..policy.model import ComponentPolicy
from .capacity import Held, consolidated
from .case import Case, make_case
from .decision_types import (
    DECLINED_LIMIT,
    Action,
    AlarmKind,
    ComponentObservation,
    ComponentState,
    Decision,
    EndpointObservation,
    LastAction,
    Peer,
    Rule,
    Trigger,
    TriggerKind,
    copies,
)
from .events import EventDraft, EventType
from .instance_types import INSTANCE_TYPES
from .sizing import capacity_refused, make_room, sized_scale_out, sized_warmup, warm_up_started
from .status import ENDPOINT_DOWN, ComponentStatus
from .warming import WarmUpWorth


@dataclass
class _Intent:
    """What the trigger asks (``base``), why, and the rule that asked."""

    base: int
    why: str
    rule: Rule


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
    warm_up: WarmUpWorth | None = None,
) -> Decision:
    """``lead``: how long a warm-up takes (learned time to ready, plus provisioning when no
    instance is free); windows opening within it already count, so copies are ready at the start.
    ``forecast_floor``: the copies learned demand holds from now to ``now + lead`` (predictive
    mode ``scale``, see ``forecast.forecast_floor``): one more floor, below any window's ceiling.
    ``warm_up``: what a scale from zero would cost and save (``warming.warm_up_worth``), for the
    rule that declines one for a lone request; None: every scale from zero is made."""
    case = make_case(policy, component, endpoint, state, trigger, now, peers, lead, forecast_floor, warm_up)
    for first in (_failed, _endpoint_down, _override):
        decided = first(case)
        if decided is not None:
            return decided
    intent = _intent(case)
    if isinstance(intent, Decision):
        return intent
    events: list[EventDraft] = []
    target, reason, rule = _within_bounds(case, intent, events)
    target, reason, rule, lo, preempt = _capacity(case, target, reason, rule, events)
    ordered = _ordering(case, target, reason, lo, events)
    return ordered if ordered is not None else _carry_out(case, target, reason, rule, lo, preempt, events)


def _said_once(case: Case, reason: str) -> list[EventDraft]:
    """An ActionFailed for a blocked component, unless it was said when it was first blocked."""
    return (
        []
        if case.state.last_action == LastAction.BLOCKED
        else [EventDraft(type=EventType.ACTION_FAILED, reason=reason)]
    )


def _failed(case: Case) -> Decision | None:
    """Rule 1: a Failed component is not touched (reported once)."""
    if case.component.status != ComponentStatus.FAILED:
        return None
    why = case.component.failure_reason or "no reason given"
    reason = f"component is Failed: {why}; icpilot will not write to it"
    return case.decision(Action.BLOCKED, Rule.COMPONENT_FAILED, case.desired, reason, _said_once(case, reason))


def _endpoint_down(case: Case) -> Decision | None:
    """Rule 1: neither is a component on an endpoint that will not serve again by waiting."""
    endpoint = case.endpoint
    if endpoint.status not in ENDPOINT_DOWN:
        return None
    why = f": {endpoint.failure_reason}" if endpoint.failure_reason else ""
    reason = f"endpoint {endpoint.name} is {endpoint.status}{why}; icpilot will not write to its components"
    return case.decision(Action.BLOCKED, Rule.ENDPOINT_DOWN, case.desired, reason, _said_once(case, reason))


def _override(case: Case) -> Decision | None:
    """Rule 2: an active override pins the copies (within 0..max_copies) and AAS's bounds."""
    state, trigger, desired = case.state, case.trigger, case.desired
    if state.override_copies is None or state.override_until is None or case.now >= state.override_until:
        return None
    target = min(max(state.override_copies, 0), case.policy.max_copies)
    reason = f"override to {copies(target)} until {state.override_until.isoformat(timespec='seconds')}"
    if trigger.kind == TriggerKind.ALARM:
        reason = f"{trigger.alarm} alarm ignored: {reason}"
    elif trigger.kind == TriggerKind.DEMAND:
        reason = f"demand signal ignored: {reason}"
    action = Action.NONE if target == desired else (Action.DEFER if case.busy else Action.SCALE)
    from_zero = action == Action.SCALE and desired == 0 and target > 0
    events = [warm_up_started(desired, target, case.now, case.ready_at, "override warms up")] if from_zero else []
    return case.decision(
        action,
        Rule.OVERRIDE,
        target,
        reason,
        events,
        aas_min=target,
        aas_max=target,
        pin_aas=True,
        suspend_scale_out=False,
        starts_warmup=from_zero,
        expected_ready_at=case.ready_at if from_zero else None,
    )


def _intent(case: Case) -> _Intent | Decision:
    """Rule 3: what the trigger asks; an alarm or demand that asks nothing decides at once."""
    trigger, state, policy, desired = case.trigger, case.state, case.policy, case.desired
    pending = state.pending_target
    declined = _not_worth_warming(case)
    if declined is not None:
        return declined
    if trigger.kind == TriggerKind.ALARM and trigger.alarm == AlarmKind.NO_CAPACITY:
        size, sized_by = _first_write(case)
        base = max(desired, size, pending or 0)
        how_many = f"{trigger.failed_requests:.0f} requests" if trigger.failed_requests else "requests"
        return _Intent(
            base,
            f"no-capacity alarm: {how_many} failed at {copies(desired)}; warm up {base} at once{sized_by}",
            Rule.NO_CAPACITY_ALARM,
        )
    if trigger.kind == TriggerKind.DEMAND:
        # Like the no-capacity alarm, seconds earlier, sized by the requests the client says wait:
        # the first write must be right, since SageMaker refuses a second one while copies load.
        if desired > 0:
            state_now = "warming" if case.component.current < desired else "ready"
            reason = f"demand signal: already {copies(desired)} ({state_now}); nothing to do"
            return case.decision(Action.NONE, Rule.DEMAND_PRESENT, desired, reason, [])
        size, sized_by = _first_write(case)
        base = max(size, pending or 0)
        queued = f" ({trigger.failed_requests:.0f} requests waiting)" if trigger.failed_requests else ""
        return _Intent(
            base, f"demand signal: a client found no copy{queued}; warm up {base} at once{sized_by}", Rule.DEMAND_SIGNAL
        )
    if trigger.kind == TriggerKind.ALARM and trigger.alarm == AlarmKind.HIGH_LOAD:
        step = policy.high_load.step if policy.high_load else 1
        before = max(desired, pending or 0)
        base = sized_scale_out(policy, before + step, case.component.current, trigger.load_per_copy)
        if base > before + step:
            load = f"{trigger.load_per_copy:g} invocations per copy on {copies(max(case.component.current, 1))}"
            return _Intent(base, f"high-load alarm: {load}; {base} at once", Rule.HIGH_LOAD_ALARM)
        return _Intent(base, f"high-load alarm: add {step} to {before}", Rule.HIGH_LOAD_ALARM)
    if trigger.kind == TriggerKind.ALARM and trigger.alarm == AlarmKind.IDLE:
        return _idle(case)
    if trigger.kind == TriggerKind.ALARM and trigger.alarm == AlarmKind.QUIET:
        return _quiet(case)
    if pending is not None and pending != desired:
        return _Intent(pending, state.pending_reason or "pending intent", Rule.PENDING_INTENT)
    return _Intent(pending if pending is not None else desired, "", Rule.WITHIN_BOUNDS)


def _first_write(case: Case) -> tuple[int, str]:
    """The copies a scale from zero asks for (``sizing.sized_warmup``: the trigger's failures or
    what past cold starts met), and, when the past asked more than the failures, a note saying so."""
    met, failed = case.state.met_at_cold_start, case.trigger.failed_requests
    size = sized_warmup(case.policy, failed, met)
    if size <= sized_warmup(case.policy, failed):
        return size, ""
    return size, f" (the last {len(met)} cold starts met a median {statistics.median(met):.0f} requests a minute)"


def _not_worth_warming(case: Case) -> Decision | None:
    """Rule 3, a lone request: at zero copies with no floor in force and no intent pending, a
    no-capacity alarm or demand signal that says how many requests failed is declined when a
    warm-up would cost more in instance time than the refusals it saves (``domain.warming``). The
    requests stay refused; said once while the component stays at zero (WarmUpDeclined). Demand
    that lasts keeps the alarm in ALARM, and the tick warms it once it has stood five minutes (that
    trigger carries no count: never declined)."""
    trigger, worth = case.trigger, case.warm_up
    asks = trigger.kind == TriggerKind.DEMAND or (
        trigger.kind == TriggerKind.ALARM and trigger.alarm == AlarmKind.NO_CAPACITY
    )
    if (
        not asks
        or worth is None
        or trigger.failed_requests is None
        or case.desired > 0
        or case.state.pending_target
        or case.bounds.floor > 0
        or worth.pays(trigger.failed_requests)
    ):
        return None
    reason = f"warm-up declined, cheaper to refuse: {worth.explain(trigger.failed_requests)}"
    details = {
        "limit": DECLINED_LIMIT,
        "requested": case.policy.warmup_copies,
        "granted": 0,
        "failed_requests": trigger.failed_requests,
        "expected_requests": round(worth.expected_requests, 1),
        "refusals_saved_usd": round(worth.saves(trigger.failed_requests), 2),
        "instance_cost_usd": round(worth.cost, 2),
        "life_minutes": round(worth.minutes),
    }
    event = EventDraft(type=EventType.WARM_UP_DECLINED, reason=reason, from_copies=0, to_copies=0, details=details)
    return case.decision(Action.NONE, Rule.NOT_WORTH_WARMING, 0, reason, [event], suspend_scale_out=True)


def _idle(case: Case) -> _Intent | Decision:
    """Rule 3, idle: no invocations for the idle delay. Above a floor in force, one copy fewer each
    time the (standing) alarm is looked at, down to the floor: target tracking cannot scale in once
    its metric has no datapoints (no traffic, no InvocationsPerCopy), so icpilot does. With no floor,
    zero. Not while a deferred scale-up is pending, nor within the guard after a scale from zero;
    below the floor, the window's floor is met as on any tick."""
    state, policy, desired, now = case.state, case.policy, case.desired, case.now
    pending, floor = state.pending_target, case.bounds.floor
    if pending is not None and pending > desired:
        # A deferred scale-up (requests failed while the component was busy) outranks idleness: failed
        # requests are not Invocations, so the idle alarm stays in ALARM while they wait.
        why = f"idle alarm ignored: a deferred scale-up is pending ({state.pending_reason or 'pending intent'})"
        return _Intent(pending, why, Rule.PENDING_INTENT)
    if floor > 0 and desired < floor:
        return _Intent(desired, "", Rule.WITHIN_BOUNDS)  # the window's floor, as on any tick
    if 0 < floor == desired:
        reason = f"idle alarm ignored: the floor is {floor} ({case.window})"
        return case.decision(Action.NONE, Rule.IDLE_HELD_BY_FLOOR, desired, reason, [])
    if state.warmup_started_at is not None and now < state.warmup_started_at + policy.guard:
        until = (state.warmup_started_at + policy.guard).isoformat()
        reason = f"idle alarm ignored: scaled from zero at {state.warmup_started_at.isoformat()}, guard until {until}"
        return case.decision(Action.NONE, Rule.IDLE_GUARD, desired, reason, [])
    if floor > 0:
        why = f"idle for {policy.idle_scale_to_zero_after}: one copy fewer, toward the floor {floor}"
        return _Intent(desired - 1, why, Rule.IDLE)
    return _Intent(0, f"idle for {policy.idle_scale_to_zero_after}: scale to zero", Rule.IDLE)


def _quiet(case: Case) -> _Intent | Decision:
    """Rule 3, quiet: no invocations for ``consolidate_after`` (its quiet alarm stands; the tick acts
    on it). The copies above one (or the floor) that the quiet components of the endpoint can give
    up to need fewer instances go (``capacity.consolidated``); the rest stay, so the next burst meets
    warm copies on the instance that stays. Nothing while a deferred scale-up is pending or the
    component refuses writes (the next tick looks again: a deferred scale-in could outlive the quiet)."""
    state, policy, desired, endpoint = case.state, case.policy, case.desired, case.endpoint
    pending = state.pending_target
    if pending is not None and pending > desired:
        why = f"quiet alarm ignored: a deferred scale-up is pending ({state.pending_reason or 'pending intent'})"
        return _Intent(pending, why, Rule.PENDING_INTENT)
    itype = INSTANCE_TYPES.get(endpoint.instance_type)
    lowest = max(1, case.bounds.floor)
    quiet_for = f"quiet for {policy.consolidate_after}"
    if itype is None or case.busy or desired <= lowest:
        why = (
            f"no placement known for {endpoint.instance_type}"
            if itype is None
            else f"{case.busy}; looked at again next tick"
            if case.busy
            else f"nothing above {copies(lowest)}"
        )
        return case.decision(Action.NONE, Rule.CONSOLIDATE, desired, f"{quiet_for}: {why}", [])
    held = _as_consolidated(case, lowest)
    result = consolidated(itype, held)
    keep = result.plan[case.component.name]
    beside = sorted(h.name for h in held if h.quiet and h.name != case.component.name)
    with_whom = f" beside quiet {', '.join(beside)}" if beside else ""
    if keep >= desired:
        reason = f"{quiet_for}: keeping {copies(desired)}; fewer{with_whom} would free no instance"
        return case.decision(Action.NONE, Rule.CONSOLIDATE, desired, reason, [])
    why = f"{quiet_for}: {keep} of {desired} copies{with_whom}, {result.after} instances instead of {result.before}"
    return _Intent(keep, why, Rule.CONSOLIDATE)


def _as_consolidated(case: Case, lowest: int) -> list[Held]:
    """The endpoint's components as a consolidation sees them: this one (quiet: its alarm is the
    trigger) down to ``lowest``, the peers whose quiet alarms stand too down to one copy or their
    floor, the others (busy, or not icpilot's) at what they hold."""
    peers = {p.name: p for p in case.peers}
    held = []
    for c in case.endpoint.components:
        if c.name == case.component.name:
            held.append(Held(c.name, c.reservation, c.desired, lowest, True, case.policy.priority))
        elif c.name in peers:
            peer = peers[c.name]
            quiet = c.name in case.trigger.quiet
            held.append(Held(c.name, c.reservation, c.desired, max(1, peer.floor), quiet, peer.priority))
        else:
            held.append(Held(c.name, c.reservation, c.desired, c.desired, False))
    return held


def _within_bounds(case: Case, intent: _Intent, events: list[EventDraft]) -> tuple[int, str, Rule]:
    """Rule 4: the intent moved into [floor, ceiling]; an alarm or demand held down by the policy's
    own ceiling is reported (CeilingReached)."""
    bounds, window, desired, base, why = case.bounds, case.window, case.desired, intent.base, intent.why
    target = min(max(base, bounds.floor), bounds.ceiling)
    rule = intent.rule
    if target == base == desired and not why:
        reason = f"{copies(desired)} within [{bounds.floor}, {bounds.ceiling}] ({window})"
    elif target > base:
        reason, rule = f"raise to the floor {bounds.floor} ({window})", Rule.WINDOW_FLOOR
    elif target < base:
        reason, rule = (
            f"{why + '; ' if why else ''}lowered to the ceiling {bounds.ceiling} ({window})",
            Rule.WINDOW_CEILING,
        )
    else:
        reason = f"{why} ({window})"
    if case.trigger.kind in (TriggerKind.ALARM, TriggerKind.DEMAND) and base > bounds.ceiling and target <= desired:
        events.append(
            EventDraft(
                type=EventType.CEILING_REACHED,
                reason=f"the policy's ceiling is {bounds.ceiling} now ({window})",
                from_copies=desired,
                to_copies=target,
                details={"requested": base, "granted": target, "limit": "policy", "ceiling": bounds.ceiling},
            )
        )
    return target, reason, rule


def _capacity(
    case: Case, target: int, reason: str, rule: Rule, events: list[EventDraft]
) -> tuple[int, str, Rule, int, list[tuple[str, int]]]:
    """Rule 5: a raise is capped at what the endpoint hosts beside the others, after taking copies
    above their floors from lower-priority preemptible peers; every cap is reported."""
    lo = case.bounds.floor
    if target <= case.desired:
        return target, reason, rule, lo, []
    room = make_room(case.component, case.endpoint, case.policy, case.peers, target)
    if room.fits is not None and target > room.fits:
        granted = max(case.desired, room.fits)
        events.append(capacity_refused(case.component, case.endpoint, case.policy, target, granted, room))
        reason += f"; capped at {granted} by endpoint capacity"
        target, rule = granted, Rule.CAPACITY
        lo = min(lo, target)  # AAS must not push past what fits either
    for name, kept in room.preempt:
        events.append(
            EventDraft(
                type=EventType.PREEMPTED,
                reason=f"{name} reduced to {copies(kept)} for higher-priority {case.component.name}",
                to_copies=kept,
                details={"victim": name, "for": case.component.name, "copies": kept},
            )
        )
    return target, reason, rule, lo, room.preempt


def _ordering(case: Case, target: int, reason: str, lo: int, events: list[EventDraft]) -> Decision | None:
    """Rule 6, ``after:``: a scale from zero waits for its dependencies to be ready; a scale to zero
    waits while its dependents run."""
    desired = case.desired
    if desired == 0 < target:
        waiting = case.waiting_for
        if waiting:
            why = f"waiting for {', '.join(waiting)} to be ready (after:)"
            events.append(EventDraft(type=EventType.SCALE_DEFERRED, reason=why, from_copies=desired, to_copies=target))
            return case.decision(Action.DEFER, Rule.WAIT_FOR_DEPENDENCY, target, f"{reason}; {why}", events, aas_min=0)
    if target == 0 < desired:
        holding = [p.name for p in case.peers if case.component.name in p.after and p.copies > 0]
        if holding:
            why = f"{', '.join(holding)} depend on it and still run (scale-down goes in reverse order)"
            events.append(EventDraft(type=EventType.SCALE_DEFERRED, reason=why, from_copies=desired, to_copies=0))
            return case.decision(Action.DEFER, Rule.HOLD_FOR_DEPENDENTS, 0, f"{reason}; {why}", events, aas_min=lo)
    return None


def _carry_out(
    case: Case,
    target: int,
    reason: str,
    rule: Rule,
    lo: int,
    preempt: list[tuple[str, int]],
    events: list[EventDraft],
) -> Decision:
    """Rules 6-7: nothing to do, a write deferred while something refuses it, or the write (a warm-up
    from zero suspends AAS's scale-out while it loads)."""
    desired = case.desired
    if target == desired:
        return case.decision(Action.NONE, rule, target, reason, events, aas_min=lo)
    if case.busy:
        events.append(
            EventDraft(
                type=EventType.SCALE_DEFERRED,
                reason=f"{case.busy}; retrying on the next tick",
                from_copies=desired,
                to_copies=target,
            )
        )
        return case.decision(Action.DEFER, Rule.BUSY, target, f"{reason}; deferred: {case.busy}", events, aas_min=lo)
    starts_warmup = desired == 0 and target > 0
    if starts_warmup:
        events.append(warm_up_started(desired, target, case.now, case.ready_at, "warming up"))
    return case.decision(
        Action.SCALE,
        rule,
        target,
        reason,
        events,
        aas_min=lo,
        preempt=tuple(preempt),
        starts_warmup=starts_warmup,
        # suspended while it loads, and when it goes cold behind dependencies that are not ready
        suspend_scale_out=case.warming or starts_warmup or (target == 0 and bool(case.waiting_for)),
        expected_ready_at=case.ready_at if starts_warmup else None,
    )
