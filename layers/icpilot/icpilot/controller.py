"""The controller: one method per trigger (schedule edge, tick, alarm, demand signal, watcher,
configure, forecast, operator override), each a short sequence over the service layer:

- ``service.evaluate``: observe -> inputs -> ``decide`` (pure) -> act -> record -> announce;
- ``service.watch``: follow transitions in flight to the verdict of ``domain.transitions``;
- ``service.configure``: the AAS and alarm configuration of ``plans.autoscaling``, drift restored;
- ``service.announce``: lifecycle events and metrics, with this invocation's correlation id.

Each run builds its service objects afresh, so nothing one run read is trusted by the next. The
controller itself checks triggers (is this alarm ours and confirmed? is the demand rate-limited?)
and keeps the policy read: an invalid policy changes nothing and is announced once per problem set.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from .adapters.autoscaling import AutoScalingAdapter
from .adapters.cloudwatch import AlarmState, CloudWatchAdapter
from .adapters.runtime import RuntimeAdapter
from .adapters.sagemaker import SageMakerAdapter
from .adapters.scheduler import SchedulerAdapter
from .adapters.sns import EventPublisher
from .domain.cost import CostModel, UnknownInstanceType
from .domain.decision import AlarmKind, EndpointObservation, Trigger, TriggerKind
from .domain.events import EventDraft, EventType
from .domain.forecast import Forecast, HoldingPrices, learn
from .domain.inputs import stored_forecast
from .domain.readiness import lead_time, time_to_ready
from .domain.standing import acts_again, followed
from .errors import IcpilotError, PolicyError, StateConflictError, UnknownComponentError
from .plans.autoscaling import alarm_name, alarm_owner, parse_alarm_name
from .plans.schedules import desired_schedules
from .policy.model import ComponentPolicy, Policy
from .ports import State
from .records import StoredState
from .service.announce import Announcer
from .service.configure import Configure
from .service.evaluate import Evaluation
from .service.outcomes import ComponentOutcome, Outcome, RunSummary
from .service.watch import Watch

__all__ = ["ComponentOutcome", "Controller", "Outcome", "RunSummary"]

logger = Logger(service="icpilot", child=True)
# An alarm event's state.timestamp has milliseconds; DescribeAlarms may round them.
ALARM_CLOCK_TOLERANCE_SECONDS = 1.0


class Controller:
    def __init__(
        self,
        policy_source: Callable[[], Policy],
        sagemaker: SageMakerAdapter,
        autoscaling: AutoScalingAdapter,
        state: State,
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
        self.correlation_id = correlation_id or str(uuid.uuid4())
        self.seconds_left = seconds_left  # the Lambda's remaining time; None: no limit
        self.announcer = Announcer(publisher, self.correlation_id)

    def _evaluation(self) -> Evaluation:
        """A new run of evaluations (its batched reads belong to it alone)."""
        return Evaluation(self.sagemaker, self.autoscaling, self.state, self.announcer, self.seconds_left)

    # ------------------------------------------------------------- entry points
    def on_schedule(self, rule_ref: str, edge: str, now: datetime) -> RunSummary:
        trigger = Trigger(TriggerKind.SCHEDULE, source=f"schedule:{edge}", rule=rule_ref)
        summary = RunSummary(trigger=f"schedule {rule_ref} ({edge})", correlation_id=self.correlation_id)
        policy = self._policy(summary, trigger, now)
        if policy is None:
            return self.announcer.finish(summary)
        parts = rule_ref.split("/")
        found = policy.component(parts[1]) if len(parts) == 3 else None
        if found is None or found[0] != parts[0] or parts[2] not in {r.name for r in found[1].schedules}:
            reason = f"schedule rule {rule_ref!r} is not in the policy (expected endpoint/component/rule); nothing done"
            self._rejected("schedule:unknown-rule", reason, trigger, now)
            summary.outcomes.append(
                ComponentOutcome(
                    parts[0] if parts else "?", parts[1] if len(parts) > 1 else "?", Outcome.REJECTED, reason
                )
            )
            return self.announcer.finish(summary)
        self._evaluation().components(policy, [(parts[0], parts[1])], trigger, now, summary)
        return self.announcer.finish(summary)

    def reject(self, reason: str, now: datetime, kind: TriggerKind = TriggerKind.SCHEDULE) -> RunSummary:
        """Report an invocation that cannot be acted on (malformed event) without failing it."""
        trigger = Trigger(kind, source="malformed")
        self._rejected(f"{kind.value}:malformed", reason, trigger, now)
        summary = RunSummary(trigger="rejected", correlation_id=self.correlation_id)
        summary.outcomes.append(ComponentOutcome("?", "?", Outcome.REJECTED, reason))
        return self.announcer.finish(summary)

    # A rejected trigger is logged every time but announced once an hour per cause: anyone allowed
    # to send events could otherwise flood the operators' mail (the causes are a closed set, so a
    # forger cannot make new ones).
    REJECTION_QUIET = timedelta(hours=1)

    def _rejected(
        self,
        cause: str,
        reason: str,
        trigger: Trigger,
        now: datetime,
        endpoint: str | None = None,
        component: str | None = None,
    ) -> None:
        """Log a rejected trigger; announce ``TriggerRejected`` unless one of this cause was announced
        in the last ``REJECTION_QUIET`` (the next one then says how many were not announced)."""
        logger.warning("trigger rejected", extra={"cause": cause, "reason": reason})
        try:
            unannounced = self.state.count_rejection(cause, now, self.REJECTION_QUIET)
        except IcpilotError:
            unannounced = 0  # the table cannot tell: a repeat is better than silence
        if unannounced is None:
            return
        details: dict[str, Any] = {"cause": cause, "unannounced_since_last": unannounced}
        if unannounced:
            reason += f" ({unannounced} more rejections of this kind since the last notification; see the logs)"
        draft = EventDraft(type=EventType.TRIGGER_REJECTED, reason=reason, details=details)
        self.announcer.announce(draft, trigger, now, endpoint, component)

    def on_tick(self, now: datetime, reconcile: bool = True) -> RunSummary:
        trigger = Trigger(TriggerKind.TICK, source="tick")
        summary = RunSummary(trigger="tick", correlation_id=self.correlation_id)
        policy = self._policy(summary, trigger, now)
        if policy is None:
            return self.announcer.finish(summary)
        if reconcile and self.scheduler is not None:
            try:
                summary.schedules = self.reconcile_schedules(policy)
            except IcpilotError as exc:  # edges are also caught by the tick below: go on
                self.announcer.fail(
                    summary, f"reconciling window schedules failed (retried next tick): {exc}", trigger, now
                )
            changed = {k: v for k, v in summary.schedules.items() if k != "unchanged" and v}
            if changed:
                reason = "window schedules follow the policy: " + ", ".join(f"{v} {k}" for k, v in changed.items())
                self.announcer.announce(
                    EventDraft(type=EventType.SCHEDULES_RECONCILED, reason=reason, details=summary.schedules),
                    trigger,
                    now,
                    None,
                    None,
                )
        try:
            triggers, elsewhere = self._alarm_triggers(policy, now)
        except IcpilotError as exc:  # evaluate on schedules alone; alarms are read again next tick
            self.announcer.fail(summary, f"reading alarm states failed (retried next tick): {exc}", trigger, now)
            triggers, elsewhere = {}, {}
        # Components whose alarms another stack made are that stack's, even before this stack's
        # configure has marked them (the first tick of a deploy runs before it).
        for e, c, _ in policy.components():
            if c in elsewhere:
                reason = f"managed by stack {elsewhere[c]!r} (OwnershipConflict): left to it"
                summary.outcomes.append(ComponentOutcome(e, c, Outcome.UNCHANGED, reason))
        everyone = [(e, c) for e, c, _ in policy.components() if c not in elsewhere]
        # Start at a different component each minute: if a pass runs out of time (see
        # TIME_MARGIN_SECONDS), the ones it postponed come early in a later pass.
        offset = int(now.timestamp() // 60) % len(everyone) if everyone else 0
        self._evaluation().components(policy, everyone[offset:] + everyone[:offset], trigger, now, summary, triggers)
        return self.announcer.finish(summary)

    def _alarm_triggers(self, policy: Policy, now: datetime) -> tuple[dict[str, Trigger], dict[str, str]]:
        """Triggers for icpilot's alarms that stay in ALARM (``domain.standing``: they get no new
        EventBridge event; a component's high-load alarm goes before its idle one), and the stack
        that manages each component whose icpilot alarms another stack made, from one listing."""
        if self.cloudwatch is None:
            return {}, {}
        own, others = self.cloudwatch.alarm_listing()
        elsewhere = {alarm_owner(name): owner for name, owner in sorted(others.items())}
        wanted = {alarm_name(c, kind): (e, c, cp, kind) for e, c, cp in policy.components() for kind in followed(cp)}
        out: dict[str, Trigger] = {}
        for name, alarm in own.items():
            if name not in wanted or alarm.get("StateValue") != "ALARM":
                continue
            endpoint, component, cp, kind = wanted[name]
            last = self.state.get(endpoint, component).last_action_at if kind == AlarmKind.HIGH_LOAD else None
            if not acts_again(kind, cp, now, last):
                continue
            # No load_per_copy: StateReasonData explains the state, and CloudWatch does not document
            # refreshing it while the state stands; a datapoint from before icpilot's last scale-out,
            # multiplied by today's copies, would overshoot. A standing alarm adds its step.
            trigger = Trigger(TriggerKind.ALARM, source=f"alarm:{name} (still in ALARM)", alarm=kind)
            if kind == AlarmKind.IDLE:
                out.setdefault(component, trigger)
            else:
                out[component] = trigger
        return out, elsewhere

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
            return self.announcer.finish(summary)
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
            return self.announcer.finish(summary)
        self._evaluation().write_latest(
            endpoint,
            component,
            override_copies=copies,
            override_until=until,
            override_reason=reason,
            override_set_at=now,
        )
        self.announcer.announce(
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
        self._evaluation().components(policy, [(endpoint, component)], trigger, now, summary)
        return self.announcer.finish(summary)

    def end_override(self, component: str, now: datetime, why: str = "resumed by an operator") -> RunSummary:
        trigger = Trigger(TriggerKind.MANUAL, source="resume")
        summary = RunSummary(trigger=f"resume {component}", correlation_id=self.correlation_id)
        policy, found = self._policy_component(summary, trigger, now, component)
        if policy is None or found is None:
            return self.announcer.finish(summary)
        endpoint = found[0]
        self._evaluation().clear_override(endpoint, component, self.state.get(endpoint, component), why, trigger, now)
        self._evaluation().components(policy, [(endpoint, component)], trigger, now, summary)
        return self.announcer.finish(summary)

    def on_watch(self, now: datetime) -> RunSummary:
        """Follow every transition in flight to its verdict (``service.watch``). Deferred intents that
        waited on it go now, not at the next tick: the component's own (an alarm or demand signal that
        met it Updating, while its copies were leaving) and those of components waiting (``after:``)
        for one that just became ready."""
        trigger = Trigger(TriggerKind.TICK, source="watch")
        summary = RunSummary(trigger="watch", correlation_id=self.correlation_id)
        watch = Watch(self.state, self.sagemaker, self.runtime, self.publisher, self.announcer, self.cloudwatch)
        policy, ready = watch.run(lambda: self._policy(summary, trigger, now), summary, trigger, now)
        if policy is None:
            return self.announcer.finish(summary)
        settled = [(o.endpoint, o.component) for o in summary.outcomes if o.result in (Outcome.READY, Outcome.DONE)]
        dependents = [
            (e, c)
            for done_endpoint, done in ready
            for e, c, cp in policy.components()
            if e == done_endpoint and done in cp.after
        ]
        waiting = [
            (e, c)
            for e, c in dict.fromkeys(settled + dependents)
            if policy.component(c) is not None and self.state.get(e, c).state.pending_target is not None
        ]
        if waiting:
            self._evaluation().components(
                policy, waiting, Trigger(TriggerKind.TICK, source="transition settled"), now, summary
            )
        return self.announcer.finish(summary)

    def on_alarm(self, alarm: str, state_value: str, now: datetime, changed_at: datetime | None = None) -> RunSummary:
        """A CloudWatch alarm changed state. Only icpilot's alarms for policy components in ALARM act,
        and only once CloudWatch confirms the event: the alarm exists, is in ALARM now, and went there
        at the event's ``changed_at`` (a forged or replayed event is ``TriggerRejected``)."""
        trigger = Trigger(TriggerKind.ALARM, source=f"alarm:{alarm}")
        summary = RunSummary(trigger=f"alarm {alarm} -> {state_value}", correlation_id=self.correlation_id)
        policy = self._policy(summary, trigger, now)
        if policy is None:
            return self.announcer.finish(summary)
        parsed = parse_alarm_name(alarm, {c for _, c, _ in policy.components()})
        if parsed is None:
            reason = f"alarm {alarm!r} is not an icpilot alarm of a component in the policy; nothing done"
            self._rejected("alarm:not-icpilot", reason, trigger, now)
            summary.outcomes.append(ComponentOutcome("?", "?", Outcome.REJECTED, reason))
            return self.announcer.finish(summary)
        component, kind = parsed
        endpoint = policy.component(component)[0]  # type: ignore[index]
        if state_value != "ALARM":
            summary.outcomes.append(
                ComponentOutcome(
                    endpoint, component, Outcome.UNCHANGED, f"{kind} alarm went to {state_value}: nothing to do"
                )
            )
            return self.announcer.finish(summary)
        mismatch, held = self._unconfirmed(alarm, changed_at, trigger, now, summary)
        if mismatch is not None:
            self._rejected("alarm:unconfirmed", mismatch, trigger, now, endpoint, component)
            summary.outcomes.append(ComponentOutcome(endpoint, component, Outcome.REJECTED, mismatch))
            return self.announcer.finish(summary)
        # CloudWatch's own last datapoint (not the payload's) sizes the step: the failed requests of the
        # no-capacity alarm's minute, the invocations per copy of the high-load alarm's.
        latest = held.latest if held is not None else None
        trigger = Trigger(
            TriggerKind.ALARM,
            source=f"alarm:{alarm}",
            alarm=kind,
            failed_requests=latest if kind == AlarmKind.NO_CAPACITY else None,
            load_per_copy=latest if kind == AlarmKind.HIGH_LOAD else None,
        )
        self._evaluation().components(policy, [(endpoint, component)], trigger, now, summary)
        return self.announcer.finish(summary)

    def _unconfirmed(
        self, alarm: str, changed_at: datetime | None, trigger: Trigger, now: datetime, summary: RunSummary
    ) -> tuple[str | None, AlarmState | None]:
        """Why CloudWatch does not confirm that ``alarm`` went to ALARM at ``changed_at`` (None: it
        does), and the alarm as CloudWatch holds it (None when not asked).

        The function may be invoked by anyone allowed to, so the payload is a claim, not a fact.
        When CloudWatch cannot be asked, the failure is reported and raised: the invocation is
        retried (EventInvokeConfig), then dead-lettered; nothing acts on an unconfirmed claim."""
        if self.cloudwatch is None:
            return None, None
        if changed_at is None:
            why = f"alarm event for {alarm!r} carries no state timestamp, so it cannot be confirmed; nothing done"
            return why, None
        try:
            held = self.cloudwatch.alarm_state(alarm)
        except IcpilotError as exc:
            self.announcer.fail(
                summary, f"confirming alarm {alarm!r} with CloudWatch failed (retried): {exc}", trigger, now
            )
            raise
        if held is None:
            return f"alarm {alarm!r} does not exist in CloudWatch; the event is not acted on", None
        if held.value != "ALARM":
            return f"alarm {alarm!r} is {held.value} in CloudWatch, not ALARM as the event says; nothing done", held
        if abs((held.changed_at - changed_at).total_seconds()) > ALARM_CLOCK_TOLERANCE_SECONDS:
            return (
                f"alarm {alarm!r} went to ALARM at {held.changed_at.isoformat()}, not at {changed_at.isoformat()} "
                "as the event says (a replayed or forged event); nothing done"
            ), held
        return None, held

    def on_forecast(self, now: datetime) -> RunSummary:
        """Learn each predictive component's demand from CloudWatch and store its forecast.

        Demand = Invocations + NoCapacityInvocationFailures per minute over ``predictive.history``
        (GetMetricData, batched). A component with less than ``min_history`` of traffic stays
        reactive and says so. ``ForecastUpdated`` is published when the floors change."""
        trigger = Trigger(TriggerKind.FORECAST, source="forecast")
        summary = RunSummary(trigger="forecast", correlation_id=self.correlation_id)
        policy = self._policy(summary, trigger, now)
        if policy is None or self.cloudwatch is None:
            return self.announcer.finish(summary)
        wanted = [(e, c, cp) for e, c, cp in policy.components() if cp.predictive.mode != "off"]
        if not wanted:
            return self.announcer.finish(summary)
        longest = max(cp.predictive.history_span for _e, _c, cp in wanted)
        since = (now - longest).replace(second=0, microsecond=0)
        try:
            series = self.cloudwatch.component_series(
                ["Invocations", "NoCapacityInvocationFailures"], [c for _e, c, _cp in wanted], since, now
            )
        except IcpilotError as exc:  # the next hourly run reads again; the stored forecasts stand
            self.announcer.fail(summary, f"reading traffic history failed (retried next hour): {exc}", trigger, now)
            return self.announcer.finish(summary)
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
                self.announcer.announce(
                    EventDraft(type=EventType.ACTION_FAILED, reason=reason), trigger, now, endpoint, name
                )
                summary.outcomes.append(ComponentOutcome(endpoint, name, Outcome.FAILED, reason))
        return self.announcer.finish(summary)

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
            self.announcer.announce(
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
    # How far before its arrival a client's event may say the demand began. The client sends at its
    # first failed request and EventBridge delivers in seconds; an older time is a skewed or forged
    # client clock, and it would teach icpilot a time to ready (and a lead time) that never was.
    DEMAND_CLOCK_SKEW = timedelta(seconds=60)
    DEMAND_CLAIM_ATTEMPTS = 3
    # How far back CloudWatch's own count of failed requests may back a client's count of waiting ones.
    DEMAND_EVIDENCE_MINUTES = 5

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
        if requested_at is not None:  # the client's clock, bounded by icpilot's own
            requested_at = min(now, max(requested_at, now - self.DEMAND_CLOCK_SKEW))
        if waiting is not None:  # the client's count, bounded by what CloudWatch measured
            waiting = self._measured_waiting(component, waiting, now)
        trigger = Trigger(
            TriggerKind.DEMAND, source="demand:icpilot.client", requested_at=requested_at, failed_requests=waiting
        )
        summary = RunSummary(trigger=f"demand {endpoint}/{component}", correlation_id=self.correlation_id)
        policy, found = self._policy_component(summary, trigger, now, component)
        if policy is None or found is None:
            if policy is not None:
                reason = f"demand signal for {component!r}, which is not in the policy; nothing done"
                self._rejected("demand:unknown-component", reason, trigger, now)
            return self.announcer.finish(summary)
        if found[0] != endpoint:
            reason = f"demand signal names endpoint {endpoint!r}, but {component} is on {found[0]!r} in the policy"
            self._rejected("demand:wrong-endpoint", reason, trigger, now, None, component)
            summary.outcomes.append(ComponentOutcome(endpoint, component, Outcome.REJECTED, reason))
            return self.announcer.finish(summary)
        # The rate-limit claim is a conditional write. Losing it to an unrelated write (the watcher
        # settling a transition) is no reason to drop the demand: read again and claim again; only a
        # demand handled within the interval (by whoever) rate-limits this one.
        for attempt in range(1, self.DEMAND_CLAIM_ATTEMPTS + 1):
            try:
                stored = self.state.get(endpoint, component)
                last = stored.last_demand_at
                if last is not None and now - last < timedelta(seconds=self.DEMAND_INTERVAL_SECONDS):
                    reason = f"demand signal rate-limited: the last one was handled at {last.isoformat()}"
                    summary.outcomes.append(ComponentOutcome(endpoint, component, Outcome.UNCHANGED, reason))
                    return self.announcer.finish(summary)
                self.state.write(endpoint, component, stored.version, last_demand_at=now)
                break
            except StateConflictError as exc:
                if attempt == self.DEMAND_CLAIM_ATTEMPTS:
                    self.announcer.fail(
                        summary,
                        f"demand signal for {component}: {attempt} claims lost to other writes: {exc}",
                        trigger,
                        now,
                    )
                    return self.announcer.finish(summary)
            except (IcpilotError, ValueError) as exc:
                self.announcer.fail(summary, f"demand signal for {component}: state unreadable: {exc}", trigger, now)
                return self.announcer.finish(summary)
        self._evaluation().components(policy, [(endpoint, component)], trigger, now, summary)
        return self.announcer.finish(summary)

    def _measured_waiting(self, component: str, claimed: int, now: datetime) -> int | None:
        """A client's count of waiting requests, capped by the busiest minute of the component's
        NoCapacityInvocationFailures in CloudWatch over the last ``DEMAND_EVIDENCE_MINUTES`` (None when
        nothing measured backs it: the warm-up is then ``warmup_copies``, and the no-capacity alarm
        sizes it from CloudWatch's datapoint a minute later). Anyone allowed to put a Demand event
        could otherwise hold a component at its ceiling with a number."""
        if claimed <= 1 or self.cloudwatch is None:
            return None
        minute = now.replace(second=0, microsecond=0)
        since = minute - timedelta(minutes=self.DEMAND_EVIDENCE_MINUTES - 1)
        try:
            series = self.cloudwatch.component_series(
                ["NoCapacityInvocationFailures"], [component], since, minute + timedelta(minutes=1)
            )
        except IcpilotError as exc:
            logger.warning("demand: CloudWatch could not back the waiting count", extra={"error": str(exc)})
            return None
        measured = int(max(series.get(component) or [0.0]))
        return min(claimed, measured) or None

    def configure(self, now: datetime, apply: bool = True) -> RunSummary:
        """Make AAS targets, policies and icpilot's alarms match the policy; report drift
        (``service.configure``). ``apply=False``: list the changes, make none."""
        assert self.cloudwatch is not None
        trigger = Trigger(TriggerKind.TICK, source="configure")
        summary = RunSummary(trigger="configure" if apply else "configure (plan)", correlation_id=self.correlation_id)
        policy = self._policy(summary, trigger, now)
        if policy is not None:
            self._configure(self.cloudwatch).run(policy, summary, trigger, now, apply)
        return self.announcer.finish(summary)

    def unconfigure(self, now: datetime) -> RunSummary:
        """Remove what ``configure`` made, whatever the policy says now (the stack is being deleted)."""
        assert self.cloudwatch is not None
        trigger = Trigger(TriggerKind.TICK, source="stack delete")
        summary = RunSummary(trigger="unconfigure", correlation_id=self.correlation_id)
        self._configure(self.cloudwatch).unconfigure(summary, trigger, now)
        return self.announcer.finish(summary)

    def _configure(self, cloudwatch: CloudWatchAdapter) -> Configure:
        return Configure(self.sagemaker, self.autoscaling, self.state, cloudwatch, self.announcer)

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
                self.announcer.announce(
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
