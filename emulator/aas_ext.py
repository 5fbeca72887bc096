"""Application Auto Scaling additions: the IC scalable dimension, and AAS acting as AWS documents.

- moto validates dimensions against a module-level enum read at call time, so the emulator widens
  that enum in both modules that hold it.
- Step-scaling policies run when an alarm action names them (see alarms.py): within Min/Max,
  honouring SuspendedState and the policy's cooldown, retried at the next evaluation while the
  component is busy. Step intervals follow the PutScalingPolicy reference: above the threshold the
  lower bound is inclusive and the upper exclusive; below it, the lower exclusive and the upper
  inclusive.
- Target tracking runs: PutScalingPolicy creates the two alarms AAS makes for a policy,
  ``TargetTracking-<resource id>-AlarmHigh-<uuid>`` (metric > target, 3 of 3 one-minute periods) and
  ``...-AlarmLow-<uuid>`` (metric < 90% of target, 15 of 15), described "DO NOT EDIT OR DELETE", whose
  action is the policy. In ALARM the policy sets ``ceil(copies x metric / target)``: scale-out at once
  (and again after ScaleOutCooldown while the alarm holds), scale-in only after ScaleInCooldown since
  the last scale-in and never when DisableScaleIn; neither from zero copies (a per-copy metric has no
  value there), nor while the component is Creating/Updating/Deleting.
- RegisterScalableTarget (and a scheduled action) that puts the bounds around a count outside them
  writes the count into range itself, as AAS does, with its own scaling activity.
- Scheduled actions run on the emulator clock (``run_scheduled_actions``): the target takes the
  action's bounds, and a count outside them is written into range.
- DeregisterScalableTarget deletes the target's scaling policies and their alarms.
- DescribeScalingActivities lists every activity with its cause.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from moto.applicationautoscaling import models as aas_models
from moto.applicationautoscaling import responses as aas_responses
from moto.applicationautoscaling.models import applicationautoscaling_backends

from awsmodel import HIGH_PERIODS, LOW_FRACTION, LOW_PERIODS, TargetTrackingCooldowns

from .core import EMULATOR
from .schedule_expressions import ScheduleClock, ScheduleNotEmulated

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
    activity_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def to_api(self, account_id: str) -> dict[str, Any]:
        return {
            "ActivityId": self.activity_id,
            "ServiceNamespace": "sagemaker",
            "ResourceId": f"{IC_PREFIX}{self.component}",
            "ScalableDimension": IC_DIMENSION,
            "Description": f"Setting desired copy count to {self.new}.",
            "Cause": self.cause,
            "StartTime": self.time.timestamp(),
            "EndTime": self.time.timestamp(),
            "StatusCode": "Successful",
            "StatusMessage": f"Successfully set desired copy count to {self.new}. Change successfully fulfilled by sagemaker.",
        }


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
    """The ScalingAdjustment of the step whose interval holds ``breach`` (metric - threshold).

    At or above the threshold an interval is [lower, upper); below it, (lower, upper]."""
    for step in config.get("StepAdjustments", []):
        lower = step.get("MetricIntervalLowerBound")
        upper = step.get("MetricIntervalUpperBound")
        lo = -math.inf if lower is None else float(lower)
        hi = math.inf if upper is None else float(upper)
        inside = (lo <= breach < hi) if breach >= 0 else (lo < breach <= hi)
        if inside or (hi == math.inf and breach >= lo):
            return int(step["ScalingAdjustment"])
    return None


BUSY = ("Creating", "Updating", "Deleting")


def _free_component(account_id: str, region: str, resource_id: str) -> Any | None:
    """The inference component AAS may write now: it exists and is not Creating/Updating/Deleting
    (AAS retries at its next evaluation; RegisterScalableTarget leaves a busy resource alone)."""
    component = EMULATOR.world_for(account_id, region).components.get(resource_id.removeprefix(IC_PREFIX))
    return None if component is None or component.status in BUSY else component


def _aas_writes(
    account_id: str, region: str, component: Any, new: int, now: datetime, policy: str, cause: str
) -> ScalingActivity:
    """AAS sets the copy count and records the scaling activity with its cause."""
    activity = ScalingActivity(now, policy, component.name, component.desired, new, cause)
    EMULATOR.world_for(account_id, region).set_copy_count(component, new, now, "UPDATE_RC_IN_PROGRESS")
    SCHEDULED_ACTIONS.activities.append(activity)
    return activity


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
    cooldown = timedelta(seconds=int(config.get("Cooldown", 300)))  # the reference: 300 when unset
    last = getattr(policy, "_emulator_last_activity", None)
    if last is not None and now < last + cooldown:
        return None
    adjustment = _step_adjustment(config, metric_value - threshold)
    if adjustment is None:
        return None
    component = _free_component(account_id, region, policy.resource_id)
    if component is None:
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
    policy._emulator_last_activity = now
    return _aas_writes(account_id, region, component, new, now, policy.policy_name, f"step policy {policy.policy_name}")


# ------------------------------------------------------------------ target tracking
# The metric each predefined type tracks for an inference component (AWS/SageMaker, Sum per minute).
TRACKED_METRICS = {
    "SageMakerInferenceComponentInvocationsPerCopy": "InvocationsPerCopy",
    "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution": "ConcurrentRequestsPerCopy",
}


def _ic_target_tracking_alarms(policy: Any) -> list[Any]:
    """The two alarms AAS creates for a target-tracking policy on an inference component."""
    from moto.cloudwatch.models import cloudwatch_backends

    config = policy.target_tracking_scaling_policy_configuration or {}
    kind = (config.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType", "")
    custom = config.get("CustomizedMetricSpecification") or {}
    metric = TRACKED_METRICS.get(kind) or custom.get("MetricName") or "InvocationsPerCopy"
    target = float(config.get("TargetValue", 0))
    component = policy.resource_id.removeprefix(IC_PREFIX)
    cloudwatch = cloudwatch_backends[policy.account_id][policy.region_name]
    action = f"{policy.policy_arn}:createdBy/{uuid.uuid4()}"
    made = []
    for side, operator, threshold, periods in (
        ("AlarmHigh", "GreaterThanThreshold", target, HIGH_PERIODS),
        ("AlarmLow", "LessThanThreshold", target * LOW_FRACTION, LOW_PERIODS),
    ):
        made.append(
            cloudwatch.put_metric_alarm(
                name=f"TargetTracking-{policy.resource_id}-{side}-{uuid.uuid4()}",
                namespace="AWS/SageMaker",
                metric_name=metric,
                metric_data_queries=[],
                comparison_operator=operator,
                evaluation_periods=periods,
                datapoints_to_alarm=periods,
                period=60,
                threshold=threshold,
                statistic="Sum",
                description=f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {action}",
                dimensions=[{"Name": "InferenceComponentName", "Value": component}],
                alarm_actions=[action],
            )
        )
    return made


_original_create_alarms = aas_models.FakeApplicationAutoscalingPolicy.create_alarms


def _create_alarms(self: Any) -> None:
    if self.policy_type == "TargetTrackingScaling" and self.scalable_dimension == IC_DIMENSION:
        self.alarms.extend(_ic_target_tracking_alarms(self))
        return
    _original_create_alarms(self)


def execute_target_tracking(
    account_id: str, region: str, policy: Any, alarm_name: str, metric_value: float | None, now: datetime
) -> ScalingActivity | None:
    """One evaluation of a target-tracking policy whose alarm is in ALARM."""
    if metric_value is None:
        return None
    config = policy.target_tracking_scaling_policy_configuration or {}
    target = _target(account_id, region, policy)
    target_value = float(config.get("TargetValue", 0))
    if target is None or target_value <= 0:
        return None
    scale_in = "-AlarmLow-" in alarm_name
    if scale_in and config.get("DisableScaleIn"):
        return None
    component = _free_component(account_id, region, policy.resource_id)
    if component is None or component.desired == 0:
        return None
    lo = target.min_capacity if target.min_capacity is not None else 0
    hi = target.max_capacity if target.max_capacity is not None else 10**6
    suspended = target.suspended_state or {}
    if suspended.get("DynamicScalingInSuspended" if scale_in else "DynamicScalingOutSuspended"):
        return None
    cooldowns = policy.__dict__.setdefault("_emulator_cooldowns", TargetTrackingCooldowns())
    # the reference's default cooldown is 300 s for either side
    periods = (float(config.get("ScaleOutCooldown", 300)), float(config.get("ScaleInCooldown", 300)))
    new = cooldowns.act(scale_in, component.desired, metric_value, target_value, (lo, hi), now.timestamp(), periods)
    if new is None:
        return None
    cause = f"monitor alarm {alarm_name} in state ALARM triggered policy {policy.policy_name}"
    return _aas_writes(account_id, region, component, new, now, policy.policy_name, cause)


# ------------------------------------------------------------------ registration
_original_register = aas_models.ApplicationAutoscalingBackend.register_scalable_target
_original_deregister = aas_models.ApplicationAutoscalingBackend.deregister_scalable_target


def clamp_into_bounds(account_id: str, region: str, target: Any, why: str) -> ScalingActivity | None:
    """AAS writes a count that the bounds now exclude into range (no-op while the component is busy)."""
    if target.scalable_dimension != IC_DIMENSION:
        return None
    component = _free_component(account_id, region, target.resource_id)
    if component is None:
        return None
    lo = target.min_capacity if target.min_capacity is not None else component.desired
    hi = target.max_capacity if target.max_capacity is not None else component.desired
    new = max(lo, min(hi, component.desired))
    if new == component.desired:
        return None
    cause = f"{why}: the count {component.desired} was outside [{lo}, {hi}]"
    return _aas_writes(account_id, region, component, new, EMULATOR.now(), why, cause)


NOTHING_SUSPENDED = {
    "DynamicScalingInSuspended": False,
    "DynamicScalingOutSuspended": False,
    "ScheduledScalingSuspended": False,
}


def _register(
    self: Any,
    namespace: str,
    r_id: str,
    dimension: str,
    min_capacity: int | None,
    max_capacity: int | None,
    *args: Any,
    **kwargs: Any,
) -> Any:
    """RegisterScalableTarget with the validation AAS applies, then the clamp."""
    from moto.applicationautoscaling.exceptions import AWSValidationException

    if dimension == IC_DIMENSION:
        existing = self.targets.get(dimension, {}).get(r_id)
        lo = min_capacity if min_capacity is not None else getattr(existing, "min_capacity", None)
        hi = max_capacity if max_capacity is not None else getattr(existing, "max_capacity", None)
        if lo is not None and hi is not None and lo > hi:
            raise AWSValidationException("Minimum capacity cannot be greater than maximum capacity")
        if (
            existing is None
            and r_id.removeprefix(IC_PREFIX) not in EMULATOR.world_for(self.account_id, self.region_name).components
        ):
            raise AWSValidationException(
                f"Unable to find the inference component {r_id.removeprefix(IC_PREFIX)}: register a scalable "
                "target only for an inference component that exists"
            )
    target = _original_register(self, namespace, r_id, dimension, min_capacity, max_capacity, *args, **kwargs)
    if not getattr(target, "suspended_state", None):
        # AWS describes every target with its SuspendedState, all false until someone suspends
        # (moto leaves it out), so a target read back after a suspend and a resume compares equal.
        target.suspended_state = dict(NOTHING_SUSPENDED)  # type: ignore[assignment]  # moto annotates it as str
    clamp_into_bounds(self.account_id, self.region_name, target, "scalable target registered or its bounds moved")
    return target


def _deregister(self: Any, namespace: str, r_id: str, dimension: str) -> None:
    _original_deregister(self, namespace, r_id, dimension)
    for key, policy in list(self.policies.items()):
        if policy.resource_id == r_id and policy.scalable_dimension == dimension:
            policy.delete_alarms(self.account_id, self.region_name)
            del self.policies[key]


# ------------------------------------------------------------------ scheduled actions
def run_scheduled_actions(now: datetime) -> list[ScalingActivity]:
    """Scheduled actions on inference components that fell due since the last look (emulator
    clock): the target takes the action's Min/Max, and a count outside them is written into range
    (PutScheduledAction: "if the current capacity is below the minimum capacity, Application Auto
    Scaling scales out to the minimum capacity"). An action is first looked at when it is seen; its
    StartTime/EndTime bound it."""
    done: list[ScalingActivity] = []
    for account_id, regions in list(applicationautoscaling_backends.items()):
        for region, backend in list(regions.items()):
            action: Any
            for action in list(backend.scheduled_actions):
                if action.scalable_dimension != IC_DIMENSION:
                    continue
                seen = getattr(action, "_emulator_seen", None)
                action._emulator_seen = now
                if seen is None:
                    continue
                try:
                    expr = ScheduleClock.parse(action.schedule, action.timezone or "UTC")
                except ScheduleNotEmulated:
                    continue
                due = expr.next_after(seen, start=getattr(action, "_emulator_anchor", seen))
                action._emulator_anchor = getattr(action, "_emulator_anchor", seen)
                if due is None or due > now or not _within(action, due):
                    continue
                target = backend.targets.get(IC_DIMENSION, {}).get(action.resource_id)
                if target is None:
                    continue
                bounds: dict[str, Any] = dict(action.scalable_target_action or {})
                target.update(bounds.get("MinCapacity"), bounds.get("MaxCapacity"), None)  # type: ignore[arg-type]
                why = f"scheduled action {action.scheduled_action_name}"
                if (activity := clamp_into_bounds(account_id, region, target, why)) is not None:
                    done.append(activity)
    return done


class ScheduledActionsHook:
    """The emulator clock's AAS step (a ``TimeHook``, order 10): scheduled actions that fell due;
    also where every scaling activity AAS made is kept, for DescribeScalingActivities."""

    def __init__(self) -> None:
        self.activities: list[ScalingActivity] = []

    def due_after(self, now: datetime) -> datetime | None:
        return None  # looked at whenever the clock steps (every schedule and world event)

    def run(self, now: datetime) -> None:
        run_scheduled_actions(now)

    def reset(self) -> None:
        self.activities.clear()


SCHEDULED_ACTIONS = ScheduledActionsHook()


def scaling_activities() -> list[ScalingActivity]:
    """Every scaling activity AAS made in this emulated world, oldest first."""
    return list(SCHEDULED_ACTIONS.activities)


def _within(action: Any, when: datetime) -> bool:
    def stamp(value: Any) -> datetime | None:
        if value in (None, ""):
            return None
        if isinstance(value, int | float):
            return datetime.fromtimestamp(float(value), tz=when.tzinfo)
        parsed = datetime.fromisoformat(str(value))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=when.tzinfo)

    start, end = stamp(action.start_time), stamp(action.end_time)
    return (start is None or when >= start) and (end is None or when <= end)


def _describe_scaling_activities(self: Any) -> str:
    resource_id = self._get_param("ResourceId")
    found = [
        a.to_api(self.current_account)
        for a in reversed(SCHEDULED_ACTIONS.activities)  # newest first, as AWS answers
        if resource_id in (None, f"{IC_PREFIX}{a.component}")
    ]
    size = self._get_int_param("MaxResults") or 50
    first = int(self._get_param("NextToken") or 0)
    page: dict[str, Any] = {"ScalingActivities": found[first : first + size]}
    if first + size < len(found):
        page["NextToken"] = str(first + size)
    return json.dumps(page)


# ------------------------------------------------------------------ tags (ABAC)
_original_register_response = aas_responses.ApplicationAutoScalingResponse.register_scalable_target


def _by_arn(backend: Any, arn: str) -> Any:
    from moto.core.exceptions import JsonRESTError

    for targets in backend.targets.values():
        for target in targets.values():
            if target.arn == arn:
                return target
    raise JsonRESTError("ResourceNotFoundException", f"No scalable target found for {arn}")


def _register_with_tags(self: Any) -> str:
    """RegisterScalableTarget's ``Tags`` apply when the target is created ("To tag an existing
    scalable target, use the TagResource operation")."""
    backend = self.applicationautoscaling_backend
    dimension, r_id = self._get_param("ScalableDimension"), self._get_param("ResourceId")
    new = r_id not in backend.targets.get(dimension, {})
    answer = _original_register_response(self)
    if new and self._get_param("Tags"):
        _by_arn(backend, json.loads(answer)["ScalableTargetARN"]).tags = dict(self._get_param("Tags"))
    return str(answer)


def _tag_resource(self: Any) -> str:
    target = _by_arn(self.applicationautoscaling_backend, self._get_param("ResourceARN"))
    target.tags = {**getattr(target, "tags", {}), **dict(self._get_param("Tags") or {})}
    return "{}"


def _untag_resource(self: Any) -> str:
    target = _by_arn(self.applicationautoscaling_backend, self._get_param("ResourceARN"))
    keys = set(self._get_param("TagKeys") or [])
    target.tags = {k: v for k, v in getattr(target, "tags", {}).items() if k not in keys}
    return "{}"


def _list_tags_for_resource(self: Any) -> str:
    target = _by_arn(self.applicationautoscaling_backend, self._get_param("ResourceARN"))
    return json.dumps({"Tags": dict(getattr(target, "tags", {}))})


def install() -> None:
    EMULATOR.add_hook(SCHEDULED_ACTIONS, order=10)
    _widen_dimension_enum()
    aas_models.FakeApplicationAutoscalingPolicy.create_alarms = _create_alarms  # type: ignore[method-assign]
    aas_models.ApplicationAutoscalingBackend.register_scalable_target = _register  # type: ignore[method-assign]
    aas_models.ApplicationAutoscalingBackend.deregister_scalable_target = _deregister  # type: ignore[method-assign]
    aas_responses.ApplicationAutoScalingResponse.describe_scaling_activities = _describe_scaling_activities  # type: ignore[attr-defined]
    responses = aas_responses.ApplicationAutoScalingResponse
    responses.register_scalable_target = _register_with_tags  # type: ignore[method-assign]
    responses.tag_resource = _tag_resource  # type: ignore[attr-defined]
    responses.untag_resource = _untag_resource  # type: ignore[attr-defined]
    responses.list_tags_for_resource = _list_tags_for_resource  # type: ignore[attr-defined]
