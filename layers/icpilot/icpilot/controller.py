"""The controller, a facade: one method per trigger (schedule edge, tick, alarm, demand signal,
watcher, configure, forecast, operator override), each a short sequence over the service layer:
``policy`` (the run's policy read), ``triggers`` (is the trigger to be believed, and how far),
``evaluate`` (observe -> inputs -> ``decide`` -> act -> record -> announce), ``watch``,
``configure``, ``forecast``, ``schedules``, ``overrides`` and ``announce``. Each run builds its
service objects afresh, so nothing one run read is trusted by the next.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from aws_lambda_powertools import Logger

from .adapters.autoscaling import AutoScalingAdapter
from .adapters.cloudwatch import CloudWatchAdapter
from .adapters.runtime import RuntimeAdapter
from .adapters.sagemaker import SageMakerAdapter
from .adapters.scheduler import SchedulerAdapter
from .adapters.sns import EventPublisher
from .domain.decision_types import Trigger, TriggerKind
from .policy.model import ComponentPolicy, Policy
from .ports import State
from .service.announce import Announcer
from .service.configure import Configure
from .service.evaluate import Evaluation
from .service.forecast import ForecastJob
from .service.outcomes import ComponentOutcome, Outcome, RunSummary
from .service.overrides import Override
from .service.policy import read_policy
from .service.reporting import DailyReporter, announce_daily_report
from .service.schedules import reconcile_and_announce
from .service.triggers import TriggerChecks
from .service.unconfigure import Unconfigure
from .service.watch import Watch

__all__ = ["ComponentOutcome", "Controller", "Outcome", "RunSummary"]

logger = Logger(service="icpilot", child=True)


class Controller:
    def __init__(
        self,
        policy_source: Callable[[], Policy],
        sagemaker: SageMakerAdapter,
        autoscaling: AutoScalingAdapter,
        state: State,
        publisher: EventPublisher,
        cloudwatch: CloudWatchAdapter,
        runtime: RuntimeAdapter,
        scheduler: SchedulerAdapter | None = None,
        correlation_id: str | None = None,
        seconds_left: Callable[[], float] | None = None,
        workers: int = 1,
    ) -> None:
        """Every collaborator but the scheduler is required (no check turns itself off for want of
        a client); without a scheduler (no schedule group configured) the tick meets window edges."""
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
        self.workers = workers  # endpoints a pass works on at once
        self.announcer = Announcer(publisher, self.correlation_id)

    def _checks(self) -> TriggerChecks:
        return TriggerChecks(self.state, self.cloudwatch, self.announcer)

    def _evaluation(self) -> Evaluation:
        """A new run of evaluations (its batched reads belong to it alone)."""
        return Evaluation(self.sagemaker, self.autoscaling, self.state, self.announcer, self.seconds_left, self.workers)

    # ------------------------------------------------------------- entry points
    def on_schedule(self, rule_refs: Sequence[str], edge: str, now: datetime) -> RunSummary:
        """A schedule fired the ``edge`` of its windows (``endpoint/component/rule`` each; an
        endpoint's edges that fire together share a schedule): their components are evaluated in
        one pass, each under its own rule's trigger. A reference not in the policy is rejected on
        its own; the others go on."""
        label = rule_refs[0] if len(rule_refs) == 1 else f"{len(rule_refs)} rules"
        summary = RunSummary(trigger=f"schedule {label} ({edge})", correlation_id=self.correlation_id)
        first = Trigger(TriggerKind.SCHEDULE, source=f"schedule:{edge}", rule=rule_refs[0] if rule_refs else None)
        policy = self._policy(summary, first, now)
        if policy is None:
            return self.announcer.finish(summary)
        targets: list[tuple[str, str]] = []
        triggers: dict[str, Trigger] = {}
        for rule_ref in rule_refs:
            trigger = Trigger(TriggerKind.SCHEDULE, source=f"schedule:{edge}", rule=rule_ref)
            parts = rule_ref.split("/")
            found = policy.component(parts[1]) if len(parts) == 3 else None
            if found is None or found[0] != parts[0] or parts[2] not in {r.name for r in found[1].schedules}:
                reason = (
                    f"schedule rule {rule_ref!r} is not in the policy (expected endpoint/component/rule); nothing done"
                )
                self._checks().rejected("schedule:unknown-rule", reason, trigger, now)
                summary.outcomes.append(
                    ComponentOutcome(
                        parts[0] if parts else "?", parts[1] if len(parts) > 1 else "?", Outcome.REJECTED, reason
                    )
                )
                continue
            if parts[1] not in triggers:  # two rules of one component firing together: one evaluation
                targets.append((parts[0], parts[1]))
                triggers[parts[1]] = trigger
        if targets:
            self._evaluation().components(policy, targets, first, now, summary, triggers)
        return self.announcer.finish(summary)

    def reject(self, reason: str, now: datetime, kind: TriggerKind = TriggerKind.SCHEDULE) -> RunSummary:
        """Report an invocation that cannot be acted on (malformed event) without failing it."""
        trigger = Trigger(kind, source="malformed")
        self._checks().rejected(f"{kind.value}:malformed", reason, trigger, now)
        summary = RunSummary(trigger="rejected", correlation_id=self.correlation_id)
        summary.outcomes.append(ComponentOutcome("?", "?", Outcome.REJECTED, reason))
        return self.announcer.finish(summary)

    def on_tick(self, now: datetime, reconcile: bool = True) -> RunSummary:
        trigger = Trigger(TriggerKind.TICK, source="tick")
        summary = RunSummary(trigger="tick", correlation_id=self.correlation_id)
        policy = self._policy(summary, trigger, now)
        if policy is None:
            return self.announcer.finish(summary)
        if reconcile and self.scheduler is not None:
            reconcile_and_announce(
                self.scheduler, self.state, self.announcer, policy, summary, trigger, now, self.sagemaker.write_rate()
            )
        triggers, everyone = self._checks().tick(policy, summary, trigger, now)
        # Start at a different component each minute: if a pass runs out of time (see
        # TIME_MARGIN_SECONDS), the ones it postponed come early in a later pass.
        offset = int(now.timestamp() // 60) % len(everyone) if everyone else 0
        self._evaluation().components(policy, everyone[offset:] + everyone[:offset], trigger, now, summary, triggers)
        return self.announcer.finish(summary)

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
        if policy is not None and found is not None:
            pin = Override(found[0], component, copies, until, reason)
            if pin.record(found[1], self._evaluation(), self.announcer, trigger, now, summary):
                self._evaluation().components(policy, [(found[0], component)], trigger, now, summary)
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
        watch = Watch(
            self.state,
            self.sagemaker,
            self.runtime,
            self.publisher,
            self.announcer,
            self.cloudwatch,
            self.workers,
            self.seconds_left,
        )
        policy, ready = watch.run(lambda: self._policy(summary, trigger, now), summary, trigger, now)
        if policy is None:
            return self.announcer.finish(summary)
        waiting = watch.waiting_on(policy, summary, ready)
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
        checked = self._checks().alarm_trigger(policy, alarm, state_value, changed_at, trigger, now, summary)
        if checked is None:
            return self.announcer.finish(summary)
        endpoint, component, trigger = checked
        self._evaluation().components(policy, [(endpoint, component)], trigger, now, summary)
        return self.announcer.finish(summary)

    def on_forecast(self, now: datetime) -> RunSummary:
        """Learn each predictive component's demand from CloudWatch and store it (``service.forecast``)."""
        trigger = Trigger(TriggerKind.FORECAST, source="forecast")
        summary = RunSummary(trigger="forecast", correlation_id=self.correlation_id)
        policy = self._policy(summary, trigger, now)
        if policy is not None:
            ForecastJob(self.sagemaker, self.state, self.cloudwatch, self.announcer, self.workers).run(
                policy, summary, trigger, now
            )
        return self.announcer.finish(summary)

    def on_daily_report(self, endpoint: str, now: datetime) -> RunSummary:
        """Publish the endpoint's ``DailyReport`` for the local day before ``now`` (``service.reporting``)."""
        trigger = Trigger(TriggerKind.SCHEDULE, source="schedule:daily-report", rule=f"{endpoint}/daily-report")
        summary = RunSummary(trigger=f"daily report {endpoint}", correlation_id=self.correlation_id)
        policy = self._policy(summary, trigger, now)
        if policy is None:
            return self.announcer.finish(summary)
        if endpoint not in policy.endpoints:
            reason = f"daily report for {endpoint!r}: the endpoint is not in the policy; nothing done"
            self._checks().rejected("schedule:unknown-rule", reason, trigger, now)
            summary.outcomes.append(ComponentOutcome(endpoint, "-", Outcome.REJECTED, reason))
            return self.announcer.finish(summary)
        reporter = DailyReporter(self.sagemaker, self.autoscaling, self.state, self.cloudwatch)
        announce_daily_report(reporter, self.announcer, policy, endpoint, summary, trigger, now)
        return self.announcer.finish(summary)

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
        checks = self._checks()
        trigger = Trigger(
            TriggerKind.DEMAND, source="demand:icpilot.client", requested_at=checks.demand_time(requested_at, now)
        )
        summary = RunSummary(trigger=f"demand {endpoint}/{component}", correlation_id=self.correlation_id)
        policy, found = self._policy_component(summary, trigger, now, component)
        if policy is None or found is None:
            if policy is not None:
                reason = f"demand signal for {component!r}, which is not in the policy; nothing done"
                checks.rejected("demand:unknown-component", reason, trigger, now)
            return self.announcer.finish(summary)
        if found[0] != endpoint:
            reason = f"demand signal names endpoint {endpoint!r}, but {component} is on {found[0]!r} in the policy"
            checks.rejected("demand:wrong-endpoint", reason, trigger, now, None, component)
            summary.outcomes.append(ComponentOutcome(endpoint, component, Outcome.REJECTED, reason))
            return self.announcer.finish(summary)
        if not checks.claim_demand(endpoint, component, trigger, now, summary):
            return self.announcer.finish(summary)
        if waiting is not None:  # the client's count, bounded by what CloudWatch measured (after the
            # checks: a forged or rate-limited demand costs no GetMetricData)
            trigger = replace(trigger, failed_requests=checks.measured_waiting(component, waiting, now))
        self._evaluation().components(policy, [(endpoint, component)], trigger, now, summary)
        return self.announcer.finish(summary)

    def configure(self, now: datetime, apply: bool = True) -> RunSummary:
        """Make AAS targets, policies and icpilot's alarms match the policy; report drift
        (``service.configure``). ``apply=False``: list the changes, make none."""
        trigger = Trigger(TriggerKind.TICK, source="configure")
        summary = RunSummary(trigger="configure" if apply else "configure (plan)", correlation_id=self.correlation_id)
        policy = self._policy(summary, trigger, now)
        if policy is not None:
            Configure(
                self.sagemaker,
                self.autoscaling,
                self.state,
                self.cloudwatch,
                self.announcer,
                self.seconds_left,
                self.workers,
            ).run(policy, summary, trigger, now, apply)
        return self.announcer.finish(summary)

    def unconfigure(self, now: datetime, restore_copies: str = "adopted") -> RunSummary:
        """Give back what ``configure`` took, whatever the policy says now (the stack is being
        deleted); components icpilot left at zero go back to ``restore_copies`` (``service.configure``)."""
        trigger = Trigger(TriggerKind.TICK, source="stack delete")
        summary = RunSummary(trigger="unconfigure", correlation_id=self.correlation_id)
        Unconfigure(self.sagemaker, self.autoscaling, self.state, self.cloudwatch, self.announcer).run(
            summary, trigger, now, restore_copies
        )
        return self.announcer.finish(summary)

    def _policy(self, summary: RunSummary, trigger: Trigger, now: datetime) -> Policy | None:
        return read_policy(self.policy_source, self.state, self.announcer, summary, trigger, now)
