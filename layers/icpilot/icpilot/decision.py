"""The one brain: (policy, observed state, trigger, now) -> Decision. Pure: no AWS, no clock.

Used by every Lambda, the CLI's ``plan`` and the simulator. A decision always says why.

Rules, in order:
1. A Failed component is not touched (reported once).
2. An active override pins the copies (within 0..max_copies) and AAS's bounds.
3. Otherwise the target is the current intent (a deferred one, else SageMaker's desired count)
   moved into the schedule bounds [floor, ceiling] at ``now``. Between the bounds the count is
   left to AAS and alarms, so icpilot never fights them.
4. A raise is capped at what the endpoint can host beside the other components (CapacityRefused).
5. A component being created or updated cannot take a write: the intent is deferred, not dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from .capacity import Reservation, copies_that_fit
from .events import EventDraft, EventType
from .instance_types import INSTANCE_TYPES
from .policy.model import ComponentPolicy
from .windows import Bounds, bounds_at

BUSY = ("Creating", "Updating", "Deleting")


class TriggerKind(StrEnum):
    SCHEDULE = "schedule"
    TICK = "tick"
    ALARM = "alarm"
    MANUAL = "manual"


@dataclass(frozen=True)
class Trigger:
    kind: TriggerKind
    source: str = ""
    rule: str | None = None


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


@dataclass(frozen=True)
class ComponentState:
    """What icpilot remembers about a component (DynamoDB); all optional."""

    pending_target: int | None = None
    pending_reason: str | None = None
    override_copies: int | None = None
    override_until: datetime | None = None
    last_action: str | None = None


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
    events: tuple[EventDraft, ...] = field(default_factory=tuple)

    @property
    def changes_copies(self) -> bool:
        return self.action == Action.SCALE


def _capacity_limit(policy_name: str, component: ComponentObservation, endpoint: EndpointObservation) -> int | None:
    itype = INSTANCE_TYPES.get(endpoint.instance_type)
    if itype is None:
        return None  # unknown instance type: SageMaker will place or wait; nothing to cap by
    others = [(c.reservation, c.desired) for c in endpoint.components if c.name != policy_name]
    return copies_that_fit(itype, endpoint.max_instances, component.reservation, others)


def decide(
    policy: ComponentPolicy,
    component: ComponentObservation,
    endpoint: EndpointObservation,
    state: ComponentState,
    trigger: Trigger,
    now: datetime,
) -> Decision:
    bounds = bounds_at(policy, now)
    desired = component.desired
    window = f"windows {', '.join(bounds.active_rules)} active" if bounds.active_rules else "no window active"

    def result(
        action: Action,
        target: int,
        reason: str,
        *events: EventDraft,
        pin: bool = False,
        lo: int | None = None,
        hi: int | None = None,
    ) -> Decision:
        return Decision(
            component=component.name,
            action=action,
            from_copies=desired,
            target=target,
            reason=reason,
            bounds=bounds,
            aas_min=bounds.floor if lo is None else lo,
            aas_max=bounds.ceiling if hi is None else hi,
            pin_aas=pin,
            events=events,
        )

    if component.status == "Failed":
        reason = f"component is Failed: {component.failure_reason or 'no reason given'}; icpilot will not write to it"
        failed: tuple[EventDraft, ...] = (
            ()
            if state.last_action == Action.BLOCKED.value
            else (EventDraft(type=EventType.ACTION_FAILED, reason=reason),)
        )
        return result(Action.BLOCKED, desired, reason, *failed)

    overridden = state.override_copies is not None and state.override_until is not None and now < state.override_until
    if overridden:
        assert state.override_copies is not None and state.override_until is not None
        target = min(max(state.override_copies, 0), policy.max_copies)
        reason = f"override to {target} copies until {state.override_until.isoformat()}"
        lo = hi = target
        pin = True
    else:
        base = state.pending_target if state.pending_target is not None else desired
        target = min(max(base, bounds.floor), bounds.ceiling)
        if target == base and base == desired:
            reason = f"{desired} copies within [{bounds.floor}, {bounds.ceiling}] ({window})"
        elif target > base:
            reason = f"raise to the floor {bounds.floor} ({window})"
        elif target < base:
            reason = f"lower to the ceiling {bounds.ceiling} ({window})"
        else:
            reason = f"{state.pending_reason or 'pending intent'} ({window})"
        lo, hi, pin = bounds.floor, bounds.ceiling, False

    events: list[EventDraft] = []
    if target > desired:
        limit = _capacity_limit(component.name, component, endpoint)
        if limit is not None and target > limit:
            granted = max(desired, limit)
            events.append(
                EventDraft(
                    type=EventType.CAPACITY_REFUSED,
                    reason=f"asked {target} copies, the endpoint hosts {limit} beside the other components",
                    from_copies=desired,
                    to_copies=granted,
                    details={
                        "requested": target,
                        "granted": granted,
                        "fits": limit,
                        "instance_type": endpoint.instance_type,
                        "max_instances": endpoint.max_instances,
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

    if target == desired:
        return result(Action.NONE, target, reason, *events, pin=pin, lo=lo, hi=hi)
    if component.status in BUSY:
        events.append(
            EventDraft(
                type=EventType.SCALE_DEFERRED,
                reason=f"component is {component.status}; retrying on the next tick",
                from_copies=desired,
                to_copies=target,
            )
        )
        return result(
            Action.DEFER, target, f"{reason}; deferred: component is {component.status}", *events, pin=pin, lo=lo, hi=hi
        )
    return result(Action.SCALE, target, reason, *events, pin=pin, lo=lo, hi=hi)
