"""The schedules the policy wants: one EventBridge Scheduler schedule per window edge, and one per
endpoint for its daily report. Pure."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ..domain.bursts import spread as spread_of
from ..domain.windows import edges
from ..policy.model import Policy

# Rules one schedule carries at most: its input stays small (a few KB), and one invocation's
# writes (paced at the stack's WriteRates) stay well inside the function's timeout.
RULES_PER_SCHEDULE = 25


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    expression: str
    timezone: str
    payload: dict[str, Any]
    # Minutes EventBridge Scheduler may spread the invocation over after its time (0: on time): a
    # burst of openings arrives at about the rate writes are allowed (``domain.bursts``).
    flexible_minutes: int = 0

    @property
    def flexible_time_window(self) -> dict[str, Any]:
        if self.flexible_minutes <= 0:
            return {"Mode": "OFF"}
        return {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": self.flexible_minutes}

    def same_as(self, current: dict[str, Any]) -> bool:
        target = current.get("Target") or {}
        try:
            payload = json.loads(target.get("Input") or "{}")
        except ValueError:
            payload = None
        return (
            current.get("ScheduleExpression") == self.expression
            and current.get("ScheduleExpressionTimezone", "UTC") == self.timezone
            and payload == self.payload
            and current.get("State", "ENABLED") == "ENABLED"
            and (current.get("FlexibleTimeWindow") or {"Mode": "OFF"}) == self.flexible_time_window
        )


def schedule_name(endpoint: str, component: str, rule: str, edge: str) -> str:
    """Scheduler names allow [0-9a-zA-Z-_.]{1,64}; long ones keep a readable prefix and a hash."""
    return _short(f"{endpoint}.{component}.{rule}.{edge}")


def report_schedule_name(endpoint: str) -> str:
    return _short(f"{endpoint}.daily-report")


def _short(name: str) -> str:
    if len(name) <= 64:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{name[:53]}-{digest}"


def together_schedule_name(endpoint: str, edge: str, rule_refs: list[str]) -> str:
    """The schedule of an endpoint's edges that fire at the same instants, named by endpoint, edge
    and a hash of the rules it carries (in its input): a lead that moves updates it in place."""
    digest = hashlib.sha256("|".join(rule_refs).encode()).hexdigest()[:10]
    return _short(f"{endpoint}.{edge}-together.{digest}")


def desired_schedules(
    policy: Policy, leads: dict[str, timedelta] | None = None, spreads: dict[str, timedelta] | None = None
) -> dict[str, ScheduleSpec]:
    """Every window edge as a Scheduler schedule (opening edges fire each component's lead time
    early, spread over the write time of the burst it opens in: its ``spreads`` entry, the burst's
    lead, less the minute left for the last invocation's writes), and each endpoint's daily report
    at its local time.

    An endpoint's edges that fire at the same instants (same edge, expression, time zone and
    spread) share one schedule, up to ``RULES_PER_SCHEDULE`` a schedule: its invocation observes
    the endpoint once for all of them. One schedule per component would observe it once per
    component, and a fleet's windows opening together would meet SageMaker's read limits (2,000
    components on 200 endpoints: 26,000 DescribeInferenceComponent calls instead of 2,600)."""
    specs = {}
    for endpoint, ep in policy.endpoints.items():
        if ep.daily_report.enabled and ep.daily_report.at is not None:
            at = ep.daily_report.at
            name = report_schedule_name(endpoint)
            specs[name] = ScheduleSpec(name, f"cron({at.minute} {at.hour} * * ? *)", ep.zone, {"report": endpoint})
    together: dict[tuple[str, str, str, str, int], list[tuple[str, str]]] = {}
    for endpoint, component, cp in policy.components():
        for rule in cp.schedules:
            # A cron window's opening edge fires at the opening (its lead is the tick's): spread, it
            # would only come later.
            spread = timedelta(0)
            if rule.min_copies > 0 and rule.cron is None:
                spread = (spreads or {}).get(component, timedelta(0))
            for e in edges(rule, (leads or {}).get(component, timedelta(0))):
                flexible = int(spread_of(spread).total_seconds() // 60) if e.edge == "open" else 0
                key = (endpoint, e.edge, e.expression, e.timezone, flexible)
                together.setdefault(key, []).append((component, rule.name))
    for (endpoint, edge, expression, timezone, flexible), members in together.items():
        if len(members) == 1:
            ((component, rule_name),) = members
            name = schedule_name(endpoint, component, rule_name, edge)
            payload: dict[str, Any] = {"rule": f"{endpoint}/{component}/{rule_name}", "edge": edge}
            specs[name] = ScheduleSpec(name, expression, timezone, payload, flexible)
            continue
        ordered = sorted(members)
        for start in range(0, len(ordered), RULES_PER_SCHEDULE):
            refs = [f"{endpoint}/{c}/{r}" for c, r in ordered[start : start + RULES_PER_SCHEDULE]]
            name = together_schedule_name(endpoint, edge, refs)
            specs[name] = ScheduleSpec(name, expression, timezone, {"rules": refs, "edge": edge}, flexible)
    return specs
