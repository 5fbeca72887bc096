"""An alarm event is a claim: the alarm function confirms it with CloudWatch before acting.

Anyone allowed to invoke the function could otherwise forge an idle alarm and take a component
to zero, or replay an old one. These run the handler in-process against the emulator."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from emulator import Emulator
from emulator.faults import FaultRule
from emulator.stack import Stack

REGION = "us-east-1"


def desired(name: str) -> int:
    described = boto3.client("sagemaker", region_name=REGION).describe_inference_component(InferenceComponentName=name)
    return int(described["RuntimeConfig"]["DesiredCopyCount"])


def rejections(stack: Stack) -> list[str]:
    return [e["reason"] for e in stack.lifecycle_events() if e["type"] == "TriggerRejected"]


@pytest.fixture
def running(stack: Stack, emu: Emulator) -> Stack:
    """08:04 Berlin on Monday: both windows open, flan at 1 copy and falcon at 2, alarms configured."""
    emu.advance(60 * 60)
    assert desired("flan-t5-xxl") == 1
    stack.lifecycle_events()
    return stack


def test_a_forged_idle_alarm_is_rejected_and_changes_nothing(running: Stack, emu: Emulator) -> None:
    emu.advance(12 * 3600)  # 20:04 Berlin: no window holds flan; its idle alarm is really OK
    boto3.client("cloudwatch", region_name=REGION).set_alarm_state(
        AlarmName="icpilot-flan-t5-xxl-idle", StateValue="OK", StateReason="requests are arriving"
    )
    forged = running.handler_event("alarm_scale_idle.json")
    forged["detail"]["alarmName"] = "icpilot-flan-t5-xxl-idle"
    forged["detail"]["state"]["timestamp"] = emu.now().isoformat(timespec="milliseconds")
    before = desired("flan-t5-xxl")
    summary = running.invoke("alarm-scale", forged)
    assert summary["outcomes"][0]["result"] == "rejected"
    assert "is OK in CloudWatch, not ALARM" in summary["outcomes"][0]["reason"]
    assert desired("flan-t5-xxl") == before
    assert any("not ALARM as the event says" in r for r in rejections(running))


def test_a_replayed_alarm_event_is_rejected(running: Stack, emu: Emulator) -> None:
    """The alarm is in ALARM, but it went there at another moment than the event says."""
    running.alarm_event("alarm_scale_no_capacity.json")  # really in ALARM now
    replay = running.handler_event("alarm_scale_no_capacity.json")  # a copy of an old delivery
    summary = running.invoke("alarm-scale", replay)
    assert summary["outcomes"][0]["result"] == "rejected"
    assert "a replayed or forged event" in summary["outcomes"][0]["reason"]


def test_an_alarm_that_does_not_exist_is_rejected(running: Stack) -> None:
    ghost = running.handler_event("alarm_scale_high_load.json")
    ghost["detail"]["alarmName"] = "icpilot-flan-t5-xxl-high-load"  # flan has no high_load: never created
    summary = running.invoke("alarm-scale", ghost)
    assert summary["outcomes"][0]["result"] == "rejected"
    assert "does not exist in CloudWatch" in summary["outcomes"][0]["reason"]


def test_an_event_without_a_state_timestamp_cannot_be_confirmed(running: Stack) -> None:
    event = running.alarm_event("alarm_scale_no_capacity.json")
    del event["detail"]["state"]["timestamp"]
    summary = running.invoke("alarm-scale", event)
    assert summary["outcomes"][0]["result"] == "rejected" and "no state timestamp" in summary["outcomes"][0]["reason"]


def test_a_true_event_in_either_payload_shape_is_acted_on(running: Stack, emu: Emulator) -> None:
    emu.advance(12 * 3600)
    for sample in ("alarm_scale_idle.json", "alarm_scale_direct.json"):
        state = "ALARM"
        event: dict[str, Any] = running.alarm_event(sample, alarm="icpilot-flan-t5-xxl-idle", state=state)
        summary = running.invoke("alarm-scale", event)
        assert summary["outcomes"][0]["result"] in ("scaled", "unchanged"), summary
        assert "rejected" not in json.dumps(summary["outcomes"])
        emu.advance(60)
    assert desired("flan-t5-xxl") == 0


def test_when_cloudwatch_cannot_confirm_the_invocation_is_retried_then_dead_lettered(
    running: Stack, emu: Emulator
) -> None:
    event = running.alarm_event("alarm_scale_no_capacity.json", alarm="icpilot-falcon-7b-no-capacity")
    emu.dispatcher.raise_errors = False
    emu.faults.configure([FaultRule("cloudwatch", "DescribeAlarms", 1.0, "5xx")])
    emu.dispatcher.invoke_async(
        running.env["ICPILOT_SCHEDULE_FUNCTION_ARN"].replace("schedule-window", "alarm-scale"), event, "rule:test"
    )
    emu.faults.configure([])
    runs = [i for i in emu.dispatcher.invocations if i.function == "icpilot-alarm-scale"]
    assert len(runs) == 2 and all(r.error and "DescribeAlarms" in r.error for r in runs)
    failed = [e for e in running.lifecycle_events() if e["type"] == "ActionFailed"]
    assert failed and "confirming alarm 'icpilot-falcon-7b-no-capacity'" in failed[0]["reason"]
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName=running.dlq_arn.rsplit(":", 1)[1])["QueueUrl"]
    [letter] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert json.loads(letter["Body"])["requestPayload"] == event
