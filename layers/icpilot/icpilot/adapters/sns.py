"""SNS: publish lifecycle events with filterable message attributes."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from ..errors import IcpilotError
from ..events import LifecycleEvent
from .aws import make_client, translate
from .state import StateStore

logger = Logger(service="icpilot", child=True)


class EventPublisher:
    """Publishes events; a failed publish never undoes the action it reports.

    An event SNS did not take (after the SDK's retries) is parked in the state table when an
    ``outbox`` is given; the watcher publishes parked events again every minute, with their
    original id and time (subscribers can deduplicate on ``id``). If parking fails too, the event
    is logged in full, so CloudWatch Logs is the record. ``undelivered`` counts both cases.
    """

    def __init__(self, topic_arn: str | None, client: Any | None = None, outbox: StateStore | None = None) -> None:
        self.topic_arn = topic_arn
        self.client = make_client("sns", client) if topic_arn else None
        self.outbox = outbox
        self.published: list[LifecycleEvent] = []
        self.undelivered: list[LifecycleEvent] = []

    def publish(self, event: LifecycleEvent) -> bool:
        logger.info("lifecycle event", extra={"lifecycle_event": event.model_dump(mode="json")})
        if self._send(event):
            return True
        self.undelivered.append(event)
        if self.outbox is not None:
            try:
                self.outbox.park_event(event.id, event.model_dump_json(), event.time)
                return False
            except IcpilotError as exc:
                logger.error("event not parked either", extra={"event_id": event.id, "error": str(exc)})
        logger.error(
            "lifecycle event lost from SNS; this log line is its record", extra={"event": event.model_dump(mode="json")}
        )
        return False

    def publish_parked(self, parked: dict[str, str]) -> bool:
        """Publish one parked event again; True (and removed from the outbox) when SNS took it."""
        try:
            event = LifecycleEvent.model_validate_json(parked["body"])
        except ValidationError as exc:  # cannot become valid by waiting: log it in full and drop it
            logger.error(
                "parked event unreadable", extra={"pk": parked["pk"], "error": str(exc), "body": parked["body"]}
            )
            if self.outbox is not None:
                self.outbox.drop_parked(parked["pk"])
            return False
        if not self._send(event):
            return False
        self.published.append(event)
        if self.outbox is not None:
            self.outbox.drop_parked(parked["pk"])
        return True

    def _send(self, event: LifecycleEvent) -> bool:
        if self.client is None:
            self.published.append(event)
            return True
        try:
            self.client.publish(
                TopicArn=self.topic_arn,
                Subject=event.subject(),
                Message=event.model_dump_json(),
                MessageAttributes=event.message_attributes(),
            )
        except (ClientError, BotoCoreError) as exc:
            error = translate("sns", "Publish", exc)
            logger.warning("event not published", extra={"event_id": event.id, "error": str(error)})
            return False
        self.published.append(event)
        return True
