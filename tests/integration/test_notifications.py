"""One lifecycle event, each subscriber its own form: a queue (the JSON event, as before), an e-mail
address (a short text) and a chat channel (Amazon Q Developer's custom-notification format, on the
chat topic), on the emulator with the deployed stack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import jsonschema
from icpilot.domain.events import LifecycleEvent
from icpilot.domain.notifications import email_text

from emulator import EMULATOR, Emulator
from emulator.sns_ext import mailbox
from emulator.stack import Stack
from emulator.template import ACCOUNT, REGION

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "events" / "chat" / "custom-notification.schema.json").read_text()
)


def subscribe_queue(topic_arn: str, name: str) -> str:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns", region_name=REGION).subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return url


def drain(url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=REGION)
    out: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for m in batch:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out


def open_falcon_window(stack: Stack, emu: Emulator) -> None:
    """Register falcon's target, reconcile schedules and run to 08:00 Berlin: its window opens."""
    boto3.client("application-autoscaling", region_name=REGION).register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="inference-component/falcon-7b",
        ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
        MinCapacity=0,
        MaxCapacity=4,
    )
    stack.invoke("watch-tick", stack.handler_event("watch_tick.json"))
    emu.advance(56 * 60)


def test_a_queue_a_mailbox_and_a_chat_channel_each_get_their_form_of_the_same_event(chat_stack: Stack) -> None:
    stack, emu = chat_stack, EMULATOR
    sns = boto3.client("sns", region_name=REGION)
    sns.subscribe(TopicArn=stack.topic_arn, Protocol="email", Endpoint="ops@example.com")
    chat_url = subscribe_queue(stack.outputs["ChatTopicArn"], "chat-channel")
    open_falcon_window(stack, emu)

    raw = drain(stack.events_queue_url)  # the stack's queue tap: SNS envelopes of the JSON event
    events = [LifecycleEvent.model_validate_json(m["Message"]) for m in raw]
    scaled = next(e for e in events if e.type == "Scaled" and e.component == "falcon-7b")
    envelope = next(m for m in raw if json.loads(m["Message"])["id"] == scaled.id)
    assert envelope["Message"] == scaled.model_dump_json()  # byte for byte the event's schema, as before

    mail = [m for m in mailbox(ACCOUNT, REGION) if m.to == "ops@example.com"]
    assert len(mail) == len(events)  # the inbox gets every event, as the queue does
    letter = next(m for m in mail if scaled.id in m.body)
    assert letter.subject == scaled.subject() == "[icpilot] Scaled falcon-7b 0→2 (llm-endpoint)"
    assert letter.body == email_text(scaled)
    assert letter.body.startswith("Copy count changed: falcon-7b 0 → 2 copies\n")

    chat = [json.loads(m["Message"]) for m in drain(chat_url)]
    assert [c["id"] for c in chat] == [e.id for e in events]  # ChatSeverity=info: every event
    for message in chat:
        jsonschema.validate(message, SCHEMA)
    posted = next(c for c in chat if c["id"] == scaled.id)
    assert posted["content"]["title"] == ":information_source: Copy count changed: falcon-7b 0 → 2 copies"
    assert posted["metadata"]["threadId"] == "icpilot/llm-endpoint/falcon-7b"


def test_chat_is_off_by_default_and_the_topic_carries_no_chat_form(stack: Stack, emu: Emulator) -> None:
    assert "ChatTopicArn" not in stack.outputs
    assert not any(
        t["TopicArn"].endswith("ChatTopic") for t in boto3.client("sns", region_name=REGION).list_topics()["Topics"]
    )
    open_falcon_window(stack, emu)
    events = stack.lifecycle_events()
    assert events and all("content" not in e for e in events)
