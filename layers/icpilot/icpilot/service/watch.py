"""The watcher: follow every transition in flight to its verdict (SageMaker emits no event for
inference components), and publish again the events SNS did not take.

A warm-up is complete when the component is InService with every desired copy loaded and, if the
policy gives a probe, the probe answers within its latency limit (``domain.transitions``); then
WarmUpCompleted carries the measured times.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit

from ..adapters.runtime import RuntimeAdapter
from ..adapters.sns import EventPublisher
from ..domain.decision_types import Trigger
from ..domain.decision_types import copies as n_copies
from ..domain.events import EventDraft, EventType
from ..domain.readiness import remember
from ..domain.transitions import Availability, Observed, ProbeResult, Verdict, needs_probe, verdict
from ..errors import CorruptStateError, IcpilotError, StateConflictError, UnknownComponentError
from ..policy.model import Policy
from ..ports import AlarmsAndMetrics, ComponentStore, CopyCounts
from ..records import StoredState
from .announce import Announcer, metric
from .fanout import fan_out
from .outcomes import ComponentOutcome, Outcome, RunSummary, out_of_time

# Completed warm-ups kept with their times (``StoredState.ready_log``): weeks of a component that
# cold-starts a few dozen times a day, in a few KB of the item.
READY_LOG_KEPT = 500

# Seconds a run keeps in hand when it starts following one more transition: one describe, one
# conditional write and one publish, each retried under throttling. What is not followed in time
# is followed by the next minute's run.
TIME_MARGIN_SECONDS = 15.0

logger = Logger(service="icpilot", child=True)


class Watch:
    """One watcher run. Costs one state-table query when nothing is in flight; what is in flight is
    followed endpoint by endpoint, up to ``workers`` endpoints at once (a morning's warm-ups across a
    fleet are one DescribeInferenceComponent each, I/O that threads overlap)."""

    def __init__(
        self,
        state: ComponentStore,
        sagemaker: CopyCounts,
        runtime: RuntimeAdapter | None,
        publisher: EventPublisher,
        announcer: Announcer,
        cloudwatch: AlarmsAndMetrics,
        workers: int = 1,
        seconds_left: Callable[[], float] | None = None,
    ) -> None:
        self.state, self.sagemaker, self.runtime = state, sagemaker, runtime
        self.publisher, self.announcer = publisher, announcer
        self.cloudwatch = cloudwatch
        self.workers = workers
        self.seconds_left = seconds_left  # the Lambda's remaining time; None: no limit

    def waiting_on(self, policy: Policy, summary: RunSummary, ready: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The components whose deferred intents waited on what this run saw settle: the settled
        ones' own (an alarm or demand that met copies leaving) and those declared ``after:`` one
        that just became ready."""
        settled = [(o.endpoint, o.component) for o in summary.outcomes if o.result in (Outcome.READY, Outcome.DONE)]
        dependents = [
            (e, c)
            for done_endpoint, done in ready
            for e, c, cp in policy.components()
            if e == done_endpoint and done in cp.after
        ]
        return [
            (e, c)
            for e, c in dict.fromkeys(settled + dependents)
            if policy.component(c) is not None and self.state.get(e, c).state.pending_target is not None
        ]

    def run(
        self, policy_of: Callable[[], Policy | None], summary: RunSummary, trigger: Trigger, now: datetime
    ) -> tuple[Policy | None, list[tuple[str, str]]]:
        """Watch everything in flight; the policy it read (None: none was needed, or it is invalid)
        and the (endpoint, component) warm-ups that became ready."""
        try:
            flights, parked = self.state.watch_items()
        except IcpilotError as exc:  # the next minute's run looks again; nothing is lost
            self.announcer.fail(
                summary, f"reading transitions in flight failed (retried next minute): {exc}", trigger, now
            )
            return None, []
        self._republish(parked, summary, now)
        if not flights:
            return None, []
        policy = policy_of()
        if policy is None:
            return None, []
        by_endpoint: dict[str, list[StoredState]] = {}
        for stored in flights:
            by_endpoint.setdefault(stored.endpoint_and_component[0], []).append(stored)
        followed = fan_out(
            lambda shard: [self._follow(policy, stored, trigger, now) for stored in shard],
            list(by_endpoint.values()),
            self.workers,
        )
        ready: list[tuple[str, str]] = []
        postponed = 0
        for outcome in (outcome for shard in followed for outcome in shard):
            summary.outcomes.append(outcome)
            if outcome.result == Outcome.READY:
                ready.append((outcome.endpoint, outcome.component))
            postponed += outcome.result == Outcome.POSTPONED
        if postponed:  # said once a run, as the tick says its own: the fleet outgrows the minute
            self.announcer.fail(
                summary,
                f"out of time after following {len(flights) - postponed} of {len(flights)} transitions in flight; "
                f"the other {postponed} are followed by the next minute's run (see README, operational limits)",
                trigger,
                now,
            )
        return policy, ready

    def _follow(self, policy: Policy, stored: StoredState, trigger: Trigger, now: datetime) -> ComponentOutcome:
        """One transition in flight, its failures its own outcome (the next minute looks again)."""
        endpoint, name = stored.endpoint_and_component
        if out_of_time(self.seconds_left, TIME_MARGIN_SECONDS):
            return ComponentOutcome(endpoint, name, Outcome.POSTPONED, "out of time: the next minute's run follows it")
        try:
            if stored.unreadable is not None:
                raise stored.unreadable
            return self._watch_one(policy, stored, endpoint, name, trigger, now)
        except StateConflictError as exc:
            return ComponentOutcome(endpoint, name, Outcome.SUPERSEDED, str(exc))
        except CorruptStateError as exc:  # an unreadable record is not followed every minute forever
            return self._stop_following(stored, endpoint, name, exc, trigger, now)
        except IcpilotError as exc:  # still in flight: the next minute looks again
            reason = f"following the transition failed (retried next minute): {exc}"
            logger.warning("watch failed", extra={"component": name, "error": str(exc)})
            failed = EventDraft(type=EventType.ACTION_FAILED, reason=reason)
            self.announcer.announce(failed, trigger, now, endpoint, name)
            return ComponentOutcome(endpoint, name, Outcome.FAILED, reason)

    def _met_during(self, component: str, requested: datetime, ready: datetime) -> float | None:
        """Requests a minute that found the component cold from the minute before the scale-up was
        asked for until it was ready: NoCapacityInvocationFailures (Sum) over that span, per minute.
        It prices the next cold start ('auto' idle delay). A client that retries while it waits
        counts once per attempt, so patient clients make cold starts look dearer than they are.
        None when it cannot be read (the price then stays as it was)."""
        # Whole minutes, as CloudWatch's one-minute periods fall: from the minute before the request
        # to the end of the minute it became ready in.
        since = requested.replace(second=0, microsecond=0) - timedelta(minutes=1)
        until = ready.replace(second=0, microsecond=0) + timedelta(minutes=1)
        minutes = max(1.0, (ready - since).total_seconds() / 60)
        try:
            failed = self.cloudwatch.component_sums("NoCapacityInvocationFailures", [component], since, until, 60)
        except IcpilotError as exc:
            logger.warning("no-capacity history unreadable", extra={"component": component, "error": str(exc)})
            return None
        return failed.get(component, 0.0) / minutes

    def _stop_following(
        self, stored: StoredState, endpoint: str, name: str, exc: CorruptStateError, trigger: Trigger, now: datetime
    ) -> ComponentOutcome:
        """A transition whose record cannot be read: said once, then no longer followed. The tick
        still evaluates the component from what SageMaker says (it needs none of the record)."""
        reason = f"the transition in flight cannot be followed: {exc}; stopped following it"
        self.announcer.announce(EventDraft(type=EventType.ACTION_FAILED, reason=reason), trigger, now, endpoint, name)
        with contextlib.suppress(IcpilotError):  # a version that is unreadable too: said again next minute
            self.state.write(endpoint, name, stored.version, inflight=None, expected_ready_at=None, updated_at=now)
        return ComponentOutcome(endpoint, name, Outcome.FAILED, reason)

    def _republish(self, parked: list[dict[str, str]], summary: RunSummary, now: datetime) -> None:
        """Events SNS did not take earlier go out again, oldest first; what fails stays parked
        (until SNS refuses it for good or it is a day old: then it is dead-lettered)."""
        for item in parked:
            try:
                if self.publisher.publish_parked(item, now):
                    summary.events_republished += 1
            except IcpilotError as exc:  # published, but still parked: it will go out once more
                logger.warning("parked event not dropped", extra={"pk": item["pk"], "error": str(exc)})

    def _ready(
        self,
        stored: StoredState,
        name: str,
        copies: int,
        from_copies: int,
        since: tuple[datetime, datetime],
        now: datetime,
        probe: ProbeResult | None,
    ) -> tuple[EventDraft, dict[str, Any]]:
        """A warm-up verified ready: its WarmUpCompleted and what the record learns (the time to ready
        from the need, ``since[0]``, and the load from SageMaker's acceptance, ``since[1]``; what a
        cold start met)."""
        requested, accepted = since
        ttr = (now - requested).total_seconds()
        history = remember(stored.ready_history, ttr)
        details = {
            "time_to_ready_seconds": round(ttr, 1),
            "model_load_seconds": round((now - accepted).total_seconds(), 1),
            "copies": copies,
            "probe_latency_ms": round(probe.latency_ms, 1) if probe is not None else None,
            "history": history,
        }
        fields: dict[str, Any] = {
            "availability": Availability.READY,
            "ready_history": history,
            "ready_log": (*stored.ready_log, (now, round(ttr, 1)))[-READY_LOG_KEPT:],
            "last_ready_at": now,
        }
        met = self._met_during(name, requested, now) if from_copies == 0 else None
        if met is not None:
            details["met_requests_per_minute"] = round(met, 1)
            fields["met_at_cold_start"] = remember(stored.state.met_at_cold_start, met)
        ready = f"{n_copies(copies)} ready after {ttr / 60:.1f} min"
        return EventDraft(type=EventType.WARM_UP_COMPLETED, reason=ready, to_copies=copies, details=details), fields

    def _deleted_in_flight(
        self, stored: StoredState, endpoint: str, name: str, exc: UnknownComponentError, trigger: Trigger, now: datetime
    ) -> ComponentOutcome:
        """The component was deleted while its transition was in flight: failed, said once."""
        self.state.write(
            endpoint, name, stored.version, inflight=None, availability=Availability.FAILED, updated_at=now
        )
        self.announcer.announce(
            EventDraft(type=EventType.COMPONENT_FAILED, reason=str(exc)), trigger, now, endpoint, name
        )
        return ComponentOutcome(endpoint, name, Outcome.FAILED, str(exc))

    def _watch_one(
        self, policy: Policy, stored: StoredState, endpoint: str, name: str, trigger: Trigger, now: datetime
    ) -> ComponentOutcome:
        found = policy.component(name)
        if found is None:
            self.state.write(endpoint, name, stored.version, inflight=None, availability=None, updated_at=now)
            return ComponentOutcome(endpoint, name, Outcome.UNCHANGED, "no longer in the policy: stopped watching")
        cp = found[1]
        flight = stored.in_flight
        if flight is None:  # the index listed it, the item no longer says so: nothing to follow
            return ComponentOutcome(endpoint, name, Outcome.UNCHANGED, "no transition in flight")
        kind, target = flight.kind, flight.target
        accepted = flight.accepted_at or now
        requested = flight.requested_at or accepted
        try:
            c = self.sagemaker.describe_component(name)
        except UnknownComponentError as exc:
            return self._deleted_in_flight(stored, endpoint, name, exc, trigger, now)

        def finish(result: Outcome, reason: str, draft: EventDraft | None = None, **fields: Any) -> ComponentOutcome:
            """Close the flight with a conditional write, then announce: a run that loses the write to
            another watcher run (StateConflictError) has announced nothing."""
            self.state.write(
                endpoint, name, stored.version, inflight=None, expected_ready_at=None, updated_at=now, **fields
            )
            if draft is not None:
                fact = f"{draft.type}/{endpoint}/{name}/{kind}/{accepted.isoformat()}"
                self.announcer.announce(draft.model_copy(update={"fact": fact}), trigger, now, endpoint, name)
            return ComponentOutcome(endpoint, name, result, reason, flight.from_copies, target)

        observed = Observed(c.status, c.current, c.desired)
        probe = None
        if cp.probe is not None and needs_probe(kind, observed, has_probe=True):
            assert self.runtime is not None, "a probe needs the runtime adapter"
            probe = self.runtime.probe(endpoint, name, cp.probe.payload, cp.probe.content_type)
        limit = cp.probe.max_latency_ms if cp.probe is not None else None
        result, why = verdict(kind, observed, accepted, cp.warmup_deadline, now, probe, limit)
        if result == Verdict.FAILED:
            reason = f"{name} failed: {c.failure_reason or 'SageMaker gave no reason'}"
            failure = {"failure_reason": c.failure_reason, "kind": kind}
            draft = EventDraft(type=EventType.COMPONENT_FAILED, reason=reason, to_copies=target, details=failure)
            return finish(Outcome.FAILED, reason, draft, availability=Availability.FAILED)
        if result == Verdict.READY:
            draft, fields = self._ready(stored, name, c.current, flight.from_copies, (requested, accepted), now, probe)
            ttr = (now - requested).total_seconds()
            outcome = finish(Outcome.READY, f"ready after {ttr:.0f} s", draft, **fields)
            metric("TimeToReady", ttr, MetricUnit.Seconds, endpoint, name)
            return outcome
        if result == Verdict.DONE:
            reason = f"{kind} to {n_copies(c.desired)} complete"
            return finish(Outcome.DONE, reason, availability=Availability.READY if c.desired else Availability.COLD)
        if result == Verdict.TIMED_OUT:
            reason = f"{kind} to {n_copies(target)} {why}"
            late = {"copies_ready": c.current, "copies_wanted": c.desired, "status": c.status, "kind": kind}
            draft = EventDraft(type=EventType.WARM_UP_TIMED_OUT, reason=reason, to_copies=c.current, details=late)
            partly = Availability.PARTIAL if c.current else Availability.COLD
            return finish(Outcome.TIMED_OUT, reason, draft, availability=partly)
        return ComponentOutcome(endpoint, name, Outcome.WAITING, why)
