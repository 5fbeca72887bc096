"""Evaluate: observe -> inputs -> decide -> act -> record -> announce, component after component.

Per component it:
1. observes the endpoint (all components, for capacity) and reads icpilot's state;
2. asks ``decide`` (pure) what to do;
3. claims the action with a conditional state write (a racing invocation loses and decides again
   on the fresh state; it never acts twice);
4. writes the copy count, then moves AAS's bounds around it (never a blind write);
5. records the outcome (a refused or failed write leaves a pending intent the next tick retries)
   and publishes lifecycle events, only for actions that stand.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit

from ..adapters.autoscaling import AutoScalingAdapter, ScalableTarget
from ..adapters.sagemaker import SageMakerAdapter
from ..domain.decision_types import Action, Decision, EndpointObservation, Trigger, TriggerKind
from ..domain.decision_types import copies as n_copies
from ..domain.events import EventDraft, EventType
from ..domain.inputs import build_inputs, stored_forecast
from ..domain.status import BUSY
from ..domain.transitions import WARM_UP
from ..errors import (
    ComponentBusyError,
    IcpilotError,
    NotAnInferenceComponentEndpointError,
    StateConflictError,
    UnknownComponentError,
    UnknownEndpointError,
)
from ..policy.model import Policy
from ..ports import State
from ..records import StoredState, decided_fields
from .announce import Announcer, metric
from .fanout import fan_out
from .outcomes import ComponentOutcome, Outcome, RunSummary
from .targets import TargetReads

logger = Logger(service="icpilot", child=True)
TRANSITIONS_KEPT = 2000


@dataclass(frozen=True)
class _Acting:
    """One decision being carried out: what it says, and its outcome."""

    d: Decision
    endpoint: str
    trigger: Trigger
    now: datetime
    announcer: Announcer

    def outcome(self, result: Outcome, reason: str) -> ComponentOutcome:
        return ComponentOutcome(self.endpoint, self.d.component, result, reason, self.d.from_copies, self.d.target)

    def announce_decided(self) -> None:
        for draft in self.d.events:
            self.announcer.announce(draft, self.trigger, self.now, self.endpoint, self.d.component)

    def say(self, kind: EventType, reason: str, details: dict[str, Any] | None = None) -> None:
        draft = EventDraft(
            type=kind, reason=reason, from_copies=self.d.from_copies, to_copies=self.d.target, details=details or {}
        )
        self.announcer.announce(draft, self.trigger, self.now, self.endpoint, self.d.component)


@dataclass
class _ShardResult:
    """What one endpoint's worker did: its outcomes, and the components it had no time for."""

    outcomes: list[ComponentOutcome] = field(default_factory=list)
    postponed: list[tuple[str, str]] = field(default_factory=list)


class Evaluation:
    """One run's evaluations. Made per run: what it reads once (AAS targets in batches, the peers'
    pending intents) is a snapshot of this run, never carried into the next."""

    WRITE_ATTEMPTS = 8
    # Between lost races: full jitter, doubling from 20 ms to at most 0.5 s (at most ~2 s in all), so
    # racers that collided once do not collide again in lockstep.
    WRITE_BACKOFF_SECONDS = (0.02, 0.5)
    # Stop starting components with this much of the Lambda's time left: one evaluation, retries
    # included, finishes well within it, so a pass never times out between a write and its record.
    TIME_MARGIN_SECONDS = 45.0

    # A trigger whose claim is lost to another write decides again on the fresh state, this often.
    CLAIM_ATTEMPTS = 3
    # An open claim (claimed, outcome not yet recorded) is the claimer's to carry out for this long:
    # the longest timeout of a function that scales. An older one was left by an invocation that died.
    CLAIM_HOLD = timedelta(seconds=300)

    def __init__(
        self,
        sagemaker: SageMakerAdapter,
        autoscaling: AutoScalingAdapter,
        state: State,
        announcer: Announcer,
        seconds_left: Callable[[], float] | None = None,
        workers: int = 1,
    ) -> None:
        self.sagemaker, self.autoscaling, self.state, self.announcer = sagemaker, autoscaling, state, announcer
        self.seconds_left = seconds_left  # the Lambda's remaining time; None: no limit
        self.workers = max(1, workers)
        self.targets = TargetReads(autoscaling)
        self._pending: dict[tuple[str, str], int | None] = {}
        self._stored: dict[tuple[str, str], StoredState] = {}  # batched reads, each used once
        self._peers: dict[str, list[str]] = {}  # the policy's components per endpoint read this run
        self._registered: dict[str, set[str]] = {}  # per endpoint: targets in icpilot's registry

    def write_latest(
        self, endpoint: str, component: str, when: Callable[[StoredState], bool] | None = None, **fields: Any
    ) -> bool:
        """Write ``fields`` on top of whatever version is current (re-read on conflict), for writes
        that must not be lost to a racing one: overrides and the record of an applied action.
        ``when`` is re-checked on each read; False means the write is no longer wanted."""
        base, cap = self.WRITE_BACKOFF_SECONDS
        for attempt in range(self.WRITE_ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0, min(cap, base * 2**attempt)))
            latest = self.state.get(endpoint, component)
            if when is not None and not when(latest):
                return False
            try:
                self.state.write(endpoint, component, latest.version, **fields)
                return True
            except StateConflictError:
                continue
        raise StateConflictError(f"{endpoint}/{component}: {self.WRITE_ATTEMPTS} writes in a row lost a race")

    def _record_after_claim(self, endpoint: str, component: str, version: int, **fields: Any) -> bool:
        """Record what happened after this invocation claimed the component. A racing write
        (an override, a refusal note) may have landed since the claim: then write on top of it.
        False when the state table refused; the caller reports it (the action itself stands)."""
        try:
            try:
                self.state.write(endpoint, component, version, **fields)
            except StateConflictError:
                self.write_latest(endpoint, component, **fields)
        except IcpilotError as exc:
            logger.error("state record failed", extra={"component": component, "error": str(exc)})
            return False
        return True

    def clear_override(
        self, endpoint: str, component: str, stored: StoredState, why: str, trigger: Trigger, now: datetime
    ) -> StoredState:
        if stored.state.override_copies is None:
            return stored
        cleared = self.write_latest(
            endpoint,
            component,
            when=lambda latest: latest.state.override_copies is not None,
            override_copies=None,
            override_until=None,
            override_reason=None,
            override_set_at=None,
        )
        if not cleared:  # a racing invocation ended it and said so
            return self.state.get(endpoint, component)
        self.announcer.announce(
            EventDraft(
                type=EventType.OVERRIDE_ENDED,
                reason=f"override to {n_copies(stored.state.override_copies)} ended: {why}; automatic scaling resumes",
            ),
            trigger,
            now,
            endpoint,
            component,
        )
        return self.state.get(endpoint, component)

    def components(
        self,
        policy: Policy,
        targets: list[tuple[str, str]],
        trigger: Trigger,
        now: datetime,
        summary: RunSummary,
        triggers: dict[str, Trigger] | None = None,
    ) -> None:
        """Evaluate ``targets`` endpoint by endpoint: each endpoint's components in their order, in
        one worker (they share its capacity), up to ``workers`` endpoints at a time. A worker that
        fails outside any one component's evaluation (a bug) is run once more on its own, on fresh
        reads; the state's conditional writes keep what its first run did from being done again."""
        shards: dict[str, list[str]] = {}
        for endpoint, component in targets:
            shards.setdefault(endpoint, []).append(component)

        results = fan_out(
            lambda shard: self._endpoint(policy, shard[0], shard[1], trigger, now, triggers),
            list(shards.items()),
            self.workers,
            again=lambda shard: self._forget_endpoint(shard[0]),
        )
        postponed: list[tuple[str, str]] = []
        for result in results:
            summary.outcomes += result.outcomes
            postponed += result.postponed
        if postponed:
            reason = (
                f"out of time after {len(targets) - len(postponed)} of {len(targets)} components; the other "
                f"{len(postponed)} are postponed to the next run (see README, operational limits)"
            )
            summary.outcomes += [ComponentOutcome(e, c, Outcome.POSTPONED, reason) for e, c in postponed]
            self.announcer.fail(summary, reason, trigger, now)

    def _endpoint(
        self,
        policy: Policy,
        endpoint: str,
        names: list[str],
        trigger: Trigger,
        now: datetime,
        triggers: dict[str, Trigger] | None,
    ) -> _ShardResult:
        """One endpoint's components, one after another: observed once, their state and AAS targets
        read in batches, then each evaluated on the observation the previous one left."""
        result = _ShardResult()
        try:
            ep: EndpointObservation | IcpilotError = self.sagemaker.observe_endpoint(endpoint, policy.component_names())
            peers = [c for e, c, _ in policy.components() if e == endpoint]
            self._stored.update({(endpoint, c): s for c, s in self.state.get_many(endpoint, peers).items()})
            self._peers[endpoint] = peers
            self.targets.read(names)
        except UnknownEndpointError as exc:  # deleted (or not created yet): each component said once
            ep = exc
        except (NotAnInferenceComponentEndpointError, IcpilotError) as exc:
            ep = exc
            self.announcer.announce(
                EventDraft(type=EventType.ACTION_FAILED, reason=str(exc)), trigger, now, endpoint, None
            )
        for done, component in enumerate(names):
            if self.seconds_left is not None and self.seconds_left() < self.TIME_MARGIN_SECONDS:
                result.postponed += [(endpoint, c) for c in names[done:]]
                break
            if isinstance(ep, UnknownEndpointError):
                result.outcomes.append(self._gone(endpoint, component, str(ep), trigger, now))
                continue
            if isinstance(ep, IcpilotError):
                result.outcomes.append(ComponentOutcome(endpoint, component, Outcome.REJECTED, str(ep)))
                continue
            try:
                own = (triggers or {}).get(component, trigger)
                outcome, ep = self._evaluate(policy, ep, component, own, now)
            except UnknownComponentError as exc:  # deleted under icpilot: said once, then quiet
                outcome = self._gone(endpoint, component, str(exc), trigger, now)
            except IcpilotError as exc:  # one component's failure never stops the others
                logger.warning(
                    "component evaluation failed",
                    extra={"endpoint": endpoint, "component": component, "error": str(exc)},
                )
                self.announcer.announce(
                    EventDraft(type=EventType.ACTION_FAILED, reason=str(exc)), trigger, now, endpoint, component
                )
                outcome = ComponentOutcome(endpoint, component, Outcome.FAILED, str(exc))
            result.outcomes.append(outcome)
        return result

    def _read(self, endpoint: str, component: str) -> StoredState:
        """The component's state: the run's batched read the first time (used once), then read afresh."""
        return self._stored.pop((endpoint, component), None) or self.state.get(endpoint, component)

    def _forget_endpoint(self, endpoint: str) -> None:
        """Drop what the run read of this endpoint, so that running it again reads afresh."""
        for key in [k for k in self._stored if k[0] == endpoint]:
            self._stored.pop(key, None)
        for key in [k for k in self._pending if k[0] == endpoint]:
            self._pending.pop(key, None)

    def _manages(self, endpoint: str, component: str, target: ScalableTarget) -> bool:
        """Whether this stack manages the target: icpilot registered or adopted it (the state's
        registry, read once per endpoint and run), else its tag says so (one read per target)."""
        if endpoint not in self._registered:
            try:
                self._registered[endpoint] = self.state.registered_targets(self._peers.get(endpoint, [component]))
            except IcpilotError as exc:
                logger.warning("registry read failed; reading tags", extra={"error": str(exc)})
                self._registered[endpoint] = set()
        return component in self._registered[endpoint] or self.autoscaling.manages(target)

    def _gone(self, endpoint: str, name: str, reason: str, trigger: Trigger, now: datetime) -> ComponentOutcome:
        """A component of the policy that is not on its endpoint (deleted, or not created yet): one
        ``ComponentGone``, announced once the state records it (so two runs cannot both announce
        it), then quiet runs until it is back; never an error every tick."""
        stored = self._read(endpoint, name)
        since = stored.attributes.get("gone_since")
        if since is not None:
            return ComponentOutcome(endpoint, name, Outcome.UNCHANGED, f"{reason}, since {since}: waiting for it")
        try:
            self.state.write(endpoint, name, stored.version, gone_since=now, updated_at=now)
        except StateConflictError:
            return ComponentOutcome(endpoint, name, Outcome.UNCHANGED, f"{reason}: another run is recording it")
        self.announcer.announce(EventDraft(type=EventType.COMPONENT_GONE, reason=reason), trigger, now, endpoint, name)
        return ComponentOutcome(endpoint, name, Outcome.UNCHANGED, reason)

    def _evaluate(
        self, policy: Policy, ep: EndpointObservation, name: str, trigger: Trigger, now: datetime
    ) -> tuple[ComponentOutcome, EndpointObservation]:
        _, cp = policy.component(name) or (None, None)
        assert cp is not None
        component = next((c for c in ep.components if c.name == name), None)
        if component is None:
            raise UnknownComponentError(f"inference component {name!r} (in the policy) is not on endpoint {ep.name!r}")
        metric("DesiredCopies", component.desired, MetricUnit.Count, ep.name, name)
        metric("CurrentCopies", component.current, MetricUnit.Count, ep.name, name)
        stored = self._read(ep.name, name)
        owner = stored.attributes.get("owned_by")
        if owner is not None:  # configure found another stack's alarms on it (OwnershipConflict)
            reason = f"managed by stack {owner!r} (OwnershipConflict): left to it"
            return ComponentOutcome(ep.name, name, Outcome.UNCHANGED, reason), ep
        if stored.attributes.get("gone_since") is not None:  # back after ComponentGone: watched again
            self.state.write(ep.name, name, stored.version, gone_since=None, updated_at=now)
            stored = self.state.get(ep.name, name)
        until = stored.state.override_until
        if until is not None and now >= until:
            stored = self.clear_override(ep.name, name, stored, "expired", trigger, now)
        held_by = [f"{c.name} ({c.desired})" for c in ep.components if c.name != name and c.desired > 0]
        for attempt in range(self.CLAIM_ATTEMPTS):
            inputs = build_inputs(
                policy,
                ep,
                component,
                stored.state,
                stored.ready_history,
                stored_forecast(stored.attributes),
                now,
                self._pending_of(ep.name),
            )
            decision = inputs.decide(trigger, now)
            logger.info(
                "decision",
                extra={
                    "component": name,
                    "action": decision.action.value,
                    "rule": decision.rule.value,
                    "from": decision.from_copies,
                    "to": decision.target,
                    "reason": decision.reason,
                    "attempt": attempt + 1,
                },
            )
            if policy.observes(name):
                outcome = self._observe(_Acting(decision, ep.name, trigger, now, self.announcer), stored)
            else:
                outcome = self._act(decision, ep, stored, trigger, now, held_by)
            if outcome.result != Outcome.SUPERSEDED:
                break
            # Lost the conditional claim to another write (the watcher closing a transition, a racing
            # trigger): decide again on the state and the component as they are now, so this
            # trigger's intent is not lost, and a count the winner wrote is not written again.
            stored = self.state.get(ep.name, name)
            ep = self.sagemaker.observe_endpoint(ep.name, policy.component_names())
            component = next((c for c in ep.components if c.name == name), None)
            if component is None:
                raise UnknownComponentError(f"inference component {name!r} left endpoint {ep.name!r}")
        if inputs.forecast_floor is not None:  # the dashboard draws it against the copies that ran
            metric("ForecastFloor", inputs.forecast_floor, MetricUnit.Count, ep.name, name)
        if decision.refusal != stored.state.last_refusal:
            latest = self.state.get(ep.name, name)
            # A racing write or a failed one: the refusal may then be said once more, which is harmless.
            with contextlib.suppress(IcpilotError):
                self.state.write(ep.name, name, latest.version, last_refusal=decision.refusal)
        if outcome.result == Outcome.SCALED:
            updated = tuple(replace(c, desired=decision.target) if c.name == name else c for c in ep.components)
            ep = replace(ep, components=updated)
        return outcome, ep

    def _pending_of(self, endpoint: str) -> Callable[[str], int | None]:
        """Another component's pending intent, read once per run (a pass stays linear in components)."""

        def pending(name: str) -> int | None:
            key = (endpoint, name)
            if key not in self._pending:
                stored = self._stored.get(key) or self.state.get(endpoint, name)
                self._pending[key] = stored.state.pending_target
            return self._pending[key]

        return pending

    def _sync_bounds(self, decision: Decision, endpoint: str, holding: int | None) -> None:
        """AAS's bounds from the decision, widened to hold ``holding`` (the count the component has
        or was just given): bounds that exclude the count make AAS write it into range at once
        (RegisterScalableTarget), and a deferred or blocked change must not happen that way."""
        component = decision.component
        target = self.targets.target(component)
        if target is None:
            return  # no AAS target: icpilot is the only writer
        lo, hi = decision.aas_min, decision.aas_max
        if holding is not None:
            lo, hi = min(lo, holding), max(hi, holding)
        have = (target.min_capacity, target.max_capacity, target.dynamic_suspended, target.scale_out_suspended)
        want = (lo, hi, decision.pin_aas, decision.pin_aas or decision.suspend_scale_out)
        if have != want:
            # Only a target this stack manages (its IAM allows no other): a team's target waits for
            # configure to claim it, another stack's is left to that stack.
            if not self._manages(endpoint, component, target):
                logger.info("bounds left: not this stack's scalable target", extra={"component": component})
                return
            self.autoscaling.set_bounds(component, lo, hi, decision.pin_aas, decision.suspend_scale_out)

    def _preempt(self, d: Decision, ep: EndpointObservation, trigger: Trigger, now: datetime) -> None:
        """Take copies from lower-priority preemptible components; AAS's max follows so it does not add them back."""
        for victim, copies in d.preempt:
            self.targets.forget(victim)  # its bounds change here: its own evaluation must read them again
            observed = next((c for c in ep.components if c.name == victim), None)
            if observed is None or observed.status in BUSY:
                continue  # busy: the capacity cap already reported what could not be had
            target = self.autoscaling.describe_target(victim)
            self.sagemaker.set_copy_count(victim, copies)  # the count first (see _apply), then AAS's max
            if target is not None and target.max_capacity > copies and self._manages(ep.name, victim, target):
                self.autoscaling.set_bounds(victim, min(target.min_capacity, copies), copies, pin=False)
            self._stored.pop((ep.name, victim), None)  # written here: its own evaluation reads it afresh
            stored = self.state.get(ep.name, victim)
            self.state.write(
                ep.name,
                victim,
                stored.version,
                last_action="preempted",
                last_reason=f"preempted for {d.component}",
                last_action_at=now,
                updated_at=now,
            )

    def _act(
        self,
        d: Decision,
        ep: EndpointObservation,
        stored: StoredState,
        trigger: Trigger,
        now: datetime,
        held_by: list[str] | None = None,
    ) -> ComponentOutcome:
        """Carry out a decision. A scale claims the component first (conditional write) and only then
        says what it decided and takes copies from preempted peers: a lost claim announces nothing."""
        act = _Acting(d, ep.name, trigger, now, self.announcer)
        try:
            if d.action != Action.SCALE:
                return self._keep(act, stored)
            if self._waits_for_budget(d, trigger):
                why = (
                    f"scale-in to {d.target} waits for the next run: the copy-count write budget is kept for scale-outs"
                )
                return act.outcome(Outcome.POSTPONED, why)
            claim = self._claim(act, stored)
        except StateConflictError as exc:
            return act.outcome(Outcome.SUPERSEDED, f"another invocation acted first: {exc}")
        if isinstance(claim, ComponentOutcome):
            return claim
        act.announce_decided()  # the claim stands: now it may be said
        if d.preempt:
            self._preempt(d, ep, trigger, now)
        act.say(EventType.SCALE_REQUESTED, d.reason)
        refused = self._write_count(act, stored, claim)
        if refused is not None:
            return refused
        try:
            self._sync_bounds(d, ep.name, holding=d.target)
        except IcpilotError as exc:  # the copies are written; the next tick moves the bounds again
            act.say(
                EventType.ACTION_FAILED,
                f"scaled to {d.target}, but moving AAS's bounds failed (retried next tick): {exc}",
            )
        flight = self._flight(d, trigger, stored, now)
        decided = decided_fields(d.next_state)
        if not self._record_after_claim(
            ep.name, d.component, claim, **flight, **decided, last_action_at=now, attempts=0, updated_at=now
        ):
            # The copy count is written; only the record is missing. The next tick sees the component
            # at its target and settles the claim; this transition is not followed by the watcher.
            act.say(
                EventType.ACTION_FAILED,
                f"scaled to {d.target} but the state table did not take the record; "
                "the watcher will not follow this transition",
            )
        held_by = held_by or []
        self._announce_scaled(d, ep.name, held_by, trigger, now)
        still = f"; endpoint still held by {', '.join(held_by)}" if d.target == 0 and held_by else ""
        return act.outcome(Outcome.SCALED, d.reason + still)

    def _waits_for_budget(self, d: Decision, trigger: Trigger) -> bool:
        """A scale-in that no operator asked for waits while copy-count writes are short of their
        paced budget: it can wait a tick, a warm-up due at a window's opening cannot. Nothing is
        recorded, so the next run decides it again."""
        return (
            d.target < d.from_copies and trigger.kind != TriggerKind.MANUAL and not self.sagemaker.write_budget_free()
        )

    def _observe(self, act: _Acting, stored: StoredState) -> ComponentOutcome:
        """Observe mode: nothing is written to SageMaker or AAS, and decide()'s own events (a warm-up
        that does not start) are not said. A scale is announced as ``WouldScale`` once per distinct
        intent, kept on the item as ``would_scale`` so the next tick does not say it again."""
        d = act.d
        said = stored.attributes.get("would_scale")
        if d.action != Action.SCALE:
            if said:  # the intent passed: a later one is news again
                with contextlib.suppress(IcpilotError):
                    self.state.write(act.endpoint, d.component, stored.version, would_scale=None, updated_at=act.now)
            return act.outcome(Outcome.UNCHANGED, f"observe mode: {d.reason}")
        intent = f"{d.from_copies}->{d.target} {d.rule.value}"
        if said != intent:
            try:
                self.state.write(act.endpoint, d.component, stored.version, would_scale=intent, updated_at=act.now)
            except StateConflictError as exc:
                return act.outcome(Outcome.SUPERSEDED, f"another invocation acted first: {exc}")
            details = {
                "rule": d.rule.value,
                "aas_bounds": [d.aas_min, d.aas_max],
                "would_announce": [str(e.type) for e in d.events],
            }
            act.say(EventType.WOULD_SCALE, f"observe mode, nothing written: would {d.reason}", details)
        return act.outcome(Outcome.OBSERVED, f"observe mode: would scale {d.from_copies} → {d.target}: {d.reason}")

    def _record(self, act: _Acting, version: int, **fields: Any) -> int:
        return self.state.write(
            act.endpoint,
            act.d.component,
            version,
            last_reason=act.d.reason,
            last_trigger=act.trigger.kind.value,
            updated_at=act.now,
            **fields,
        )

    def _keep(self, act: _Acting, stored: StoredState) -> ComponentOutcome:
        """A decision that writes no copies: blocked, nothing to do, or deferred; what decide() said
        is recorded (``decided_fields``), then announced."""
        d, decided = act.d, decided_fields(act.d.next_state)  # what production persists is what decide() said
        if d.action == Action.BLOCKED:
            if stored.state.last_action != Action.BLOCKED.value:
                self._record(act, stored.version, **decided)
            result = Outcome.BLOCKED
        elif d.action == Action.NONE:
            self._sync_bounds(d, act.endpoint, holding=d.from_copies)
            if stored.state.pending_target is not None:
                self._record(act, stored.version, **decided)
            result = Outcome.UNCHANGED
        else:
            self._sync_bounds(d, act.endpoint, holding=d.from_copies)
            self._record(act, stored.version, **decided, pending_since=act.now)
            result = Outcome.DEFERRED
        act.announce_decided()  # recorded: now it may be said
        return act.outcome(result, d.reason)

    def _claim(self, act: _Acting, stored: StoredState) -> int | ComponentOutcome:
        """Claim the component for a scale (the version after the claim), unless another invocation
        holds an open claim: it is writing SageMaker now, and a second write would be refused
        (Updating) after a second announcement. Its outcome is recorded soon."""
        claimed = stored.claimed_at
        if claimed is not None and act.now - claimed < self.CLAIM_HOLD:
            pending = stored.state.pending_target
            why = f"another invocation claimed it at {claimed.isoformat()} and is scaling it to {pending}"
            return act.outcome(Outcome.UNCHANGED, why)
        d = act.d
        return self._record(
            act,
            stored.version,
            last_action="scaling",
            pending_target=d.target,
            pending_reason=d.reason,
            pending_since=act.now,
        )

    def _write_count(self, act: _Acting, stored: StoredState, version: int) -> ComponentOutcome | None:
        """Write the copy count; the outcome when SageMaker refused it (recorded and said), else None.

        The count first, then AAS's bounds: RegisterScalableTarget writes a count its new bounds
        exclude into range itself (AWS: "changes the resource's current capacity to a value inside
        this range"), which would make the component Updating and refuse this write. Once the
        component is Updating, moving the bounds changes nothing."""
        d, name = act.d, act.d.component
        try:
            self.sagemaker.set_copy_count(name, d.target)
        except ComponentBusyError as exc:
            self._record_after_claim(act.endpoint, name, version, last_action=Action.DEFER.value, updated_at=act.now)
            act.say(EventType.SCALE_DEFERRED, f"SageMaker refused the write: {exc}")
            return act.outcome(Outcome.DEFERRED, str(exc))
        except IcpilotError as exc:
            attempts = stored.attempts + 1
            self._record_after_claim(
                act.endpoint,
                name,
                version,
                last_action="failed",
                last_error=str(exc),
                attempts=attempts,
                updated_at=act.now,
            )
            act.say(
                EventType.ACTION_FAILED,
                f"scaling to {d.target} failed (attempt {attempts}; retried on the next tick): {exc}",
                {"attempts": attempts},
            )
            return act.outcome(Outcome.FAILED, str(exc))
        return None

    @staticmethod
    def _flight(d: Decision, trigger: Trigger, stored: StoredState, now: datetime) -> dict[str, Any]:
        """The record of an accepted copy-count change: what the watcher follows (``InFlight``), the
        availability clients read, and the bounded copy-count history ``icpilot report`` integrates."""
        kind_of = WARM_UP if d.starts_warmup else ("scale-out" if d.target > d.from_copies else "scale-in")
        flight: dict[str, Any] = {
            "inflight": "1",
            "inflight_kind": kind_of,
            "inflight_target": d.target,
            "inflight_from": d.from_copies,
            "requested_at": trigger.requested_at or now,
            "accepted_at": now,
            "availability": "warming" if d.starts_warmup else ("cold" if d.target == 0 else "ready"),
            "expected_ready_at": d.expected_ready_at,
        }
        history = [*stored.transitions, [now.isoformat(), d.from_copies, d.target]][-TRANSITIONS_KEPT:]
        flight["transitions"] = json.dumps(history)
        return flight

    def _announce_scaled(self, d: Decision, endpoint: str, held_by: list[str], trigger: Trigger, now: datetime) -> None:
        """Scaled or ScaledToZero; EndpointIdle when this was the endpoint's last component with copies."""
        kind = EventType.SCALED_TO_ZERO if d.target == 0 else EventType.SCALED
        details = {"endpoint_held_by": held_by} if d.target == 0 else {}
        draft = EventDraft(type=kind, reason=d.reason, from_copies=d.from_copies, to_copies=d.target, details=details)
        self.announcer.announce(draft, trigger, now, endpoint, d.component)
        if d.target == 0 and not held_by:
            reason = f"every component on {endpoint} is at zero copies: ManagedInstanceScaling releases its instances after its scale-in cooldown"
            idle = EventDraft(type=EventType.ENDPOINT_IDLE, reason=reason, details={"last_component": d.component})
            self.announcer.announce(idle, trigger, now, endpoint, None)
