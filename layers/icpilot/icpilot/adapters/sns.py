"""SNS: publish lifecycle events with filterable message attributes."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from ..events import LifecycleEvent
from .aws import make_client, translate

logger = Logger(service="icpilot", child=True)


class EventPublisher:
    """Publishes events; a failed publish never undoes the action it reports.

    Events that could not be published are kept in ``undelivered`` and logged in full (CloudWatch
    Logs is then the record), so the caller can report them in its summary.
    """

    def __init__(self, topic_arn: str | None, client: Any | None = None) -> None:
        self.topic_arn = topic_arn
        self.client = make_client("sns", client) if topic_arn else None
        self.published: list[LifecycleEvent] = []
        self.undelivered: list[LifecycleEvent] = []

    def publish(self, event: LifecycleEvent) -> bool:
        logger.info("lifecycle event", extra={"lifecycle_event": event.model_dump(mode="json")})
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
            logger.error("event not published", extra={"event_id": event.id, "error": str(error)})
            self.undelivered.append(event)
            return False
        self.published.append(event)
        return True
