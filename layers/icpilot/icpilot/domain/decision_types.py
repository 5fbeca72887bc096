"""The vocabulary of ``decide``: triggers, what is observed and remembered, and the decision with
the rule that made it. Pure data; shared by the domain, the service, the CLI and the simulator."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from .capacity import Holding, Reservation
from .events import EventDraft, EventType
from .transitions import FlightKind
from .windows import Bounds

# each said once per distinct cap (a declined warm-up: once while the component stays at zero)
CAPS = (EventType.CAPACITY_REFUSED, EventType.CEILING_REACHED, EventType.WARM_UP_DECLINED)


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
    QUIET = "quiet"  # no invocations for ``consolidate_after``: the tick may consolidate (never an edge)


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
    # quiet alarm: the components of the endpoint whose quiet alarms stand (this one among them)
    quiet: frozenset[str] = frozenset()


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
    # Managed instance scaling's ScaleInPolicy.Strategy (IDLE_RELEASE when it sets none); None
    # when managed instance scaling is off
    scale_in_strategy: str | None = None

    def holding(self, component: str) -> Holding:
        """What ``component`` holds beside its peers, for the price of keeping it: its copies, or
        the one copy a cold start brings while it has none."""
        mine = next((c for c in self.components if c.name == component), None)
        beside = tuple((c.reservation, c.desired) for c in self.components if c.name != component)
        return Holding(max(mine.desired if mine else 0, 1), beside)


class LastAction(StrEnum):
    """What was last done to a component, as its state item keeps it."""

    SCALING = "scaling"  # claimed: an invocation is writing the copy count (an open claim)
    SCALED = "scaled"
    DEFERRED = "defer"  # an intent kept for the tick (SageMaker busy, a dependency not ready)
    BLOCKED = "blocked"  # said once: nothing can be done until something changes
    SETTLED = "settled"  # a pending intent met
    PREEMPTED = "preempted"  # copies taken for a higher-priority component
    FAILED = "failed"  # the copy-count write failed (retried on the next tick)


@dataclass(frozen=True)
class Refusal:
    """A cap that was said (CapacityRefused or CeilingReached): what limited the component
    (``capacity``: the endpoint; ``policy``: its ceiling) and the copies it was granted. Said once
    per episode: the same refusal again, or a tick while the component holds ``granted``, is not news."""

    limit: str
    granted: int

    def __str__(self) -> str:
        return f"{self.limit}:{self.granted}"

    @classmethod
    def parse(cls, text: str) -> Refusal:
        """``"<limit>:<granted>"``, as the state item keeps it; ValueError otherwise."""
        limit, colon, granted = text.rpartition(":")
        if not colon or not limit or not granted.isdigit():
            raise ValueError(f"expected '<limit>:<granted copies>', not {text!r}")
        return cls(limit, int(granted))


@dataclass(frozen=True)
class ComponentState:
    """What ``decide`` reads of what icpilot remembers about a component, and what it decides the
    component's state becomes (``Decision.next_state``); all optional."""

    pending_target: int | None = None
    pending_reason: str | None = None
    override_copies: int | None = None
    override_until: datetime | None = None
    last_action: LastAction | None = None
    warmup_started_at: datetime | None = None
    last_refusal: Refusal | None = None  # the last cap said, so that it is said once
    # requests a minute that found it cold, per scale-up from zero (the watcher's measure, the last
    # ``readiness.HISTORY``): what sizes the next first write (``sizing.sized_warmup``)
    met_at_cold_start: tuple[float, ...] = ()


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


class Rule(StrEnum):
    """Which of ``decide``'s rules made a decision: tests and subscribers read this, not the prose."""

    COMPONENT_FAILED = "component-failed"
    ENDPOINT_DOWN = "endpoint-down"
    OVERRIDE = "override"
    DEMAND_PRESENT = "demand-present"  # a demand signal met copies that exist or load
    IDLE_HELD_BY_FLOOR = "idle-held-by-floor"
    IDLE_GUARD = "idle-guard"  # scaled from zero too recently to be idle
    WAIT_FOR_DEPENDENCY = "wait-for-dependency"  # after: a dependency is not ready
    HOLD_FOR_DEPENDENTS = "hold-for-dependents"  # after: dependents still run
    BUSY = "busy"  # the component or its endpoint refuses writes for now
    CAPACITY = "capacity"  # capped by what the endpoint hosts
    NO_CAPACITY_ALARM = "no-capacity-alarm"
    DEMAND_SIGNAL = "demand-signal"
    NOT_WORTH_WARMING = "not-worth-warming"  # a lone request: a warm-up would cost more than it saves
    HIGH_LOAD_ALARM = "high-load-alarm"
    IDLE = "idle"
    CONSOLIDATE = "consolidate"  # quiet: copies above one go where the quiet components then free an instance
    PENDING_INTENT = "pending-intent"  # a deferred intent retried
    WINDOW_FLOOR = "window-floor"  # raised to the floor in force
    WINDOW_CEILING = "window-ceiling"  # lowered to the ceiling in force
    WITHIN_BOUNDS = "within-bounds"  # nothing to change


@dataclass(frozen=True)
class Decision:
    component: str
    action: Action
    rule: Rule
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
    refusal: Refusal | None = None  # the cap said (or still in force), for de-duplication
    events: tuple[EventDraft, ...] = field(default_factory=tuple)
    next_state: ComponentState = field(default_factory=lambda: ComponentState())  # once carried out

    @property
    def flight_kind(self) -> FlightKind:
        """What the watcher follows once the scale is written: a warm-up (from zero, announced when
        ready), or a scale-out or scale-in."""
        if self.starts_warmup:
            return FlightKind.WARM_UP
        return FlightKind.SCALE_OUT if self.target > self.from_copies else FlightKind.SCALE_IN

    def announced_once_written(self) -> tuple[EventType, EventType]:
        """What a carried-out scale says after its own ``events``: the request, then the change (the
        evaluation says both, the simulator records both)."""
        return EventType.SCALE_REQUESTED, EventType.SCALED_TO_ZERO if self.target == 0 else EventType.SCALED


DECLINED_LIMIT = "cost"  # a Refusal's limit when a warm-up was declined (``domain.warming``)


def declined_warm_up(refusal: Refusal | None) -> bool:
    """True while the component stays at zero after icpilot declined to warm it for a lone request."""
    return refusal is not None and refusal.limit == DECLINED_LIMIT and refusal.granted == 0


def still_at_cap(refusal: Refusal | None, copies: int) -> bool:
    """True while the component holds the copies a cap already said granted: the episode at that
    cap goes on. Below or above it, the next refusal is news again."""
    return refusal is not None and refusal.granted == copies


def next_state(
    state: ComponentState,
    action: Action,
    target: int,
    reason: str,
    now: datetime,
    starts_warmup: bool,
    refusal: Refusal | None,
) -> ComponentState:
    """The state a decision leads to once it is carried out (Instance Scheduler's rule: the decision
    returns the new stored state). SCALE settles any pending intent (and starts a warm-up clock
    from zero); DEFER keeps the intent for the tick; NONE settles a pending intent that is met;
    BLOCKED remembers that it said so. Overrides are the operator's and pass through."""
    state = replace(state, last_refusal=refusal)
    if action == Action.SCALE:
        started = now if starts_warmup else state.warmup_started_at
        return replace(
            state, pending_target=None, pending_reason=None, last_action=LastAction.SCALED, warmup_started_at=started
        )
    if action == Action.DEFER:
        return replace(state, pending_target=target, pending_reason=reason, last_action=LastAction.DEFERRED)
    if action == Action.BLOCKED:
        return replace(state, last_action=LastAction.BLOCKED)
    if state.pending_target is not None:
        return replace(state, pending_target=None, pending_reason=None, last_action=LastAction.SETTLED)
    return state


def aas_min_holding_last_copy(aas_min: int, aas_max: int, copies_kept: int) -> int:
    """AAS's MinCapacity for a component that keeps ``copies_kept`` copies: at least 1 while it has
    any (rule 8). With MinCapacity 0, target tracking scales in to zero by itself after its 15
    low datapoints (AWS's scale-to-zero recipe), long before icpilot's idle delay, with no event."""
    return max(aas_min, min(1, copies_kept, aas_max))
