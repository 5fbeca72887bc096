"""SageMaker's endpoint and inference-component statuses, as icpilot reads them (Describe*)."""

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


class EndpointStatus(StrEnum):
    IN_SERVICE = "InService"
    CREATING = "Creating"
    UPDATING = "Updating"
    SYSTEM_UPDATING = "SystemUpdating"
    ROLLING_BACK = "RollingBack"
    OUT_OF_SERVICE = "OutOfService"
    DELETING = "Deleting"
    FAILED = "Failed"
    UPDATE_ROLLBACK_FAILED = "UpdateRollbackFailed"


# An endpoint in these states refuses changes to its components for a while: the intent is deferred.
ENDPOINT_BUSY = (
    EndpointStatus.CREATING,
    EndpointStatus.UPDATING,
    EndpointStatus.SYSTEM_UPDATING,
    EndpointStatus.ROLLING_BACK,
)
# An endpoint in these states will not serve again by waiting: icpilot leaves its components alone.
ENDPOINT_DOWN = (
    EndpointStatus.OUT_OF_SERVICE,
    EndpointStatus.DELETING,
    EndpointStatus.FAILED,
    EndpointStatus.UPDATE_ROLLBACK_FAILED,
)
