"""Application Auto Scaling additions: the IC scalable dimension and step-policy execution.

moto validates dimensions against a module-level enum read at call time, so the emulator widens
that enum in both modules that hold it. Step-scaling policies are executed when an alarm action
names them (see alarms.py), as AAS does: within the target's Min/Max, honouring SuspendedState and
the policy's cooldown, and retried at the next evaluation while the component is busy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from moto.applicationautoscaling import models as aas_models
from moto.applicationautoscaling import responses as aas_responses
from moto.applicationautoscaling.models import applicationautoscaling_backends

from .core import EMULATOR

IC_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
IC_PREFIX = "inference-component/"


def _widen_dimension_enum() -> None:
    current = aas_models.ScalableDimensionValueSet
    if IC_DIMENSION in {d.value for d in current}:
        return
    members = {m.name: m.value for m in current}
    members["SAGEMAKER_INFERENCE_COMPONENT_DESIRED_COPY_COUNT"] = IC_DIMENSION
    widened = Enum("ScalableDimensionValueSet", members)  # type: ignore[misc,assignment]
    aas_models.ScalableDimensionValueSet = widened  # type: ignore[misc,assignment]
    aas_responses.ScalableDimensionValueSet = widened  # type: ignore[misc,assignment]


@dataclass
class ScalingActivity:
    time: datetime
    policy: str
    component: str
    old: int
    new: int
    cause: str


def find_policy(account_id: str, region: str, action_arn: str) -> Any | None:
    backend = applicationautoscaling_backends[account_id][region]
    for policy in backend.policies.values():
        # Alarm actions may carry a ":createdBy/<uuid>" suffix after the policy ARN.
        if action_arn == policy.policy_arn or action_arn.startswith(policy.policy_arn + ":"):
            return policy
    return None


def _target(account_id: str, region: str, policy: Any) -> Any | None:
    backend = applicationautoscaling_backends[account_id][region]
    return backend.targets.get(policy.scalable_dimension, {}).get(policy.resource_id)


def _step_adjustment(config: dict[str, Any], breach: float) -> int | None:
    """The ScalingAdjustment of the step whose interval holds ``breach`` (metric - threshold)."""
    for step in config.get("StepAdjustments", []):
        lower = step.get("MetricIntervalLowerBound")
        upper = step.get("MetricIntervalUpperBound")
        lo = -math.inf if lower is None else float(lower)
        hi = math.inf if upper is None else float(upper)
        if lo <= breach < hi or (hi == math.inf and breach >= lo):
            return int(step["ScalingAdjustment"])
    return None


def execute_step_policy(
    account_id: str, region: str, policy: Any, metric_value: float, threshold: float, now: datetime
) -> ScalingActivity | None:
    """Run one step-scaling policy against an IC, as AAS would on an alarm action."""
    if policy.policy_type != "StepScaling" or policy.scalable_dimension != IC_DIMENSION:
        return None
    config = policy.step_scaling_policy_configuration or {}
    target = _target(account_id, region, policy)
    if target is None:
        return None
    cooldown = timedelta(seconds=int(config.get("Cooldown", 0)))
    last = getattr(policy, "_emulator_last_activity", None)
    if last is not None and now < last + cooldown:
        return None
    adjustment = _step_adjustment(config, metric_value - threshold)
    if adjustment is None:
        return None
    world = EMULATOR.world_for(account_id, region)
    name = policy.resource_id.removeprefix(IC_PREFIX)
    component = world.components.get(name)
    if component is None or component.status in ("Creating", "Updating", "Deleting"):
        return None  # AAS retries on the next evaluation while the alarm stays in ALARM
    current = component.desired
    kind = config.get("AdjustmentType", "ChangeInCapacity")
    if kind == "ExactCapacity":
        new = adjustment
    elif kind == "PercentChangeInCapacity":
        delta = current * adjustment / 100.0
        delta = math.ceil(delta) if delta > 0 else math.floor(delta)
        minimum = int(config.get("MinAdjustmagnitude", config.get("MinAdjustmentMagnitude", 0)) or 0)
        if minimum and abs(delta) < minimum:
            delta = int(math.copysign(minimum, delta))
        new = current + delta
    else:
        new = current + adjustment
    lo = target.min_capacity if target.min_capacity is not None else 0
    hi = target.max_capacity if target.max_capacity is not None else new
    new = max(lo, min(hi, new))
    suspended = target.suspended_state or {}
    if new > current and suspended.get("DynamicScalingOutSuspended"):
        return None
    if new < current and suspended.get("DynamicScalingInSuspended"):
        return None
    if new == current:
        return None
    world.set_copy_count(component, new, now, "UPDATE_RC_IN_PROGRESS")
    policy._emulator_last_activity = now
    activity = ScalingActivity(now, policy.policy_name, name, current, new, f"step policy {policy.policy_name}")
    EMULATOR.dispatcher.scaling_activities.append(activity)
    return activity


def install() -> None:
    _widen_dimension_enum()
