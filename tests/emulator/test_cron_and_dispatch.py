"""AWS schedule expressions at explicit times, read by icpilot's parser and by the emulator's own
(two implementations: each is checked against AWS's documented rules, and against the other), and
the dispatcher that fires them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icpilot.policy.cron import ScheduleExpression, ScheduleExpressionError

from emulator import Emulator, evaluate_alarms
from emulator.schedule_expressions import ScheduleClock, ScheduleNotEmulated
from tests.strength import examples


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "tz", "after", "expected"),
    [
        ("cron(0 8 ? * MON-FRI *)", "Europe/Berlin", utc(2026, 11, 23, 6, 0), utc(2026, 11, 23, 7, 0)),  # CET = UTC+1
        ("cron(0 8 ? * MON-FRI *)", "Europe/Berlin", utc(2026, 11, 27, 8, 0), utc(2026, 11, 30, 7, 0)),  # Fri -> Mon
        ("cron(0 8 ? * 2-6 *)", "Europe/Berlin", utc(2026, 7, 1, 0, 0), utc(2026, 7, 1, 6, 0)),  # CEST = UTC+2
        (
            "cron(30 23 * * ? *)",
            "America/New_York",
            utc(2026, 11, 24, 12, 0),
            utc(2026, 11, 25, 4, 30),
        ),  # across UTC midnight
        ("cron(0 0 L * ? *)", "UTC", utc(2026, 2, 1, 0, 0), utc(2026, 2, 28, 0, 0)),
        ("cron(0 9 ? * 6L *)", "UTC", utc(2026, 11, 1, 0, 0), utc(2026, 11, 27, 9, 0)),  # last Friday
        ("cron(0 9 ? * MON#2 *)", "UTC", utc(2026, 11, 1, 0, 0), utc(2026, 11, 9, 9, 0)),  # second Monday
        ("cron(0 9 15W * ? *)", "UTC", utc(2026, 11, 1, 0, 0), utc(2026, 11, 16, 9, 0)),  # 15th is a Sunday
        ("cron(0 9 1W * ? *)", "UTC", utc(2026, 8, 1, 0, 0), utc(2026, 8, 3, 9, 0)),  # 1st is a Saturday: Monday 3rd
        ("cron(0/15 * * * ? *)", "UTC", utc(2026, 1, 1, 0, 7), utc(2026, 1, 1, 0, 15)),
        ("cron(0 12 1 1 ? 2027)", "UTC", utc(2026, 6, 1), utc(2027, 1, 1, 12, 0)),
        ("rate(5 minutes)", "UTC", utc(2026, 1, 1, 0, 7), utc(2026, 1, 1, 0, 12)),
        ("at(2026-12-01T09:00:00)", "Asia/Tokyo", utc(2026, 11, 1), utc(2026, 12, 1, 0, 0)),
        # DST: Berlin springs forward 2026-03-29 02:00 -> 03:00; 02:30 does not exist that day.
        ("cron(30 2 * * ? *)", "Europe/Berlin", utc(2026, 3, 28, 2, 0), utc(2026, 3, 30, 0, 30)),
        # DST: New York falls back 2026-11-01 02:00 -> 01:00; 01:30 happens twice, fires once (EDT).
        ("cron(30 1 * * ? *)", "America/New_York", utc(2026, 10, 31, 12, 0), utc(2026, 11, 1, 5, 30)),
        ("cron(30 1 * * ? *)", "America/New_York", utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)),
    ],
)
def test_next_fire_time(expression: str, tz: str, after: datetime, expected: datetime) -> None:
    assert ScheduleExpression.parse(expression, tz).next_after(after) == expected
    assert ScheduleClock.parse(expression, tz).next_after(after, start=after) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 8 * * * *)",
        "cron(0 8 ? * ? *)",
        "cron(0 8 ? * MON-FRI)",
        "cron(61 8 ? * MON *)",
        "rate(0 minutes)",
        "every day",
        "cron(0 8 ? * XYZ *)",
    ],
)
def test_invalid_expressions_are_refused(expression: str) -> None:
    with pytest.raises(ScheduleExpressionError):
        ScheduleExpression.parse(expression, "UTC")
    with pytest.raises(ScheduleNotEmulated):
        ScheduleClock.parse(expression, "UTC")


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ScheduleExpressionError):
        ScheduleExpression.parse("rate(1 hour)", "Mars/Olympus")
    with pytest.raises(ScheduleNotEmulated):
        ScheduleClock.parse("rate(1 hour)", "Mars/Olympus")


_MINUTES = st.sampled_from(["0", "30", "0/15", "5,35", "*/20", "10-12"])
_HOURS = st.sampled_from(["*", "0", "1", "2", "3", "8", "23", "8-17", "1-3", "0/6", "2,14"])
_DAYS = st.sampled_from(
    [
        ("*", "?"),
        ("?", "MON-FRI"),
        ("?", "SUN"),
        ("?", "2#1"),
        ("?", "6L"),
        ("L", "?"),
        ("15W", "?"),
        ("1W", "?"),
        ("1,15", "?"),
        ("?", "1,7"),
        ("29", "?"),
    ]
)
_MONTHS = st.sampled_from(["*", "3", "4", "10-11", "FEB", "JAN,JUL"])
# Where the two could disagree: hours around the 2026 clock changes of the zones below (Berlin,
# New York, Lord Howe's half-hour shift), as well as anywhere in three years.
_DST_CHANGES = [utc(2026, 3, 29, 1), utc(2026, 10, 25, 1), utc(2026, 3, 8, 7), utc(2026, 11, 1, 6), utc(2026, 4, 4, 15)]
_AFTER = st.one_of(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)),
    st.builds(
        lambda at, shift: at + shift,
        st.sampled_from(_DST_CHANGES),
        st.timedeltas(timedelta(hours=-26), timedelta(hours=26)),
    ),
)


@settings(max_examples=examples(300), deadline=None)
@given(
    minute=_MINUTES,
    hour=_HOURS,
    days=_DAYS,
    month=_MONTHS,
    tz=st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"]),
    after=_AFTER,
)
def test_icpilots_parser_and_the_emulators_agree(
    minute: str, hour: str, days: tuple[str, str], month: str, tz: str, after: datetime
) -> None:
    """The schedules icpilot writes are fired by the emulator's own reader: the two agree on the
    next three fire times, DST days and the fields' special characters included."""
    expression = f"cron({minute} {hour} {days[0]} {month} {days[1]} *)"
    ours, theirs = ScheduleExpression.parse(expression, tz), ScheduleClock.parse(expression, tz)
    mine: datetime | None = after
    emulated: datetime | None = after
    for _ in range(3):
        assert mine is not None and emulated is not None
        mine, emulated = ours.next_after(mine), theirs.next_after(emulated, start=after)
        assert mine == emulated, expression


@settings(max_examples=examples(200), deadline=None)
@given(
    minute=st.integers(0, 59),
    hour=st.integers(0, 23),
    tz=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]),
    after=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)),
)
def test_daily_cron_fires_within_a_day_at_the_local_wall_time(minute: int, hour: int, tz: str, after: datetime) -> None:
    expr = ScheduleExpression.parse(f"cron({minute} {hour} * * ? *)", tz)
    nxt = expr.next_after(after)
    assert nxt is not None and nxt > after
    assert nxt - after <= timedelta(days=2)  # a skipped (DST gap) day delays by one day at most
    local = nxt.astimezone(expr.tz)
    assert (local.hour, local.minute) == (hour, minute)


def test_scheduler_schedule_invokes_the_mapped_handler_at_its_local_time(emulator: Emulator) -> None:
    import boto3

    seen: list[tuple[datetime, dict[str, Any]]] = []
    emulator.dispatcher.register("icpilot-schedule", lambda event, ctx: seen.append((datetime.now(UTC), event)))
    scheduler = boto3.client("scheduler", region_name="us-east-1")
    scheduler.create_schedule_group(Name="icpilot")
    scheduler.create_schedule(
        Name="falcon-open",
        GroupName="icpilot",
        ScheduleExpression="cron(0 8 ? * MON-FRI *)",
        ScheduleExpressionTimezone="Europe/Berlin",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": "arn:aws:lambda:us-east-1:123456789012:function:icpilot-schedule",
            "RoleArn": "arn:aws:iam::123456789012:role/s",
            "Input": json.dumps({"rule": "falcon-open"}),
        },
    )
    emulator.advance(3 * 86_400)  # Mon 06:00Z -> Thu 06:00Z: Mon, Tue, Wed at 07:00Z
    assert [t for t, _ in seen] == [utc(2026, 11, 23, 7), utc(2026, 11, 24, 7), utc(2026, 11, 25, 7)]
    assert seen[0][1] == {"rule": "falcon-open"}
    assert [i.source for i in emulator.dispatcher.invocations] == ["schedule:icpilot/falcon-open"] * 3


def test_a_flexible_window_invokes_each_occurrence_once_inside_its_window(emulator: Emulator) -> None:
    """Scheduler invokes a FLEXIBLE schedule at some point within ``MaximumWindowInMinutes`` after
    its time; schedules sharing an expression are spread over the window, not invoked together."""
    import boto3

    seen: dict[str, list[datetime]] = {}
    emulator.dispatcher.register("opener", lambda event, ctx: seen.setdefault(event["n"], []).append(emulator.now()))
    scheduler = boto3.client("scheduler", region_name="us-east-1")
    for n in range(20):
        scheduler.create_schedule(
            Name=f"open-{n}",
            ScheduleExpression="cron(0 8 * * ? *)",
            ScheduleExpressionTimezone="UTC",
            FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 9},
            Target={
                "Arn": "arn:aws:lambda:us-east-1:123456789012:function:opener",
                "RoleArn": "arn:aws:iam::123456789012:role/s",
                "Input": json.dumps({"n": str(n)}),
            },
        )
    emulator.advance(2 * 86_400)  # Mon 06:00Z -> Wed 06:00Z: two occurrences each
    assert sorted(seen) == sorted(str(n) for n in range(20))
    for times in seen.values():
        assert len(times) == 2
        for day, at in zip((23, 24), times, strict=True):
            assert utc(2026, 11, day, 8) <= at < utc(2026, 11, day, 8, 9)
    assert len({times[0] for times in seen.values()}) > 10  # spread, not all at 08:00


def test_one_shot_at_schedule_fires_once_and_deletes_itself(emulator: Emulator) -> None:
    import boto3

    calls: list[dict[str, Any]] = []
    emulator.dispatcher.register("watcher", lambda event, ctx: calls.append(event))
    scheduler = boto3.client("scheduler", region_name="us-east-1")
    scheduler.create_schedule(
        Name="look-again",
        ScheduleExpression="at(2026-11-23T06:05:00)",
        FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion="DELETE",
        Target={
            "Arn": "arn:aws:lambda:us-east-1:123456789012:function:watcher",
            "RoleArn": "arn:aws:iam::123456789012:role/s",
        },
    )
    emulator.advance(3600)
    assert calls == [{}]
    assert scheduler.list_schedules()["Schedules"] == []


def test_alarm_event_reaches_a_lambda_rule_target(emulator: Emulator) -> None:
    import boto3

    events_seen: list[dict[str, Any]] = []
    emulator.dispatcher.register("icpilot-alarm", lambda event, ctx: events_seen.append(event))
    boto3.client("events", region_name="us-east-1").put_rule(
        Name="icpilot-alarms",
        EventPattern=json.dumps({"source": ["aws.cloudwatch"], "detail": {"alarmName": [{"prefix": "icpilot-"}]}}),
    )
    boto3.client("events", region_name="us-east-1").put_targets(
        Rule="icpilot-alarms",
        Targets=[{"Id": "fn", "Arn": "arn:aws:lambda:us-east-1:123456789012:function:icpilot-alarm"}],
    )
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    for name in ("icpilot-falcon-idle", "someone-elses"):
        cw.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/SageMaker",
            MetricName="Invocations",
            Dimensions=[{"Name": "InferenceComponentName", "Value": "falcon-7b"}],
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=2,
            Threshold=1,
            ComparisonOperator="LessThanThreshold",
            TreatMissingData="breaching",
        )
    emulator.advance(120)
    changes = evaluate_alarms()
    assert {c.name for c in changes} == {"icpilot-falcon-idle", "someone-elses"}
    assert [e["detail"]["alarmName"] for e in events_seen] == ["icpilot-falcon-idle"]
    assert events_seen[0]["time"] == "2026-11-23T06:02:00Z"


def test_auto_alarm_evaluation_while_advancing(emulator: Emulator) -> None:
    import boto3

    emulator.alarm_evaluation_interval = 60
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    cw.put_metric_alarm(
        AlarmName="idle",
        Namespace="AWS/SageMaker",
        MetricName="Invocations",
        Dimensions=[{"Name": "InferenceComponentName", "Value": "x"}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=3,
        Threshold=1,
        ComparisonOperator="LessThanThreshold",
        TreatMissingData="breaching",
    )
    assert (
        cw.describe_alarms(AlarmNames=["idle"])["MetricAlarms"][0]["StateValue"] == "INSUFFICIENT_DATA"
    )  # as CloudWatch: a new alarm is unchecked
    emulator.advance(60)  # nobody calls evaluate_alarms: the advance loop does, every 60 s
    alarm = cw.describe_alarms(AlarmNames=["idle"])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM"
