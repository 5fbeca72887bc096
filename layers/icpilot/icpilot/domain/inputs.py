"""What ``decide()`` needs about one component, built the same way for every caller. Pure.

The Lambdas (through the controller), ``icpilot plan`` and anything else that asks "what would
icpilot do" build the decision's inputs here, so they cannot disagree about peers (priority,
``after:``, preemption), the lead time (learned time to ready plus provisioning when the warm-up
copies will not fit on the running instances) or the forecast floor. The caller supplies what it
has read: the observation, the component's stored state, and a lookup for other components'
pending intents (only higher-priority peers' are ever read: decide's reservation rule).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..policy.model import ComponentPolicy, Policy
from .capacity import copies_that_fit
from .decision import decide
from .decision_types import ComponentObservation, ComponentState, Decision, EndpointObservation, Peer, Trigger
from .forecast import Forecast, forecast_floor
from .instance_types import INSTANCE_TYPES
from .readiness import lead_time
from .status import ComponentStatus
from .warming import WarmUpWorth, warm_up_worth
from .windows import bounds_at

# Forecast floors are met by the periodic tick (default every 5 minutes), not by an edge schedule:
# they look one tick further ahead than the lead so a floor is never late by up to a tick.
FORECAST_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class DecisionInputs:
    policy: ComponentPolicy
    component: ComponentObservation
    endpoint: EndpointObservation
    state: ComponentState
    peers: tuple[Peer, ...]
    lead: timedelta
    forecast_floor: int | None
    warm_up: WarmUpWorth | None = None

    def decide(self, trigger: Trigger, now: datetime) -> Decision:
        return decide(
            self.policy,
            self.component,
            self.endpoint,
            self.state,
            trigger,
            now,
            self.peers,
            self.lead,
            self.forecast_floor,
            self.warm_up,
        )


def needs_new_instance(cp: ComponentPolicy, endpoint: EndpointObservation, component: ComponentObservation) -> bool:
    """True when the warm-up copies do not fit on the instances running now (provisioning adds lead)."""
    itype = INSTANCE_TYPES.get(endpoint.instance_type)
    if itype is None or endpoint.current_instances is None:
        return False
    others = [(c.reservation, c.desired) for c in endpoint.components if c.name != component.name]
    return copies_that_fit(itype, endpoint.current_instances, component.reservation, others) < cp.warmup_copies


def peer(policy: Policy, observed: ComponentObservation, now: datetime, pending: int | None) -> Peer:
    _, cp = policy.component(observed.name)  # type: ignore[misc]
    return Peer(
        observed.name,
        cp.priority,
        cp.preemptible,
        bounds_at(cp, now).floor,
        pending,
        ready=observed.status == ComponentStatus.IN_SERVICE and observed.current > 0,
        copies=observed.desired,
        after=tuple(cp.after),
    )


def build_inputs(
    policy: Policy,
    endpoint: EndpointObservation,
    component: ComponentObservation,
    state: ComponentState,
    ready_history: Sequence[float],
    forecast: Forecast | None,
    now: datetime,
    pending_of: Callable[[str], int | None] | None = None,
    queued: timedelta = timedelta(0),
) -> DecisionInputs:
    """The inputs of one component's decision. ``forecast``: the learned demand kept for it
    (``StoredState.forecast``); ``pending_of(name)``: another component's pending target (from the state
    table); without it no peer intent is reserved. ``queued``: its window's burst of writes
    (``domain.bursts.burst_lead``), added to the lead."""
    endpoint_policy = policy.endpoints[endpoint.name]
    cp = endpoint_policy.components[component.name]
    peers = []
    for other in endpoint.components:
        found = policy.component(other.name)
        if other.name == component.name or found is None:
            continue
        higher = found[1].priority > cp.priority
        peers.append(peer(policy, other, now, pending_of(other.name) if higher and pending_of else None))
    adds_instance = needs_new_instance(cp, endpoint, component)
    lead = lead_time(cp, ready_history, adds_instance, endpoint_policy.provisioning, queued)
    floor = forecast_floor(cp.predictive.mode, cp.forecast_cap, forecast, now, lead + FORECAST_MARGIN)
    cost = policy.cost_for(endpoint.name)
    worth = warm_up_worth(cp, cost, endpoint, component, forecast, lead, adds_instance, ready_history, now)
    return DecisionInputs(cp, component, endpoint, state, tuple(peers), lead, floor, worth)
