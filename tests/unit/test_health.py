"""The stack's health alarms (domain.health) and template.yaml's wiring of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from cfnlint.decode import decode
from icpilot.domain.events import EventType
from icpilot.domain.health import HealthCheck, health_alarm_name, health_check_of, health_event

TEMPLATE, _ = decode(str(Path(__file__).resolve().parents[2] / "template.yaml"))
RESOURCES = TEMPLATE["Resources"]
FUNCTIONS = {name for name, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}
ALARMS = {
    r["Properties"]["AlarmName"]["Fn::Sub"]: r for r in RESOURCES.values() if r["Type"] == "AWS::CloudWatch::Alarm"
}


@pytest.mark.parametrize(
    ("alarm", "stack", "check"),
    [
        ("icpilot.health.errors", "icpilot", HealthCheck.ERRORS),
        ("icpilot-dev.health.tick-silent", "icpilot-dev", HealthCheck.TICK_SILENT),
        ("icpilot-dev.health.tick-silent", "icpilot", None),  # another stack's
        ("icpilot.health.unknown", "icpilot", None),
        ("icpilot-falcon-7b-no-capacity", "icpilot", None),  # a component alarm
        ("icpilot.health.", "icpilot", None),
    ],
)
def test_only_this_stacks_health_alarms_are_its_checks(alarm: str, stack: str, check: HealthCheck | None) -> None:
    assert health_check_of(alarm, stack) == check


@pytest.mark.parametrize(
    ("state", "previous", "expected"),
    [
        ("ALARM", "OK", EventType.CONTROLLER_UNHEALTHY),
        ("ALARM", "INSUFFICIENT_DATA", EventType.CONTROLLER_UNHEALTHY),
        ("OK", "ALARM", EventType.CONTROLLER_RECOVERED),
        ("OK", "INSUFFICIENT_DATA", None),  # a new alarm's first verdict: nothing to say
        ("INSUFFICIENT_DATA", "OK", None),
    ],
)
def test_an_alarm_change_is_an_event_only_into_and_out_of_alarm(
    state: str, previous: str, expected: EventType | None
) -> None:
    draft = health_event(HealthCheck.DEAD_LETTERS, "s.health.dead-letters", state, previous, "t", "why")
    assert (draft.type if draft else None) == expected


def test_the_same_change_delivered_twice_is_one_event_id() -> None:
    one = health_event(HealthCheck.ERRORS, "s.health.errors", "ALARM", "OK", "2026-11-23T09:05:00.000+0000", "x")
    two = health_event(HealthCheck.ERRORS, "s.health.errors", "ALARM", "OK", "2026-11-23T09:05:00.000+0000", "x")
    later = health_event(HealthCheck.ERRORS, "s.health.errors", "ALARM", "OK", "2026-11-23T10:05:00.000+0000", "x")
    assert one and two and later
    assert one.fact == two.fact != later.fact


def test_every_check_has_its_alarm_and_every_alarm_calls_the_health_function() -> None:
    assert set(ALARMS) == {health_alarm_name("${AWS::StackName}", check) for check in HealthCheck}
    for alarm in ALARMS.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Fn::GetAtt": ["WatchHealthFunction", "Arn"]}]
        assert alarm["Properties"]["OKActions"] == alarm["Properties"]["AlarmActions"]


@pytest.mark.parametrize("check", [HealthCheck.ERRORS, HealthCheck.THROTTLES])
def test_every_function_is_watched_for_errors_and_throttles(check: HealthCheck) -> None:
    alarm = ALARMS[health_alarm_name("${AWS::StackName}", check)]
    metrics = alarm["Properties"]["Metrics"]
    watched = {q["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"] for q in metrics if "MetricStat" in q}
    assert watched == FUNCTIONS  # a new function must be added to both alarms
    assert len(watched) <= 10  # CloudWatch's hard limit of metrics in one metric-math alarm


def test_the_health_functions_own_failure_goes_to_the_topic_not_to_the_queue_it_watches() -> None:
    config = RESOURCES["WatchHealthFunction"]["Properties"]["EventInvokeConfig"]
    assert config["DestinationConfig"]["OnFailure"] == {"Type": "SNS", "Destination": {"Ref": "EventsTopic"}}
