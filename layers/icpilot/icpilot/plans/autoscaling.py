"""What AAS and CloudWatch should hold for each component, from the policy. Pure.

Per component: the scalable target (bounds at ``now``), an optional target-tracking policy, the
AWS scale-from-zero recipe (a step policy, +1, Maximum, cooldown 60, fired by the
``NoCapacityInvocationFailures`` alarm with GreaterThanOrEqualToThreshold 1 — one failed request is
enough), an idle alarm (no invocations for the idle delay; missing data counts as idle) and an
optional high-load alarm. Every name starts with ``icpilot-`` so icpilot never touches anything
it did not create.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..domain.decision_types import AlarmKind
from ..domain.windows import bounds_at
from ..policy.model import ComponentPolicy, Policy, parse_duration

PREFIX = "icpilot-"
TARGET_TRACKING = "icpilot-target-tracking"
SCALE_FROM_ZERO = "icpilot-scale-from-zero"
STEP_POLICY_ARN = "{scale-from-zero-policy-arn}"  # filled in once the step policy exists


def alarm_name(component: str, kind: AlarmKind) -> str:
    return f"{PREFIX}{component}-{kind.value}"


def parse_alarm_name(name: str, components: set[str]) -> tuple[str, AlarmKind] | None:
    """(component, kind) for an icpilot alarm name; None for anyone else's alarm."""
    if not name.startswith(PREFIX):
        return None
    for kind in AlarmKind:
        suffix = f"-{kind.value}"
        if name.endswith(suffix):
            component = name[len(PREFIX) : -len(suffix)]
            if component in components:
                return component, kind
    return None


def alarm_owner(name: str) -> str:
    """The component an ``icpilot-<component>-<kind>`` alarm belongs to, policy or not ("-" if none)."""
    for kind in AlarmKind:
        suffix = f"-{kind.value}"
        if name.startswith(PREFIX) and name.endswith(suffix) and len(name) > len(PREFIX) + len(suffix):
            return name[len(PREFIX) : -len(suffix)]
    return "-"


def components_of_other_stacks(others: dict[str, str]) -> dict[str, str]:
    """Component -> the stack whose icpilot alarms it has, from ``{alarm name: owning stack}``
    (``CloudWatchAdapter.alarm_listing``'s others); the first stack by alarm name when several do."""
    out: dict[str, str] = {}
    for name, owner in sorted(others.items()):
        out.setdefault(alarm_owner(name), owner)
    out.pop("-", None)
    return out


@dataclass(frozen=True)
class DesiredAutoScaling:
    endpoint: str
    component: str
    min_capacity: int
    max_capacity: int
    policies: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    alarms: dict[str, dict[str, Any]] = field(default_factory=dict)


def alarm_marker(owner: str) -> str:
    """How an alarm's description begins when stack ``owner`` made it. Alarm names are
    ``icpilot-<component>-<kind>`` in every stack (a component has one owner); the marker is what
    lets two stacks in one account and region tell their alarms apart: each deletes only its own,
    and each stack's alarm rule matches only its own (template.yaml's AlarmRule)."""
    return f"icpilot[{owner}]: "


def marker_owner(description: str) -> str | None:
    """The stack an alarm's description names in its ``alarm_marker`` (None: no marker)."""
    if description.startswith("icpilot[") and "]: " in description:
        return description[len("icpilot[") : description.index("]: ")] or None
    return None


def _metric_alarm(component: str, kind: AlarmKind, description: str, owner: str, **spec: Any) -> dict[str, Any]:
    return {
        "AlarmName": alarm_name(component, kind),
        "AlarmDescription": f"{alarm_marker(owner)}{description}",
        "Namespace": "AWS/SageMaker",
        "Dimensions": [{"Name": "InferenceComponentName", "Value": component}],
        "Period": 60,
        "AlarmActions": [],
        **spec,
    }


def desired_for(
    endpoint: str,
    component: str,
    cp: ComponentPolicy,
    now: datetime,
    idle: timedelta | None = None,
    owner: str = "icpilot",
) -> DesiredAutoScaling:
    """``idle``: the idle delay in force (readiness.idle_delay); default: the policy's fixed one.
    ``owner``: the stack whose alarms these are (``alarm_marker``)."""
    bounds = bounds_at(cp, now)
    alarms = _alarms(component, cp, idle if idle is not None else cp.idle_delay, owner)
    return DesiredAutoScaling(endpoint, component, bounds.floor, bounds.ceiling, _scaling_policies(cp), alarms)


def _scaling_policies(cp: ComponentPolicy) -> dict[str, tuple[str, dict[str, Any]]]:
    """AWS's scale-from-zero step policy, and target tracking where the policy asks for it."""
    policies: dict[str, tuple[str, dict[str, Any]]] = {
        SCALE_FROM_ZERO: (
            "StepScaling",
            {
                "AdjustmentType": "ChangeInCapacity",
                "MetricAggregationType": "Maximum",
                "Cooldown": 60,
                "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}],
            },
        )
    }
    if cp.autoscaling is not None:
        tt = cp.autoscaling
        policies[TARGET_TRACKING] = (
            "TargetTrackingScaling",
            {
                "TargetValue": float(tt.target),
                "PredefinedMetricSpecification": {"PredefinedMetricType": tt.predefined_metric},
                "ScaleInCooldown": int(parse_duration(tt.scale_in_cooldown).total_seconds()),
                "ScaleOutCooldown": int(parse_duration(tt.scale_out_cooldown).total_seconds()),
            },
        )
    return policies


def _no_invocations_alarm(component: str, kind: AlarmKind, after: timedelta, then: str, owner: str) -> dict[str, Any]:
    """No invocations for every minute of ``after`` (missing data counts: no traffic sends none)."""
    minutes = max(1, math.ceil(after.total_seconds() / 60))
    return _metric_alarm(
        component,
        kind,
        owner=owner,
        description=f"no invocations of {component} for {minutes} min: {then}",
        MetricName="Invocations",
        Statistic="Sum",
        EvaluationPeriods=minutes,
        DatapointsToAlarm=minutes,
        Threshold=1.0,
        ComparisonOperator="LessThanThreshold",
        TreatMissingData="breaching",
    )


def _alarms(component: str, cp: ComponentPolicy, idle: timedelta | None, owner: str) -> dict[str, dict[str, Any]]:
    """The no-capacity alarm (the step policy's), the idle alarm with ``idle``, the quiet alarm
    (``consolidate_after``), the high-load alarm."""
    alarms = {
        alarm_name(component, AlarmKind.NO_CAPACITY): _metric_alarm(
            component,
            AlarmKind.NO_CAPACITY,
            owner=owner,
            description=f"a request to {component} found no copy: scale from zero",
            MetricName="NoCapacityInvocationFailures",
            Statistic="Sum",
            EvaluationPeriods=1,
            DatapointsToAlarm=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching",
            AlarmActions=[STEP_POLICY_ARN],
        )
    }
    for kind, after, then in (
        (AlarmKind.IDLE, idle, "scale to zero"),
        (AlarmKind.QUIET, cp.quiet_delay, "consolidate"),
    ):
        if after is not None:
            alarms[alarm_name(component, kind)] = _no_invocations_alarm(component, kind, after, then, owner)
    if cp.high_load is not None:
        hl = cp.high_load
        alarms[alarm_name(component, AlarmKind.HIGH_LOAD)] = _metric_alarm(
            component,
            AlarmKind.HIGH_LOAD,
            owner=owner,
            description=f"{component} above {hl.threshold:g} invocations per copy per minute: add {hl.step}",
            MetricName="InvocationsPerCopy",
            Statistic="Sum",
            EvaluationPeriods=hl.minutes,
            DatapointsToAlarm=hl.minutes,
            Threshold=float(hl.threshold),
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching",
        )
    return alarms


def desired_autoscaling(
    policy: Policy, now: datetime, idle: dict[str, timedelta] | None = None, owner: str = "icpilot"
) -> list[DesiredAutoScaling]:
    return [desired_for(e, c, cp, now, (idle or {}).get(c), owner) for e, c, cp in policy.components()]


def _norm(value: Any) -> Any:
    if isinstance(value, list):
        return sorted((_norm(v) for v in value), key=repr)
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def differences(want: dict[str, Any], have: dict[str, Any], fields: tuple[str, ...] | None = None) -> list[str]:
    """Names of the fields where ``have`` differs from ``want`` (numbers and list order normalised)."""
    keys = fields or tuple(want)
    return [k for k in keys if k in want and _norm(want.get(k)) != _norm(have.get(k))]
