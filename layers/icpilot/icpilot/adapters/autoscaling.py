"""Application Auto Scaling: read and move an IC's scalable-target bounds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .aws import make_client, translate

NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:inference-component:DesiredCopyCount"


def resource_id(component: str) -> str:
    return f"inference-component/{component}"


@dataclass(frozen=True)
class ScalableTarget:
    min_capacity: int
    max_capacity: int
    suspended: dict[str, bool]

    @property
    def dynamic_suspended(self) -> bool:
        return bool(
            self.suspended.get("DynamicScalingInSuspended") and self.suspended.get("DynamicScalingOutSuspended")
        )


class AutoScalingAdapter:
    def __init__(self, client: Any | None = None) -> None:
        self.client = make_client("application-autoscaling", client)

    def describe_target(self, component: str) -> ScalableTarget | None:
        try:
            targets = self.client.describe_scalable_targets(
                ServiceNamespace=NAMESPACE, ResourceIds=[resource_id(component)], ScalableDimension=DIMENSION
            )["ScalableTargets"]
        except (ClientError, BotoCoreError) as exc:
            raise translate("application-autoscaling", "DescribeScalableTargets", exc) from exc
        if not targets:
            return None
        t = targets[0]
        return ScalableTarget(int(t["MinCapacity"]), int(t["MaxCapacity"]), dict(t.get("SuspendedState") or {}))

    def set_bounds(self, component: str, min_capacity: int, max_capacity: int, pin: bool) -> None:
        """Move the target's bounds; ``pin`` suspends dynamic scaling (an override holds the count)."""
        suspended = {
            "DynamicScalingInSuspended": pin,
            "DynamicScalingOutSuspended": pin,
            "ScheduledScalingSuspended": pin,
        }
        try:
            self.client.register_scalable_target(
                ServiceNamespace=NAMESPACE,
                ResourceId=resource_id(component),
                ScalableDimension=DIMENSION,
                MinCapacity=min_capacity,
                MaxCapacity=max_capacity,
                SuspendedState=suspended,
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate("application-autoscaling", "RegisterScalableTarget", exc) from exc
