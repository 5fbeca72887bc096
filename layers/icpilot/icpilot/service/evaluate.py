"""Evaluate: observe -> inputs -> decide -> act -> record -> announce, endpoint by endpoint.

Per endpoint it:
1. observes the endpoint (all components, for capacity) and reads icpilot's state;
2. asks ``decide`` (pure) what to do for each component, on the endpoint as the earlier ones'
   scales will leave it;
3. claims the scales with conditional state writes, several in one transaction (a racing
   invocation loses and decides again on the fresh state; it never acts twice);
4. writes each copy count, then moves AAS's bounds around it (never a blind write);
5. records the outcomes (a refused or failed write leaves a pending intent the next tick
   retries) and publishes lifecycle events, only for actions that stand.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit

from ..domain.bursts import burst_leads
from ..domain.decision_types import Action, Decision, EndpointObservation, Trigger
from ..domain.decision_types import copies as n_copies
from ..domain.events import EventDraft, EventType
from ..domain.inputs import build_inputs
from ..errors import (
    IcpilotError,
    NotAnInferenceComponentEndpointError,
    StateConflictError,
    UnknownComponentError,
    UnknownEndpointError,
)
from ..policy.model import Policy
from ..ports import CopyCounts, ScalableTargets, State
from ..records import StoredState
from .acting import Acting, DecisionCarrier, Record
from .announce import Announcer, metric
from .fanout import fan_out
from .outcomes import ComponentOutcome, Outcome, RunSummary, out_of_time

logger = Logger(service="icpilot", child=True)


@dataclass(frozen=True)
class _Planned:
    """One component's decision, made and not yet carried out."""

    endpoint: str
    name: str
    trigger: Trigger
    stored: StoredState
    forecast_floor: int | None
    decision: Decision
    held_by: list[str]
    claimed: int | None = None  # the version after this run's claim (``claim_all``)

    def after(self, ep: EndpointObservation) -> EndpointObservation:
        """The endpoint as it is once this decision's copy count is written."""
        target = self.decision.target
        return replace(
            ep, components=tuple(replace(c, desired=target) if c.name == self.name else c for c in ep.components)
        )


Step = TypeVar("Step")


@dataclass
class _ShardResult:
    """What one endpoint's worker did: its outcomes, and the components it had no time for."""

    outcomes: list[ComponentOutcome] = field(default_factory=list)
    postponed: list[tuple[str, str]] = field(default_factory=list)


class Evaluation(DecisionCarrier):
    """One run's evaluations. Made per run: what it reads once (AAS targets in batches, the peers'
    pending intents) is a snapshot of this run, never carried into the next."""

    # Stop starting components with this much of the Lambda's time left: one evaluation, retries
    # included, finishes well within it, so a pass never times out between a write and its record.
    TIME_MARGIN_SECONDS = 45.0

    # A trigger whose claim is lost to another write decides again on the fresh state, this often.
    CLAIM_ATTEMPTS = 3

    # Scales claimed in one transaction: few enough that what they write (paced, shared with the
    # other workers) fits in TIME_MARGIN_SECONDS once claimed, since a claim must be carried out.
    CLAIMED_TOGETHER = 10

    def __init__(
        self,
        sagemaker: CopyCounts,
        autoscaling: ScalableTargets,
        state: State,
        announcer: Announcer,
        seconds_left: Callable[[], float] | None = None,
        workers: int = 1,
    ) -> None:
        super().__init__(sagemaker, autoscaling, state, announcer)
        self.seconds_left = seconds_left  # the Lambda's remaining time; None: no limit
        self.workers = max(1, workers)
        self._pending: dict[tuple[str, str], int | None] = {}
        self._listed: dict[str, list[str]] | None = None  # the account's components by endpoint, if listed
        self._queued: dict[str, timedelta] = {}  # the writes of the bursts components open in (bursts)

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
        self._read_ahead(policy, shards)
        self._queued = burst_leads(policy, self.sagemaker.write_rate())
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

    def _read_ahead(self, policy: Policy, shards: dict[str, list[str]]) -> None:
        """What the run's workers will read, read first in batches across endpoints: the state of
        every policy component on them (BatchGetItem, 100 a call), the AAS targets of the ones to
        evaluate (50 a call) and, for runs over many endpoints, the account's inference components
        (100 a page) instead of one listing per endpoint. A batch that fails is read per endpoint
        or per component later, where it is needed."""
        for endpoint in shards:
            self._peers[endpoint] = [c for e, c, _ in policy.components() if e == endpoint]
        try:
            self._stored.update(self.state.get_many([(e, c) for e in shards for c in self._peers[e]]))
        except IcpilotError as exc:
            logger.warning("batched state read failed; reading per component", extra={"error": str(exc)})
        self.targets.read([c for names in shards.values() for c in names])
        self._listed = self.sagemaker.listing_for(len(shards))

    def _endpoint(
        self,
        policy: Policy,
        endpoint: str,
        names: list[str],
        trigger: Trigger,
        now: datetime,
        triggers: dict[str, Trigger] | None,
    ) -> _ShardResult:
        """One endpoint's components, one after another: observed once, then each evaluated on the
        observation the previous one left."""
        result = _ShardResult()
        if self._out_of_time():  # not even observed: a pass out of time makes no more calls
            result.postponed += [(endpoint, c) for c in names]
            return result
        # Not in the account's listing (or forgotten for a second run): listed on its own.
        listed = self._listed.get(endpoint) if self._listed is not None else None
        try:
            ep: EndpointObservation | IcpilotError = self.sagemaker.observe_endpoint(
                endpoint, policy.component_names(), listed
            )
        except UnknownEndpointError as exc:  # deleted (or not created yet): each component said once
            ep = exc
        except (NotAnInferenceComponentEndpointError, IcpilotError) as exc:
            ep = exc
            self.announcer.announce(
                EventDraft(type=EventType.ACTION_FAILED, reason=str(exc)), trigger, now, endpoint, None
            )
        if isinstance(ep, IcpilotError):
            for component in names:
                if isinstance(ep, UnknownEndpointError):
                    result.outcomes.append(self._gone(endpoint, component, str(ep), trigger, now))
                else:
                    result.outcomes.append(ComponentOutcome(endpoint, component, Outcome.REJECTED, str(ep)))
            return result
        records: list[Record] = []
        try:
            self._components_of(policy, ep, names, trigger, now, triggers, result, records)
        finally:  # the records of what was written, whatever happened after
            self.settle_all(records)
        return result

    def _components_of(
        self,
        policy: Policy,
        ep: EndpointObservation,
        names: list[str],
        trigger: Trigger,
        now: datetime,
        triggers: dict[str, Trigger] | None,
        result: _ShardResult,
        records: list[Record],
    ) -> None:
        """One endpoint's components: each decided on the endpoint as the earlier ones' scales will
        leave it, then carried out in order, the scales claimed a few at a time (``claim_all``: one
        transaction, not one write each) and their records left in ``records``. When one does not
        end as its decision said (refused, postponed, lost a race, preempted a peer), the later
        ones are decided again on the endpoint as it is, and claimed one by one; so are they after
        a claim together that lost a race."""
        observed, planned = ep, list[_Planned | ComponentOutcome]()
        for component in names:
            own = (triggers or {}).get(component, trigger)
            step = self._guarded(ep.name, component, own, now, partial(self._prepare, policy, ep, component, own, now))
            planned.append(step)
            if isinstance(step, _Planned) and self._scales(policy, step):
                ep = step.after(ep)
        ep, deviated, together = observed, False, True
        for i, step in enumerate(planned):
            if isinstance(step, ComponentOutcome):
                result.outcomes.append(step)
                continue
            if step.claimed is None:
                if self._out_of_time():  # what is claimed is still carried out
                    result.postponed.append((ep.name, step.name))
                    continue
                if deviated:  # decided on an endpoint that did not come to be
                    again = self._guarded(
                        ep.name,
                        step.name,
                        step.trigger,
                        now,
                        partial(self._decide, policy, ep, step.name, step.stored, step.trigger, now),
                    )
                    if isinstance(again, ComponentOutcome):
                        result.outcomes.append(again)
                        continue
                    step = again
                elif together:
                    together = self._claim_next(policy, planned, i, now)
                    claimed = planned[i]
                    assert isinstance(claimed, _Planned)
                    step = claimed
            if step.decision.preempt:  # it writes its victims' state: what was applied is recorded first
                self.settle_all(records)
                records.clear()
            outcome, ep = self._guarded_carry(policy, ep, step, now, records)
            result.outcomes.append(outcome)
            scaled = outcome.result == Outcome.SCALED
            deviated |= (self._scales(policy, step) and not scaled) or bool(scaled and step.decision.preempt)

    def _out_of_time(self) -> bool:
        return out_of_time(self.seconds_left, self.TIME_MARGIN_SECONDS)

    def _claim_next(
        self, policy: Policy, planned: list[_Planned | ComponentOutcome], first: int, now: datetime
    ) -> bool:
        """Claim the scales among the next ``CLAIMED_TOGETHER`` planned steps from ``first`` in one
        transaction, when there are two or more and none takes copies from a peer (a preemption
        writes the peer's state, which later decisions read). The claimed steps carry their version
        in ``planned``. False when the claim lost a race (none is claimed)."""
        window = list(enumerate(planned[first : first + self.CLAIMED_TOGETHER], first))
        acts = [
            (i, Acting(p.decision, p.endpoint, p.trigger, now, self.announcer), p.stored)
            for i, p in window
            if isinstance(p, _Planned) and self._scales(policy, p)
        ]
        claiming = [(i, a, stored) for i, a, stored in acts if self.claims_now(a, stored)]
        if len(claiming) < 2 or any(a.d.preempt for _, a, _ in claiming):
            return True
        versions = self.claim_all([(a, stored) for _, a, stored in claiming])
        if versions is None:
            return False
        for (i, _, _), version in zip(claiming, versions, strict=True):
            step = planned[i]
            assert isinstance(step, _Planned)
            planned[i] = replace(step, claimed=version)
        return True

    @staticmethod
    def _scales(policy: Policy, step: _Planned) -> bool:
        """Whether carrying the step out writes a copy count (not in observe mode)."""
        return step.decision.action == Action.SCALE and not policy.observes(step.name)

    def _guarded(
        self, endpoint: str, component: str, trigger: Trigger, now: datetime, work: Callable[[], Step]
    ) -> Step | ComponentOutcome:
        """One component's work; its failure is its own outcome and never stops the others."""
        try:
            return work()
        except UnknownComponentError as exc:  # deleted under icpilot: said once, then quiet
            return self._gone(endpoint, component, str(exc), trigger, now)
        except IcpilotError as exc:
            logger.warning(
                "component evaluation failed", extra={"endpoint": endpoint, "component": component, "error": str(exc)}
            )
            self.announcer.announce(
                EventDraft(type=EventType.ACTION_FAILED, reason=str(exc)), trigger, now, endpoint, component
            )
            return ComponentOutcome(endpoint, component, Outcome.FAILED, str(exc))

    def _guarded_carry(
        self, policy: Policy, ep: EndpointObservation, step: _Planned, now: datetime, records: list[Record]
    ) -> tuple[ComponentOutcome, EndpointObservation]:
        carried = self._guarded(
            ep.name, step.name, step.trigger, now, partial(self._carry, policy, ep, step, now, records)
        )
        return carried if isinstance(carried, tuple) else (carried, ep)

    def _read(self, endpoint: str, component: str) -> StoredState:
        """The component's state: the run's batched read the first time (used once), then read afresh."""
        return self._stored.pop((endpoint, component), None) or self.state.get(endpoint, component)

    def _forget_endpoint(self, endpoint: str) -> None:
        """Drop what the run read of this endpoint, so that running it again reads afresh."""
        if self._listed is not None:
            self._listed.pop(endpoint, None)
        for key in [k for k in self._stored if k[0] == endpoint]:
            self._stored.pop(key, None)
        for key in [k for k in self._pending if k[0] == endpoint]:
            self._pending.pop(key, None)

    def _gone(self, endpoint: str, name: str, reason: str, trigger: Trigger, now: datetime) -> ComponentOutcome:
        """A component of the policy that is not on its endpoint (deleted, or not created yet): one
        ``ComponentGone``, announced once the state records it (so two runs cannot both announce
        it), then quiet runs until it is back; never an error every tick."""
        stored = self._read(endpoint, name)
        since = stored.gone_since
        if since is not None:
            waiting = f"{reason}, since {since.isoformat()}: waiting for it"
            return ComponentOutcome(endpoint, name, Outcome.UNCHANGED, waiting)
        try:
            self.state.write(endpoint, name, stored.version, gone_since=now, updated_at=now)
        except StateConflictError:
            return ComponentOutcome(endpoint, name, Outcome.UNCHANGED, f"{reason}: another run is recording it")
        self.announcer.announce(EventDraft(type=EventType.COMPONENT_GONE, reason=reason), trigger, now, endpoint, name)
        return ComponentOutcome(endpoint, name, Outcome.UNCHANGED, reason)

    def _prepare(
        self, policy: Policy, ep: EndpointObservation, name: str, trigger: Trigger, now: datetime
    ) -> _Planned | ComponentOutcome:
        """The component's decision on ``ep``, from its stored state; or why it is not decided here."""
        component = next((c for c in ep.components if c.name == name), None)
        if component is None:
            raise UnknownComponentError(f"inference component {name!r} (in the policy) is not on endpoint {ep.name!r}")
        metric("DesiredCopies", component.desired, MetricUnit.Count, ep.name, name)
        metric("CurrentCopies", component.current, MetricUnit.Count, ep.name, name)
        stored = self._stored_for(ep.name, name, trigger, now)
        if isinstance(stored, ComponentOutcome):
            return stored
        return self._decide(policy, ep, name, stored, trigger, now)

    def _decide(
        self, policy: Policy, ep: EndpointObservation, name: str, stored: StoredState, trigger: Trigger, now: datetime
    ) -> _Planned:
        """``decide`` on the component as ``ep`` shows it and its state as ``stored`` holds it."""
        component = next((c for c in ep.components if c.name == name), None)
        if component is None:
            raise UnknownComponentError(f"inference component {name!r} left endpoint {ep.name!r}")
        inputs = build_inputs(
            policy,
            ep,
            component,
            stored.state,
            stored.ready_history,
            stored.forecast,
            now,
            self._pending_of(ep.name),
            self._queued.get(name, timedelta(0)),
        )
        held_by = [f"{c.name} ({c.desired})" for c in ep.components if c.name != name and c.desired > 0]
        return _Planned(ep.name, name, trigger, stored, inputs.forecast_floor, inputs.decide(trigger, now), held_by)

    def _carry(
        self, policy: Policy, ep: EndpointObservation, step: _Planned, now: datetime, records: list[Record]
    ) -> tuple[ComponentOutcome, EndpointObservation]:
        """Carry out the step's decision (observe mode: announce it only). A claim lost to another
        write (the watcher closing a transition, a racing trigger) decides again on the state and
        the component as they are now, so this trigger's intent is not lost, and a count the
        winner wrote is not written again."""
        name, trigger = step.name, step.trigger
        for attempt in range(self.CLAIM_ATTEMPTS):
            decision = step.decision
            _log_decision(decision, attempt + 1)
            if policy.observes(name):
                outcome = self._observe(Acting(decision, ep.name, trigger, now, self.announcer), step.stored)
            else:
                outcome = self._act(
                    decision, ep, step.stored, trigger, now, step.held_by, claimed=step.claimed, records=records
                )
            if outcome.result != Outcome.SUPERSEDED:
                break
            ep = self.sagemaker.observe_endpoint(ep.name, policy.component_names())
            step = self._decide(policy, ep, name, self.state.get(ep.name, name), trigger, now)
        if step.forecast_floor is not None:  # the dashboard draws it against the copies that ran
            metric("ForecastFloor", step.forecast_floor, MetricUnit.Count, ep.name, name)
        if decision.refusal != step.stored.state.last_refusal:
            latest = self.state.get(ep.name, name)
            # A racing write or a failed one: the refusal may then be said once more, which is harmless.
            with contextlib.suppress(IcpilotError):
                self.state.write(ep.name, name, latest.version, last_refusal=decision.refusal)
        if outcome.result == Outcome.SCALED:
            ep = step.after(ep)
        return outcome, ep

    def _stored_for(self, endpoint: str, name: str, trigger: Trigger, now: datetime) -> StoredState | ComponentOutcome:
        """The component's stored state to decide on, or why it is not decided on here: another
        stack's component is left to it; one back after ComponentGone is watched again; an expired
        override is ended (and said so) first."""
        stored = self._read(endpoint, name)
        owner = stored.owned_by
        if owner is not None:  # configure found another stack's alarms on it (OwnershipConflict)
            reason = f"managed by stack {owner!r} (OwnershipConflict): left to it"
            return ComponentOutcome(endpoint, name, Outcome.UNCHANGED, reason)
        if stored.gone_since is not None:  # back after ComponentGone: watched again
            self.state.write(endpoint, name, stored.version, gone_since=None, updated_at=now)
            stored = self.state.get(endpoint, name)
        until = stored.state.override_until
        if until is not None and now >= until:
            stored = self.clear_override(endpoint, name, stored, "expired", trigger, now)
        return stored

    def _pending_of(self, endpoint: str) -> Callable[[str], int | None]:
        """Another component's pending intent, read once per run (a pass stays linear in components)."""

        def pending(name: str) -> int | None:
            key = (endpoint, name)
            if key not in self._pending:
                stored = self._stored.get(key) or self.state.get(endpoint, name)
                self._pending[key] = stored.state.pending_target
            return self._pending[key]

        return pending


def _log_decision(decision: Decision, attempt: int) -> None:
    """One structured log line per decision (its rule code is what dashboards and tests filter on)."""
    logger.info(
        "decision",
        extra={
            "component": decision.component,
            "action": decision.action.value,
            "rule": decision.rule.value,
            "from": decision.from_copies,
            "to": decision.target,
            "reason": decision.reason,
            "attempt": attempt,
        },
    )
