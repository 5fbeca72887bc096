"""A minute-by-minute model of one endpoint serving demand under the online strategies.

- ``icpilot``: the real ``decide()``, run when the stack runs it (as a minute opens: at the tick, at
  a window edge's schedule, as the watcher's follow-up, on the alarms icpilot configures, which
  judge the minute that closed; half a minute in: a client's demand signal; an operator's
  override), and AAS target tracking between icpilot's bounds when the policy asks for it (before
  icpilot in a minute, as the emulator's AAS). ``tests/integration/test_differential_day.py``
  holds this to the deployed stack on the emulator;
- ``aas-only``: AWS's documented recipe for inference components that scale to zero alone
  (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-zero-instances.html):
  a scalable target with MinCapacity 0, a target-tracking policy on invocations per copy (which
  scales in to zero when traffic stops: out after 3 breaching minutes, in after 15, with the
  policy's cooldowns) and the step policy that adds one copy after a minute with
  NoCapacityInvocationFailures (target tracking has no per-copy metric at zero copies);
- ``always-on``: ``max_copies`` (what fits) loaded all the time, the first load paid like any other.
- ``icpilot+demand``: icpilot with clients that send the demand signal (``icpilot_client``): the
  scale-from-zero decision in the minute the first request fails (seconds), where the alarm path
  acts a minute later (the NoCapacityInvocationFailures alarm needs its 60 s period to close and
  then evaluates). Both keep the alarm; the ledger records the minutes from the first failed
  request to the copy-count write of each cold start.

The rules every strategy shares (the run's, never a policy's): the bill is instance-minutes, an
instance billed from the minute it is requested (provisioning included) until it is released; a
copy serves ``load_minutes`` (at least 1) after it starts loading; a copy that needs an instance
that is not running waits ``provisioning_minutes`` for it first (ManagedInstanceScaling, up to
``max_instances``; the endpoint is consolidated at once: it holds ``max(min_instances,
ceil(accelerators in use / per instance))``); the endpoint holds at most ``max_instances x
accelerators`` of copies. One component's requests are alike (its mean service time). A minute's
requests are served in proportion to loaded capacity (slot-seconds, see ``traces``), the oldest
waiting first; what cannot be served waits up to ``patience`` minutes (a client retrying, charged
per minute waited) and is then refused. ``exact`` encodes these rules.
With no copy at all every attempt fails with NoCapacityInvocationFailures, which is what the
no-capacity alarm counts. A minute is idle (for the idle alarm) only when no request arrived or
waited in it: refused requests are demand, not idleness.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icpilot.domain.capacity import Holding, Reservation
from icpilot.domain.cost import CostModel
from icpilot.domain.decision_types import (
    Action,
    AlarmKind,
    ComponentObservation,
    ComponentState,
    Decision,
    EndpointObservation,
    LastAction,
    Trigger,
    TriggerKind,
    declined_warm_up,
)
from icpilot.domain.events import EventType
from icpilot.domain.forecast import Forecast, HoldingPrices, learn
from icpilot.domain.inputs import build_inputs
from icpilot.domain.instance_types import INSTANCE_TYPES
from icpilot.domain.readiness import idle_delay_in_force, remember
from icpilot.domain.standing import acts_again
from icpilot.domain.status import ComponentStatus
from icpilot.domain.transitions import InFlight, Observed, Verdict, verdict
from icpilot.policy.model import ComponentPolicy, EndpointPolicy, Policy, parse_duration

from awsmodel import HIGH_PERIODS, LOW_FRACTION, LOW_PERIODS, TargetTrackingCooldowns, copy_ready_minutes

from .traces import MinuteDemand, Throughput

STRATEGIES = ("icpilot", "icpilot+demand", "aas-only", "always-on")
REPLAY = "replay"  # a given copy-count schedule (an optimum's) played under the run's rules
# The minute's own trigger: the stack evaluates a component in a minute when its tick runs, when a
# window edge's schedule fires (the bounds in force move), or as the watcher's follow-up.
MINUTE = "minute"
CONFIGURE_MINUTES = 15  # template.yaml's ConfigureRate default: configure re-derives the idle delay


@dataclass(frozen=True)
class OperatorOverride:
    """An operator's ``icpilot scale COMPONENT --copies N --for M`` at the start of ``minute``."""

    minute: int
    copies: int
    minutes: int


@dataclass
class SimComponent:
    name: str
    policy: ComponentPolicy
    reservation: Reservation
    demand: MinuteDemand
    throughput: Throughput
    load_minutes: int
    overrides: tuple[OperatorOverride, ...] = ()
    signals_demand: bool = False  # its clients send the demand signal (the icpilot+demand strategy: all do)

    def __post_init__(self) -> None:
        if self.load_minutes < 1:
            raise ValueError(f"{self.name}: a copy takes at least a minute to load (got {self.load_minutes})")
        self.demand = self.demand.uniform()

    @property
    def accelerators(self) -> float:
        return self.reservation.accelerators or 1.0


@dataclass(frozen=True)
class RunRules:
    """What every strategy in one backtest shares."""

    instance_type: str
    max_instances: int
    cost: CostModel
    min_instances: int = 0
    provisioning_minutes: int = 6
    patience: int = 1
    # The policy the components come from, and their endpoint in it: decisions are built from it as
    # the Lambdas build them (peers, cost block, declared provisioning). None: one made of the
    # simulated components alone, with the default cost block.
    policy: Policy | None = field(default=None, hash=False, compare=False)  # rules are memo keys (exact.py)
    endpoint: str = "sim"
    # The stack's tick (template.yaml's TickRate, 5 minutes): a standing alarm (idle, high load) is
    # acted on again only when the tick runs, at minutes ``tick_offset + k * tick_minutes``.
    tick_minutes: int = 5
    tick_offset: int = 0
    # The spread between copies started together (``awsmodel.copy_ready_minutes``). 0: they load
    # together, which the exact optimum encodes; the differential day uses the emulator's.
    copy_stagger_seconds: float = 0.0

    def ticks_at(self, t: int) -> bool:
        return (t - self.tick_offset) % self.tick_minutes == 0

    def policy_for(self, components: list[SimComponent]) -> Policy:
        if self.policy is not None:
            return self.policy
        body = EndpointPolicy(
            components={c.name: c.policy for c in components}, instance_provisioning_time=self.provisioning_minutes * 60
        )
        return Policy(endpoints={self.endpoint: body})

    @property
    def instance_per_minute(self) -> float:
        """USD one instance costs a minute, provisioning or in service."""
        return self.cost.instance_price_per_hour / 60.0

    @property
    def accelerators_per_instance(self) -> float:
        return float(INSTANCE_TYPES[self.instance_type].accelerators or 1)

    @property
    def total_accelerators(self) -> float:
        return self.accelerators_per_instance * self.max_instances


@dataclass
class Fleet:
    """One component's copies under one strategy."""

    loaded: int = 0
    loading: list[int] = field(default_factory=list)  # minute each loading copy is ready
    desired: int = 0
    # Copies placed half a minute in (a demand signal's) serve in their ready minute, but SageMaker
    # reports them loaded only half a minute into it: DescribeInferenceComponent, so the watcher and
    # an evaluation, see them from the next minute.
    reported_from: int = 0

    @property
    def paid(self) -> int:
        return self.loaded + len(self.loading)

    def updating(self, t: int) -> bool:
        """Whether SageMaker reports the component Updating at the start of minute ``t``."""
        return bool(self.loading) or t < self.reported_from

    def step(self, t: int) -> None:
        ready = [r for r in self.loading if r <= t]
        self.loaded += len(ready)
        self.loading = [r for r in self.loading if r > t]


class Endpoint:
    """The instances under the copies: provisioning when copies need more, release when they need fewer."""

    def __init__(self, rules: RunRules, components: list[SimComponent]) -> None:
        self.rules = rules
        self.components = components
        self.fleets = {c.name: Fleet() for c in components}
        self.running = rules.min_instances
        self.pending: list[int] = []  # minute each provisioning instance is ready

    def used(self) -> float:
        return sum(self.fleets[c.name].paid * c.accelerators for c in self.components)

    def cap(self, c: SimComponent, n: int) -> int:
        """``n`` copies of ``c``, or fewer so that every component's copies fit the endpoint."""
        others = self.used() - self.fleets[c.name].paid * c.accelerators
        return max(0, min(n, int((self.rules.total_accelerators - others + 1e-9) // c.accelerators)))

    def set(self, c: SimComponent, n: int, t: int, mid_minute: bool = False) -> None:
        """Move ``c`` to ``n`` copies (capped to what fits): extra copies start loading now. A write
        made half a minute in (a client's demand signal) has its copies loaded half a minute into
        their ready minute: they serve in it, and are reported loaded from the next one."""
        fleet = self.fleets[c.name]
        n = self.cap(c, n)
        fleet.desired = n
        while fleet.paid > n:
            if fleet.loading:
                fleet.loading.pop()
            else:
                fleet.loaded -= 1
        per_instance = self.rules.accelerators_per_instance
        nth = 0  # the copy's place in this batch
        while fleet.paid < n:
            need = self.used() + c.accelerators
            if need <= self.running * per_instance + 1e-9:
                ready = t
            else:
                covered = self.running * per_instance
                ready = t
                for p in sorted(self.pending):
                    covered += per_instance
                    ready = p
                    if need <= covered + 1e-9:
                        break
                if need > covered + 1e-9:
                    self.pending.append(t + self.rules.provisioning_minutes)
                    ready = t + self.rules.provisioning_minutes
            ready += copy_ready_minutes(c.load_minutes, nth, self.rules.copy_stagger_seconds)
            fleet.loading.append(ready)
            if mid_minute:
                fleet.reported_from = max(fleet.reported_from, ready + 1)
            nth += 1
        self._release()

    @property
    def billed(self) -> int:
        """Instances AWS bills this minute: in service or being provisioned."""
        return self.running + len(self.pending)

    def step(self, t: int) -> None:
        self.running += sum(1 for p in self.pending if p <= t)
        self.pending = [p for p in self.pending if p > t]
        for fleet in self.fleets.values():
            fleet.step(t)
        self._release()

    def _release(self) -> None:
        needed = math.ceil(self.used() / self.rules.accelerators_per_instance - 1e-9)
        needed = max(needed, self.rules.min_instances)
        if self.running > needed:
            self.running = needed
            self.pending.clear()
        elif self.running + len(self.pending) > needed:
            self.pending = sorted(self.pending)[: needed - self.running]


@dataclass
class Waiting:
    arrived: int
    requests: float
    seconds: float


@dataclass
class Ledger:
    """What one component cost under one strategy."""

    copy_minutes: int = 0
    accelerator_minutes: float = 0.0
    accelerator_usd: float = 0.0
    served: float = 0.0
    delayed: float = 0.0
    delayed_minutes: float = 0.0
    refused: float = 0.0
    cold_starts: int = 0
    minutes_at_zero: int = 0
    signal_minutes: int = 0  # summed over cold starts: first failed request -> copy-count write
    signalled_starts: int = 0

    def penalty(self, cost: CostModel) -> float:
        return cost.penalty(self.refused, self.delayed_minutes)


@dataclass
class Result:
    strategy: str
    copies: dict[str, list[int]]
    ledgers: dict[str, Ledger]
    instances: list[int] = field(default_factory=list)  # billed per minute: in service or provisioning
    instance_minutes: int = 0  # scored minutes only
    # USD of refused and delayed requests per minute, scored minutes only (0 before ``score_from``):
    # the daily cost of a long run's picture; their sum is the ledgers' penalty
    penalty_by_minute: list[float] = field(default_factory=list)
    # (minute, component, event type) of every lifecycle event icpilot would say about a component:
    # its decisions' own, the scale's request and outcome, the watcher's verdicts (icpilot only);
    # and (minute, endpoint, "EndpointIdle") when the last component with copies goes to zero
    events: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def accelerator_minutes(self) -> float:
        return sum(ledger.accelerator_minutes for ledger in self.ledgers.values())


class Queue:
    """One component's requests: served in proportion to capacity, oldest first, within patience.

    Waiting is charged by the minute whether the request is then served or refused: at the start of
    each minute every request still waiting (arrived earlier, not yet expired) adds a request-minute.
    So a request served after w minutes costs w minutes of delay, and one refused after its
    ``patience`` minutes costs those minutes and the refusal: a served request never costs more than
    a refused one, whatever the prices."""

    def __init__(self, patience: int) -> None:
        self.patience = patience
        self.waiting: deque[Waiting] = deque()

    def serve(self, requests: float, seconds: float, capacity: float, t: int, ledger: Ledger) -> float:
        """Serve minute ``t``; returns the requests that met no copy (what the no-capacity alarm counts)."""
        while self.waiting and t - self.waiting[0].arrived > self.patience:
            ledger.refused += self.waiting.popleft().requests
        ledger.delayed_minutes += self.pending  # one more minute for every request still waiting
        attempts = requests + self.pending
        if capacity <= 0:
            self._wait(requests, seconds, t, ledger)
            return attempts
        for w in list(self.waiting):
            share = 1.0 if capacity >= w.seconds else capacity / w.seconds
            served = w.requests * share
            ledger.served += served
            ledger.delayed += served
            capacity -= w.seconds * share
            w.requests -= served
            w.seconds -= w.seconds * share
            if w.requests <= 1e-9:
                self.waiting.popleft()
            else:
                break
        share = 1.0 if capacity >= seconds else (capacity / seconds if seconds else 1.0)
        ledger.served += requests * share
        self._wait(requests * (1 - share), seconds * (1 - share), t, ledger)
        return 0.0

    def _wait(self, requests: float, seconds: float, t: int, ledger: Ledger) -> None:
        if requests <= 1e-9:
            return
        if self.patience <= 0:
            ledger.refused += requests
        else:
            self.waiting.append(Waiting(t, requests, seconds))

    def finish(self, ledger: Ledger) -> None:
        """At the end of the run whatever still waits is refused."""
        ledger.refused += sum(w.requests for w in self.waiting)
        self.waiting.clear()

    @property
    def pending(self) -> float:
        return sum(w.requests for w in self.waiting)


class TargetTracking:
    """AAS target tracking on invocations per copy per minute between bounds: its two alarms (3 of 3
    minutes above the target, 15 of 15 below 90 % of it) and the policy's rule in ALARM
    (``awsmodel.TargetTrackingCooldowns``, which the emulator's AAS follows too).

    The alarms see a minute's datapoint once the minute is over (CloudWatch evaluates closed
    periods): minute t's invocations are judged at minute t + 1, as the emulator's alarms judge them.
    AAS does not write a component that is Updating (its alarm holds, and it acts when it may)."""

    def __init__(self, target: float, out_cooldown: int, in_cooldown: int) -> None:
        self.target = target
        self.cooldown_seconds = (out_cooldown * 60.0, in_cooldown * 60.0)
        self.cooldowns = TargetTrackingCooldowns()
        self.high = 0
        self.low = 0
        self.closed_minute = (0.0, 0)  # (invocations, loaded copies) of the minute served last

    def record(self, invocations: float, fleet: Fleet) -> None:
        """The datapoint of the minute that has just been served."""
        self.closed_minute = (invocations, fleet.loaded)

    def desired(self, fleet: Fleet, t: int, lo: int, hi: int) -> int | None:
        """At the start of minute ``t``: judge the minute that closed; the copies to set, within
        ``lo``..``hi``, or None."""
        invocations, loaded = self.closed_minute
        self.closed_minute = (0.0, 0)
        if loaded == 0 or invocations <= 0:
            # No InvocationsPerCopy datapoint (no copy, or no request: SageMaker sends the metric for
            # requests only). Both alarms see missing data, and as each needs all of its datapoints
            # breaching neither can fire: AWS documents that target tracking does not scale in on
            # insufficient data. The emulator's alarms do the same.
            self.high = self.low = 0
            return None
        per_copy = invocations / loaded
        self.high = self.high + 1 if per_copy > self.target else 0
        self.low = self.low + 1 if per_copy < LOW_FRACTION * self.target else 0
        if fleet.updating(t) or (self.high < HIGH_PERIODS and self.low < LOW_PERIODS):
            return None
        scale_in = self.high < HIGH_PERIODS
        return self.cooldowns.act(
            scale_in, fleet.desired, per_copy, self.target, (lo, hi), t * 60.0, self.cooldown_seconds
        )


def _minutes(duration: str | int | None) -> int:
    return int(parse_duration(duration or 0).total_seconds() // 60)


def _tracking(policy: ComponentPolicy) -> TargetTracking:
    tt = policy.autoscaling
    if tt is None:
        return TargetTracking(20.0, 1, 5)
    return TargetTracking(tt.target, _minutes(tt.scale_out_cooldown), _minutes(tt.scale_in_cooldown))


class _Icpilot:
    """icpilot for one component, as the Lambdas run it: the same ``build_inputs`` (peers, learned lead,
    forecast floor and margin), the idle delay configure derives (``idle_delay_in_force`` with the
    policy's cost block), the standing-alarm rules of the tick (``domain.standing``), and the state
    each ``Decision.next_state`` gives. What the simulator models itself is AWS: alarm evaluation,
    target tracking, copies loading and instances."""

    def __init__(
        self, c: SimComponent, rules: RunRules, policy: Policy, everyone: dict[str, _Icpilot], demand_signal: bool
    ) -> None:
        self.c = c
        self.rules = rules
        self.policy = policy
        self.cost = policy.cost_for(rules.endpoint)
        self.everyone = everyone  # every simulated component's icpilot: their pending intents are peers'
        self.demand_signal = demand_signal
        self.state = ComponentState()
        self.last_action_at: datetime | None = None
        self.no_capacity_alarm = False
        self.no_capacity_since: datetime | None = None  # when the no-capacity alarm last changed state
        self.first_failure: int | None = None  # minute of the first failed request at zero copies
        # What the watcher stores per component: the measured times to ready (seconds, provisioning
        # included when it happened); what the scale-ups from zero met is in ``state``, as decide reads it.
        self.ready_history: list[float] = []
        self.warming_since: int | None = None
        self.in_flight: InFlight | None = None  # the copy-count change the watcher follows
        self.settled = self.became_ready = False  # what the watcher saw this minute
        self.last_bounds: object = None  # the bounds in force the minute before (an edge moves them)
        self.events: list[tuple[int, str, str]] = []
        self.load_run = 0
        # (requests that met no copy, idle run, invocations per copy) of the minute served last
        self.closed: tuple[float, int, float] = (0.0, 0, 0.0)
        self.tracking = _tracking(c.policy) if c.policy.autoscaling else None
        self.aas_bounds = (0, 0)
        self.predictive = c.policy.predictive
        self.prices = HoldingPrices.of(c.policy, rules.cost, c.reservation, c.load_minutes)
        self.forecast: Forecast | None = None
        self.learned_on: object = None
        self.counts = [float(r) for r in c.demand.requests]  # what CloudWatch would hold, per minute
        self.zone = ZoneInfo(self.predictive.timezone)
        self.idle_minutes = self._idle_minutes(None)

    def _idle_minutes(self, now: datetime | None, held: Holding | None = None) -> int | None:
        """The idle alarm's minutes, as configure derives them from the policy, the cold starts seen
        so far, the forecast at ``now`` and the copies held beside the peers' (the simulator
        re-derives them after a cold start at once, the stack at its next configure run; and every
        CONFIGURE_MINUTES, as the stack's schedule)."""
        c = self.c
        delay = idle_delay_in_force(
            c.policy,
            self.rules.instance_type,
            c.reservation,
            self.cost,
            self.ready_history,
            self.state.met_at_cold_start,
            self.forecast,
            now,
            held,
        )
        return None if delay is None else max(1, int(delay.delay.total_seconds() // 60))

    def relearn(self, now: datetime, start: datetime) -> None:
        """Learn online, once a local day: the forecast for day d sees only the days before d."""
        if self.predictive.mode == "off":
            return
        today = now.astimezone(self.zone).date()
        if today == self.learned_on:
            return
        self.learned_on = today
        self.forecast = learn(
            self.counts,
            start,
            now,
            self.predictive.timezone,
            self.prices,
            self.predictive.history_span,
            self.predictive.min_history_span,
            frozenset(self.predictive.holidays),
        )

    def _triggers(self, fleet: Fleet, t: int, now: datetime) -> list[Trigger]:
        """The triggers at the start of minute ``t``: the tick (or a window edge, or the watcher's
        follow-up), the alarms' state changes on the minute that closed, and the standing alarms the
        tick acts on again (``acts_again``)."""
        c = self.c
        seen, idle_run, per_copy = self.closed
        triggers = [Trigger(TriggerKind.TICK, source=MINUTE)]
        ticking = self.rules.ticks_at(t)  # the tick re-evaluates standing alarms (domain.standing)
        if (seen > 0) != self.no_capacity_alarm:
            self.no_capacity_alarm = seen > 0
            self.no_capacity_since = now
            if seen > 0:
                triggers.append(Trigger(TriggerKind.ALARM, alarm=AlarmKind.NO_CAPACITY, failed_requests=seen))
        elif (
            seen > 0
            and ticking
            and acts_again(
                AlarmKind.NO_CAPACITY,
                c.policy,
                now,
                None,
                declined_warm_up(self.state.last_refusal),
                self.no_capacity_since,
            )
        ):
            triggers.append(Trigger(TriggerKind.ALARM, alarm=AlarmKind.NO_CAPACITY))  # standing after a decline
        idle = self.idle_minutes is not None and idle_run >= self.idle_minutes and fleet.desired > 0
        if idle and (idle_run == self.idle_minutes or (ticking and acts_again(AlarmKind.IDLE, c.policy, now, None))):
            triggers.append(Trigger(TriggerKind.ALARM, alarm=AlarmKind.IDLE))  # its edge, then while it stands
        hl = c.policy.high_load
        self.load_run = self.load_run + 1 if hl and per_copy > hl.threshold else 0
        if hl and self.load_run == hl.minutes:  # the state change carries its datapoint
            triggers.append(Trigger(TriggerKind.ALARM, alarm=AlarmKind.HIGH_LOAD, load_per_copy=per_copy))
        elif (
            hl
            and self.load_run > hl.minutes
            and ticking
            and acts_again(AlarmKind.HIGH_LOAD, c.policy, now, self.last_action_at)
        ):
            triggers.append(Trigger(TriggerKind.ALARM, alarm=AlarmKind.HIGH_LOAD))  # standing: adds its step
        if ticking and self._quiet(idle_run) and not any(t.kind == TriggerKind.ALARM for t in triggers):
            # The tick's standing quiet alarm (idle, high-load and no-capacity go before it), naming
            # the endpoint's components whose quiet alarms stand, as the tick's one listing does.
            quiet = frozenset(o.c.name for o in self.everyone.values() if o._quiet(o.closed[1]))
            triggers.append(Trigger(TriggerKind.ALARM, alarm=AlarmKind.QUIET, quiet=quiet))
        return triggers

    def _quiet(self, idle_run: int) -> bool:
        """The quiet alarm stands: no invocations for ``consolidate_after`` (missing data breaches)."""
        delay = self.c.policy.quiet_delay
        return delay is not None and idle_run >= max(1, int(delay.total_seconds() // 60))

    def _follows_up(self) -> bool:
        """The watcher's follow-up: a deferred intent is evaluated again when its own transition
        settles or when a component it is declared ``after:`` becomes ready (``Watch.waiting_on``)."""
        if self.state.pending_target is None:
            return False
        return self.settled or any(self.everyone[d].became_ready for d in self.c.policy.after if d in self.everyone)

    def _preempt(self, d: Decision, endpoint: Endpoint, t: int) -> None:
        """Take copies from lower-priority preemptible peers before scaling, as the evaluation does:
        a busy victim is left alone, AAS's max follows the copies it keeps."""
        for victim, copies in d.preempt:
            fleet = endpoint.fleets.get(victim)
            peer = self.everyone.get(victim)
            if fleet is None or peer is None or fleet.updating(t):
                continue
            endpoint.set(peer.c, copies, t)
            lo, hi = peer.aas_bounds
            if hi > copies:
                peer.aas_bounds = (min(lo, copies), copies)
            peer.state = replace(peer.state, last_action=LastAction.PREEMPTED)

    def watch(self, endpoint: Endpoint, t: int, now: datetime) -> None:
        """The watcher's verdict on the change in flight (``domain.transitions.verdict``), each minute,
        for every component before any decides (the watcher's schedule, then its follow-up)."""
        self.settled = self.became_ready = False
        flight, fleet = self.in_flight, endpoint.fleets[self.c.name]
        if flight is None or flight.accepted_at is None:
            return
        status = ComponentStatus.UPDATING if fleet.updating(t) else ComponentStatus.IN_SERVICE
        observed = Observed(status, fleet.loaded, fleet.desired)
        result, _ = verdict(flight.kind, observed, flight.accepted_at, self.c.policy.warmup_deadline, now)
        if result == Verdict.WAITING:
            return
        self.in_flight = None
        self.settled = result in (Verdict.READY, Verdict.DONE)
        self.became_ready = result == Verdict.READY
        said = {Verdict.READY: EventType.WARM_UP_COMPLETED, Verdict.TIMED_OUT: EventType.WARM_UP_TIMED_OUT}
        if result in said:
            self.events.append((t, self.c.name, str(said[result])))

    def _observation(self, endpoint: Endpoint, t: int) -> EndpointObservation:
        """The endpoint as ``observe_endpoint`` would describe it at minute ``t``."""
        components = tuple(
            ComponentObservation(
                o.name,
                ComponentStatus.UPDATING if f.updating(t) else ComponentStatus.IN_SERVICE,
                f.desired,
                f.loaded,
                o.reservation,
            )
            for o in endpoint.components
            for f in (endpoint.fleets[o.name],)
        )
        return EndpointObservation(
            self.rules.endpoint,
            self.rules.instance_type,
            self.rules.max_instances,
            components,
            current_instances=endpoint.running,
        )

    def open_minute(self, endpoint: Endpoint, t: int, now: datetime, ledger: Ledger) -> None:
        """The start of minute ``t``, before its requests: AWS's alarms judge the minute that closed,
        AAS acts on its own first (the emulator's order: AAS, then the alarms that invoke the
        Lambdas), then the stack's evaluations run. Their writes meet this minute's requests."""
        c, fleet = self.c, endpoint.fleets[self.c.name]
        rederive = t % CONFIGURE_MINUTES == 0  # the configure schedule (ConfigureRate)
        if self.warming_since is not None and fleet.loaded > 0:
            # The watcher sees the first copy ready: it records the time to ready and the requests a
            # minute that found the component cold, from the minute before the scale-up until now.
            self.ready_history = remember(self.ready_history, (t - self.warming_since) * 60.0)
            since = max(0, self.warming_since - 1)
            met = sum(self.counts[since:t]) / max(1, t - since)
            self.state = replace(self.state, met_at_cold_start=tuple(remember(self.state.met_at_cold_start, met)))
            self.warming_since = None
            rederive = True  # the idle delay at once after a cold start, the stack at its next configure
        if rederive:
            self.idle_minutes = self._idle_minutes(now, self._observation(endpoint, t).holding(c.name))
        if self.tracking is not None:  # within the bounds icpilot's last decision set
            want = self.tracking.desired(fleet, t, *self.aas_bounds)
            if want is not None:
                endpoint.set(c, want, t)
        self._decide(endpoint, t, now, self._triggers(fleet, t, now), ledger)
        for pin in (o for o in c.overrides if o.minute == t):
            if not 0 <= pin.copies <= c.policy.max_copies:
                raise ValueError(f"{c.name}: an override to {pin.copies} copies is outside 0..{c.policy.max_copies}")
            until = now + timedelta(minutes=pin.minutes)
            self.state = replace(self.state, override_copies=pin.copies, override_until=until)
            self.events.append((t, c.name, str(EventType.OVERRIDE_SET)))
            self._decide(endpoint, t, now, [Trigger(TriggerKind.MANUAL, source="override")], ledger)

    def close_minute(
        self,
        endpoint: Endpoint,
        t: int,
        now: datetime,
        served: tuple[float, float, float],
        idle_run: int,
        ledger: Ledger,
    ) -> None:
        """Minute ``t``'s requests are in: ``served`` is (invocations, requests still waiting, requests
        that met no copy). Its datapoints are kept for the alarms, which judge them when the minute
        has closed; a client's demand signal is sent at once (seconds after its request failed)."""
        invocations, waiting, no_capacity = served
        fleet = endpoint.fleets[self.c.name]
        if no_capacity > 0 and fleet.desired == 0 and self.first_failure is None:
            self.first_failure = t
        # InvocationsPerCopy as the alarm sees it: the minute's requests per loaded copy, served or
        # still waiting (a waiting client retries, and CloudWatch counts every attempt an invocation).
        per_copy = (invocations + waiting) / fleet.loaded if fleet.loaded else 0.0
        self.closed = (no_capacity, idle_run, per_copy)
        if self.tracking is not None:
            self.tracking.record(invocations, fleet)
        if self.demand_signal and no_capacity > 0 and fleet.desired == 0:
            # The clients report how many requests wait: every request that failed this minute, which
            # is also what CloudWatch measured (production caps a client's count by that measure).
            signal = Trigger(TriggerKind.DEMAND, source="demand:icpilot.client", failed_requests=no_capacity)
            self._decide(endpoint, t, now, [signal], ledger, mid_minute=True)

    def _decide(
        self,
        endpoint: Endpoint,
        t: int,
        now: datetime,
        triggers: list[Trigger],
        ledger: Ledger,
        mid_minute: bool = False,
    ) -> None:
        """Evaluate the component for each trigger as the Lambdas do, and carry out what it decides
        (``mid_minute``: half a minute in, after the minute's requests)."""
        c = self.c
        for trigger in triggers:
            observed = self._observation(endpoint, t)
            inputs = build_inputs(
                self.policy,
                observed,
                next(o for o in observed.components if o.name == c.name),
                self.state,
                self.ready_history,
                self.forecast,
                now,
                lambda name: self.everyone[name].state.pending_target if name in self.everyone else None,
            )
            d = inputs.decide(trigger, now)
            if trigger.source == MINUTE:
                edge, self.last_bounds = d.bounds != self.last_bounds, d.bounds
                if not (edge or self.rules.ticks_at(t) or self._follows_up()):
                    continue  # no evaluation runs in the stack this minute
            self.state = d.next_state  # the decision says what its state becomes; nothing is derived here
            until = self.state.override_until
            if until is not None and now >= until:  # the evaluation ends an expired override first
                self.state = replace(self.state, override_copies=None, override_until=None)
                self.events.append((t, c.name, str(EventType.OVERRIDE_ENDED)))
            self.events += [(t, c.name, str(draft.type)) for draft in d.events]
            if d.action == Action.SCALE:
                self._preempt(d, endpoint, t)
                endpoint.set(c, d.target, t, mid_minute)
                self.events += [(t, c.name, str(kind)) for kind in d.announced_once_written()]
                if d.target == 0 and not any(o.desired for o in observed.components if o.name != c.name):
                    self.events.append((t, observed.name, str(EventType.ENDPOINT_IDLE)))  # the last one to go
                self.in_flight = InFlight(d.flight_kind, d.target, d.from_copies, now, now)
                self.last_action_at = now
                if d.starts_warmup and self.first_failure is not None:
                    ledger.signal_minutes += t - self.first_failure
                    ledger.signalled_starts += 1
                if d.starts_warmup:
                    self.first_failure = None
                if d.starts_warmup and d.from_copies == 0:
                    self.warming_since = t
            self.aas_bounds = (d.aas_min, d.aas_max)  # AAS's bounds are what the last decision set


def run(
    strategy: str,
    components: list[SimComponent],
    rules: RunRules,
    start: datetime,
    minutes: int,
    score_from: int = 0,
    schedule: dict[str, list[int]] | None = None,
) -> Result:
    """Simulate ``minutes`` minutes; the ledgers count from minute ``score_from`` on (a learner's
    first weeks are history, not the score).

    ``replay`` plays ``schedule`` (copies paid per component per minute, an optimum's) under the
    same rules as the strategies: copies start loading in the minute the schedule adds them (capped
    to what fits), and the queue drains a backlog with the capacity it has, which the optima assume
    is free."""
    if strategy not in (*STRATEGIES, REPLAY):
        raise ValueError(f"unknown strategy {strategy!r}; known: {', '.join((*STRATEGIES, REPLAY))}")
    if (strategy == REPLAY) != (schedule is not None):
        raise ValueError("a schedule is what the replay strategy plays, and only it")
    endpoint = Endpoint(rules, components)
    scored = {c.name: Ledger() for c in components}
    unscored = {c.name: Ledger() for c in components}
    ledgers = unscored if score_from > 0 else scored
    queues = {c.name: Queue(rules.patience) for c in components}
    copies: dict[str, list[int]] = {c.name: [] for c in components}
    instances: list[int] = []
    instance_minutes = 0
    penalty_by_minute: list[float] = []
    penalty_before = 0.0
    idle_run = dict.fromkeys(ledgers, 0)
    last_no_capacity = dict.fromkeys(ledgers, 0.0)
    step_cooldown = dict.fromkeys(ledgers, -(10**6))
    icpilot: dict[str, _Icpilot] = {}
    if strategy.startswith("icpilot"):
        policy = rules.policy_for(components)
        for c in components:
            icpilot[c.name] = _Icpilot(
                c, rules, policy, icpilot, demand_signal=strategy == "icpilot+demand" or c.signals_demand
            )
    tracking = {c.name: _tracking(c.policy) for c in components}
    if strategy == "always-on":
        for c in sorted(components, key=lambda c: -c.policy.priority):
            endpoint.set(c, c.policy.max_copies, 0)
    for t in range(minutes):
        if t == score_from:
            ledgers = scored
        now = start + timedelta(minutes=t)
        endpoint.step(t)
        if schedule is not None:
            changes = [(schedule[c.name][t] - endpoint.fleets[c.name].desired, c) for c in components]
            # releases first, so that a copy the schedule adds in the same minute finds their room;
            # then additions in the components' order (the exact optimum encodes this order)
            for change, c in sorted(changes, key=lambda pair: pair[0] > 0):
                if change:
                    endpoint.set(c, schedule[c.name][t], t)
        # The minute opens: AWS's alarms judge the minute that closed, AAS and the stack act on them.
        for watched in icpilot.values():
            watched.watch(endpoint, t, now)
        for c in components:
            fleet = endpoint.fleets[c.name]
            if strategy == "aas-only":
                if last_no_capacity[c.name] and t - step_cooldown[c.name] >= 1:
                    endpoint.set(c, min(c.policy.max_copies, fleet.desired + 1), t)
                    step_cooldown[c.name] = t
                elif (want := tracking[c.name].desired(fleet, t, 0, c.policy.max_copies)) is not None:
                    endpoint.set(c, want, t)
            elif c.name in icpilot:
                icpilot[c.name].relearn(now, start)
                icpilot[c.name].open_minute(endpoint, t, now, ledgers[c.name])
        # Its requests meet the copies that are loaded now.
        for c in components:
            fleet, ledger, queue = endpoint.fleets[c.name], ledgers[c.name], queues[c.name]
            requests, seconds = c.demand.requests[t], c.demand.slot_seconds[t]
            served_before = ledger.served
            busy = requests > 0 or queue.pending > 0
            capacity = fleet.loaded * c.throughput.slots_per_copy * 60.0
            no_capacity = queue.serve(requests, seconds, capacity, t, ledger)
            invocations = ledger.served - served_before
            idle_run[c.name] = 0 if busy else idle_run[c.name] + 1
            if strategy == "aas-only":
                tracking[c.name].record(invocations, fleet)
            elif c.name in icpilot:
                served = (invocations, queue.pending, no_capacity)
                icpilot[c.name].close_minute(endpoint, t, now, served, idle_run[c.name], ledger)
            last_no_capacity[c.name] = no_capacity
        for c in components:
            fleet, ledger = endpoint.fleets[c.name], ledgers[c.name]
            if fleet.paid and (not copies[c.name] or copies[c.name][-1] == 0):
                ledger.cold_starts += 1  # loading from zero copies
            copies[c.name].append(fleet.paid)
            ledger.minutes_at_zero += fleet.paid == 0
            ledger.copy_minutes += fleet.paid
            ledger.accelerator_minutes += fleet.paid * c.accelerators
            ledger.accelerator_usd += fleet.paid * rules.cost.copy_per_minute(c.reservation)
        billed = endpoint.billed
        instances.append(billed)
        if t >= score_from:
            instance_minutes += billed
        penalty_so_far = _penalty(scored, rules.cost)
        penalty_by_minute.append(penalty_so_far - penalty_before)
        penalty_before = penalty_so_far
    for c in components:
        queues[c.name].finish(scored[c.name])
    if penalty_by_minute:  # requests still waiting at the end are refused then
        penalty_by_minute[-1] += _penalty(scored, rules.cost) - penalty_before
    events = sorted((e for i in icpilot.values() for e in i.events), key=lambda e: e[0])
    return Result(strategy, copies, scored, instances, instance_minutes, penalty_by_minute, events)


def _penalty(ledgers: dict[str, Ledger], cost: CostModel) -> float:
    return sum(ledger.penalty(cost) for ledger in ledgers.values())
