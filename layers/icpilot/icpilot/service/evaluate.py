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
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit

from ..domain.decision_types import Decision, EndpointObservation, Trigger
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
from .acting import Acting, DecisionCarrier
from .announce import Announcer, metric
from .fanout import fan_out
from .outcomes import ComponentOutcome, Outcome, RunSummary

logger = Logger(service="icpilot", child=True)


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
        stored = self._stored_for(ep.name, name, trigger, now)
        if isinstance(stored, ComponentOutcome):
            return stored, ep
        held_by = [f"{c.name} ({c.desired})" for c in ep.components if c.name != name and c.desired > 0]
        for attempt in range(self.CLAIM_ATTEMPTS):
            inputs = build_inputs(
                policy,
                ep,
                component,
                stored.state,
                stored.ready_history,
                stored.forecast,
                now,
                self._pending_of(ep.name),
            )
            decision = inputs.decide(trigger, now)
            _log_decision(decision, attempt + 1)
            if policy.observes(name):
                outcome = self._observe(Acting(decision, ep.name, trigger, now, self.announcer), stored)
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
