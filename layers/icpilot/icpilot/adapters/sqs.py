"""SQS: the stack's dead-letter queue, where what cannot be delivered or retried is kept."""

from __future__ import annotations

import json
from typing import Any

from .aws import aws_call, make_client


class DeadLetterQueue:
    """The KMS-encrypted queue that also holds Lambda's on-failure records (14 days)."""

    def __init__(self, queue_url: str, client: Any | None = None) -> None:
        self.queue_url = queue_url
        self.client = make_client("sqs", client)

    @property
    def name(self) -> str:
        return self.queue_url.rstrip("/").rsplit("/", 1)[-1]

    def keep(self, record: dict[str, Any]) -> None:
        """Send one record (JSON); raises an icpilot error when SQS does not take it."""
        with aws_call("sqs", "SendMessage"):
            self.client.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(record, default=str))
