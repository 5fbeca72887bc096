"""Is a trigger to be believed, and how far? Anyone allowed to invoke a function or put an event can
send one, so a payload is a claim checked against what icpilot measures itself: an alarm against
CloudWatch's own state, a demand's time against icpilot's clock, its count of waiting requests
against CloudWatch's failed requests, its rate against the state table. A rejected trigger is
logged every time and announced once an hour per cause."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from ..domain.aws_views import AlarmState
from ..domain.decision_types import AlarmKind, Trigger, TriggerKind, declined_warm_up
from ..domain.events import EventDraft, EventType
from ..domain.standing import acts_again, followed
from ..errors import IcpilotError, StateConflictError
from ..plans.autoscaling import alarm_name, components_of_other_stacks, parse_alarm_name
from ..policy.model import Policy
from ..ports import AlarmsAndMetrics, State
from .announce import Announcer
from .outcomes import ComponentOutcome, Outcome, RunSummary

logger = Logger(service="icpilot", child=True)
# An alarm event's state.timestamp has milliseconds; DescribeAlarms may round them.
ALARM_CLOCK_TOLERANCE_SECONDS = 1.0


def _rank(kind: AlarmKind | None) -> int:
    """Of a component's standing alarms the tick acts on one: high-load (or no-capacity) before idle,
    idle (zero) before quiet (consolidation keeps copies that idle would release)."""
    return {AlarmKind.QUIET: 0, AlarmKind.IDLE: 1}.get(kind, 2) if kind is not None else 2


class TriggerChecks:
    """One invocation's checks of its trigger."""

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

    def __init__(self, state: State, cloudwatch: AlarmsAndMetrics, announcer: Announcer) -> None:
        self.state, self.cloudwatch, self.announcer = state, cloudwatch, announcer

    # A rejected trigger is logged every time but announced once an hour per cause: anyone allowed
    # to send events could otherwise flood the operators' mail (the causes are a closed set, so a
    # forger cannot make new ones).
    REJECTION_QUIET = timedelta(hours=1)

    def rejected(
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

    def tick(
        self, policy: Policy, summary: RunSummary, trigger: Trigger, now: datetime
    ) -> tuple[dict[str, Trigger], list[tuple[str, str]]]:
        """The tick's triggers from standing alarms, and the components it evaluates: not those whose
        alarms another stack made (theirs, even before this stack's configure has marked them: the
        first tick of a deploy runs before it). Alarms unreadable: schedules alone, reported."""
        try:
            triggers, elsewhere = self.standing_alarms(policy, now)
        except IcpilotError as exc:  # alarms are read again next tick
            self.announcer.fail(summary, f"reading alarm states failed (retried next tick): {exc}", trigger, now)
            triggers, elsewhere = {}, {}
        for e, c, _ in policy.components():
            if c in elsewhere:
                reason = f"managed by stack {elsewhere[c]!r} (OwnershipConflict): left to it"
                summary.outcomes.append(ComponentOutcome(e, c, Outcome.UNCHANGED, reason))
        return triggers, [(e, c) for e, c, _ in policy.components() if c not in elsewhere]

    def standing_alarms(self, policy: Policy, now: datetime) -> tuple[dict[str, Trigger], dict[str, str]]:
        """Triggers for icpilot's alarms that stay in ALARM (``domain.standing``: they get no new
        EventBridge event; a component's high-load alarm goes before its idle one, idle before quiet;
        a quiet alarm's trigger names the endpoint's components whose quiet alarms stand), and the stack
        that manages each component whose icpilot alarms another stack made, from one listing."""
        own, others = self.cloudwatch.alarm_listing()
        elsewhere = components_of_other_stacks(others)
        wanted = {alarm_name(c, kind): (e, c, cp, kind) for e, c, cp in policy.components() for kind in followed(cp)}
        standing = [
            (name, alarm) for name, alarm in own.items() if name in wanted and alarm.get("StateValue") == "ALARM"
        ]
        quiet: dict[str, set[str]] = {}  # endpoint -> its components whose quiet alarms stand
        for name, _ in standing:
            endpoint, component, _, kind = wanted[name]
            if kind == AlarmKind.QUIET:
                quiet.setdefault(endpoint, set()).add(component)
        out: dict[str, Trigger] = {}
        for name, alarm in standing:
            endpoint, component, cp, kind = wanted[name]
            reads_state = kind in (AlarmKind.HIGH_LOAD, AlarmKind.NO_CAPACITY)
            stored = self.state.get(endpoint, component) if reads_state else None
            last = stored.last_action_at if stored is not None and kind == AlarmKind.HIGH_LOAD else None
            declined = stored is not None and declined_warm_up(stored.state.last_refusal)
            if not acts_again(kind, cp, now, last, declined, AlarmState.of(alarm).changed_at):
                continue
            # No load_per_copy: StateReasonData explains the state, and CloudWatch does not document
            # refreshing it while the state stands; a datapoint from before icpilot's last scale-out,
            # multiplied by today's copies, would overshoot. A standing alarm adds its step.
            trigger = Trigger(
                TriggerKind.ALARM,
                source=f"alarm:{name} (still in ALARM)",
                alarm=kind,
                quiet=frozenset(quiet.get(endpoint, ())) if kind == AlarmKind.QUIET else frozenset(),
            )
            held = out.get(component)
            if held is None or _rank(kind) > _rank(held.alarm):
                out[component] = trigger
        return out, elsewhere

    def unconfirmed(
        self, alarm: str, changed_at: datetime | None, trigger: Trigger, now: datetime, summary: RunSummary
    ) -> tuple[str | None, AlarmState | None]:
        """Why CloudWatch does not confirm that ``alarm`` went to ALARM at ``changed_at`` (None: it
        does), and the alarm as CloudWatch holds it (None when not asked).

        The function may be invoked by anyone allowed to, so the payload is a claim, not a fact.
        When CloudWatch cannot be asked, the failure is reported and raised: the invocation is
        retried (EventInvokeConfig), then dead-lettered; nothing acts on an unconfirmed claim."""
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

    def alarm_trigger(
        self,
        policy: Policy,
        alarm: str,
        state_value: str,
        changed_at: datetime | None,
        trigger: Trigger,
        now: datetime,
        summary: RunSummary,
    ) -> tuple[str, str, Trigger] | None:
        """The (endpoint, component, trigger) an alarm state change acts on, or None (recorded in
        ``summary``): only icpilot's alarms of policy components, in ALARM, as CloudWatch confirms."""
        parsed = parse_alarm_name(alarm, {c for _, c, _ in policy.components()})
        if parsed is None:
            reason = f"alarm {alarm!r} is not an icpilot alarm of a component in the policy; nothing done"
            self.rejected("alarm:not-icpilot", reason, trigger, now)
            summary.outcomes.append(ComponentOutcome("?", "?", Outcome.REJECTED, reason))
            return None
        component, kind = parsed
        endpoint = policy.component(component)[0]  # type: ignore[index]
        if state_value != "ALARM":
            why = f"{kind} alarm went to {state_value}: nothing to do"
            summary.outcomes.append(ComponentOutcome(endpoint, component, Outcome.UNCHANGED, why))
            return None
        if kind == AlarmKind.QUIET:
            # A consolidation needs the peers' quiet alarms too: the tick reads them all in one listing.
            why = "quiet alarm: consolidating is the tick's (it reads the endpoint's quiet alarms together)"
            summary.outcomes.append(ComponentOutcome(endpoint, component, Outcome.UNCHANGED, why))
            return None
        mismatch, held = self.unconfirmed(alarm, changed_at, trigger, now, summary)
        if mismatch is not None:
            self.rejected("alarm:unconfirmed", mismatch, trigger, now, endpoint, component)
            summary.outcomes.append(ComponentOutcome(endpoint, component, Outcome.REJECTED, mismatch))
            return None
        # CloudWatch's own last datapoint (not the payload's) sizes the step: the failed requests of the
        # no-capacity alarm's minute, the invocations per copy of the high-load alarm's.
        latest = held.latest if held is not None else None
        confirmed = Trigger(
            TriggerKind.ALARM,
            source=f"alarm:{alarm}",
            alarm=kind,
            failed_requests=latest if kind == AlarmKind.NO_CAPACITY else None,
            load_per_copy=latest if kind == AlarmKind.HIGH_LOAD else None,
        )
        return endpoint, component, confirmed

    def demand_time(self, requested_at: datetime | None, now: datetime) -> datetime | None:
        """The client's clock, bounded by icpilot's own (at most ``DEMAND_CLOCK_SKEW`` earlier)."""
        return None if requested_at is None else min(now, max(requested_at, now - self.DEMAND_CLOCK_SKEW))

    def measured_waiting(self, component: str, claimed: int, now: datetime) -> int | None:
        """A client's count of waiting requests, capped by the busiest minute of the component's
        NoCapacityInvocationFailures in CloudWatch over the last ``DEMAND_EVIDENCE_MINUTES`` (None when
        nothing measured backs it: the warm-up is then ``warmup_copies``, and the no-capacity alarm
        sizes it from CloudWatch's datapoint a minute later). Anyone allowed to put a Demand event
        could otherwise hold a component at its ceiling with a number."""
        if claimed <= 1:
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

    def claim_demand(self, endpoint: str, component: str, trigger: Trigger, now: datetime, summary: RunSummary) -> bool:
        """Claim the component's demand slot (rate limit); False when rate-limited or the claim
        could not be made (said in ``summary``)."""
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
                    return False
                self.state.write(endpoint, component, stored.version, last_demand_at=now)
                return True
            except StateConflictError as exc:
                if attempt == self.DEMAND_CLAIM_ATTEMPTS:
                    self.announcer.fail(
                        summary,
                        f"demand signal for {component}: {attempt} claims lost to other writes: {exc}",
                        trigger,
                        now,
                    )
                    return False
            except (IcpilotError, ValueError) as exc:
                self.announcer.fail(summary, f"demand signal for {component}: state unreadable: {exc}", trigger, now)
                return False
        return False  # not reached: the last attempt returns
