"""E-mail deliveries kept in a mailbox, as a mail client would receive them.

moto delivers SNS messages to SQS, Lambda and HTTP subscriptions and drops the ones for ``email``
and ``email-json``. The emulator keeps those in a per-account mailbox instead, after the same
filter policy and per-protocol message choice (``MessageStructure=json``) the other protocols get,
so a test (or ``GET /_emulator/mail``) reads what an operator's inbox would show.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from moto.sns import models as sns_models
from moto.sns.models import sns_backends

from .core import EMULATOR

MAIL_PROTOCOLS = ("email", "email-json")
_MAILBOX_ATTR = "_icpilot_mailbox"
_original_publish = sns_models.Subscription.publish


@dataclass(frozen=True)
class Mail:
    to: str
    protocol: str
    subject: str | None
    body: str
    topic_arn: str
    time: str


def mailbox(account_id: str, region: str) -> list[Mail]:
    """Every e-mail delivered in that account and region so far, oldest first."""
    backend = sns_backends[account_id][region]
    return list(backend.__dict__.get(_MAILBOX_ATTR, []))


def mailbox_json(account_id: str, region: str) -> list[dict[str, Any]]:
    return [asdict(m) for m in mailbox(account_id, region)]


def _publish(
    self: Any,
    message: str,
    message_id: str,
    subject: str | None = None,
    message_attributes: dict[str, Any] | None = None,
    group_id: str | None = None,
    deduplication_id: str | None = None,
    message_structure: str | None = None,
) -> None:
    if self.protocol not in MAIL_PROTOCOLS:
        _original_publish(
            self,
            message,
            message_id,
            subject=subject,
            message_attributes=message_attributes,
            group_id=group_id,
            deduplication_id=deduplication_id,
            message_structure=message_structure,
        )
        return
    if self._filter_policy_matcher is not None and not self._filter_policy_matcher.matches(message_attributes, message):
        return
    if message_structure == "json":
        message = self._parse_message_structure(message, self.protocol)
    if self.protocol == "email-json":  # the notification's JSON document, as HTTP subscribers get it
        message = json.dumps({"Type": "Notification", "MessageId": message_id, "Subject": subject, "Message": message})
    backend = self.topic.sns_backend
    backend.__dict__.setdefault(_MAILBOX_ATTR, []).append(
        Mail(self.endpoint, self.protocol, subject, message, self.topic.arn, EMULATOR.now().isoformat())
    )


def install() -> None:
    sns_models.Subscription.publish = _publish  # type: ignore[method-assign]
