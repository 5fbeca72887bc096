"""SNS: publish lifecycle events with filterable message attributes, one form per protocol.

The events topic gets one ``MessageStructure=json`` message per event (``domain.notifications``):
the JSON event for queues, Lambdas and webhooks, a short text for e-mail. When the stack turns chat
on, events at or above its severity also go, in Amazon Q Developer's custom-notification format,
to the chat topic a chat channel subscribes to.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from ..domain.events import SEVERITY, EventType, LifecycleEvent, Severity
from ..domain.notifications import chat_notification, severity_at_least, sns_message
from ..errors import IcpilotError
from .aws import error_code, make_client, translate
from .sqs import DeadLetterQueue

if TYPE_CHECKING:  # the protocol only: ports names this package's types
    from ..ports import Outbox

logger = Logger(service="icpilot", child=True)

# SNS refuses these for the message itself: publishing it again can never succeed. Everything
# else (throttling, 5xx, a deleted topic, missing permissions, a disabled KMS key) can heal once
# AWS recovers or an operator fixes the stack, so the event is parked and tried again.
REFUSED_FOR_GOOD = frozenset({"InvalidParameter", "InvalidParameterValue", "ValidationException"})
# A parked event older than this is dead-lettered instead of tried again every minute forever.
PARKED_MAX_AGE = timedelta(hours=24)

Sent = Literal["sent", "later", "refused"]


class EventPublisher:
    """Publishes events; a failed publish never undoes the action it reports.

    An event SNS did not take (after the SDK's retries) is parked in the state table when an
    ``outbox`` is given; the watcher publishes parked events again every minute, with their
    original id and time (subscribers can deduplicate on ``id``). If parking fails too, the event
    is logged in full, so CloudWatch Logs is the record. ``undelivered`` counts both cases.

    An event SNS refuses for good (``REFUSED_FOR_GOOD``), or one parked longer than
    ``PARKED_MAX_AGE``, is never tried again: it goes to the ``dead_letters`` queue with the
    error, and one ``ActionFailed`` event says so (that announcement is itself never announced).

    The chat copy (``chat_topic_arn``) is a view for people, not the record: the events topic holds
    every event, so a chat publish that fails is logged with the event id and not retried.
    """

    def __init__(
        self,
        topic_arn: str | None,
        client: Any | None = None,
        outbox: Outbox | None = None,
        dead_letters: DeadLetterQueue | None = None,
        chat_topic_arn: str | None = None,
        chat_severity: Severity = Severity.WARNING,
    ) -> None:
        self.topic_arn = topic_arn
        self.client = make_client("sns", client) if topic_arn else None
        self.chat_topic_arn = chat_topic_arn if self.client is not None else None
        self.chat_severity = chat_severity
        self.outbox = outbox
        self.dead_letters = dead_letters
        self.published: list[LifecycleEvent] = []
        self.undelivered: list[LifecycleEvent] = []
        self.dead_lettered: list[LifecycleEvent] = []

    def publish(self, event: LifecycleEvent) -> bool:
        logger.info("lifecycle event", extra={"lifecycle_event": event.model_dump(mode="json")})
        sent, error = self._send(event)
        if sent == "sent":
            return True
        self.undelivered.append(event)
        if sent == "refused":
            self._give_up(event, f"SNS refused it: {error}")
            return False
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

    def publish_parked(self, parked: dict[str, str], now: datetime | None = None) -> bool:
        """Publish one parked event again; True (and removed from the outbox) when SNS took it.
        Refused for good, or parked for longer than ``PARKED_MAX_AGE``: dead-lettered and removed."""
        try:
            event = LifecycleEvent.model_validate_json(parked["body"])
        except ValidationError as exc:  # cannot become valid by waiting: log it in full and drop it
            logger.error(
                "parked event unreadable", extra={"pk": parked["pk"], "error": str(exc), "body": parked["body"]}
            )
            if self.outbox is not None:
                self.outbox.drop_parked(parked["pk"])
            return False
        if now is not None and now - event.time > PARKED_MAX_AGE:
            self._give_up(event, f"SNS did not take it in {PARKED_MAX_AGE.total_seconds() / 3600:.0f} h of retries")
            if self.outbox is not None:
                self.outbox.drop_parked(parked["pk"])
            return False
        sent, error = self._send(event)
        if sent == "later":
            return False
        if sent == "refused":
            self._give_up(event, f"SNS refused it: {error}")
        if self.outbox is not None:
            self.outbox.drop_parked(parked["pk"])
        return sent == "sent"

    def _give_up(self, event: LifecycleEvent, why: str) -> None:
        """Keep the event on the dead-letter queue (else in the log) and announce that once."""
        self.dead_lettered.append(event)
        record = {"kind": "lifecycle-event-undeliverable", "why": why, "event": event.model_dump(mode="json")}
        kept_in = "the log (no dead-letter queue configured)"
        if self.dead_letters is not None:
            try:
                self.dead_letters.keep(record)
                kept_in = f"the dead-letter queue {self.dead_letters.name}"
            except IcpilotError as exc:
                kept_in = f"the log (the dead-letter queue refused it too: {exc})"
        logger.error("lifecycle event given up; not retried", extra={"why": why, "kept_in": kept_in, **record})
        if event.details.get("undeliverable_event_id"):
            return  # an announcement of a give-up is never announced in turn
        notice = LifecycleEvent(
            time=event.time,
            type=EventType.ACTION_FAILED,
            severity=SEVERITY[EventType.ACTION_FAILED],
            endpoint=event.endpoint,
            component=event.component,
            trigger=event.trigger,
            reason=f"lifecycle event {event.type} {event.id} was not delivered and is not retried ({why}); "
            f"it is kept in {kept_in}",
            correlation_id=event.correlation_id,
            details={"undeliverable_event_id": event.id, "undeliverable_type": event.type},
        ).bounded()
        self.publish(notice)

    def _send(self, event: LifecycleEvent) -> tuple[Sent, str]:
        """Publish once (the SDK retries); how it went, and the error when it did not."""
        if self.client is None:
            self.published.append(event)
            return "sent", ""
        try:
            self.client.publish(
                TopicArn=self.topic_arn,
                Subject=event.subject(),
                Message=sns_message(event),
                MessageStructure="json",
                MessageAttributes=event.message_attributes(),
            )
        except (ClientError, BotoCoreError) as exc:
            error = translate("sns", "Publish", exc)
            logger.warning("event not published", extra={"event_id": event.id, "error": str(error)})
            refused = isinstance(exc, ClientError) and error_code(exc) in REFUSED_FOR_GOOD
            return ("refused" if refused else "later"), str(error)
        self.published.append(event)
        self._chat(event)
        return "sent", ""

    def _chat(self, event: LifecycleEvent) -> None:
        """The event in the chat channel's format, when chat is on and the event is severe enough."""
        if self.client is None or self.chat_topic_arn is None or not severity_at_least(event, self.chat_severity):
            return
        try:
            self.client.publish(
                TopicArn=self.chat_topic_arn,
                Message=chat_notification(event).to_json(),
                MessageAttributes=event.message_attributes(),
            )
        except (ClientError, BotoCoreError) as exc:
            error = translate("sns", "Publish", exc)
            logger.warning(
                "event not posted to chat; the events topic has it", extra={"event_id": event.id, "error": str(error)}
            )
