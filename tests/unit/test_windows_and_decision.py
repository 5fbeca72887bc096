"""The pure decision at explicit times: windows, DST, midnight, weekends, overlaps, capacity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icpilot.domain.capacity import Reservation, copies_that_fit
from icpilot.domain.decision import decide
from icpilot.domain.decision_types import (
    Action,
    AlarmKind,
    ComponentObservation,
    ComponentState,
    EndpointObservation,
    LastAction,
    Refusal,
    Trigger,
    TriggerKind,
)
from icpilot.domain.events import EventType
from icpilot.domain.instance_types import INSTANCE_TYPES
from icpilot.domain.windows import bounds_at, edges, rule_active
from icpilot.policy.model import ComponentPolicy, ScheduleRule

from tests.strength import examples

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
ONE_GPU = Reservation(1, 2, 8192)
WHOLE_INSTANCE = Reservation(4, 8, 8192)  # one copy fills an ml.g5.24xlarge: every scale-in frees one
TWO_GPU = Reservation(2, 2, 8192)


def at(year: int, month: int, day: int, hour: int, minute: int = 0, tz: tzinfo = BERLIN) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=tz)


def business_hours(tz: str = "Europe/Berlin", **kw: object) -> ScheduleRule:
    values: dict[str, object] = {
        "name": "business",
        "timezone": tz,
        "days": ["MON", "TUE", "WED", "THU", "FRI"],
        "start": "08:00",
        "end": "19:00",
        "min_copies": 2,
    }
    values.update(kw)
    return ScheduleRule.model_validate(values)


FALCON = ComponentPolicy(max_copies=4, schedules=[business_hours()])


@pytest.mark.parametrize(
    ("when", "active"),
    [
        (at(2026, 11, 23, 7, 59), False),  # Monday before opening
        (at(2026, 11, 23, 8, 0), True),  # opening minute
        (at(2026, 11, 23, 18, 59), True),
        (at(2026, 11, 23, 19, 0), False),  # closing is exclusive
        (at(2026, 11, 28, 12, 0), False),  # Saturday
        (at(2026, 11, 29, 12, 0), False),  # Sunday
        (at(2026, 11, 27, 12, 0), True),  # Friday
        (at(2026, 3, 30, 8, 0), True),  # first Monday of CEST (UTC+2)
        (at(2026, 3, 30, 6, 30, UTC), True),  # 08:30 CEST expressed in UTC
        (at(2026, 10, 26, 7, 30, UTC), True),  # 08:30 CET, the Monday after fall-back
        (at(2026, 10, 26, 6, 30, UTC), False),  # 07:30 CET
    ],
)
def test_business_hours_window(when: datetime, active: bool) -> None:
    assert rule_active(business_hours(), when) is active


NIGHT = ScheduleRule.model_validate(
    {
        "name": "night-batch",
        "timezone": "America/New_York",
        "days": ["FRI"],
        "start": "22:00",
        "end": "06:00",
        "min_copies": 1,
    }
)


@pytest.mark.parametrize(
    ("when", "active"),
    [
        (at(2026, 11, 27, 21, 59, NEW_YORK), False),  # Friday
        (at(2026, 11, 27, 22, 0, NEW_YORK), True),
        (at(2026, 11, 28, 0, 0, NEW_YORK), True),  # midnight, now Saturday: the window started Friday
        (at(2026, 11, 28, 5, 59, NEW_YORK), True),
        (at(2026, 11, 28, 6, 0, NEW_YORK), False),
        (at(2026, 11, 28, 23, 0, NEW_YORK), False),  # Saturday night is not a Friday window
        (at(2026, 11, 27, 2, 0, NEW_YORK), False),  # Friday early morning belongs to Thursday
    ],
)
def test_window_across_midnight(when: datetime, active: bool) -> None:
    assert rule_active(NIGHT, when) is active


def test_window_across_the_fall_back_night_keeps_wall_times() -> None:
    # New York falls back on Sunday 2026-11-01 02:00 -> 01:00: the Saturday 22:00-06:00 window is 9 h long.
    rule = ScheduleRule.model_validate(
        {
            "name": "n",
            "timezone": "America/New_York",
            "days": ["SAT"],
            "start": "22:00",
            "end": "06:00",
            "min_copies": 1,
        }
    )
    assert rule_active(rule, datetime(2026, 11, 1, 10, 59, tzinfo=UTC))  # 05:59 EST
    assert not rule_active(rule, datetime(2026, 11, 1, 11, 0, tzinfo=UTC))  # 06:00 EST


def test_window_across_spring_forward() -> None:
    # New York springs forward on 2026-03-08 02:00 -> 03:00.
    rule = ScheduleRule.model_validate(
        {
            "name": "n",
            "timezone": "America/New_York",
            "days": ["SAT"],
            "start": "22:00",
            "end": "06:00",
            "min_copies": 1,
        }
    )
    assert rule_active(rule, datetime(2026, 3, 8, 9, 59, tzinfo=UTC))  # 05:59 EDT
    assert not rule_active(rule, datetime(2026, 3, 8, 10, 0, tzinfo=UTC))  # 06:00 EDT


def test_cron_rule_with_duration() -> None:
    rule = ScheduleRule.model_validate(
        {"name": "month-end", "timezone": "UTC", "cron": "0 6 L * ? *", "duration": "12h", "min_copies": 3}
    )
    assert rule_active(rule, datetime(2026, 11, 30, 6, 0, tzinfo=UTC))
    assert rule_active(rule, datetime(2026, 11, 30, 17, 59, tzinfo=UTC))
    assert not rule_active(rule, datetime(2026, 11, 30, 18, 0, tzinfo=UTC))
    assert not rule_active(rule, datetime(2026, 11, 29, 12, 0, tzinfo=UTC))


def test_overlapping_windows_take_the_highest_floor_and_ceiling() -> None:
    policy = ComponentPolicy(
        max_copies=6,
        schedules=[
            business_hours(min_copies=2, max_copies=3),
            ScheduleRule.model_validate(
                {
                    "name": "launch",
                    "timezone": "UTC",
                    "start": "09:00",
                    "end": "10:00",
                    "min_copies": 4,
                    "max_copies": 6,
                }
            ),
        ],
    )
    b = bounds_at(policy, datetime(2026, 11, 23, 9, 30, tzinfo=UTC))  # 10:30 Berlin: both active
    assert (b.floor, b.ceiling, set(b.active_rules)) == (4, 6, {"business", "launch"})
    b = bounds_at(policy, datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    assert (b.floor, b.ceiling, b.active_rules) == (2, 3, ("business",))
    b = bounds_at(policy, datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    assert (b.floor, b.ceiling, b.active_rules) == (0, 6, ())


def test_edges_become_scheduler_crons() -> None:
    assert [(e.edge, e.expression, e.timezone) for e in edges(business_hours())] == [
        ("open", "cron(0 8 ? * MON,TUE,WED,THU,FRI *)", "Europe/Berlin"),
        ("close", "cron(0 19 ? * MON,TUE,WED,THU,FRI *)", "Europe/Berlin"),
    ]
    assert [e.expression for e in edges(NIGHT)] == ["cron(0 22 ? * FRI *)", "cron(0 6 ? * SAT *)"]
    every_day = ScheduleRule.model_validate({"name": "d", "start": "07:30", "end": "08:00", "min_copies": 1})
    assert edges(every_day)[0].expression == "cron(30 7 * * ? *)"


# ------------------------------------------------------------------ decisions
def observe(
    desired: int, status: str = "InService", reservation: Reservation = ONE_GPU, name: str = "falcon-7b"
) -> ComponentObservation:
    return ComponentObservation(name=name, status=status, desired=desired, current=desired, reservation=reservation)


def endpoint(*others: ComponentObservation, max_instances: int = 2) -> EndpointObservation:
    return EndpointObservation("llm-endpoint", "ml.g5.24xlarge", max_instances, others)


SCHEDULE = Trigger(TriggerKind.SCHEDULE, rule="llm-endpoint/falcon-7b/business")
MONDAY_NOON = at(2026, 11, 23, 12)
SATURDAY_NOON = at(2026, 11, 28, 12)


@pytest.mark.parametrize(
    ("desired", "when", "action", "target"),
    [
        (0, MONDAY_NOON, Action.SCALE, 2),  # window open: raise to the floor
        (3, MONDAY_NOON, Action.NONE, 3),  # AAS scaled out within the window: left alone
        (2, SATURDAY_NOON, Action.NONE, 2),  # outside: anything within 0..4 stays
        (0, SATURDAY_NOON, Action.NONE, 0),
    ],
)
def test_schedule_decisions(desired: int, when: datetime, action: Action, target: int) -> None:
    d = decide(
        FALCON,
        observe(desired),
        endpoint(observe(1, reservation=TWO_GPU, name="flan")),
        ComponentState(),
        SCHEDULE,
        when,
    )
    assert (d.action, d.target) == (action, target)
    assert d.reason
    # In the window AAS may scale in to the floor (3 falcon copies and flan's take two instances, 2
    # take one). Outside, 2 falcon copies and flan's share one instance: a scale-in frees nothing,
    # so AAS keeps them (``kept_for_free``); only icpilot's idle rule takes them away.
    assert (d.aas_min, d.aas_max) == ((2, 4) if when == MONDAY_NOON else (target, 4))


IDLE = Trigger(TriggerKind.ALARM, alarm=AlarmKind.IDLE)
NO_CAPACITY = Trigger(TriggerKind.ALARM, alarm=AlarmKind.NO_CAPACITY)


@pytest.mark.parametrize(
    ("policy", "desired", "status", "trigger", "when", "expected"),
    [
        # (action, target, aas_min, aas_max)
        (FALCON, 2, "InService", SCHEDULE, SATURDAY_NOON, (Action.NONE, 2, 1, 4)),  # floor 0: AAS keeps 1
        (FALCON, 1, "InService", Trigger(TriggerKind.TICK), SATURDAY_NOON, (Action.NONE, 1, 1, 4)),
        (FALCON, 0, "InService", SCHEDULE, SATURDAY_NOON, (Action.NONE, 0, 0, 4)),  # at zero: AAS may be at 0
        (FALCON, 2, "InService", IDLE, SATURDAY_NOON, (Action.SCALE, 0, 0, 4)),  # icpilot's idle rule: to zero
        (FALCON, 2, "Updating", IDLE, SATURDAY_NOON, (Action.DEFER, 0, 1, 4)),  # deferred: AAS must not do it
        (FALCON, 0, "InService", NO_CAPACITY, SATURDAY_NOON, (Action.SCALE, 1, 1, 4)),  # from zero: owned again
        (FALCON, 3, "InService", SCHEDULE, MONDAY_NOON, (Action.NONE, 3, 2, 4)),  # a window floor above 1 wins
        (
            ComponentPolicy.model_validate({"max_copies": 4, "outside": {"min_copies": 0, "max_copies": 0}}),
            2,
            "InService",
            SCHEDULE,
            SATURDAY_NOON,
            (Action.SCALE, 0, 0, 0),  # a ceiling of 0 takes the last copy too
        ),
    ],
)
def test_icpilot_owns_the_last_copy(
    policy: ComponentPolicy,
    desired: int,
    status: str,
    trigger: Trigger,
    when: datetime,
    expected: tuple[Action, int, int, int],
) -> None:
    """Rule 8: with MinCapacity 0 target tracking would scale in to zero after 15 low minutes, before
    icpilot's idle delay and without an event; so AAS's minimum is 1 while the component keeps copies.
    (Copies of a whole instance each, so that every scale-in frees an instance and AAS may make it.)"""
    observed = observe(desired, status=status, reservation=WHOLE_INSTANCE)
    d = decide(policy, observed, endpoint(max_instances=4), ComponentState(), trigger, when)
    assert (d.action, d.target, d.aas_min, d.aas_max) == expected


def test_ceiling_lowers_the_count() -> None:
    policy = ComponentPolicy(max_copies=4, schedules=[business_hours(min_copies=0, max_copies=1)])
    d = decide(policy, observe(3), endpoint(), ComponentState(), SCHEDULE, MONDAY_NOON)
    assert (d.action, d.target) == (Action.SCALE, 1) and "ceiling" in d.reason


def test_busy_component_defers_and_keeps_the_intent() -> None:
    d = decide(FALCON, observe(0, status="Updating"), endpoint(), ComponentState(), SCHEDULE, MONDAY_NOON)
    assert d.action == Action.DEFER and d.target == 2
    assert [e.type for e in d.events] == [EventType.SCALE_DEFERRED]


def test_pending_intent_is_carried() -> None:
    d = decide(
        FALCON,
        observe(0),
        endpoint(),
        ComponentState(pending_target=3, pending_reason="alarm: load"),
        Trigger(TriggerKind.TICK),
        SATURDAY_NOON,
    )
    assert (d.action, d.target) == (Action.SCALE, 3)


@pytest.mark.parametrize(
    ("status", "pending", "expected"),
    [
        ("InService", 1, (Action.SCALE, 1)),  # the deferred warm-up is carried out, not erased
        ("Updating", 1, (Action.DEFER, 1)),  # still busy: still deferred, still kept
        ("InService", None, (Action.NONE, 0)),  # nothing pending: idle at zero stays at zero
    ],
)
def test_a_standing_idle_alarm_does_not_erase_a_deferred_scale_up(
    status: str, pending: int | None, expected: tuple[Action, int]
) -> None:
    """A no-capacity alarm that met the component Updating (its last copy still leaving) is deferred;
    failed requests are not Invocations, so the idle alarm stays in ALARM, and the tick that follows it
    must not turn the pending warm-up back into zero."""
    state = ComponentState(pending_target=pending, pending_reason="no-capacity alarm: requests failed at 0 copies")
    d = decide(FALCON, observe(0, status=status), endpoint(), state, IDLE, SATURDAY_NOON)
    assert (d.action, d.target) == expected
    if pending:
        assert "deferred scale-up is pending" in d.reason


TRACKED_FALCON = ComponentPolicy.model_validate(
    {
        "max_copies": 8,
        "autoscaling": {"metric": "invocations_per_copy", "target": 55},
        "high_load": {"threshold": 70, "minutes": 1, "step": 1},
    }
)
THRESHOLD_ONLY = ComponentPolicy.model_validate({"max_copies": 8, "high_load": {"threshold": 40, "step": 2}})


@pytest.mark.parametrize(
    ("policy", "serving", "load_per_copy", "target"),
    [
        (TRACKED_FALCON, 1, None, 2),  # no datapoint (CloudWatch had none): one step
        (TRACKED_FALCON, 1, 80.0, 2),  # ceil(80 / 55) = 2 = one step anyway
        (TRACKED_FALCON, 1, 165.0, 3),  # ceil(165 / 55) = 3 in one write, not +1 twice
        (TRACKED_FALCON, 2, 140.0, 6),  # 280 a minute over 2 copies -> ceil(280 / 55) = 6
        (TRACKED_FALCON, 2, 900.0, 8),  # ceil(1,800 / 55) = 33, held to max_copies (and what fits) 8
        (THRESHOLD_ONLY, 2, 100.0, 5),  # no target tracking: under the alarm's own threshold, ceil(200 / 40)
        (THRESHOLD_ONLY, 2, 41.0, 4),  # the step (2) is the least it adds
    ],
)
def test_a_high_load_alarm_is_sized_by_its_datapoint(
    policy: ComponentPolicy, serving: int, load_per_copy: float | None, target: int
) -> None:
    """SageMaker refuses a second write while copies load, so a step of +1 a load time apart is a
    slow ramp: the alarm's datapoint (invocations per copy) says how many copies the load needs."""
    trigger = Trigger(TriggerKind.ALARM, alarm=AlarmKind.HIGH_LOAD, load_per_copy=load_per_copy)
    d = decide(policy, observe(serving), endpoint(), ComponentState(), trigger, MONDAY_NOON)
    assert (d.action, d.target) == (Action.SCALE, target)
    if target > serving + (policy.high_load.step if policy.high_load else 1):
        assert f"{load_per_copy:g} invocations per copy" in d.reason and "at once" in d.reason


def test_capacity_caps_a_raise_and_reports_the_numbers() -> None:
    policy = ComponentPolicy(max_copies=8, schedules=[business_hours(min_copies=8)])
    flan = observe(1, reservation=TWO_GPU, name="flan")
    d = decide(policy, observe(0), endpoint(flan), ComponentState(), SCHEDULE, MONDAY_NOON)
    assert (d.action, d.target) == (Action.SCALE, 6)  # 2 GPUs beside flan + 4 on the second instance
    refused = next(e for e in d.events if e.type == EventType.CAPACITY_REFUSED)
    assert refused.details["requested"] == 8 and refused.details["granted"] == 6
    assert d.aas_min == 6


def test_failed_component_is_not_touched_and_reported_once() -> None:
    failed = ComponentObservation("falcon-7b", "Failed", 1, 0, ONE_GPU, "image pull failed")
    d = decide(FALCON, failed, endpoint(), ComponentState(), SCHEDULE, MONDAY_NOON)
    assert d.action == Action.BLOCKED and [e.type for e in d.events] == [EventType.ACTION_FAILED]
    again = decide(FALCON, failed, endpoint(), ComponentState(last_action=LastAction.BLOCKED), SCHEDULE, MONDAY_NOON)
    assert again.events == ()


def test_override_pins_copies_until_it_expires() -> None:
    state = ComponentState(override_copies=1, override_until=MONDAY_NOON + timedelta(hours=1))
    d = decide(FALCON, observe(3), endpoint(), state, SCHEDULE, MONDAY_NOON)
    assert (d.action, d.target, d.aas_min, d.aas_max, d.pin_aas) == (Action.SCALE, 1, 1, 1, True)
    later = decide(FALCON, observe(1), endpoint(), state, SCHEDULE, MONDAY_NOON + timedelta(hours=2))
    assert (later.action, later.target) == (Action.SCALE, 2)


def test_copies_that_fit_worked_example() -> None:
    g5 = INSTANCE_TYPES["ml.g5.24xlarge"]
    assert copies_that_fit(g5, 2, ONE_GPU, [(TWO_GPU, 1)]) == 6
    assert copies_that_fit(g5, 1, TWO_GPU, [(ONE_GPU, 3)]) == 0
    assert copies_that_fit(g5, 0, ONE_GPU, []) == 0


# --------------------------------------------------------------- properties
rules = st.builds(
    lambda start, length, floor, extra, tz, days: ScheduleRule.model_validate(
        {
            "name": "r",
            "timezone": tz,
            "days": days,
            "start": f"{start // 60:02d}:{start % 60:02d}",
            "end": f"{(start + length) % 1440 // 60:02d}:{(start + length) % 60:02d}",
            "min_copies": floor,
            "max_copies": floor + extra,
        }
    ),
    start=st.integers(0, 1439),
    length=st.integers(1, 1439),
    floor=st.integers(0, 4),
    extra=st.integers(0, 4),
    tz=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
    days=st.lists(st.sampled_from(["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]), min_size=1, unique=True),
)


@settings(max_examples=examples(300), deadline=None)
@given(
    rule=rules,
    desired=st.integers(0, 12),
    status=st.sampled_from(["InService", "Updating", "Creating"]),
    other_copies=st.integers(0, 4),
    max_instances=st.integers(0, 3),
    when=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
)
def test_target_respects_max_floor_and_capacity(
    rule: ScheduleRule, desired: int, status: str, other_copies: int, max_instances: int, when: datetime
) -> None:
    policy = ComponentPolicy(max_copies=8, schedules=[rule])
    flan = observe(other_copies, reservation=TWO_GPU, name="flan")
    ep = endpoint(flan, max_instances=max_instances)
    d = decide(policy, observe(desired, status=status), ep, ComponentState(), Trigger(TriggerKind.TICK), when)
    fits = copies_that_fit(INSTANCE_TYPES["ml.g5.24xlarge"], max_instances, ONE_GPU, [(TWO_GPU, other_copies)])
    assert d.target <= max(policy.max_copies, desired)
    if d.target > desired:
        assert d.target <= fits  # a raise never asks for more than the endpoint hosts
        assert d.target <= d.bounds.floor  # and only up to the active floor
    if d.target >= desired or d.target < d.bounds.floor:
        assert d.target >= min(d.bounds.floor, max(desired, fits))  # below the floor only when capacity says so
    assert d.aas_min <= d.target <= d.aas_max or d.action == Action.NONE
    assert (
        decide(policy, observe(desired, status=status), ep, ComponentState(), Trigger(TriggerKind.TICK), when) == d
    )  # deterministic


def test_outside_bounds_apply_when_no_window_is_open() -> None:
    policy = ComponentPolicy.model_validate(
        {"max_copies": 4, "schedules": [business_hours().model_dump()], "outside": {"max_copies": 0}}
    )
    assert (bounds_at(policy, SATURDAY_NOON).floor, bounds_at(policy, SATURDAY_NOON).ceiling) == (0, 0)
    d = decide(policy, observe(2), endpoint(), ComponentState(), Trigger(TriggerKind.SCHEDULE), at(2026, 11, 23, 19, 0))
    assert (d.action, d.target) == (Action.SCALE, 0)


def test_readiness_math() -> None:
    from icpilot.domain.readiness import lead_time, p90, remember

    assert p90([]) is None and p90([100.0]) == 100.0
    assert p90([float(x) for x in range(1, 11)]) == 9.0  # nearest rank: ceil(0.9 * 10) = 9th
    assert remember([1.0] * 10, 5) == [1.0] * 9 + [5.0]
    policy = ComponentPolicy(max_copies=2, expected_time_to_ready="8m")
    assert lead_time(policy, [], False, timedelta(minutes=6)) == timedelta(minutes=8)
    assert lead_time(policy, [], True, timedelta(minutes=6)) == timedelta(minutes=14)
    assert lead_time(policy, [300.0, 659.8], False, timedelta(0)) == timedelta(minutes=11)


def test_lead_edges_shift_across_midnight() -> None:
    rule = ScheduleRule.model_validate(
        {"name": "early", "days": ["MON"], "start": "00:05", "end": "02:00", "min_copies": 1}
    )
    assert edges(rule, timedelta(minutes=10))[0].expression == "cron(55 23 ? * SUN *)"
    assert edges(rule, timedelta(minutes=10))[1].expression == "cron(0 2 ? * MON *)"


def test_warm_up_waits_for_dependencies_and_scale_down_for_dependents() -> None:
    from icpilot.domain.decision_types import Peer

    policy = ComponentPolicy(max_copies=4, after=["flan"], schedules=[business_hours()])
    not_ready = (Peer("flan", 100, False, 1, None, ready=False, copies=1),)
    d = decide(policy, observe(0), endpoint(), ComponentState(), SCHEDULE, MONDAY_NOON, not_ready)
    assert d.action == Action.DEFER and "waiting for flan" in d.reason
    ready = (Peer("flan", 100, False, 1, None, ready=True, copies=1),)
    assert decide(policy, observe(0), endpoint(), ComponentState(), SCHEDULE, MONDAY_NOON, ready).action == Action.SCALE
    base = ComponentPolicy.model_validate(
        {"max_copies": 4, "outside": {"max_copies": 0}, "schedules": [business_hours().model_dump()]}
    )
    dependent = (Peer("falcon", 50, False, 0, None, ready=True, copies=2, after=("falcon-7b",)),)
    d = decide(base, observe(1), endpoint(), ComponentState(), SCHEDULE, SATURDAY_NOON, dependent)
    assert d.action == Action.DEFER and d.target == 0 and "depend on it" in d.reason


def test_lead_time_raises_the_floor_before_the_window_opens() -> None:
    d = decide(
        FALCON,
        observe(0),
        endpoint(),
        ComponentState(),
        Trigger(TriggerKind.TICK),
        at(2026, 11, 23, 7, 53),
        lead=timedelta(minutes=8),
    )
    assert (d.action, d.target) == (Action.SCALE, 2) and "opens within" in d.reason
    assert [e.type for e in d.events] == [EventType.WARM_UP_STARTED]
    assert d.expected_ready_at == at(2026, 11, 23, 8, 1)


def test_a_capacity_refusal_is_said_once() -> None:
    policy = ComponentPolicy(max_copies=8, schedules=[business_hours(min_copies=8)])
    flan = observe(1, reservation=TWO_GPU, name="flan")
    first = decide(policy, observe(0), endpoint(flan), ComponentState(), SCHEDULE, MONDAY_NOON)
    assert (
        first.refusal == Refusal("capacity", 6)
        and [e.type for e in first.events].count(EventType.CAPACITY_REFUSED) == 1
    )
    again = decide(
        policy, observe(0), endpoint(flan), ComponentState(last_refusal=Refusal("capacity", 6)), SCHEDULE, MONDAY_NOON
    )
    assert again.target == 6 and EventType.CAPACITY_REFUSED not in [e.type for e in again.events]


def test_an_alarm_held_by_the_policys_own_ceiling_is_ceiling_reached_said_once() -> None:
    """Issue 18: CapacityRefused is for the hardware; the policy's ceiling is CeilingReached."""
    policy = ComponentPolicy.model_validate(
        {"max_copies": 4, "schedules": [business_hours().model_dump()], "outside": {"max_copies": 0}}
    )
    first = decide(policy, observe(0), endpoint(), ComponentState(), NO_CAPACITY, SATURDAY_NOON)
    assert (first.action, first.target) != (Action.SCALE, 1)
    assert [e.type for e in first.events] == [EventType.CEILING_REACHED]
    reached = first.events[0]
    assert reached.details == {"requested": 1, "granted": 0, "limit": "policy", "ceiling": 0}
    assert first.refusal == Refusal("policy", 0)
    again = decide(
        policy, observe(0), endpoint(), ComponentState(last_refusal=Refusal("policy", 0)), NO_CAPACITY, SATURDAY_NOON
    )
    assert again.target == 0 and again.events == ()


@pytest.mark.parametrize(
    ("copies", "kept"),
    [
        (4, Refusal("policy", 4)),  # still at the ceiling it was told: the tick keeps the cap said
        (3, None),  # below it (AAS scaled in): the next time the ceiling holds an alarm is news
    ],
)
def test_a_tick_between_two_asks_at_the_same_ceiling_does_not_say_it_again(copies: int, kept: Refusal | None) -> None:
    """A standing high-load alarm asks again one cooldown apart, with plain ticks between: the
    ceiling is said once per episode at it, not once per ask."""
    policy = ComponentPolicy.model_validate({"max_copies": 4, "high_load": {"threshold": 70}})
    load = Trigger(TriggerKind.ALARM, alarm=AlarmKind.HIGH_LOAD)
    first = decide(policy, observe(4), endpoint(), ComponentState(), load, MONDAY_NOON)
    assert [e.type for e in first.events] == [EventType.CEILING_REACHED] and first.refusal == Refusal("policy", 4)
    tick = decide(policy, observe(copies), endpoint(), first.next_state, Trigger(TriggerKind.TICK), MONDAY_NOON)
    assert tick.refusal == kept and tick.next_state.last_refusal == kept
    again = decide(policy, observe(4), endpoint(), tick.next_state, load, MONDAY_NOON + timedelta(minutes=5))
    assert [e.type for e in again.events] == ([] if kept else [EventType.CEILING_REACHED])


# ------------------------------------------------------------ next state
@pytest.mark.parametrize(
    ("desired", "status", "state", "when", "expected"),
    [
        # from zero: a scale settles the intent and starts the warm-up clock now
        (
            0,
            "InService",
            ComponentState(pending_target=2, pending_reason="x"),
            MONDAY_NOON,
            ("scaled", None, MONDAY_NOON),
        ),
        # busy: the intent is kept for the tick
        (0, "Updating", ComponentState(), MONDAY_NOON, ("defer", 2, None)),
        # a pending intent that is met is settled
        (2, "InService", ComponentState(pending_target=2, pending_reason="x"), MONDAY_NOON, ("settled", None, None)),
        # nothing to do, nothing pending: the state stays
        (0, "InService", ComponentState(last_action=LastAction.SCALED), SATURDAY_NOON, ("scaled", None, None)),
    ],
)
def test_the_decision_carries_the_state_it_leads_to(
    desired: int, status: str, state: ComponentState, when: datetime, expected: tuple[object, ...]
) -> None:
    d = decide(FALCON, observe(desired, status=status), endpoint(), state, Trigger(TriggerKind.TICK), when)
    n = d.next_state
    assert (n.last_action, n.pending_target, n.warmup_started_at) == expected
    assert n.override_copies == state.override_copies  # the operator's, passed through


@pytest.mark.parametrize(
    ("start", "end", "open_utc", "close_utc"),
    [
        ((2, 30), (3, 30), (7, 0), (7, 30)),  # starts in the gap: opens when the gap ends (03:00 EDT)
        ((1, 30), (2, 30), (6, 30), (7, 0)),  # ends in the gap: closes there
        ((2, 10), (2, 50), None, None),  # wholly inside the gap: empty that day
    ],
)
def test_a_window_in_a_spring_forward_gap(
    start: tuple[int, int], end: tuple[int, int], open_utc: tuple[int, int] | None, close_utc: tuple[int, int] | None
) -> None:
    """Issue 14: 02:30-03:30 America/New_York on 8 March 2026 (02:00 -> 03:00) opened and closed at once."""
    from datetime import time

    rule = ScheduleRule(name="gap", timezone="America/New_York", start=time(*start), end=time(*end), min_copies=1)
    minutes = [datetime(2026, 3, 8, 5, 0, tzinfo=UTC) + timedelta(minutes=m) for m in range(4 * 60)]
    active = [t for t in minutes if rule_active(rule, t)]
    if open_utc is None:
        assert active == []
        return
    assert close_utc is not None
    assert active[0] == datetime(2026, 3, 8, *open_utc, tzinfo=UTC)
    assert active[-1] + timedelta(minutes=1) == datetime(2026, 3, 8, *close_utc, tzinfo=UTC)


@pytest.mark.parametrize(
    ("met_before", "failed", "target", "says_why"),
    [
        ((), 3.0, 1, False),  # no cold start seen yet: the failures size it, ceil(3 / 55) = 1
        ((150.0, 160.0, 210.0), 3.0, 3, True),  # bursts met 160 a minute (median): ceil(160 / 55) = 3
        ((150.0, 160.0, 210.0), 300.0, 6, False),  # the failures ask more: ceil(300 / 55) = 6
        ((0.2, 0.5, 400.0), 1.0, 1, False),  # woken by lone requests (median 0.5): one burst is no pattern
        ((600.0,), 2.0, 8, True),  # ceil(600 / 55) = 11, held to max_copies 8
    ],
)
@pytest.mark.parametrize("trigger_kind", [TriggerKind.ALARM, TriggerKind.DEMAND])
def test_a_first_write_is_sized_by_what_past_cold_starts_met(
    met_before: tuple[float, ...], failed: float, target: int, says_why: bool, trigger_kind: TriggerKind
) -> None:
    """SageMaker refuses a second write while copies load: a warm-up sized by a burst's first minute
    holds the burst at that size for a whole load time, so the first write reads the history."""
    alarm = AlarmKind.NO_CAPACITY if trigger_kind == TriggerKind.ALARM else None
    trigger = Trigger(trigger_kind, alarm=alarm, failed_requests=failed)
    state = ComponentState(met_at_cold_start=met_before)
    d = decide(TRACKED_FALCON, observe(0), endpoint(), state, trigger, MONDAY_NOON)
    assert (d.action, d.target) == (Action.SCALE, target)
    assert ("cold starts met a median" in d.reason) is says_why
