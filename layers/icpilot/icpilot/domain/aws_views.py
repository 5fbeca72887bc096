"""What icpilot reads of Application Auto Scaling and CloudWatch, as plain values: what the
adapters return and the service's ports (``ports.py``) promise. Pure data; no AWS here."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


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

    @classmethod
    def of(cls, alarm: Mapping[str, Any]) -> AlarmState:
        """The state of a ``MetricAlarms`` entry of DescribeAlarms. StateTransitionedTimestamp is
        when StateValue last changed (an alarm event's state.timestamp); StateUpdatedTimestamp also
        moves when only the evaluation state does, and stands in where the former is missing."""
        changed = alarm.get("StateTransitionedTimestamp") or alarm["StateUpdatedTimestamp"]
        changed = changed if changed.tzinfo else changed.replace(tzinfo=UTC)
        return cls(str(alarm["StateValue"]), changed, latest_datapoint(alarm.get("StateReasonData")))


def latest_datapoint(reason_data: Any) -> float | None:
    """The last of ``recentDatapoints`` in an alarm's StateReasonData (JSON, as CloudWatch writes it
    for a threshold alarm); None when absent or unreadable, never an error: it only sizes a step."""
    try:
        points = json.loads(str(reason_data)).get("recentDatapoints") or []
        return float(points[-1]) if points else None
    except (ValueError, TypeError, AttributeError):
        return None
