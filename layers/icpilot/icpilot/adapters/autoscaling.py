"""Application Auto Scaling: read and move an IC's scalable-target bounds."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from ..domain.aws_views import ScalableTarget
from .aws import aws_call, make_client

NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
TARGETS_PER_CALL = 50
# The tag that says which icpilot stack manages a scalable target. The stack's IAM lets it move,
# deregister or attach policies only to targets with its own value (ABAC: target ARNs carry a
# random id, not the component, so no ARN pattern can scope them).
STACK_TAG = "icpilot:stack"


# AAS describes a change of a scalable target's capacity as "Setting desired <unit> count to N."
# ("desired count" for ECS services, "desired instance count" for endpoint variants; the emulator
# says "desired copy count" for inference components). Any of them is read.
COPY_COUNT_SET = re.compile(r"desired (?:\w+ )?count to (\d+)", re.IGNORECASE)


def resource_id(component: str) -> str:
    return f"inference-component/{component}"


class AutoScalingAdapter:
    """``stack``: the icpilot stack this adapter acts for (the ``STACK_TAG`` value it writes and honours)."""

    def __init__(self, client: Any | None = None, stack: str = "icpilot") -> None:
        self.client = make_client("application-autoscaling", client)
        self.stack = stack

    def manages(self, target: ScalableTarget) -> bool:
        """Whether this stack manages the target (its tag says so; a target read without its ARN is
        taken as managed). A team's target is moved only once configure has claimed it."""
        return not target.arn or self.stack_of(target) == self.stack

    def describe_target(self, component: str) -> ScalableTarget | None:
        return self.describe_targets([component])[component]

    def describe_targets(self, components: list[str]) -> dict[str, ScalableTarget | None]:
        """Each component's scalable target (None where it has none), 50 per call (the API's limit)."""
        out: dict[str, ScalableTarget | None] = dict.fromkeys(components)
        for i in range(0, len(components), TARGETS_PER_CALL):
            chunk = components[i : i + TARGETS_PER_CALL]
            with aws_call("application-autoscaling", "DescribeScalableTargets"):
                for page in self.client.get_paginator("describe_scalable_targets").paginate(
                    ServiceNamespace=NAMESPACE, ResourceIds=[resource_id(c) for c in chunk], ScalableDimension=DIMENSION
                ):
                    for t in page["ScalableTargets"]:
                        out[t["ResourceId"].removeprefix("inference-component/")] = ScalableTarget(
                            int(t["MinCapacity"]),
                            int(t["MaxCapacity"]),
                            dict(t.get("SuspendedState") or {}),
                            str(t.get("ScalableTargetARN") or ""),
                        )
        return out

    def copy_count_settings(self, component: str, since: datetime, until: datetime) -> list[tuple[datetime, int]]:
        """The copy counts AAS set on the component, ``(time, count)`` oldest first: its successful
        scaling activities up to ``until``, back to the last one at or before ``since`` (the count
        the period starts with). Newest first from the API, so paging stops there."""
        out: list[tuple[datetime, int]] = []
        with aws_call("application-autoscaling", "DescribeScalingActivities"):
            pages = self.client.get_paginator("describe_scaling_activities").paginate(
                ServiceNamespace=NAMESPACE, ResourceId=resource_id(component), ScalableDimension=DIMENSION
            )
            for page in pages:
                for activity in page["ScalingActivities"]:
                    found = COPY_COUNT_SET.search(str(activity.get("Description", "")))
                    started = activity.get("StartTime")
                    if activity.get("StatusCode") != "Successful" or found is None or not isinstance(started, datetime):
                        continue
                    if started <= until:
                        out.append((started, int(found.group(1))))
                    if started <= since:
                        return sorted(out)
        return sorted(out)

    def set_bounds(
        self, component: str, min_capacity: int, max_capacity: int, pin: bool, suspend_scale_out: bool = False
    ) -> None:
        """Move the target's bounds. ``pin`` suspends all dynamic scaling (an override holds the count);
        ``suspend_scale_out`` only scale-out (a warm-up is loading)."""
        self.register_target(component, min_capacity, max_capacity, suspended(pin, suspend_scale_out))

    def register_target(
        self,
        component: str,
        min_capacity: int,
        max_capacity: int,
        suspended_state: dict[str, bool] | None = None,
        tag: bool = False,
    ) -> None:
        """Register or update the target; ``tag``: a new target is tagged as this stack's."""
        kwargs: dict[str, Any] = {}
        if suspended_state is not None:
            kwargs["SuspendedState"] = suspended_state
        if tag:
            kwargs["Tags"] = {STACK_TAG: self.stack}
        with aws_call("application-autoscaling", "RegisterScalableTarget"):
            self.client.register_scalable_target(
                ServiceNamespace=NAMESPACE,
                ResourceId=resource_id(component),
                ScalableDimension=DIMENSION,
                MinCapacity=min_capacity,
                MaxCapacity=max_capacity,
                **kwargs,
            )

    def stack_of(self, target: ScalableTarget) -> str | None:
        """The icpilot stack that manages the target (its ``STACK_TAG``), None when no stack does."""
        with aws_call("application-autoscaling", "ListTagsForResource"):
            tags = self.client.list_tags_for_resource(ResourceARN=target.arn).get("Tags") or {}
        return tags.get(STACK_TAG)

    def claim(self, target: ScalableTarget) -> None:
        """Tag a target no stack manages as this stack's (only an untagged one: see template.yaml)."""
        with aws_call("application-autoscaling", "TagResource"):
            self.client.tag_resource(ResourceARN=target.arn, Tags={STACK_TAG: self.stack})

    def release(self, target: ScalableTarget) -> None:
        """Remove the stack's tag from a target it claimed (the stack is being deleted)."""
        with aws_call("application-autoscaling", "UntagResource"):
            self.client.untag_resource(ResourceARN=target.arn, TagKeys=[STACK_TAG])

    def deregister_target(self, component: str) -> None:
        with aws_call("application-autoscaling", "DeregisterScalableTarget"):
            self.client.deregister_scalable_target(
                ServiceNamespace=NAMESPACE, ResourceId=resource_id(component), ScalableDimension=DIMENSION
            )

    def policies(self, component: str) -> dict[str, dict[str, Any]]:
        with aws_call("application-autoscaling", "DescribeScalingPolicies"):
            found = self.client.describe_scaling_policies(
                ServiceNamespace=NAMESPACE, ResourceId=resource_id(component), ScalableDimension=DIMENSION
            )["ScalingPolicies"]
        return {p["PolicyName"]: p for p in found if p.get("ResourceId") == resource_id(component)}

    def all_policies(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Every inference component's scaling policies by component and name: the namespace
        listed page by page (50 a page, the API's most), a few calls for a whole fleet instead of
        one per component."""
        out: dict[str, dict[str, dict[str, Any]]] = {}
        with aws_call("application-autoscaling", "DescribeScalingPolicies"):
            for page in self.client.get_paginator("describe_scaling_policies").paginate(
                ServiceNamespace=NAMESPACE, PaginationConfig={"PageSize": 50}
            ):
                for p in page["ScalingPolicies"]:
                    if p.get("ScalableDimension") == DIMENSION:
                        component = str(p["ResourceId"]).removeprefix("inference-component/")
                        out.setdefault(component, {})[p["PolicyName"]] = p
        return out

    def snapshot(self, component: str, foreign_prefix: str) -> dict[str, Any]:
        """The target as its owner set it up: registration, scaling policies whose names do not start
        with ``foreign_prefix`` (icpilot's), and scheduled actions. JSON-able."""
        raw = self.describe_targets([component])[component]
        if raw is None:
            return {}
        with aws_call("application-autoscaling", "DescribeScheduledActions"):
            actions = self.client.describe_scheduled_actions(
                ServiceNamespace=NAMESPACE, ResourceId=resource_id(component), ScalableDimension=DIMENSION
            )["ScheduledActions"]
        policies = [
            {"PolicyName": name, "PolicyType": p["PolicyType"], **{k: p[k] for k in POLICY_CONFIGS if k in p}}
            for name, p in sorted(self.policies(component).items())
            if not name.startswith(foreign_prefix)
        ]
        return _jsonable(
            {
                "MinCapacity": raw.min_capacity,
                "MaxCapacity": raw.max_capacity,
                "SuspendedState": {
                    k: bool(raw.suspended.get(k, False))
                    for k in ("DynamicScalingInSuspended", "DynamicScalingOutSuspended", "ScheduledScalingSuspended")
                },
                "Policies": policies,
                "ScheduledActions": [
                    {"ScheduledActionName": a["ScheduledActionName"], **{k: a[k] for k in ACTION_FIELDS if k in a}}
                    for a in sorted(actions, key=lambda a: a["ScheduledActionName"])
                ],
            }
        )

    def restore(self, component: str, record: dict[str, Any], foreign_prefix: str) -> list[str]:
        """Put the target back as ``record`` (``snapshot``) says; what was changed, in words. Only
        what differs is written, so an untouched policy keeps its ARN and alarms."""
        done: list[str] = []
        now = self.snapshot(component, foreign_prefix)
        if not now or any(now[k] != record[k] for k in ("MinCapacity", "MaxCapacity", "SuspendedState")):
            self.register_target(component, record["MinCapacity"], record["MaxCapacity"], record["SuspendedState"])
            done.append(f"registration {record['MinCapacity']}..{record['MaxCapacity']}")
        have = {p["PolicyName"]: p for p in now.get("Policies", [])}
        for policy in record["Policies"]:
            if have.get(policy["PolicyName"]) != policy:
                config = {k: policy[k] for k in POLICY_CONFIGS if k in policy}
                with aws_call("application-autoscaling", "PutScalingPolicy"):
                    self.client.put_scaling_policy(
                        PolicyName=policy["PolicyName"],
                        ServiceNamespace=NAMESPACE,
                        ResourceId=resource_id(component),
                        ScalableDimension=DIMENSION,
                        PolicyType=policy["PolicyType"],
                        **config,
                    )
                done.append(f"policy {policy['PolicyName']}")
        actions = {a["ScheduledActionName"]: a for a in now.get("ScheduledActions", [])}
        for action in record["ScheduledActions"]:
            if actions.get(action["ScheduledActionName"]) != action:
                fields = {k: action[k] for k in ACTION_FIELDS if k in action}
                for key in ("StartTime", "EndTime"):
                    if key in fields:
                        fields[key] = datetime.fromisoformat(fields[key])
                with aws_call("application-autoscaling", "PutScheduledAction"):
                    self.client.put_scheduled_action(
                        ServiceNamespace=NAMESPACE,
                        ResourceId=resource_id(component),
                        ScalableDimension=DIMENSION,
                        ScheduledActionName=action["ScheduledActionName"],
                        **fields,
                    )
                done.append(f"scheduled action {action['ScheduledActionName']}")
        return done

    def put_policy(self, component: str, name: str, policy_type: str, configuration: dict[str, Any]) -> str:
        key = (
            "StepScalingPolicyConfiguration"
            if policy_type == "StepScaling"
            else "TargetTrackingScalingPolicyConfiguration"
        )
        with aws_call("application-autoscaling", "PutScalingPolicy"):
            return str(
                self.client.put_scaling_policy(
                    PolicyName=name,
                    ServiceNamespace=NAMESPACE,
                    ResourceId=resource_id(component),
                    ScalableDimension=DIMENSION,
                    PolicyType=policy_type,
                    **{key: configuration},
                )["PolicyARN"]
            )

    def delete_policy(self, component: str, name: str) -> None:
        with aws_call("application-autoscaling", "DeleteScalingPolicy"):
            self.client.delete_scaling_policy(
                PolicyName=name,
                ServiceNamespace=NAMESPACE,
                ResourceId=resource_id(component),
                ScalableDimension=DIMENSION,
            )


# What a team's scalable target is, as recorded before icpilot first writes to it and put back when
# the stack is deleted: its registration, its scaling policies (not icpilot's) and scheduled actions.
POLICY_CONFIGS = ("StepScalingPolicyConfiguration", "TargetTrackingScalingPolicyConfiguration")
ACTION_FIELDS = ("Schedule", "Timezone", "StartTime", "EndTime", "ScalableTargetAction")


def _jsonable(value: Any) -> Any:
    """AAS answers with datetimes (StartTime...): ISO text in a record, parsed back to restore."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def suspended(pin: bool, suspend_scale_out: bool = False) -> dict[str, bool]:
    return {
        "DynamicScalingInSuspended": pin,
        "DynamicScalingOutSuspended": pin or suspend_scale_out,
        "ScheduledScalingSuspended": pin,
    }
