"""The health function's service: one of the stack's health alarms changed state; say so.

Kept apart from the controller on purpose: it reads no policy and no component, so a broken policy,
state item or SageMaker permission cannot silence the alarm about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from aws_lambda_powertools import Logger

from ..adapters.cloudwatch import CloudWatchAdapter
from ..domain.decision_types import Trigger, TriggerKind
from ..domain.health import SILENCE_CHECKS, HealthCheck, health_check_of, health_event
from ..errors import IcpilotError
from ..ports import PolicyStatus
from .announce import Announcer

logger = Logger(service="icpilot", child=True)

# How far back the functions that failed are looked up: the alarms' 5-minute period, twice.
LOOKBACK = timedelta(minutes=10)
_METRIC_OF = {HealthCheck.ERRORS: "Errors", HealthCheck.THROTTLES: "Throttles"}


@dataclass(frozen=True)
class AlarmChange:
    """What CloudWatch's direct invocation says happened to one alarm."""

    alarm: str
    state: str
    previous: str
    changed_at: str
    reason: str
    functions: tuple[str, ...] = ()  # the FunctionName dimensions the alarm watches
    period_seconds: int = 300  # the alarm's period (its first metric's)


class Health:
    """Announces the stack's health alarms: ``ControllerUnhealthy`` and ``ControllerRecovered``,
    each once per episode (the health status is recorded in the state table, so a redelivered or
    repeated change is not said twice)."""

    def __init__(self, stack: str, announcer: Announcer, cloudwatch: CloudWatchAdapter, state: PolicyStatus) -> None:
        self.stack = stack
        self.announcer = announcer
        self.cloudwatch = cloudwatch
        self.state = state

    def on_alarm(self, change: AlarmChange, now: datetime) -> dict[str, str]:
        """Announce the change; another alarm is refused with the reason (logged, not raised: a retry
        would not make it this stack's)."""
        check = health_check_of(change.alarm, self.stack)
        if check is None:
            reason = f"alarm {change.alarm!r} is not one of stack {self.stack}'s health alarms"
            logger.warning("health alarm rejected", extra={"reason": reason})
            return {"outcome": "rejected", "reason": reason}
        if change.state == "ALARM" and check in SILENCE_CHECKS and self._first_verdict_or_running(change, now):
            self._new_status(check, "healthy", now)
            return {"outcome": "unchanged", "reason": f"{change.alarm}: a new alarm's verdict, or the function ran"}
        draft = health_event(
            check,
            change.alarm,
            change.state,
            change.previous,
            change.changed_at,
            change.reason,
            self._culprits(check, change, now),
        )
        if draft is None:
            return {"outcome": "unchanged", "reason": f"{change.alarm}: {change.previous} → {change.state}"}
        status = "unhealthy" if change.state == "ALARM" else "healthy"
        if not self._new_status(check, status, now):
            return {"outcome": "unchanged", "reason": f"{check} was already announced {status}"}
        self.announcer.announce(draft, Trigger(TriggerKind.ALARM, source="health", rule=str(check)), now, None, None)
        return {"outcome": "announced", "event": str(draft.type), "check": str(check)}

    def _new_status(self, check: HealthCheck, status: str, now: datetime) -> bool:
        """Record the check's status; True when it differs from the last one recorded. When the state
        table cannot tell (it may be what is broken), True: a repeat is better than silence."""
        try:
            return self.state.remember_status([status], now, subject=f"health:{check}")
        except IcpilotError as exc:
            logger.warning("health status unrecorded", extra={"check": str(check), "error": str(exc)})
            return True

    def _first_verdict_or_running(self, change: AlarmChange, now: datetime) -> bool:
        """A silence alarm's ALARM that is no silence: its first verdict (out of INSUFFICIENT_DATA),
        taken on periods from before the stack existed, since missing data is breaching and a
        schedule's first run comes a period after it is created; or the function was invoked in the
        alarm's last three periods, the current one included (the alarm sees only complete ones).
        So a function that never ran since the deploy is not announced (docs/concepts/reliability.md)."""
        if change.previous == "INSUFFICIENT_DATA":
            return True
        since = now - timedelta(seconds=3 * change.period_seconds)
        try:
            runs = self.cloudwatch.function_sums("Invocations", list(change.functions), since, now)
        except IcpilotError as exc:
            logger.warning("cannot read the function's invocations", extra={"error": str(exc)})
            return False
        return sum(runs.values()) > 0

    def _culprits(self, check: HealthCheck, change: AlarmChange, now: datetime) -> tuple[str, ...]:
        """For errors and throttles, the watched functions that had some in the last LOOKBACK; every
        watched function when CloudWatch cannot say (the event is still worth more than the detail)."""
        metric = _METRIC_OF.get(check)
        if metric is None or change.state != "ALARM" or not change.functions:
            return change.functions if check in SILENCE_CHECKS else ()
        try:
            sums = self.cloudwatch.function_sums(metric, list(change.functions), now - LOOKBACK, now)
        except IcpilotError as exc:
            logger.warning("cannot read which functions failed", extra={"error": str(exc)})
            return change.functions
        return tuple(name for name in change.functions if sums.get(name, 0.0) > 0) or change.functions
