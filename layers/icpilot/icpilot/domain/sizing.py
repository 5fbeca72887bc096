"""How many copies: what fits on the endpoint beside the others, and how big a first write or a
scale-out must be. Pure."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..policy.model import ComponentPolicy
from .capacity import copies_that_fit, instances_needed
from .decision_types import ComponentObservation, EndpointObservation, Peer, copies
from .events import EventDraft, EventType
from .instance_types import INSTANCE_TYPES


def held_by_others(
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


def fits_beside(component: ComponentObservation, endpoint: EndpointObservation, held: dict[str, int]) -> int | None:
    itype = INSTANCE_TYPES.get(endpoint.instance_type)
    if itype is None:
        return None  # unknown instance type: SageMaker places or waits; nothing to cap by
    reservations = {c.name: c.reservation for c in endpoint.components}
    return copies_that_fit(
        itype, endpoint.max_instances, component.reservation, [(reservations[n], k) for n, k in held.items()]
    )


def kept_for_free(component: ComponentObservation, endpoint: EndpointObservation, lowest: int, holding: int) -> int:
    """The copies AAS must keep (its MinCapacity) so that it never scales in what frees no instance.

    AWS bills instances, not copies: a copy released from an instance that stays up for the others
    (or for this component's last copies) saves nothing, and the next burst then waits for a load.
    So when no count from ``lowest`` to ``holding - 1``, beside the other components' copies on the
    endpoint, needs fewer instances than ``holding`` does, all ``holding`` are kept; else ``lowest``
    (target tracking may scale in, and an instance can go). Unknown instance type: ``lowest``."""
    itype = INSTANCE_TYPES.get(endpoint.instance_type)
    if itype is None or holding <= lowest:
        return lowest
    beside = [(c.reservation, c.desired) for c in endpoint.components if c.name != component.name]

    def needed(count: int) -> int:
        return instances_needed(itype, [*beside, (component.reservation, count)])

    now = needed(holding)
    return lowest if any(needed(n) < now for n in range(lowest, holding)) else holding


def warm_up_started(desired: int, target: int, now: datetime, ready: datetime, what: str) -> EventDraft:
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


def sized_warmup(policy: ComponentPolicy, failed_per_minute: float | None, met_before: Sequence[float] = ()) -> int:
    """Copies a scale-from-zero starts: ``warmup_copies``, or as many as the demand needs at the
    target-tracking target (invocations per copy per minute), whichever is more. The demand is the
    requests that failed in the trigger's minute or, when more, the median of what past cold starts
    met while they loaded (``met_before``, requests a minute): SageMaker refuses a second write while
    the first copies load, so a first write sized by a burst's first minute holds the burst at that
    size for a whole load time.

    Worked examples: 180 requests failed in the alarm's minute, target 55 per copy -> ceil(180 / 55)
    = 4 copies at once instead of 1 and three scale-outs a load time apart each. 3 failed, but the
    last cold starts met 150, 160 and 210 a minute -> ceil(160 / 55) = 3. A component woken by lone
    requests (they met 0.1-1 a minute) starts 1."""
    per_copy = invocations_target(policy)
    demand = max(failed_per_minute or 0.0, statistics.median(met_before) if met_before else 0.0)
    if not demand or per_copy is None:
        return policy.warmup_copies
    return max(policy.warmup_copies, math.ceil(demand / per_copy))


def invocations_target(policy: ComponentPolicy) -> float | None:
    """Target tracking's invocations per copy per minute, when it tracks invocations (None otherwise)."""
    tracking = policy.autoscaling
    return tracking.target if tracking is not None and tracking.metric == "invocations_per_copy" else None


def sized_scale_out(policy: ComponentPolicy, stepped: int, serving: int, load_per_copy: float | None) -> int:
    """Copies a high-load alarm asks for: ``stepped`` (``step`` more than now), or as many as the alarm's
    datapoint says the load needs, whichever is more. The load is the datapoint (invocations per copy
    per minute) times the copies serving; it needs the copies that bring it to the target-tracking
    target, or without target tracking on invocations, to the alarm's own threshold.

    Worked example: 1 copy serving 165 invocations a minute, target 55 -> ceil(165 / 55) = 3 copies in
    one write instead of +1 now and +1 a load time later (SageMaker refuses a second write while the
    first copy loads, so a one-step ramp to 3 takes two load times)."""
    per_copy = invocations_target(policy) or (policy.high_load.threshold if policy.high_load else None)
    if not load_per_copy or per_copy is None:
        return stepped
    return max(stepped, math.ceil(max(serving, 1) * load_per_copy / per_copy))


@dataclass
class Room:
    """What the endpoint hosts for one component beside the others (``fits``; None: unknown instance
    type), the copies each other component keeps, and what lower-priority peers give up."""

    fits: int | None
    held: dict[str, int]
    preempt: list[tuple[str, int]] = field(default_factory=list)


def make_room(
    component: ComponentObservation,
    endpoint: EndpointObservation,
    policy: ComponentPolicy,
    peers: tuple[Peer, ...],
    target: int,
) -> Room:
    """Room for ``target`` copies: take copies above their floors from lower-priority preemptible
    peers, lowest priority first, until it fits or none is left to take."""
    held = held_by_others(component, endpoint, policy.priority, {p.name: p for p in peers})
    room = Room(fits_beside(component, endpoint, held), held)
    if room.fits is None or target <= room.fits:
        return room
    victims = sorted(
        (p for p in peers if p.priority < policy.priority and p.preemptible and held.get(p.name, 0) > p.floor),
        key=lambda p: p.priority,
    )
    for victim in victims:
        while room.fits is not None and target > room.fits and held[victim.name] > victim.floor:
            held[victim.name] -= 1
            room.fits = fits_beside(component, endpoint, held)
        if held[victim.name] < next(c.desired for c in endpoint.components if c.name == victim.name):
            room.preempt.append((victim.name, held[victim.name]))
    return room


def capacity_refused(
    component: ComponentObservation,
    endpoint: EndpointObservation,
    policy: ComponentPolicy,
    target: int,
    granted: int,
    room: Room,
) -> EventDraft:
    reservation = component.reservation
    return EventDraft(
        type=EventType.CAPACITY_REFUSED,
        reason=f"asked {copies(target)}, the endpoint hosts {room.fits} beside the other components",
        from_copies=component.desired,
        to_copies=granted,
        details={
            "requested": target,
            "granted": granted,
            "fits": room.fits,
            "limit": "capacity",
            "instance_type": endpoint.instance_type,
            "max_instances": endpoint.max_instances,
            "held_by_others": room.held,
            "priority": policy.priority,
            "per_copy": {
                "accelerators": reservation.accelerators,
                "cores": reservation.cores,
                "memory_mb": reservation.memory_mb,
            },
        },
    )
