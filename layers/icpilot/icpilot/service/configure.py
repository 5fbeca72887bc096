"""Configure: the AAS targets, scaling policies and icpilot's alarms the policy wants, with
drift restored and reported; unconfigure: remove exactly what configure made (stack delete)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from ..adapters.autoscaling import AutoScalingAdapter
from ..adapters.cloudwatch import ALARM_FIELDS, CloudWatchAdapter
from ..adapters.sagemaker import SageMakerAdapter
from ..domain.aws_views import ScalableTarget
from ..domain.decision_types import AlarmKind, Trigger, aas_min_holding_last_copy
from ..domain.events import EventDraft, EventType
from ..errors import IcpilotError, StateConflictError, UnknownComponentError
from ..plans.autoscaling import (
    PREFIX,
    SCALE_FROM_ZERO,
    STEP_POLICY_ARN,
    DesiredAutoScaling,
    alarm_name,
    alarm_owner,
    components_of_other_stacks,
    desired_autoscaling,
    differences,
)
from ..policy.model import Policy
from ..ports import State
from .announce import Announcer
from .fanout import fan_out
from .idle_delays import auto_idle_delays
from .outcomes import RunSummary
from .targets import TargetReads

logger = Logger(service="icpilot", child=True)
# Stop starting components with this much of the Lambda's time left (one component's calls, paced
# writes included, finish well within it); the next configure run goes on with the rest.
TIME_MARGIN_SECONDS = 45.0


@dataclass
class _Changes:
    """A configure run's changes, as listed (``apply`` False: listed, not made)."""

    listed: list[dict[str, Any]]
    apply: bool

    def add(self, endpoint: str, component: str, resource: str, action: str, fields: list[str] | None = None) -> None:
        self.listed.append(
            {
                "endpoint": endpoint,
                "component": component,
                "resource": resource,
                "action": action,
                "fields": fields or [],
            }
        )


class Configure:
    """One configure (or unconfigure) run against AAS, CloudWatch and the state table's registry."""

    def __init__(
        self,
        sagemaker: SageMakerAdapter,
        autoscaling: AutoScalingAdapter,
        state: State,  # the registry of icpilot's targets, and the cold starts' history
        cloudwatch: CloudWatchAdapter,
        announcer: Announcer,
        seconds_left: Callable[[], float] | None = None,
        workers: int = 1,
    ) -> None:
        self.sagemaker, self.autoscaling, self.state = sagemaker, autoscaling, state
        self.cloudwatch, self.announcer = cloudwatch, announcer
        self.seconds_left = seconds_left  # the Lambda's remaining time; None: no limit
        self.workers = workers  # endpoints configured at once

    def run(self, policy: Policy, summary: RunSummary, trigger: Trigger, now: datetime, apply: bool = True) -> None:
        """Make AAS targets, policies and icpilot's alarms match ``policy``; the changes (made, or
        with ``apply=False`` only listed) go to ``summary.autoscaling_changes``.

        Idempotent. Never touches resources whose names do not start with ``icpilot-``. The bounds
        of an existing scalable target are left to the evaluations (schedules, overrides).
        """
        changes = _Changes(summary.autoscaling_changes, apply)
        have_alarms, others = self.cloudwatch.alarm_listing(PREFIX)
        # A component whose icpilot alarms another stack made is that stack's: nothing of it is
        # created, updated or deleted here, and this stack's evaluations leave its copies alone.
        claimed = components_of_other_stacks(others)
        elsewhere = {c: claimed[c] for _, c, _ in policy.components() if c in claimed}
        derived_idle = auto_idle_delays(self.sagemaker, self.state, policy, now)
        wants = desired_autoscaling(policy, now, derived_idle, owner=self.cloudwatch.owner)
        targets = TargetReads(self.autoscaling)
        targets.read([w.component for w in wants])
        listed = self._listed_policies()
        absent: list[str] = []
        by_endpoint: dict[str, list[DesiredAutoScaling]] = {}
        for want in wants:
            by_endpoint.setdefault(want.endpoint, []).append(want)

        def endpoint_worker(endpoint_wants: list[DesiredAutoScaling]) -> list[tuple[str, str]]:
            postponed: list[tuple[str, str]] = []
            for want in endpoint_wants:
                if self.seconds_left is not None and self.seconds_left() < TIME_MARGIN_SECONDS:
                    postponed.append((want.endpoint, want.component))
                    continue
                self._configure_one(
                    policy, want, targets, listed, have_alarms, elsewhere, changes, absent, trigger, now
                )
            return postponed

        postponed = [p for done in fan_out(endpoint_worker, list(by_endpoint.values()), self.workers) for p in done]
        if postponed:
            reason = (
                f"configure ran out of time with {len(postponed)} of {len(wants)} components left; "
                "the next configure run goes on with them (see README, operational limits)"
            )
            self.announcer.fail(summary, reason, trigger, now)
            # Their alarms are not stale: they were not looked at.
            left = {c for _, c in postponed}
            for name in [n for n in have_alarms if alarm_owner(n) in left]:
                have_alarms.pop(name, None)
        self._remove_stale(policy, list(have_alarms), changes, trigger, now)
        if apply:
            self._leave_to_others(policy, elsewhere, trigger, now)
            self._announce_configuration(summary.autoscaling_changes, trigger, now, set(derived_idle))
            self._announce_mismatch(sorted(absent), trigger, now)

    def _listed_policies(self) -> dict[str, dict[str, dict[str, Any]]] | None:
        """Every component's policies in one paginated listing; None when it failed (each
        component's are then described on their own)."""
        try:
            return self.autoscaling.all_policies()
        except IcpilotError as exc:
            logger.warning("policy listing failed; describing per component", extra={"error": str(exc)})
            return None

    def _configure_one(
        self,
        policy: Policy,
        want: DesiredAutoScaling,
        targets: TargetReads,
        listed: dict[str, dict[str, dict[str, Any]]] | None,
        have_alarms: dict[str, dict[str, Any]],
        elsewhere: dict[str, str],
        changes: _Changes,
        absent: list[str],
        trigger: Trigger,
        now: datetime,
    ) -> None:
        """One component's target, policies and alarms as wanted; its failure is its own."""
        e, c = want.endpoint, want.component
        if policy.observes(c):  # observe mode: no AAS target, policy or alarm of it is touched
            logger.info("observe mode: nothing configured", extra={"component": c})
            return
        try:
            manager = elsewhere.get(c) or self._target(want, targets.target(c), changes)
            if manager is not None:  # another stack's component: nothing of it is touched
                elsewhere[c] = manager
                changes.add(e, c, "component", "ownership-conflict", [manager])
                return
            have = listed.get(c, {}) if listed is not None else self.autoscaling.policies(c)
            step_arn = self._policies(want, have, changes)
            self._alarms(want, step_arn, have_alarms, changes)
        except UnknownComponentError as exc:  # not on its endpoint: the tick says ComponentGone, once
            logger.info("component absent: nothing to configure", extra={"component": c, "reason": str(exc)})
            absent.append(f"{c} ({e}): {exc}")
        except IcpilotError as exc:
            changes.add(e, c, "component", "failed", [str(exc)])
            reason = f"configuring autoscaling failed: {exc}"
            self.announcer.announce(EventDraft(type=EventType.ACTION_FAILED, reason=reason), trigger, now, e, c)

    def _announce_mismatch(self, absent: list[str], trigger: Trigger, now: datetime) -> None:
        """``PolicyMismatch`` once per episode: when the set of what the policy names and the account
        lacks changes to a non-empty one (a first deploy of the bundled policy, a typo, a deleted
        component). The tick skips those components quietly meanwhile."""
        try:
            changed = self.state.remember_status(absent, now, subject="mismatch")
        except IcpilotError as exc:  # said again next run rather than never
            logger.warning("policy mismatch not recorded", extra={"error": str(exc)})
            changed = True
        if changed and absent:
            reason = (
                f"the policy names {len(absent)} inference component(s) this account and region do not have; "
                f"nothing is configured for them and the tick leaves them alone: {'; '.join(absent[:5])}"
                + (" …" if len(absent) > 5 else "")
            )
            draft = EventDraft(type=EventType.POLICY_MISMATCH, reason=reason, details={"absent": absent[:50]})
            self.announcer.announce(draft, trigger, now, None, None)

    def _target(self, want: DesiredAutoScaling, target: ScalableTarget | None, changes: _Changes) -> str | None:
        """Register the component's target (tagged as this stack's), or claim a team's untagged one;
        the other stack that manages it, if one does."""
        e, c = want.endpoint, want.component
        if target is None:
            if changes.apply:
                # Bounds that hold today's count: registering a range that excludes it makes AAS
                # write the count itself, at once, past icpilot's ordering (after:) and events. The
                # next evaluation moves count and bounds together.
                now_copies = self.sagemaker.describe_component(c).desired
                hi = max(want.max_capacity, now_copies)
                lo = aas_min_holding_last_copy(min(want.min_capacity, now_copies), hi, now_copies)
                self.autoscaling.register_target(c, lo, hi, tag=True)
                self.state.remember_target(c, copies=now_copies)
            changes.add(e, c, "scalable-target", "create")  # recorded once it is true
            return None
        manager = self.autoscaling.stack_of(target) if target.arn else self.autoscaling.stack
        if manager is None:
            if changes.apply:
                # Before the first write: the team's target as it is, put back on stack delete.
                record = self.autoscaling.snapshot(c, PREFIX)
                self.state.remember_adoption(c, record, self.sagemaker.describe_component(c).desired)
                self.autoscaling.claim(target)
            changes.add(e, c, "scalable-target", "claim")
        return manager if manager not in (None, self.autoscaling.stack) else None

    def _policies(self, want: DesiredAutoScaling, have: dict[str, dict[str, Any]], changes: _Changes) -> str:
        """The component's icpilot scaling policies as wanted (drift restored, the unwanted deleted),
        from ``have`` (its policies as read); the scale-from-zero step policy's ARN, which its alarm
        invokes."""
        e, c = want.endpoint, want.component
        step_arn = str(have.get(SCALE_FROM_ZERO, {}).get("PolicyARN", STEP_POLICY_ARN))
        for name, (ptype, config) in want.policies.items():
            existing = have.get(name)
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
                changes.add(e, c, f"scaling-policy/{name}", "create" if existing is None else "update", drift)
                if changes.apply:
                    arn = self.autoscaling.put_policy(c, name, ptype, config)
                    step_arn = arn if name == SCALE_FROM_ZERO else step_arn
        for name in have:
            if name.startswith(PREFIX) and name not in want.policies:
                changes.add(e, c, f"scaling-policy/{name}", "delete")
                if changes.apply:
                    self.autoscaling.delete_policy(c, name)
        return step_arn

    def _alarms(
        self, want: DesiredAutoScaling, step_arn: str, have_alarms: dict[str, dict[str, Any]], changes: _Changes
    ) -> None:
        """The component's icpilot alarms as wanted; each one found is taken out of ``have_alarms``."""
        for name, spec in want.alarms.items():
            spec = {**spec, "AlarmActions": [step_arn if a == STEP_POLICY_ARN else a for a in spec["AlarmActions"]]}
            existing = have_alarms.pop(name, None)
            drift = [] if existing is None else differences(spec, existing, ALARM_FIELDS)
            if existing is None or drift:
                changes.add(
                    want.endpoint, want.component, f"alarm/{name}", "create" if existing is None else "update", drift
                )
                if changes.apply:
                    self.cloudwatch.put_alarm(spec)

    def _remove_stale(
        self, policy: Policy, stale: list[str], changes: _Changes, trigger: Trigger, now: datetime
    ) -> None:
        """icpilot alarms nobody wants any more (components that left the policy, or a dropped
        feature); of components that left the policy, their icpilot policies and the target if
        icpilot made it."""
        for name in stale:
            changes.add("-", alarm_owner(name), f"alarm/{name}", "delete")
        if changes.apply and stale:
            self.cloudwatch.delete_alarms(stale)
        components = {c for _, c, _ in policy.components()}
        for gone in sorted({alarm_owner(n) for n in stale} - components - {"-"}):
            try:
                for name in self.autoscaling.policies(gone):
                    if name.startswith(PREFIX):
                        changes.add("-", gone, f"scaling-policy/{name}", "delete")
                        if changes.apply:
                            self.autoscaling.delete_policy(gone, name)
                if self.state.created_target(gone):
                    changes.add("-", gone, "scalable-target", "delete")
                    if changes.apply:
                        self.autoscaling.deregister_target(gone)
                        self.state.forget_target(gone)
            except IcpilotError as exc:
                changes.add("-", gone, "component", "failed", [str(exc)])
                reason = f"removing autoscaling of {gone} (left the policy) failed (retried next run): {exc}"
                self.announcer.announce(
                    EventDraft(type=EventType.ACTION_FAILED, reason=reason), trigger, now, None, gone
                )

    def _leave_to_others(self, policy: Policy, elsewhere: dict[str, str], trigger: Trigger, now: datetime) -> None:
        """Mark the components another stack manages (``owned_by``: the evaluations leave them alone)
        and say ``OwnershipConflict`` once per finding; unmark those no longer claimed."""
        try:
            known = self.state.managed_elsewhere()
        except IcpilotError as exc:
            logger.warning("ownership registry unreadable", extra={"error": str(exc)})
            known = {}
        where = {c: e for e, c, _ in policy.components()}
        for component in sorted(set(known) | set(elsewhere)):
            owner = elsewhere.get(component)
            if owner == known.get(component) or component not in where:
                continue
            self._mark(where[component], component, owner)
            if owner is not None:
                reason = (
                    f"{component} is managed by stack {owner!r} (its icpilot alarms carry that stack's marker): "
                    f"stack {self.cloudwatch.owner!r} changes none of its alarms, scaling policies, bounds or "
                    "copies; remove it from one of the two policies"
                )
                draft = EventDraft(type=EventType.OWNERSHIP_CONFLICT, reason=reason, details={"owner": owner})
                self.announcer.announce(draft, trigger, now, where[component], component)
        if elsewhere != known:
            self.state.remember_managed_elsewhere(elsewhere)

    def _mark(self, endpoint: str, component: str, owner: str | None) -> None:
        for _ in range(3):  # a racing write (a tick's record) moves the version: read and write again
            stored = self.state.get(endpoint, component)
            try:
                self.state.write(endpoint, component, stored.version, owned_by=owner)
                return
            except StateConflictError:
                continue

    def _announce_configuration(
        self, changes: list[dict[str, Any]], trigger: Trigger, now: datetime, derived_idle: set[str]
    ) -> None:
        """Drift corrected is announced; a derived idle delay that moved (new cold starts measured,
        or the forecast's odds at this hour) is configure's own doing, so it is only logged."""
        for ch in changes:
            if ch["action"] == "update" and _rederived_idle(ch, derived_idle):
                logger.info("idle delay re-derived", extra={"component": ch["component"], "fields": ch["fields"]})
            elif ch["action"] == "update":
                reason = f"{ch['resource']} had drifted ({', '.join(ch['fields'])}); restored from the policy"
                self.announcer.announce(
                    EventDraft(type=EventType.DRIFT_CORRECTED, reason=reason, details=ch),
                    trigger,
                    now,
                    ch["endpoint"],
                    ch["component"],
                )
        created = [ch for ch in changes if ch["action"] in ("create", "delete", "claim", "release")]
        if created:
            reason = "autoscaling follows the policy: " + ", ".join(
                f"{ch['action']} {ch['resource']}" for ch in created
            )
            self.announcer.announce(
                EventDraft(type=EventType.AUTOSCALING_CONFIGURED, reason=reason[:900], details={"changes": created}),
                trigger,
                now,
                None,
                None,
            )


# What a re-derived idle delay changes on the idle alarm (its periods, and the minutes its description names).
_IDLE_DELAY_FIELDS = frozenset({"EvaluationPeriods", "DatapointsToAlarm", "AlarmDescription"})


def _rederived_idle(change: dict[str, Any], derived_idle: set[str]) -> bool:
    component = change.get("component")
    return (
        component in derived_idle
        and change.get("resource") == f"alarm/{alarm_name(str(component), AlarmKind.IDLE)}"
        and set(change.get("fields", ())) <= _IDLE_DELAY_FIELDS
    )
