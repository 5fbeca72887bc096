"""icpilot watches itself (issue 31, item 5): the stack's health alarms, evaluated by the emulator on
the metrics AWS would send (AWS/Lambda per function, AWS/SQS per queue), reach the topic as
ControllerUnhealthy and ControllerRecovered through the health function; when the health function
itself fails, Lambda's on-failure destination still reaches the topic."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from emulator import EMULATOR, FaultRule
from emulator.alarms import put_alarm_in_state
from emulator.stack import Stack, deploy_stack
from tests.conftest import fresh_account

pytestmark = pytest.mark.real_clock  # the emulator, deployed here

HEALTH_TYPES = ("ControllerUnhealthy", "ControllerRecovered")


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    with fresh_account(monkeypatch):
        deployed = deploy_stack()
        EMULATOR.alarm_evaluation_interval = 60
        yield deployed


def health_events(stack: Stack) -> list[dict[str, Any]]:
    return [e for e in stack.lifecycle_events() if e.get("type") in HEALTH_TYPES]


def break_function(stack: Stack, function: str) -> None:
    """A broken deployment of ``function``: every invocation raises (as an import error would)."""

    def broken(event: Any, context: Any) -> Any:
        raise RuntimeError(f"{function} is broken")

    deployed = stack.deployment.functions[function]
    EMULATOR.dispatcher.register(deployed.arn, broken, deployed.async_config, deployed.environment)


def test_a_fresh_stack_is_healthy_and_says_nothing(stack: Stack) -> None:
    # The tick-silent alarm's first evaluation sees three empty periods from before the deploy
    # (missing data is breaching); the tick ran since, so nothing is announced, then or later.
    EMULATOR.advance(3 * 3600)
    assert health_events(stack) == []
    assert not [i for i in EMULATOR.dispatcher.invocations if i.error]


def test_a_tick_that_stops_is_announced_once_and_its_return_once(stack: Stack) -> None:
    EMULATOR.advance(1800)
    stack.pause_periodic_schedules("TickSchedule")
    EMULATOR.advance(25 * 60)  # three complete silent periods of the tick's five minutes
    events = health_events(stack)
    assert [(e["type"], e["details"]["check"]) for e in events] == [("ControllerUnhealthy", "tick-silent")]
    unhealthy = events[0]
    assert unhealthy["severity"] == "error"
    assert unhealthy["details"]["alarm"] == "icpilot.health.tick-silent"
    assert unhealthy["details"]["functions"] == ["icpilot-watch-tick"]
    assert "TickSchedule" in unhealthy["reason"]  # what to do
    assert unhealthy["_attributes"]["event_type"] == "ControllerUnhealthy"  # filterable like every event

    EMULATOR.advance(30 * 60)  # still silent: not said again
    assert health_events(stack) == []

    for _ in range(4):  # the tick runs again (a restored schedule)
        stack.invoke("watch-tick", {"kind": "tick"})
        EMULATOR.advance(300)
    assert [(e["type"], e["details"]["check"]) for e in health_events(stack)] == [
        ("ControllerRecovered", "tick-silent")
    ]


def test_a_failing_function_is_named_and_its_dead_letters_are_announced(stack: Stack) -> None:
    EMULATOR.advance(600)
    break_function(stack, "watch-tick")
    EMULATOR.advance(15 * 60)
    events = health_events(stack)
    by_check = {e["details"]["check"]: e for e in events if e["type"] == "ControllerUnhealthy"}
    assert set(by_check) == {"errors", "dead-letters"}, [e["reason"] for e in events]
    assert by_check["errors"]["details"]["functions"] == ["icpilot-watch-tick"]  # only the one that failed
    assert "icpilot-watch-tick" in by_check["errors"]["reason"]
    assert "DeadLetterQueueUrl" in by_check["dead-letters"]["reason"]


def test_a_broken_health_function_still_reaches_the_topic_through_its_on_failure_destination(
    stack: Stack,
) -> None:
    EMULATOR.advance(600)
    break_function(stack, "watch-health")
    break_function(stack, "watch-tick")
    EMULATOR.advance(15 * 60)
    records = [e for e in stack.lifecycle_events() if "requestContext" in e]
    alarms = {r["requestPayload"]["alarmData"]["alarmName"] for r in records}
    assert "icpilot.health.errors" in alarms
    assert all(r["requestContext"]["condition"] == "RetriesExhausted" for r in records)
    assert all(r["responsePayload"]["errorMessage"] == "watch-health is broken" for r in records)


def test_deleting_the_stack_deletes_its_health_alarms(stack: Stack) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    assert len(cloudwatch.describe_alarms(AlarmNamePrefix="icpilot.health.")["MetricAlarms"]) == 5
    stack.delete()
    assert cloudwatch.describe_alarms(AlarmNamePrefix="icpilot.health.")["MetricAlarms"] == []


def test_a_state_table_that_refuses_writes_does_not_silence_the_health_alarm(stack: Stack) -> None:
    detail = put_alarm_in_state("icpilot.health.errors", "ALARM", reason="Threshold Crossed")
    payload = {
        "source": "aws.cloudwatch",
        "alarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:icpilot.health.errors",
        "accountId": "123456789012",
        "time": detail["state"]["timestamp"],
        "region": "us-east-1",
        "alarmData": detail,
    }
    EMULATOR.faults.configure([FaultRule("dynamodb", "PutItem", 1.0, kind="refused")])
    result = stack.invoke("watch-health", payload)
    assert result["outcome"] == "announced"  # unrecorded, said anyway: a repeat is better than silence
    assert [e["type"] for e in health_events(stack)] == ["ControllerUnhealthy"]
