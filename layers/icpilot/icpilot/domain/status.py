"""SageMaker's inference-component statuses, as icpilot reads them (DescribeInferenceComponent)."""

from __future__ import annotations

from enum import StrEnum


class ComponentStatus(StrEnum):
    IN_SERVICE = "InService"
    CREATING = "Creating"
    UPDATING = "Updating"
    DELETING = "Deleting"
    FAILED = "Failed"


# A component in these states refuses a copy-count write (the intent is deferred, not dropped).
BUSY = (ComponentStatus.CREATING, ComponentStatus.UPDATING, ComponentStatus.DELETING)
