"""Unconfigure: give back what ``configure`` took when the stack is deleted, whatever the policy
says now: icpilot's alarms and scaling policies go, the targets it registered are deregistered,
the teams' targets it adopted are restored as recorded, and components it left at zero copies are
raised back."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime

from aws_lambda_powertools import Logger

from ..adapters.autoscaling import AutoScalingAdapter
from ..adapters.cloudwatch import CloudWatchAdapter
from ..adapters.sagemaker import SageMakerAdapter
from ..domain.decision_types import Trigger
from ..domain.events import EventDraft, EventType
from ..errors import IcpilotError
from ..plans.autoscaling import PREFIX, alarm_owner
from ..ports import State
from ..records import AutoScalingRecord
from .announce import Announcer
from .outcomes import RunSummary

logger = Logger(service="icpilot", child=True)


class Unconfigure:
    """One unconfigure run (stack delete) against AAS, CloudWatch, SageMaker and the registry."""

    def __init__(
        self,
        sagemaker: SageMakerAdapter,
        autoscaling: AutoScalingAdapter,
        state: State,
        cloudwatch: CloudWatchAdapter,
        announcer: Announcer,
    ) -> None:
        self.sagemaker, self.autoscaling, self.state = sagemaker, autoscaling, state
        self.cloudwatch, self.announcer = cloudwatch, announcer

    def run(self, summary: RunSummary, trigger: Trigger, now: datetime, restore_copies: str = "adopted") -> None:
        """Give back what ``configure`` took, whatever the policy says now (the stack is being
        deleted): every ``icpilot-`` alarm and scaling policy goes; a target icpilot registered is
        deregistered; a team's target it adopted is put back as recorded before the first write
        (registration, policies, scheduled actions) and untagged; then every such component icpilot
        left at zero copies is raised to ``restore_copies`` (``adopted``: the copies it had when icpilot
        took it; or a number). Each step is announced; each failure reported, and the rest goes on."""
        removed: list[str] = []

        def attempt(what: str, step: Callable[[], None]) -> bool:
            try:
                step()
                removed.append(what)
                return True
            except IcpilotError as exc:
                summary.errors.append(f"{what}: {exc}")
                return False

        owners: set[str] = set()
        records: dict[str, AutoScalingRecord] = {}
        try:
            alarms = sorted(self.cloudwatch.alarms(PREFIX))
            owners |= {alarm_owner(n) for n in alarms} - {"-"}
            attempt(f"{len(alarms)} alarms", functools.partial(self.cloudwatch.delete_alarms, alarms))
        except IcpilotError as exc:
            summary.errors.append(f"listing icpilot's alarms: {exc}")
        try:
            records = self.state.autoscaling_records()
        except IcpilotError as exc:
            summary.errors.append(f"reading which scalable targets icpilot registered or adopted: {exc}")
        for component in sorted(owners | set(records)):
            record = records.get(component, AutoScalingRecord(component))
            try:
                names = [n for n in self.autoscaling.policies(component) if n.startswith(PREFIX)]
            except IcpilotError as exc:
                summary.errors.append(f"scaling policies of {component}: {exc}")
                continue
            for name in names:
                attempt(f"{component}/{name}", functools.partial(self.autoscaling.delete_policy, component, name))
            self._give_back(record, attempt, trigger, now)
        for record in records.values():
            self._back_to_floor(record, restore_copies, attempt, trigger, now)
        reason = "icpilot's autoscaling removed (stack deleted): " + (", ".join(removed) or "nothing was left")
        logger.info("unconfigured", extra={"removed": removed, "errors": summary.errors})
        self.announcer.announce(
            EventDraft(type=EventType.AUTOSCALING_CONFIGURED, reason=reason), trigger, now, None, None
        )

    def _give_back(
        self,
        record: AutoScalingRecord,
        attempt: Callable[[str, Callable[[], None]], bool],
        trigger: Trigger,
        now: datetime,
    ) -> None:
        """The target back to its owner: deregistered if icpilot made it, else restored and untagged."""
        c = record.component
        if record.created:

            def deregister() -> None:
                self.autoscaling.deregister_target(c)
                self.state.forget_target(c)

            said = "deregistered (icpilot registered it)" if attempt(f"{c} scalable target", deregister) else None
        elif record.adopted:
            restored: list[str] = []

            def restore() -> None:
                restored.extend(self.autoscaling.restore(c, record.adopted or {}, PREFIX))
                self._release(c)

            ok = attempt(f"{c} scalable target restored", restore)
            said = f"restored as it was before icpilot: {', '.join(restored) or 'nothing differed'}" if ok else None
        else:  # claimed before adoptions were recorded: only the tag is icpilot's to take back
            ok = attempt(f"{c} scalable target's tag", functools.partial(self._release, c))
            said = "untagged (no record of it before icpilot)" if ok else None
        if said:
            draft = EventDraft(
                type=EventType.AUTOSCALING_CONFIGURED, reason=f"stack deleted: {c}'s scalable target {said}"
            )
            self.announcer.announce(draft, trigger, now, None, c)

    def _back_to_floor(
        self,
        record: AutoScalingRecord,
        restore_copies: str,
        attempt: Callable[[str, Callable[[], None]], bool],
        trigger: Trigger,
        now: datetime,
    ) -> None:
        """A component icpilot leaves at zero copies goes back to the floor the operator named."""
        floor = record.floor_on_delete(restore_copies)
        if not floor:
            return
        c = record.component
        try:
            observed = self.sagemaker.describe_component(c)
        except IcpilotError as exc:
            logger.info("not raised on delete", extra={"component": c, "error": str(exc)})
            return
        if observed.desired > 0:
            return
        if attempt(f"{c} raised to {floor}", functools.partial(self.sagemaker.set_copy_count, c, floor)):
            reason = f"stack deleted: {c} back from zero to {floor} copies (its count when icpilot took it)"
            draft = EventDraft(type=EventType.SCALED, reason=reason, from_copies=0, to_copies=floor)
        else:  # e.g. still updating from icpilot's last write: nobody will raise it after this
            reason = f"stack deleted, but {c} could not be raised from zero to {floor} copies: raise it yourself"
            draft = EventDraft(type=EventType.ACTION_FAILED, reason=reason, from_copies=0, to_copies=floor)
        self.announcer.announce(draft, trigger, now, None, c)

    def _release(self, component: str) -> None:
        target = self.autoscaling.describe_target(component)
        if target is not None and target.arn and self.autoscaling.stack_of(target) == self.autoscaling.stack:
            self.autoscaling.release(target)
