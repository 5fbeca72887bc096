"""What icpilot reads of Application Auto Scaling and CloudWatch, as plain values: what the
adapters return and the service's ports (``ports.py``) promise. Pure data; no AWS here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ScalableTarget:
    """A component's AAS scalable target: its bounds, what dynamic scaling is suspended, its ARN."""

    min_capacity: int
    max_capacity: int
    suspended: dict[str, bool]
    arn: str = ""  # ScalableTargetARN (tags are read and written by it)

    @property
    def scale_out_suspended(self) -> bool:
        return bool(self.suspended.get("DynamicScalingOutSuspended"))

    @property
    def dynamic_suspended(self) -> bool:
        return bool(
            self.suspended.get("DynamicScalingInSuspended") and self.suspended.get("DynamicScalingOutSuspended")
        )


@dataclass(frozen=True)
class AlarmState:
    """A CloudWatch alarm's state as it is now."""

    value: str  # OK | ALARM | INSUFFICIENT_DATA
    changed_at: datetime
    latest: float | None = None  # the newest datapoint the last evaluation saw (StateReasonData)
