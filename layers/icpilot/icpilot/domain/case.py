"""One decision's case: its inputs, what every rule of ``decision`` reads from them (bounds with
the lead and the forecast floor, what refuses a write, whether a warm-up loads), and how a rule's
verdict becomes a ``Decision`` with its AAS bounds and the state it leads to. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..policy.model import ComponentPolicy
from .decision_types import (
    CAPS,
    Action,
    ComponentObservation,
    ComponentState,
    Decision,
    EndpointObservation,
    Peer,
    Refusal,
    Rule,
    Trigger,
    aas_min_holding_last_copy,
    next_state,
    still_at_cap,
)
from .events import EventDraft
from .sizing import fits_beside, held_by_others, kept_for_free
from .status import BUSY, ENDPOINT_BUSY
from .warming import WarmUpWorth
from .windows import Bounds, bounds_with_lead


@dataclass(frozen=True)
class Case:
    """One decision's inputs and what every rule reads from them."""

    policy: ComponentPolicy
    component: ComponentObservation
    endpoint: EndpointObservation
    state: ComponentState
    trigger: Trigger
    now: datetime
    peers: tuple[Peer, ...]
    lead: timedelta
    bounds: Bounds
    window: str  # the windows in force, for reasons
    busy: str | None  # what refuses a write for now, if anything
    warming: bool  # a scale-from-zero warm-up is loading
    warm_up: WarmUpWorth | None = None  # what a scale from zero would cost and save (``domain.warming``)

    @property
    def desired(self) -> int:
        return self.component.desired

    @property
    def waiting_for(self) -> list[str]:
        """The ``after:`` dependencies on this endpoint that are not ready."""
        ready = {p.name: p.ready for p in self.peers}
        return [d for d in self.policy.after if d in ready and not ready[d]]

    @property
    def holds_aas_scale_out(self) -> bool:
        """AAS's dynamic scale-out is suspended while a warm-up loads (its scale-from-zero step
        policy would add a copy for every minute of failures the load takes) and while the component
        is cold behind dependencies that are not ready: the step policy knows nothing of ``after:``,
        and it fires on the same alarm as icpilot, so the suspension must be in place before it."""
        return self.warming or (self.desired == 0 and (bool(self.waiting_for) or self.declines_lone_request))

    @property
    def declines_lone_request(self) -> bool:
        """At zero copies with no floor, a warm-up for one failed request would cost more than it
        saves (``domain.warming``). Then AAS's scale-from-zero step policy, which fires on the same
        alarm as icpilot and adds a copy for any failure, is held suspended ahead of it, and icpilot
        alone judges each no-capacity alarm."""
        return self.warm_up is not None and self.bounds.floor == 0 and not self.warm_up.pays(1.0)

    @property
    def room_for_aas(self) -> int | None:
        """Copies of this component that fit beside the others (their copies, and the intents of
        higher-priority peers), without taking any: what AAS may scale up to. Copies AAS adds beyond
        it cannot be placed; the component then stays Updating and every later write is refused.
        None: the instance type is unknown, nothing to cap by."""
        peers = {p.name: p for p in self.peers}
        held = held_by_others(self.component, self.endpoint, self.policy.priority, peers)
        return fits_beside(self.component, self.endpoint, held)

    @property
    def ready_at(self) -> datetime:
        return self.now + (self.lead if self.lead > timedelta(0) else self.policy.time_to_ready)

    def decision(
        self,
        action: Action,
        rule: Rule,
        target: int,
        reason: str,
        events: list[EventDraft],
        aas_min: int | None = None,
        aas_max: int | None = None,
        **kw: object,
    ) -> Decision:
        """The decision, its AAS bounds (rule 8) and the state it leads to; a cap said in this
        episode already is not said again."""
        values: dict[str, object] = {"suspend_scale_out": self.holds_aas_scale_out}
        values.update(kw)
        lo = self.bounds.floor if aas_min is None else aas_min
        hi = self.bounds.ceiling if aas_max is None else aas_max
        room, holding = self.room_for_aas, target if action == Action.SCALE else self.desired
        if room is not None:  # AAS may hold what icpilot set, and add only what can be placed
            hi = min(hi, max(holding, room))
            lo = min(lo, hi)
        if not values.get("pin_aas"):
            lo = aas_min_holding_last_copy(lo, hi, holding)
            lo = min(hi, kept_for_free(self.component, self.endpoint, lo, holding))
        refused = next((e for e in events if e.type in CAPS), None)
        signature = Refusal(str(refused.details["limit"]), int(refused.details["granted"])) if refused else None
        if signature is not None and signature == self.state.last_refusal:
            events = [e for e in events if e.type not in CAPS]  # said already
        elif signature is None and still_at_cap(
            self.state.last_refusal, target if action == Action.SCALE else self.desired
        ):
            signature = self.state.last_refusal  # a tick between two asks at the same cap does not make it news
        starts = bool(values.get("starts_warmup"))
        return Decision(
            component=self.component.name,
            action=action,
            rule=rule,
            from_copies=self.desired,
            target=target,
            reason=reason,
            bounds=self.bounds,
            aas_min=lo,
            aas_max=hi,
            events=tuple(events),
            refusal=signature,
            next_state=next_state(self.state, action, target, reason, self.now, starts, signature),
            **values,  # type: ignore[arg-type]
        )


def make_case(
    policy: ComponentPolicy,
    component: ComponentObservation,
    endpoint: EndpointObservation,
    state: ComponentState,
    trigger: Trigger,
    now: datetime,
    peers: tuple[Peer, ...],
    lead: timedelta,
    forecast_floor: int | None,
    warm_up: WarmUpWorth | None = None,
) -> Case:
    bounds = bounds_with_lead(policy, now, lead)
    window = f"windows {', '.join(bounds.active_rules)} active" if bounds.active_rules else "no window active"
    if forecast_floor is not None and min(forecast_floor, bounds.ceiling) > bounds.floor:
        bounds = Bounds(min(forecast_floor, bounds.ceiling), bounds.ceiling, bounds.active_rules)
        window += f"; forecast floor {bounds.floor} (learned demand)"
    warming = (
        state.warmup_started_at is not None
        and (component.status in BUSY or component.current < component.desired)
        and now < state.warmup_started_at + 3 * policy.time_to_ready
    )
    busy = (
        f"endpoint is {endpoint.status}"
        if endpoint.status in ENDPOINT_BUSY
        else (f"component is {component.status}" if component.status in BUSY else None)
    )
    return Case(policy, component, endpoint, state, trigger, now, peers, lead, bounds, window, busy, warming, warm_up)
