"""Announcing: lifecycle events (SNS, through the publisher and its outbox) and EMF metrics."""

from __future__ import annotations

import os
from datetime import datetime

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from ..adapters.sns import EventPublisher
from ..domain.decision_types import Trigger
from ..domain.events import EventDraft, EventType, LifecycleEvent, TriggerInfo
from .outcomes import RunSummary

logger = Logger(service="icpilot", child=True)


def metric(name: str, value: float, unit: MetricUnit, endpoint: str, component: str) -> None:
    """One EMF metric per component (Powertools; printed to the log, no API call).

    single_metric does not read POWERTOOLS_METRICS_DISABLED, so the switch is honoured here: the
    CLI and local runs (emulator, demo) turn metrics off.
    """
    if os.environ.get("POWERTOOLS_METRICS_DISABLED", "false").lower() == "true":
        return
    with single_metric(
        name=name,
        unit=unit,
        value=value,
        namespace="icpilot",
        default_dimensions={"endpoint": endpoint, "component": component},
    ):
        pass


class Announcer:
    """One invocation's voice: every event carries its correlation id (the Lambda request id)."""

    def __init__(self, publisher: EventPublisher, correlation_id: str) -> None:
        self.publisher = publisher
        self.correlation_id = correlation_id

    def announce(
        self, draft: EventDraft, trigger: Trigger, now: datetime, endpoint: str | None, component: str | None
    ) -> None:
        """Publish the event; a component's event is also a metric of its type (ScaleRequested, ...)."""
        event = LifecycleEvent.from_draft(
            draft,
            time=now,
            endpoint=endpoint,
            component=component,
            trigger=TriggerInfo(kind=trigger.kind.value, source=trigger.source, rule=trigger.rule),
            correlation_id=self.correlation_id,
        )
        if component is not None and endpoint is not None:
            metric(str(draft.type), 1, MetricUnit.Count, endpoint, component)
        self.publisher.publish(event)

    def fail(self, summary: RunSummary, reason: str, trigger: Trigger, now: datetime) -> None:
        """A failure outside any one component (the run goes on): logged, announced, in the summary."""
        logger.warning("run step failed", extra={"error": reason})
        summary.errors.append(reason)
        self.announce(EventDraft(type=EventType.ACTION_FAILED, reason=reason), trigger, now, None, None)

    def finish(self, summary: RunSummary) -> RunSummary:
        """The summary with what this invocation published and could not deliver."""
        summary.events_published = len(self.publisher.published)
        summary.events_undelivered = len(self.publisher.undelivered)
        return summary
