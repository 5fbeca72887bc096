"""Observe -> decide -> act -> record -> announce, for one trigger.

The controller is the only place that sequences AWS calls. Per component it:
1. observes the endpoint (all components, for capacity) and reads icpilot's state;
2. asks ``decide`` (pure) what to do;
3. claims the action with a conditional state write (a racing invocation loses and reports
   ``superseded``; it never acts twice);
4. moves AAS's bounds first, then writes the copy count inside them (never a blind write);
5. records the outcome (a refused or failed write leaves a pending intent the next tick retries)
   and publishes lifecycle events.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from .adapters.autoscaling import AutoScalingAdapter, ScalableTarget
from .adapters.cloudwatch import ALARM_FIELDS, CloudWatchAdapter
from .adapters.runtime import RuntimeAdapter
from .adapters.sagemaker import SageMakerAdapter
from .adapters.scheduler import SchedulerAdapter
from .adapters.sns import EventPublisher
from .adapters.state import StateStore, StoredState
from .domain.cost import CostModel, UnknownInstanceType
from .domain.decision import (
    Action,
    AlarmKind,
    Decision,
    EndpointObservation,
    Trigger,
    TriggerKind,
    aas_min_holding_last_copy,
)
from .domain.decision import copies as n_copies
from .domain.events import EventDraft, EventType, LifecycleEvent, TriggerInfo
from .domain.forecast import Forecast, HoldingPrices, learn
from .domain.inputs import build_inputs, stored_forecast
from .domain.readiness import idle_delay, lead_time, remember, time_to_ready
from .domain.transitions import Observed, Verdict, needs_probe, verdict
from .domain.windows import bounds_at
from .errors import (
    ComponentBusyError,
    CorruptStateError,
    IcpilotError,
    NotAnInferenceComponentEndpointError,
    PolicyError,
    StateConflictError,
    UnknownComponentError,
    UnknownEndpointError,
)
from .plans.autoscaling import (
    PREFIX,
    SCALE_FROM_ZERO,
    STEP_POLICY_ARN,
    alarm_name,
    alarm_owner,
    desired_autoscaling,
    differences,
    parse_alarm_name,
)
from .plans.schedules import desired_schedules
from .policy.model import ComponentPolicy, Policy, parse_duration

logger = Logger(service="icpilot", child=True)
TRANSITIONS_KEPT = 2000
# An alarm event's state.timestamp has milliseconds; DescribeAlarms may round them.
ALARM_CLOCK_TOLERANCE_SECONDS = 1.0


def metric(name: str, value: float, unit: MetricUnit, endpoint: str, component: str) -> None:
    """One EMF metric per component (Powertools; printed to the log, no API call).

    single_metric does not read POWERTOOLS_METRICS_DISABLED, so the switch is honoured here: the
    CLI and local runs (emulator, demo) turn metrics off.
    """
    if os.environ.get("POWERTOOLS_METRICS_DISABLED", "false").lower() == "true":
        return
    with single_metric(
        name=name,
        unit=unit,
        value=value,
        namespace="icpilot",
        default_dimensions={"endpoint": endpoint, "component": component},
    ):
        pass


class Outcome(StrEnum):
    """What one run did with one component (``ComponentOutcome.result``; the JSON summary's word)."""

    SCALED = "scaled"  # the copy count was written
    UNCHANGED = "unchanged"  # nothing to do
    DEFERRED = "deferred"  # the intent is kept for the tick (component busy, after:, AAS racing)
    BLOCKED = "blocked"  # the component is Failed: icpilot will not write to it
    SUPERSEDED = "superseded"  # another invocation acted first (lost the conditional claim three times)
    FAILED = "failed"  # an AWS call or a stored item failed; reported as ActionFailed
    REJECTED = "rejected"  # the trigger was refused (malformed, unknown, unconfirmed): TriggerRejected
    POSTPONED = "postponed"  # the run's time budget ran out before this component; the next run takes it
    WAITING = "waiting"  # watcher: copies are still loading (or the probe failed)
    READY = "ready"  # watcher: a warm-up finished and was verified
    DONE = "done"  # watcher: a scale-out or scale-in finished
    TIMED_OUT = "timed-out"  # watcher: not done by its deadline
    FORECAST = "forecast"  # forecast run: the learned floors were stored


@dataclass
class ComponentOutcome:
    endpoint: str
    component: str
    result: Outcome
    reason: str
    from_copies: int | None = None
    to_copies: int | None = None


@dataclass
class RunSummary:
    trigger: str
    correlation_id: str
    outcomes: list[ComponentOutcome] = field(default_factory=list)
    schedules: dict[str, int] = field(default_factory=dict)
    autoscaling_changes: list[dict[str, Any]] = field(default_factory=list)
    events_published: int = 0
    events_undelivered: int = 0
    events_republished: int = 0
    policy_error: list[str] | None = None
    errors: list[str] = field(default_factory=list)  # failures outside any one component's evaluation

    @property
    def ok(self) -> bool:
        return (
            self.policy_error is None
            and not self.errors
            and not any(o.result in (Outcome.FAILED, Outcome.REJECTED) for o in self.outcomes)
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        return out


class Controller:
    def __init__(
        self,
        policy_source: Callable[[], Policy],
        sagemaker: SageMakerAdapter,
        autoscaling: AutoScalingAdapter,
        state: StateStore,
        publisher: EventPublisher,
        scheduler: SchedulerAdapter | None = None,
        correlation_id: str | None = None,
        cloudwatch: CloudWatchAdapter | None = None,
        runtime: RuntimeAdapter | None = None,
        seconds_left: Callable[[], float] | None = None,
    ) -> None:
        self.policy_source = policy_source
        self.sagemaker = sagemaker
        self.autoscaling = autoscaling
        self.state = state
        self.publisher = publisher
        self.scheduler = scheduler
        self.cloudwatch = cloudwatch
        self.runtime = runtime
        self._pending: dict[tuple[str, str], int | None] = {}
        self._targets: dict[str, ScalableTarget | None] = {}  # this run's batched AAS target reads
        self.correlation_id = correlation_id or str(uuid.uuid4())
        self.seconds_left = seconds_left  # the Lambda's remaining time; None: no limit

    # ------------------------------------------------------------- entry points
    def on_schedule(self, rule_ref: str, edge: str, now: datetime) -> RunSummary:
        trigger = Trigger(TriggerKind.SCHEDULE, source=f"schedule:{edge}", rule=rule_ref)
        summary = RunSummary(trigger=f"schedule {rule_ref} ({edge})", correlation_id=self.correlation_id)
        policy = self._policy(summary, trigger, now)
        if policy is None:
            return self._finish(summary)
        parts = rule_ref.split("/")
        found = policy.component(parts[1]) if len(parts) == 3 else None
        if found is None or found[0] != parts[0] or parts[2] not in {r.name for r in found[1].schedules}:
            reason = f"schedule rule {rule_ref!r} is not in the policy (expected endpoint/component/rule); nothing done"
            self._announce(EventDraft(type=EventType.TRIGGER_REJECTED, reason=reason), trigger, now, None, None)
            summary.outcomes.append(
                ComponentOutcome(
                    parts[0] if parts else "?", parts[1] if len(parts) > 1 else "?", Outcome.REJECTED, reason
                )
            )
            return self._finish(summary)
        self._evaluate_components(policy, [(parts[0], parts[1])], trigger, now, summary)
        return self._finish(summary)

    def reject(self, reason: str, now: datetime, kind: TriggerKind = TriggerKind.SCHEDULE) -> RunSummary:
        """Report an invocation that cannot be acted on (malformed event) without failing it."""
        trigger = Trigger(kind, source="malformed")
        self._announce(EventDraft(type=EventType.TRIGGER_REJECTED, reason=reason), trigger, now, None, None)
        summary = RunSummary(trigger="rejected", correlation_id=self.correlation_id)
        summary.outcomes.append(ComponentOutcome("?", "?", Outcome.REJECTED, reason))
        return self._finish(summary)

    def on_tick(self, now: datetime, reconcile: bool = True) -> RunSummary:
        trigger = Trigger(TriggerKind.TICK, source="tick")
        summary = RunSummary(trigger="tick", correlation_id=self.correlation_id)
        policy = self._policy(summary, trigger, now)
        if policy is None:
            return self._finish(summary)
        if reconcile and self.scheduler is not None:
            try:
                summary.schedules = self.reconcile_schedules(policy)
            except IcpilotError as exc:  # edges are also caught by the tick below: go on
                self._fail(summary, f"reconciling window schedules failed (retried next tick): {exc}", trigger, now)
            changed = {k: v for k, v in summary.schedules.items() if k != "unchanged" and v}
            if changed:
                reason = "window schedules follow the policy: " + ", ".join(f"{v} {k}" for k, v in changed.items())
                self._announce(
                    EventDraft(type=EventType.SCHEDULES_RECONCILED, reason=reason, details=summary.schedules),
                    trigger,
                    now,
                    None,
                    None,
                )
        try:
            triggers = self._alarm_triggers(policy, now)
        except IcpilotError as exc:  # evaluate on schedules alone; alarms are read again next tick
            self._fail(summary, f"reading alarm states failed (retried next tick): {exc}", trigger, now)
            triggers = {}
        everyone = [(e, c) for e, c, _ in policy.components()]
        # Start at a different component each minute: if a pass runs out of time (see
        # TIME_MARGIN_SECONDS), the ones it postponed come early in a later pass.
        offset = int(now.timestamp() // 60) % len(everyone) if everyone else 0
        self._evaluate_components(policy, everyone[offset:] + everyone[:offset], trigger, now, summary, triggers)
        return self._finish(summary)

    def _alarm_triggers(self, policy: Policy, now: datetime) -> dict[str, Trigger]:
        """Alarms that stay in ALARM get no new EventBridge event, so the tick acts on them:
        - high-load: add ``step`` more copies, one scale-out cooldown apart, while load lasts;
        - idle: scale to zero once nothing holds the component any more (an idle alarm that went
          to ALARM while a window's floor held the copies never fires again by itself)."""
        if self.cloudwatch is None:
            return {}
        wanted: dict[str, tuple[str, str, Any, AlarmKind]] = {}
        for e, c, cp in policy.components():
            if cp.high_load:
                wanted[alarm_name(c, AlarmKind.HIGH_LOAD)] = (e, c, cp, AlarmKind.HIGH_LOAD)
            if cp.idle_scale_to_zero_after is not None:
                wanted[alarm_name(c, AlarmKind.IDLE)] = (e, c, cp, AlarmKind.IDLE)
        if not wanted:
            return {}
        out: dict[str, Trigger] = {}
        for name, alarm in self.cloudwatch.alarms().items():
            if name not in wanted or alarm.get("StateValue") != "ALARM":
                continue
            endpoint, component, cp, kind = wanted[name]
            if kind == AlarmKind.IDLE:
                if bounds_at(cp, now).floor == 0:
                    out.setdefault(
                        component, Trigger(TriggerKind.ALARM, source=f"alarm:{name} (still in ALARM)", alarm=kind)
                    )
                continue
            last = self.state.get(endpoint, component).last_action_at
            cooldown = cp.autoscaling.scale_out_cooldown if cp.autoscaling else 60
            if last is None or now - last >= parse_duration(cooldown):
                out[component] = Trigger(TriggerKind.ALARM, source=f"alarm:{name} (still in ALARM)", alarm=kind)
        return out

    def _policy_component(
        self, summary: RunSummary, trigger: Trigger, now: datetime, component: str
    ) -> tuple[Policy | None, tuple[str, ComponentPolicy] | None]:
        """The policy and (endpoint, component policy); an unknown component is recorded as rejected."""
        policy = self._policy(summary, trigger, now)
        found = policy.component(component) if policy else None
        if policy is not None and found is None:
            summary.outcomes.append(
                ComponentOutcome("?", component, Outcome.REJECTED, f"{component!r} is not in the policy")
            )
        return policy, found

    def set_override(self, component: str, copies: int, until: datetime, reason: str, now: datetime) -> RunSummary:
        """An operator pins a component's copies until ``until``: automatic changes pause (AAS too)."""
        trigger = Trigger(TriggerKind.MANUAL, source="override")
        summary = RunSummary(trigger=f"override {component} -> {copies}", correlation_id=self.correlation_id)
        policy, found = self._policy_component(summary, trigger, now, component)
        if policy is None or found is None:
            return self._finish(summary)
        endpoint, cp = found
        if not 0 <= copies <= cp.max_copies:
            summary.outcomes.append(
                ComponentOutcome(
                    endpoint,
                    component,
                    Outcome.REJECTED,
                    f"--copies {copies} is outside 0..{cp.max_copies} (max_copies)",
                )
            )
            return self._finish(summary)
        self._write_latest(
            endpoint,
            component,
            override_copies=copies,
            override_until=until,
            override_reason=reason,
            override_set_at=now,
        )
        self._announce(
            EventDraft(
                type=EventType.OVERRIDE_SET,
                reason=f"{reason} (until {until.isoformat()})",
                to_copies=copies,
                details={"until": until.isoformat(), "reason": reason},
            ),
            trigger,
            now,
            endpoint,
            component,
        )
        self._evaluate_components(policy, [(endpoint, component)], trigger, now, summary)
        return self._finish(summary)

    def end_override(self, component: str, now: datetime, why: str = "resumed by an operator") -> RunSummary:
        trigger = Trigger(TriggerKind.MANUAL, source="resume")
        summary = RunSummary(trigger=f"resume {component}", correlation_id=self.correlation_id)
        policy, found = self._policy_component(summary, trigger, now, component)
        if policy is None or found is None:
            return self._finish(summary)
        endpoint = found[0]
        self._clear_override(endpoint, component, self.state.get(endpoint, component), why, trigger, now)
        self._evaluate_components(policy, [(endpoint, component)], trigger, now, summary)
        return self._finish(summary)

    def _clear_override(
        self, endpoint: str, component: str, stored: StoredState, why: str, trigger: Trigger, now: datetime
    ) -> StoredState:
        if stored.state.override_copies is None:
            return stored
        cleared = self._write_latest(
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
        self._announce(
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

    def on_watch(self, now: datetime) -> RunSummary:
        """Follow every transition in flight to its end (SageMaker emits no event for ICs).

        Costs one state-table query when nothing is in flight. A warm-up is complete when the
        component is InService with every desired copy loaded and, if the policy gives a probe,
        the probe answers within its latency limit; then WarmUpCompleted carries the measured times.
        """
        trigger = Trigger(TriggerKind.TICK, source="watch")
        summary = RunSummary(trigger="watch", correlation_id=self.correlation_id)
        try:
            flights, parked = self.state.watch_items()
        except IcpilotError as exc:  # the next minute's run looks again; nothing is lost
            self._fail(summary, f"reading transitions in flight failed (retried next minute): {exc}", trigger, now)
            return self._finish(summary)
        self._republish(parked, summary, now)
        if not flights:
            return self._finish(summary)
        policy = self._policy(summary, trigger, now)
        if policy is None:
            return self._finish(summary)
        finished_warmups: list[tuple[str, str]] = []
        for stored in flights:
            endpoint, name = stored.endpoint_and_component
            try:
                outcome = self._watch_one(policy, stored, endpoint, name, trigger, now)
            except StateConflictError as exc:
                outcome = ComponentOutcome(endpoint, name, Outcome.SUPERSEDED, str(exc))
            except CorruptStateError as exc:  # an unreadable record is not followed every minute forever
                outcome = self._stop_following(stored, endpoint, name, exc, trigger, now)
            except IcpilotError as exc:  # still in flight: the next minute looks again
                reason = f"following the transition failed (retried next minute): {exc}"
                logger.warning("watch failed", extra={"component": name, "error": str(exc)})
                self._announce(EventDraft(type=EventType.ACTION_FAILED, reason=reason), trigger, now, endpoint, name)
                outcome = ComponentOutcome(endpoint, name, Outcome.FAILED, reason)
            summary.outcomes.append(outcome)
            if outcome.result == Outcome.READY:
                finished_warmups.append((endpoint, name))
        # Components waiting (after:) for one that just became ready go now, not at the next tick.
        dependents = [
            (e, c)
            for done_endpoint, done in finished_warmups
            for e, c, cp in policy.components()
            if e == done_endpoint and done in cp.after and self.state.get(e, c).state.pending_target is not None
        ]
        if dependents:
            self._evaluate_components(
                policy, dependents, Trigger(TriggerKind.TICK, source="dependency ready"), now, summary
            )
        return self._finish(summary)

    def _stop_following(
        self, stored: StoredState, endpoint: str, name: str, exc: CorruptStateError, trigger: Trigger, now: datetime
    ) -> ComponentOutcome:
        """A transition whose record cannot be read: said once, then no longer followed. The tick
        still evaluates the component from what SageMaker says (it needs none of the record)."""
        reason = f"the transition in flight cannot be followed: {exc}; stopped following it"
        self._announce(EventDraft(type=EventType.ACTION_FAILED, reason=reason), trigger, now, endpoint, name)
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

    def _watch_one(
        self, policy: Policy, stored: StoredState, endpoint: str, name: str, trigger: Trigger, now: datetime
    ) -> ComponentOutcome:
        found = policy.component(name)
        if found is None:
            self.state.write(endpoint, name, stored.version, inflight=None, availability=None, updated_at=now)
            return ComponentOutcome(endpoint, name, Outcome.UNCHANGED, "no longer in the policy: stopped watching")
        cp = found[1]
        flight = stored.in_flight
        kind, target = flight.kind, flight.target
        accepted = flight.accepted_at or now
        requested = flight.requested_at or accepted
        try:
            c = self.sagemaker.describe_component(name)
        except UnknownComponentError as exc:
            self.state.write(endpoint, name, stored.version, inflight=None, availability="failed", updated_at=now)
            self._announce(EventDraft(type=EventType.COMPONENT_FAILED, reason=str(exc)), trigger, now, endpoint, name)
            return ComponentOutcome(endpoint, name, Outcome.FAILED, str(exc))

        def finish(result: Outcome, reason: str, **fields: Any) -> ComponentOutcome:
            self.state.write(
                endpoint, name, stored.version, inflight=None, expected_ready_at=None, updated_at=now, **fields
            )
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
            self._announce(draft, trigger, now, endpoint, name)
            return finish(Outcome.FAILED, reason, availability="failed")
        if result == Verdict.READY:
            ttr = (now - requested).total_seconds()
            history = remember(stored.ready_history, ttr)
            details = {
                "time_to_ready_seconds": round(ttr, 1),
                "model_load_seconds": round((now - accepted).total_seconds(), 1),
                "copies": c.current,
                "probe_latency_ms": round(probe.latency_ms, 1) if probe is not None else None,
                "history": history,
            }
            ready = f"{n_copies(c.current)} ready after {ttr / 60:.1f} min"
            draft = EventDraft(type=EventType.WARM_UP_COMPLETED, reason=ready, to_copies=c.current, details=details)
            self._announce(draft, trigger, now, endpoint, name)
            metric("TimeToReady", ttr, MetricUnit.Seconds, endpoint, name)
            return finish(
                Outcome.READY,
                f"ready after {ttr:.0f} s",
                availability="ready",
                ready_history=json.dumps(history),
                last_ready_at=now,
            )
        if result == Verdict.DONE:
            reason = f"{kind} to {n_copies(c.desired)} complete"
            return finish(Outcome.DONE, reason, availability="ready" if c.desired else "cold")
        if result == Verdict.TIMED_OUT:
            reason = f"{kind} to {n_copies(target)} {why}"
            late = {"copies_ready": c.current, "copies_wanted": c.desired, "status": c.status, "kind": kind}
            draft = EventDraft(type=EventType.WARM_UP_TIMED_OUT, reason=reason, to_copies=c.current, details=late)
            self._announce(draft, trigger, now, endpoint, name)
            return finish(Outcome.TIMED_OUT, reason, availability="partial" if c.current else "cold")
        return ComponentOutcome(endpoint, name, Outcome.WAITING, why)

    def on_alarm(self, alarm: str, state_value: str, now: datetime, changed_at: datetime | None = None) -> RunSummary:
        """A CloudWatch alarm changed state. Only icpilot's alarms for policy components in ALARM act,
        and only once CloudWatch confirms the event: the alarm exists, is in ALARM now, and went there
        at the event's ``changed_at`` (a forged or replayed event is ``TriggerRejected``)."""
        trigger = Trigger(TriggerKind.ALARM, source=f"alarm:{alarm}")
        summary = RunSummary(trigger=f"alarm {alarm} -> {state_value}", correlation_id=self.correlation_id)
        policy = self._policy(summary, trigger, now)
        if policy is None:
            return self._finish(summary)
        parsed = parse_alarm_name(alarm, {c for _, c, _ in policy.components()})
        if parsed is None:
            reason = f"alarm {alarm!r} is not an icpilot alarm of a component in the policy; nothing done"
            self._announce(EventDraft(type=EventType.TRIGGER_REJECTED, reason=reason), trigger, now, None, None)
            summary.outcomes.append(ComponentOutcome("?", "?", Outcome.REJECTED, reason))
            return self._finish(summary)
        component, kind = parsed
        endpoint = policy.component(component)[0]  # type: ignore[index]
        if state_value != "ALARM":
            summary.outcomes.append(
                ComponentOutcome(
                    endpoint, component, Outcome.UNCHANGED, f"{kind} alarm went to {state_value}: nothing to do"
                )
            )
            return self._finish(summary)
        mismatch = self._unconfirmed(alarm, changed_at, trigger, now, summary)
        if mismatch is not None:
            self._announce(
                EventDraft(type=EventType.TRIGGER_REJECTED, reason=mismatch), trigger, now, endpoint, component
            )
            summary.outcomes.append(ComponentOutcome(endpoint, component, Outcome.REJECTED, mismatch))
            return self._finish(summary)
        trigger = Trigger(TriggerKind.ALARM, source=f"alarm:{alarm}", alarm=kind)
        self._evaluate_components(policy, [(endpoint, component)], trigger, now, summary)
        return self._finish(summary)

    def _unconfirmed(
        self, alarm: str, changed_at: datetime | None, trigger: Trigger, now: datetime, summary: RunSummary
    ) -> str | None:
        """Why CloudWatch does not confirm that ``alarm`` went to ALARM at ``changed_at`` (None: it does).

        The function may be invoked by anyone allowed to, so the payload is a claim, not a fact.
        When CloudWatch cannot be asked, the failure is reported and raised: the invocation is
        retried (EventInvokeConfig), then dead-lettered; nothing acts on an unconfirmed claim."""
        if self.cloudwatch is None:
            return None
        if changed_at is None:
            return f"alarm event for {alarm!r} carries no state timestamp, so it cannot be confirmed; nothing done"
        try:
            held = self.cloudwatch.alarm_state(alarm)
        except IcpilotError as exc:
            self._fail(summary, f"confirming alarm {alarm!r} with CloudWatch failed (retried): {exc}", trigger, now)
            raise
        if held is None:
            return f"alarm {alarm!r} does not exist in CloudWatch; the event is not acted on"
        if held.value != "ALARM":
            return f"alarm {alarm!r} is {held.value} in CloudWatch, not ALARM as the event says; nothing done"
        if abs((held.changed_at - changed_at).total_seconds()) > ALARM_CLOCK_TOLERANCE_SECONDS:
            return (
                f"alarm {alarm!r} went to ALARM at {held.changed_at.isoformat()}, not at {changed_at.isoformat()} "
                "as the event says (a replayed or forged event); nothing done"
            )
        return None

    def on_forecast(self, now: datetime) -> RunSummary:
        """Learn each predictive component's demand from CloudWatch and store its forecast.

        Demand = Invocations + NoCapacityInvocationFailures per minute over ``predictive.history``
        (GetMetricData, batched). A component with less than ``min_history`` of traffic stays
        reactive and says so. ``ForecastUpdated`` is published when the floors change."""
        trigger = Trigger(TriggerKind.FORECAST, source="forecast")
        summary = RunSummary(trigger="forecast", correlation_id=self.correlation_id)
        policy = self._policy(summary, trigger, now)
        if policy is None or self.cloudwatch is None:
            return self._finish(summary)
        wanted = [(e, c, cp) for e, c, cp in policy.components() if cp.predictive.mode != "off"]
        if not wanted:
            return self._finish(summary)
        longest = max(cp.predictive.history_span for _e, _c, cp in wanted)
        since = (now - longest).replace(second=0, microsecond=0)
        try:
            series = self.cloudwatch.component_series(
                ["Invocations", "NoCapacityInvocationFailures"], [c for _e, c, _cp in wanted], since, now
            )
        except IcpilotError as exc:  # the next hourly run reads again; the stored forecasts stand
            self._fail(summary, f"reading traffic history failed (retried next hour): {exc}", trigger, now)
            return self._finish(summary)
        observed: dict[str, EndpointObservation | IcpilotError] = {}
        for endpoint, name, cp in wanted:
            if endpoint not in observed:  # once per endpoint, success or failure
                try:
                    observed[endpoint] = self.sagemaker.observe_endpoint(endpoint, policy.component_names())
                except IcpilotError as exc:
                    observed[endpoint] = exc
            try:
                ep = observed[endpoint]
                if isinstance(ep, IcpilotError):
                    raise ep
                component = next((c for c in ep.components if c.name == name), None)
                if component is None:
                    raise UnknownComponentError(f"inference component {name!r} is not on endpoint {endpoint!r}")
                stored = self.state.get(endpoint, name)
                load = time_to_ready(cp, stored.ready_history)
                prices = HoldingPrices.of(
                    cp,
                    CostModel.for_endpoint(policy, endpoint, ep.instance_type),
                    component.reservation,
                    load.total_seconds() / 60,
                )
                learned = learn(
                    series[name],
                    since,
                    now,
                    cp.predictive.timezone,
                    prices,
                    cp.predictive.history_span,
                    cp.predictive.min_history_span,
                )
                summary.outcomes.append(self._store_forecast(endpoint, name, cp, stored, learned, trigger, now))
            except (IcpilotError, UnknownInstanceType) as exc:  # one component's failure never stops the others
                reason = f"forecast for {name} failed (retried next hour): {exc}"
                self._announce(EventDraft(type=EventType.ACTION_FAILED, reason=reason), trigger, now, endpoint, name)
                summary.outcomes.append(ComponentOutcome(endpoint, name, Outcome.FAILED, reason))
        return self._finish(summary)

    def _store_forecast(
        self,
        endpoint: str,
        name: str,
        cp: ComponentPolicy,
        stored: StoredState,
        learned: Forecast | None,
        trigger: Trigger,
        now: datetime,
    ) -> ComponentOutcome:
        if learned is None:
            reason = f"less than {cp.predictive.min_history} of traffic history: staying reactive"
            if stored.attributes.get("forecast"):
                self.state.write(endpoint, name, stored.version, forecast=None)
            return ComponentOutcome(endpoint, name, Outcome.UNCHANGED, reason)
        previous = stored_forecast(stored.attributes)
        changed = learned.changed_from(previous)
        item = json.dumps(learned.to_item())
        try:
            self.state.write(endpoint, name, stored.version, forecast=item, forecast_at=now)
        except StateConflictError:  # a tick or an alarm wrote meanwhile: the forecast is ours alone, write again
            latest = self.state.get(endpoint, name)
            self.state.write(endpoint, name, latest.version, forecast=item, forecast_at=now)
        held = learned.held_copy_hours_per_week()
        acting = "holds" if cp.predictive.mode == "scale" else "would hold (forecast-only)"
        reason = (
            f"learned from {learned.history_days} days: the forecast {acting} {held:.1f} copy-hours a week; "
            f"{changed} of {2 * len(learned.floors['weekday'])} slot floors changed"
        )
        if changed:
            ahead = [learned.floor_at(now + timedelta(hours=h)) for h in range(48)]
            details = {
                "mode": cp.predictive.mode,
                "history_days": learned.history_days,
                "changed_slots": changed,
                "held_copy_hours_per_week": round(held, 1),
                "next_48h_hourly_floor": ahead,
            }
            self._announce(
                EventDraft(type=EventType.FORECAST_UPDATED, reason=reason, details=details),
                trigger,
                now,
                endpoint,
                name,
            )
        return ComponentOutcome(endpoint, name, Outcome.FORECAST, reason)

    # A client's demand signals for one component act at most once per this many seconds: a burst of
    # cold requests (every thread, every process) is one warm-up, and a flood of forged events is cheap.
    DEMAND_INTERVAL_SECONDS = 30

    def on_demand(
        self,
        endpoint: str,
        component: str,
        now: datetime,
        requested_at: datetime | None = None,
        waiting: int | None = None,
    ) -> RunSummary:
        """A client found ``component`` without copies (icpilot_client's Demand event): scale from zero now.

        Bounded like the no-capacity alarm (``warmup_copies``, or what the ``waiting`` requests the
        client reports need at the autoscaling target; never above the bounds in force), a no-op
        when copies exist or are loading, and rate-limited per component."""
        trigger = Trigger(
            TriggerKind.DEMAND, source="demand:icpilot.client", requested_at=requested_at, failed_requests=waiting
        )
        summary = RunSummary(trigger=f"demand {endpoint}/{component}", correlation_id=self.correlation_id)
        policy, found = self._policy_component(summary, trigger, now, component)
        if policy is None or found is None:
            if policy is not None:
                reason = f"demand signal for {component!r}, which is not in the policy; nothing done"
                self._announce(
                    EventDraft(type=EventType.TRIGGER_REJECTED, reason=reason), trigger, now, None, component
                )
            return self._finish(summary)
        if found[0] != endpoint:
            reason = f"demand signal names endpoint {endpoint!r}, but {component} is on {found[0]!r} in the policy"
            self._announce(EventDraft(type=EventType.TRIGGER_REJECTED, reason=reason), trigger, now, None, component)
            summary.outcomes.append(ComponentOutcome(endpoint, component, Outcome.REJECTED, reason))
            return self._finish(summary)
        try:
            stored = self.state.get(endpoint, component)
            last = stored.last_demand_at
            if last is not None and now - last < timedelta(seconds=self.DEMAND_INTERVAL_SECONDS):
                reason = f"demand signal rate-limited: the last one was handled at {last.isoformat()}"
                summary.outcomes.append(ComponentOutcome(endpoint, component, Outcome.UNCHANGED, reason))
                return self._finish(summary)
            self.state.write(endpoint, component, stored.version, last_demand_at=now)
        except StateConflictError:
            reason = "another invocation is handling this component's demand right now"
            summary.outcomes.append(ComponentOutcome(endpoint, component, Outcome.UNCHANGED, reason))
            return self._finish(summary)
        except (IcpilotError, ValueError) as exc:
            self._fail(summary, f"demand signal for {component}: state unreadable: {exc}", trigger, now)
            return self._finish(summary)
        self._evaluate_components(policy, [(endpoint, component)], trigger, now, summary)
        return self._finish(summary)

    def configure(self, now: datetime, apply: bool = True) -> RunSummary:
        """Make AAS targets, policies and icpilot's alarms match the policy; report drift.

        Idempotent. Never touches resources whose names do not start with ``icpilot-``. The bounds
        of an existing scalable target are left to the evaluations (schedules, overrides).
        """
        assert self.cloudwatch is not None
        trigger = Trigger(TriggerKind.TICK, source="configure")
        summary = RunSummary(trigger="configure" if apply else "configure (plan)", correlation_id=self.correlation_id)
        policy = self._policy(summary, trigger, now)
        if policy is None:
            return self._finish(summary)
        changes = summary.autoscaling_changes
        have_alarms = self.cloudwatch.alarms(PREFIX)

        def change(endpoint: str, component: str, resource: str, action: str, fields: list[str] | None = None) -> None:
            changes.append(
                {
                    "endpoint": endpoint,
                    "component": component,
                    "resource": resource,
                    "action": action,
                    "fields": fields or [],
                }
            )

        wants = desired_autoscaling(policy, now, self._auto_idle_delays(policy), owner=self.cloudwatch.owner)
        self._targets = {}
        self._read_targets([w.component for w in wants])
        for want in wants:
            e, c = want.endpoint, want.component
            try:
                if self._target(c) is None:
                    change(e, c, "scalable-target", "create")
                    if apply:
                        # Bounds that hold today's count: registering a range that excludes it makes
                        # AAS write the count itself, at once, past icpilot's ordering (after:) and
                        # events. The next evaluation moves count and bounds together.
                        now_copies = self.sagemaker.describe_component(c).desired
                        hi = max(want.max_capacity, now_copies)
                        lo = aas_min_holding_last_copy(min(want.min_capacity, now_copies), hi, now_copies)
                        self.autoscaling.register_target(c, lo, hi)
                        self.state.remember_target(c)
                have_policies = self.autoscaling.policies(c)
                step_arn = have_policies.get(SCALE_FROM_ZERO, {}).get("PolicyARN", STEP_POLICY_ARN)
                for name, (ptype, config) in want.policies.items():
                    existing = have_policies.get(name)
                    key = (
                        "StepScalingPolicyConfiguration"
                        if ptype == "StepScaling"
                        else "TargetTrackingScalingPolicyConfiguration"
                    )
                    drift = (
                        []
                        if existing is None
                        else differences(config, existing.get(key) or {})
                        + (["PolicyType"] if existing.get("PolicyType") != ptype else [])
                    )
                    if existing is None or drift:
                        change(e, c, f"scaling-policy/{name}", "create" if existing is None else "update", drift)
                        if apply:
                            arn = self.autoscaling.put_policy(c, name, ptype, config)
                            if name == SCALE_FROM_ZERO:
                                step_arn = arn
                for name in have_policies:
                    if name.startswith(PREFIX) and name not in want.policies:
                        change(e, c, f"scaling-policy/{name}", "delete")
                        if apply:
                            self.autoscaling.delete_policy(c, name)
                for name, spec in want.alarms.items():
                    spec = {
                        **spec,
                        "AlarmActions": [step_arn if a == STEP_POLICY_ARN else a for a in spec["AlarmActions"]],
                    }
                    existing = have_alarms.pop(name, None)
                    drift = [] if existing is None else differences(spec, existing, ALARM_FIELDS)
                    if existing is None or drift:
                        change(e, c, f"alarm/{name}", "create" if existing is None else "update", drift)
                        if apply:
                            self.cloudwatch.put_alarm(spec)
            except IcpilotError as exc:
                change(e, c, "component", "failed", [str(exc)])
                self._announce(
                    EventDraft(type=EventType.ACTION_FAILED, reason=f"configuring autoscaling failed: {exc}"),
                    trigger,
                    now,
                    e,
                    c,
                )
        # icpilot alarms nobody wants any more: components that left the policy, or a dropped feature.
        components = {c for _, c, _ in policy.components()}
        stale = list(have_alarms)  # what is left after the wanted ones were taken out
        for name in stale:
            change("-", alarm_owner(name), f"alarm/{name}", "delete")
        if apply and stale:
            self.cloudwatch.delete_alarms(stale)
        # Components that left the policy: their icpilot policies, and the target if icpilot made it.
        for gone in sorted({alarm_owner(n) for n in stale} - components - {"-"}):
            try:
                for name in self.autoscaling.policies(gone):
                    if name.startswith(PREFIX):
                        change("-", gone, f"scaling-policy/{name}", "delete")
                        if apply:
                            self.autoscaling.delete_policy(gone, name)
                if self.state.created_target(gone):
                    change("-", gone, "scalable-target", "delete")
                    if apply:
                        self.autoscaling.deregister_target(gone)
                        self.state.forget_target(gone)
            except IcpilotError as exc:
                change("-", gone, "component", "failed", [str(exc)])
                reason = f"removing autoscaling of {gone} (left the policy) failed (retried next run): {exc}"
                self._announce(EventDraft(type=EventType.ACTION_FAILED, reason=reason), trigger, now, None, gone)
        if apply:
            self._announce_configuration(changes, trigger, now)
        return self._finish(summary)

    def unconfigure(self, now: datetime) -> RunSummary:
        """Remove what ``configure`` made, whatever the policy says now (the stack is being deleted):
        every ``icpilot-`` alarm, the ``icpilot-`` scaling policies of the components they or the
        state table name, and the scalable targets icpilot registered itself. Nothing else: a target
        someone else registered keeps its own policies. Each failure is reported and the rest goes on."""
        assert self.cloudwatch is not None
        trigger = Trigger(TriggerKind.TICK, source="stack delete")
        summary = RunSummary(trigger="unconfigure", correlation_id=self.correlation_id)
        removed: list[str] = []

        def attempt(what: str, step: Callable[[], None]) -> None:
            try:
                step()
                removed.append(what)
            except IcpilotError as exc:
                summary.errors.append(f"{what}: {exc}")

        owners: set[str] = set()
        registered: set[str] = set()
        try:
            alarms = sorted(self.cloudwatch.alarms(PREFIX))
            owners |= {alarm_owner(n) for n in alarms} - {"-"}
            attempt(f"{len(alarms)} alarms", functools.partial(self.cloudwatch.delete_alarms, alarms))
        except IcpilotError as exc:
            summary.errors.append(f"listing icpilot's alarms: {exc}")
        try:
            registered = set(self.state.created_targets())
        except IcpilotError as exc:
            summary.errors.append(f"reading which scalable targets icpilot registered: {exc}")
        for component in sorted(owners | registered):
            try:
                names = [n for n in self.autoscaling.policies(component) if n.startswith(PREFIX)]
            except IcpilotError as exc:
                summary.errors.append(f"scaling policies of {component}: {exc}")
                continue
            for name in names:
                attempt(f"{component}/{name}", functools.partial(self.autoscaling.delete_policy, component, name))
            if component in registered:

                def deregister(c: str = component) -> None:
                    self.autoscaling.deregister_target(c)
                    self.state.forget_target(c)

                attempt(f"{component} scalable target", deregister)
        reason = "icpilot's autoscaling removed (stack deleted): " + (", ".join(removed) or "nothing was left")
        logger.info("unconfigured", extra={"removed": removed, "errors": summary.errors})
        self._announce(EventDraft(type=EventType.AUTOSCALING_CONFIGURED, reason=reason), trigger, now, None, None)
        return self._finish(summary)

    def _auto_idle_delays(self, policy: Policy) -> dict[str, timedelta]:
        """Idle delays derived from price and cold-start cost for components with ``idle: auto``."""
        out: dict[str, timedelta] = {}
        observed: dict[str, EndpointObservation] = {}
        for e, c, cp in policy.components():
            if cp.idle_scale_to_zero_after != "auto":
                continue
            try:
                ep = observed.setdefault(e, self.sagemaker.observe_endpoint(e, policy.component_names()))
            except IcpilotError as exc:
                logger.warning("auto idle delay needs the endpoint", extra={"endpoint": e, "error": str(exc)})
                continue
            component = next((x for x in ep.components if x.name == c), None)
            derived = idle_delay(cp, ep.instance_type, component.reservation if component else None, policy.cost_for(e))
            if derived is not None:
                out[c] = derived.delay
        return out

    def _announce_configuration(self, changes: list[dict[str, Any]], trigger: Trigger, now: datetime) -> None:
        for ch in changes:
            if ch["action"] == "update":
                reason = f"{ch['resource']} had drifted ({', '.join(ch['fields'])}); restored from the policy"
                self._announce(
                    EventDraft(type=EventType.DRIFT_CORRECTED, reason=reason, details=ch),
                    trigger,
                    now,
                    ch["endpoint"],
                    ch["component"],
                )
        created = [ch for ch in changes if ch["action"] in ("create", "delete")]
        if created:
            reason = "autoscaling follows the policy: " + ", ".join(
                f"{ch['action']} {ch['resource']}" for ch in created
            )
            self._announce(
                EventDraft(type=EventType.AUTOSCALING_CONFIGURED, reason=reason[:900], details={"changes": created}),
                trigger,
                now,
                None,
                None,
            )

    def reconcile_schedules(self, policy: Policy) -> dict[str, int]:
        """Make the schedule group hold exactly the policy's window edges."""
        assert self.scheduler is not None
        # Edges lead by the learned time to ready; the tick's decisions add provisioning time when
        # no instance is free (that needs a full endpoint observation, which the tick makes anyway).
        leads = {
            c: lead_time(cp, self.state.get(e, c).ready_history, False, policy.endpoints[e].provisioning)
            for e, c, cp in policy.components()
            if cp.schedules
        }
        want = desired_schedules(policy, leads)
        have = self.scheduler.current()
        counts = {"created": 0, "updated": 0, "deleted": 0, "unchanged": 0}
        for name, spec in want.items():
            if name not in have:
                self.scheduler.put(spec, exists=False)
                counts["created"] += 1
            elif not spec.same_as(have[name]):
                self.scheduler.put(spec, exists=True)
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
        for name in set(have) - set(want):
            self.scheduler.delete(name)  # the group is icpilot's own: anything else in it is stale
            counts["deleted"] += 1
        return counts

    # --------------------------------------------------------------- internals
    WRITE_ATTEMPTS = 8
    # Between lost races: full jitter, doubling from 20 ms to at most 0.5 s (at most ~2 s in all), so
    # racers that collided once do not collide again in lockstep.
    WRITE_BACKOFF_SECONDS = (0.02, 0.5)
    # Stop starting components with this much of the Lambda's time left: one evaluation, retries
    # included, finishes well within it, so a pass never times out between a write and its record.
    TIME_MARGIN_SECONDS = 45.0

    def _write_latest(
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
                self._write_latest(endpoint, component, **fields)
        except IcpilotError as exc:
            logger.error("state record failed", extra={"component": component, "error": str(exc)})
            return False
        return True

    def _fail(self, summary: RunSummary, reason: str, trigger: Trigger, now: datetime) -> None:
        """A failure outside any one component (the run goes on): logged, announced, in the summary."""
        logger.warning("run step failed", extra={"error": reason})
        summary.errors.append(reason)
        self._announce(EventDraft(type=EventType.ACTION_FAILED, reason=reason), trigger, now, None, None)

    def _policy(self, summary: RunSummary, trigger: Trigger, now: datetime) -> Policy | None:
        try:
            return self.policy_source()
        except PolicyError as exc:
            summary.policy_error = exc.problems
            # Announce each distinct problem set once, not on every tick while it lasts (when the
            # state table cannot tell, announce: a repeat is better than silence).
            try:
                new = self.state.remember_policy_problems(exc.problems, now)
            except IcpilotError:
                new = True
            if new:
                self._announce(
                    EventDraft(
                        type=EventType.POLICY_INVALID,
                        reason="the policy is invalid; nothing was changed",
                        details={"problems": exc.problems},
                    ),
                    trigger,
                    now,
                    None,
                    None,
                )
            return None

    def _finish(self, summary: RunSummary) -> RunSummary:
        summary.events_published = len(self.publisher.published)
        summary.events_undelivered = len(self.publisher.undelivered)
        return summary

    def _announce(
        self, draft: EventDraft, trigger: Trigger, now: datetime, endpoint: str | None, component: str | None
    ) -> None:
        event = LifecycleEvent.from_draft(
            draft,
            time=now,
            endpoint=endpoint,
            component=component,
            trigger=TriggerInfo(kind=trigger.kind.value, source=trigger.source, rule=trigger.rule),
            correlation_id=self.correlation_id,
        )
        if component is not None and endpoint is not None:
            metric(
                str(draft.type), 1, MetricUnit.Count, endpoint, component
            )  # ScaleRequested, CapacityRefused, ScaleDeferred, ...
        self.publisher.publish(event)

    def _evaluate_components(
        self,
        policy: Policy,
        targets: list[tuple[str, str]],
        trigger: Trigger,
        now: datetime,
        summary: RunSummary,
        triggers: dict[str, Trigger] | None = None,
    ) -> None:
        observed: dict[str, EndpointObservation | IcpilotError] = {}
        self._pending = {}
        self._targets = {}
        for done, (endpoint, component) in enumerate(targets):
            if self.seconds_left is not None and self.seconds_left() < self.TIME_MARGIN_SECONDS:
                reason = (
                    f"out of time after {done} of {len(targets)} components; the other "
                    f"{len(targets) - done} are postponed to the next run (see README, operational limits)"
                )
                summary.outcomes += [ComponentOutcome(e, c, Outcome.POSTPONED, reason) for e, c in targets[done:]]
                self._fail(summary, reason, trigger, now)
                return
            if endpoint not in observed:
                try:
                    observed[endpoint] = self.sagemaker.observe_endpoint(endpoint, policy.component_names())
                    self._read_targets([c for e, c in targets if e == endpoint])
                except (UnknownEndpointError, NotAnInferenceComponentEndpointError, IcpilotError) as exc:
                    observed[endpoint] = exc
                    self._announce(
                        EventDraft(type=EventType.ACTION_FAILED, reason=str(exc)), trigger, now, endpoint, None
                    )
            ep = observed[endpoint]
            if isinstance(ep, IcpilotError):
                summary.outcomes.append(ComponentOutcome(endpoint, component, Outcome.REJECTED, str(ep)))
                continue
            try:
                own = (triggers or {}).get(component, trigger)
                outcome, ep = self._evaluate(policy, ep, component, own, now)
                observed[endpoint] = ep
            except IcpilotError as exc:  # one component's failure never stops the others
                logger.warning(
                    "component evaluation failed",
                    extra={"endpoint": endpoint, "component": component, "error": str(exc)},
                )
                self._announce(
                    EventDraft(type=EventType.ACTION_FAILED, reason=str(exc)), trigger, now, endpoint, component
                )
                outcome = ComponentOutcome(endpoint, component, Outcome.FAILED, str(exc))
            summary.outcomes.append(outcome)

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
        stored = self.state.get(ep.name, name)
        until = stored.state.override_until
        if until is not None and now >= until:
            stored = self._clear_override(ep.name, name, stored, "expired", trigger, now)
        held_by = [f"{c.name} ({c.desired})" for c in ep.components if c.name != name and c.desired > 0]
        for attempt in range(self.CLAIM_ATTEMPTS):
            inputs = build_inputs(
                policy,
                ep,
                component,
                stored.state,
                stored.ready_history,
                stored.attributes,
                now,
                self._pending_of(ep.name),
            )
            decision = inputs.decide(trigger, now)
            logger.info(
                "decision",
                extra={
                    "component": name,
                    "action": decision.action.value,
                    "from": decision.from_copies,
                    "to": decision.target,
                    "reason": decision.reason,
                    "attempt": attempt + 1,
                },
            )
            outcome = self._act(decision, ep, stored, trigger, now, held_by)
            if outcome.result != Outcome.SUPERSEDED:
                break
            # Lost the conditional claim to another write (the watcher closing a transition, a racing
            # trigger): decide again on the state as it is now, so this trigger's intent is not lost.
            stored = self.state.get(ep.name, name)
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
                self._pending[key] = self.state.get(endpoint, name).state.pending_target
            return self._pending[key]

        return pending

    def _read_targets(self, components: list[str]) -> None:
        """AAS targets of this run's components on one endpoint, in a few batched calls; a
        component left out (the read failed) is described on its own when it is evaluated."""
        try:
            self._targets.update(self.autoscaling.describe_targets(components))
        except IcpilotError as exc:
            logger.warning("batched target read failed", extra={"error": str(exc)})

    def _target(self, component: str) -> ScalableTarget | None:
        """The component's AAS target, from this run's batched read (used once) or described now."""
        if component in self._targets:
            return self._targets.pop(component)
        return self.autoscaling.describe_target(component)

    def _sync_bounds(self, decision: Decision, component: str, holding: int | None) -> None:
        """AAS's bounds from the decision, widened to hold ``holding`` (the count the component has
        or was just given): bounds that exclude the count make AAS write it into range at once
        (RegisterScalableTarget), and a deferred or blocked change must not happen that way."""
        target = self._target(component)
        if target is None:
            return  # no AAS target: icpilot is the only writer
        lo, hi = decision.aas_min, decision.aas_max
        if holding is not None:
            lo, hi = min(lo, holding), max(hi, holding)
        have = (target.min_capacity, target.max_capacity, target.dynamic_suspended, target.scale_out_suspended)
        want = (lo, hi, decision.pin_aas, decision.pin_aas or decision.suspend_scale_out)
        if have != want:
            self.autoscaling.set_bounds(component, lo, hi, decision.pin_aas, decision.suspend_scale_out)

    def _preempt(self, d: Decision, ep: EndpointObservation, trigger: Trigger, now: datetime) -> None:
        """Take copies from lower-priority preemptible components; AAS's max follows so it does not add them back."""
        for victim, copies in d.preempt:
            self._targets.pop(victim, None)  # its bounds change here: its own evaluation must read them again
            observed = next((c for c in ep.components if c.name == victim), None)
            if observed is None or observed.status in ("Creating", "Updating", "Deleting"):
                continue  # busy: the capacity cap already reported what could not be had
            target = self.autoscaling.describe_target(victim)
            self.sagemaker.set_copy_count(victim, copies)  # the count first (see _apply), then AAS's max
            if target is not None and target.max_capacity > copies:
                self.autoscaling.set_bounds(victim, min(target.min_capacity, copies), copies, pin=False)
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

    # A trigger whose claim is lost to another write decides again on the fresh state, this often.
    CLAIM_ATTEMPTS = 3

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
        held_by = held_by or []
        endpoint = ep.name
        name = d.component
        version = stored.version

        def outcome(result: Outcome, reason: str) -> ComponentOutcome:
            return ComponentOutcome(endpoint, name, result, reason, d.from_copies, d.target)

        def announced(result: Outcome, reason: str) -> ComponentOutcome:
            for draft in d.events:  # recorded: now it may be said
                self._announce(draft, trigger, now, endpoint, name)
            return outcome(result, reason)

        def say(kind: EventType, reason: str, details: dict[str, Any] | None = None) -> None:
            draft = EventDraft(
                type=kind, reason=reason, from_copies=d.from_copies, to_copies=d.target, details=details or {}
            )
            self._announce(draft, trigger, now, endpoint, name)

        def record(**fields: Any) -> int:
            return self.state.write(
                endpoint, name, version, last_reason=d.reason, last_trigger=trigger.kind.value, updated_at=now, **fields
            )

        try:
            if d.action == Action.BLOCKED:
                if stored.state.last_action != Action.BLOCKED.value:
                    record(last_action=Action.BLOCKED.value)
                return announced(Outcome.BLOCKED, d.reason)
            if d.action == Action.NONE:
                self._sync_bounds(d, name, holding=d.from_copies)
                if stored.state.pending_target is not None:
                    record(last_action="settled", pending_target=None, pending_reason=None)
                return announced(Outcome.UNCHANGED, d.reason)
            if d.action == Action.DEFER:
                self._sync_bounds(d, name, holding=d.from_copies)
                record(
                    last_action=Action.DEFER.value, pending_target=d.target, pending_reason=d.reason, pending_since=now
                )
                return announced(Outcome.DEFERRED, d.reason)
            # SCALE: claim first, so a racing invocation cannot act too.
            version = record(last_action="scaling", pending_target=d.target, pending_reason=d.reason, pending_since=now)
        except StateConflictError as exc:
            return outcome(Outcome.SUPERSEDED, f"another invocation acted first: {exc}")
        for draft in d.events:  # the claim stands: now it may be said
            self._announce(draft, trigger, now, endpoint, name)
        if d.preempt:
            self._preempt(d, ep, trigger, now)

        say(EventType.SCALE_REQUESTED, d.reason)
        try:
            # The count first, then AAS's bounds: RegisterScalableTarget writes a count its new bounds
            # exclude into range itself (AWS: "changes the resource's current capacity to a value
            # inside this range"), which would make the component Updating and refuse this write.
            # Once the component is Updating, moving the bounds changes nothing.
            self.sagemaker.set_copy_count(name, d.target)
        except ComponentBusyError as exc:
            self._record_after_claim(endpoint, name, version, last_action=Action.DEFER.value, updated_at=now)
            say(EventType.SCALE_DEFERRED, f"SageMaker refused the write: {exc}")
            return outcome(Outcome.DEFERRED, str(exc))
        except IcpilotError as exc:
            attempts = stored.attempts + 1
            self._record_after_claim(
                endpoint, name, version, last_action="failed", last_error=str(exc), attempts=attempts, updated_at=now
            )
            say(
                EventType.ACTION_FAILED,
                f"scaling to {d.target} failed (attempt {attempts}; retried on the next tick): {exc}",
                {"attempts": attempts},
            )
            return outcome(Outcome.FAILED, str(exc))
        try:
            self._sync_bounds(d, name, holding=d.target)
        except IcpilotError as exc:  # the copies are written; the next tick moves the bounds again
            say(
                EventType.ACTION_FAILED,
                f"scaled to {d.target}, but moving AAS's bounds failed (retried next tick): {exc}",
            )
        kind_of = "warm-up" if d.starts_warmup else ("scale-out" if d.target > d.from_copies else "scale-in")
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
        if d.starts_warmup:
            flight["warmup_started_at"] = now
        # The copy-count history `icpilot report` integrates (bounded; one entry per change).
        log = stored.transitions
        flight["transitions"] = json.dumps([*log, [now.isoformat(), d.from_copies, d.target]][-TRANSITIONS_KEPT:])
        recorded = self._record_after_claim(
            endpoint,
            name,
            version,
            **flight,
            last_action="scaled",
            last_action_at=now,
            pending_target=None,
            pending_reason=None,
            attempts=0,
            updated_at=now,
        )
        if not recorded:
            # The copy count is written; only the record is missing. The next tick sees the component
            # at its target and settles the claim; this transition is not followed by the watcher.
            say(
                EventType.ACTION_FAILED,
                f"scaled to {d.target} but the state table did not take the record; "
                "the watcher will not follow this transition",
            )
        if d.target == 0:
            say(EventType.SCALED_TO_ZERO, d.reason, {"endpoint_held_by": held_by})
        else:
            say(EventType.SCALED, d.reason)
        if d.target == 0 and not held_by:
            reason = f"every component on {endpoint} is at zero copies: ManagedInstanceScaling releases its instances after its scale-in cooldown"
            self._announce(
                EventDraft(type=EventType.ENDPOINT_IDLE, reason=reason, details={"last_component": name}),
                trigger,
                now,
                endpoint,
                None,
            )
        return outcome(
            Outcome.SCALED,
            d.reason + (f"; endpoint still held by {', '.join(held_by)}" if d.target == 0 and held_by else ""),
        )
