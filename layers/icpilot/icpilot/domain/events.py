"""Lifecycle events published to SNS: one versioned JSON schema, filterable message attributes.

Every event carries: schema_version, id, time, type, severity, endpoint, component, from_copies,
to_copies, trigger, reason, correlation_id and type-specific ``details``. SNS message attributes
``event_type``, ``endpoint``, ``component`` and ``severity`` let subscribers filter.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.0"


class EventType(StrEnum):
    SCALE_REQUESTED = "ScaleRequested"
    SCALED = "Scaled"
    SCALED_TO_ZERO = "ScaledToZero"
    SCALE_DEFERRED = "ScaleDeferred"
    CAPACITY_REFUSED = "CapacityRefused"
    CEILING_REACHED = "CeilingReached"
    POLICY_INVALID = "PolicyInvalid"
    ACTION_FAILED = "ActionFailed"
    TRIGGER_REJECTED = "TriggerRejected"
    SCHEDULES_RECONCILED = "SchedulesReconciled"
    WARM_UP_STARTED = "WarmUpStarted"
    WARM_UP_DECLINED = "WarmUpDeclined"
    PREEMPTED = "Preempted"
    DRIFT_CORRECTED = "DriftCorrected"
    AUTOSCALING_CONFIGURED = "AutoScalingConfigured"
    WARM_UP_COMPLETED = "WarmUpCompleted"
    WARM_UP_TIMED_OUT = "WarmUpTimedOut"
    COMPONENT_FAILED = "ComponentFailed"
    COMPONENT_GONE = "ComponentGone"
    OWNERSHIP_CONFLICT = "OwnershipConflict"
    ENDPOINT_IDLE = "EndpointIdle"
    OVERRIDE_SET = "OverrideSet"
    OVERRIDE_ENDED = "OverrideEnded"
    FORECAST_UPDATED = "ForecastUpdated"
    DAILY_REPORT = "DailyReport"
    WOULD_SCALE = "WouldScale"
    POLICY_MISMATCH = "PolicyMismatch"
    CONTROLLER_UNHEALTHY = "ControllerUnhealthy"
    CONTROLLER_RECOVERED = "ControllerRecovered"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


SEVERITY = {
    EventType.SCALE_REQUESTED: Severity.INFO,
    EventType.SCALED: Severity.INFO,
    EventType.SCALED_TO_ZERO: Severity.INFO,
    EventType.SCALE_DEFERRED: Severity.WARNING,
    EventType.CAPACITY_REFUSED: Severity.WARNING,
    EventType.CEILING_REACHED: Severity.WARNING,
    EventType.POLICY_INVALID: Severity.ERROR,
    EventType.ACTION_FAILED: Severity.ERROR,
    EventType.COMPONENT_GONE: Severity.WARNING,
    EventType.OWNERSHIP_CONFLICT: Severity.ERROR,
    EventType.TRIGGER_REJECTED: Severity.WARNING,
    EventType.SCHEDULES_RECONCILED: Severity.INFO,
    EventType.WARM_UP_STARTED: Severity.INFO,
    EventType.WARM_UP_DECLINED: Severity.INFO,
    EventType.PREEMPTED: Severity.WARNING,
    EventType.DRIFT_CORRECTED: Severity.WARNING,
    EventType.AUTOSCALING_CONFIGURED: Severity.INFO,
    EventType.WARM_UP_COMPLETED: Severity.INFO,
    EventType.WARM_UP_TIMED_OUT: Severity.ERROR,
    EventType.COMPONENT_FAILED: Severity.ERROR,
    EventType.ENDPOINT_IDLE: Severity.INFO,
    EventType.OVERRIDE_SET: Severity.WARNING,
    EventType.OVERRIDE_ENDED: Severity.INFO,
    EventType.FORECAST_UPDATED: Severity.INFO,
    EventType.DAILY_REPORT: Severity.INFO,
    EventType.WOULD_SCALE: Severity.INFO,
    EventType.POLICY_MISMATCH: Severity.WARNING,
    EventType.CONTROLLER_UNHEALTHY: Severity.ERROR,
    EventType.CONTROLLER_RECOVERED: Severity.INFO,
}


MAX_REASON = 2_000  # characters
MAX_DETAILS_BYTES = 16 * 1024


log = logging.getLogger("icpilot.domain.events")  # a child of Powertools' "icpilot" logger in the Lambdas


def _log_in_full(event: LifecycleEvent) -> None:
    log.warning("lifecycle event in full", extra={"lifecycle_event": event.model_dump(mode="json")})


class EventDraft(BaseModel):
    """What the decision wants said; the controller stamps id, time and correlation id."""

    model_config = ConfigDict(frozen=True)

    type: EventType
    reason: str
    from_copies: int | None = None
    to_copies: int | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    # What makes the event true, when one fact can be announced by racing runs (e.g. "the warm-up
    # accepted at T is ready"): the event's id is derived from it, so subscribers can deduplicate.
    fact: str | None = None


def fact_id(fact: str) -> str:
    """The event id of a fact: the same fact, announced twice, carries the same id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"icpilot:{fact}"))


class TriggerInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str
    source: str = ""
    rule: str | None = None


class LifecycleEvent(BaseModel):
    model_config = ConfigDict(frozen=True, use_enum_values=True)

    schema_version: str = SCHEMA_VERSION
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime
    type: EventType
    severity: Severity
    endpoint: str | None = None
    component: str | None = None
    from_copies: int | None = None
    to_copies: int | None = None
    trigger: TriggerInfo
    reason: str
    correlation_id: str
    details: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_draft(
        cls,
        draft: EventDraft,
        *,
        time: datetime,
        endpoint: str | None,
        component: str | None,
        trigger: TriggerInfo,
        correlation_id: str,
    ) -> LifecycleEvent:
        event = cls(
            **({"id": fact_id(draft.fact)} if draft.fact else {}),
            time=time,
            type=draft.type,
            severity=SEVERITY[draft.type],
            endpoint=endpoint,
            component=component,
            from_copies=draft.from_copies,
            to_copies=draft.to_copies,
            trigger=trigger,
            reason=draft.reason,
            correlation_id=correlation_id,
            details=draft.details,
        )
        return event.bounded()

    def bounded(self) -> LifecycleEvent:
        """The event within SNS's and DynamoDB's limits (256 KB a message, 400 KB an item; the
        outbox parks events in the state table): a reason over MAX_REASON characters is cut, and
        details over MAX_DETAILS_BYTES are replaced by a summary (their keys and size) pointing to the
        function's log, where the full event is written once under ``lifecycle event in full``."""
        reason = self.reason if len(self.reason) <= MAX_REASON else self.reason[: MAX_REASON - 1] + "…"
        size = len(json.dumps(self.details, default=str).encode())
        if reason == self.reason and size <= MAX_DETAILS_BYTES:
            return self
        details = self.details
        if size > MAX_DETAILS_BYTES:
            _log_in_full(self)
            details = {
                "truncated": True,
                "size_bytes": size,
                "keys": sorted(self.details)[:50],
                "full_detail": f"in the function's log: 'lifecycle event in full', id {self.id}",
            }
        return self.model_copy(update={"reason": reason, "details": details})

    def subject(self) -> str:
        """A readable SNS Subject (≤100 characters, no line breaks)."""
        change = (
            f" {self.from_copies}→{self.to_copies}"
            if self.from_copies is not None and self.to_copies is not None
            else ""
        )
        where = f" {self.component}" if self.component else ""
        text = f"[icpilot] {self.type}{where}{change}" + (f" ({self.endpoint})" if self.endpoint else "")
        return text[:100]

    def message_attributes(self) -> dict[str, dict[str, str]]:
        attrs = {
            "event_type": str(self.type),
            "severity": str(self.severity),
            "endpoint": self.endpoint or "-",
            "component": self.component or "-",
        }
        return {k: {"DataType": "String", "StringValue": v} for k, v in attrs.items()}
