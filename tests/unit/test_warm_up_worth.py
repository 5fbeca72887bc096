"""A lone request is not worth an instance (issue 33): at zero copies with no floor, a scale from
zero that would cost more in instance time than the refusals it saves is declined, said once,
and AAS's step policy is held off ahead of it; demand that lasts is warmed.

Built through ``build_inputs`` (what the Lambdas, ``icpilot plan`` and the simulator call), at
explicit times in Berlin on Monday 2026-11-23 and across the October 2026 DST change.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icpilot.domain.capacity import Reservation
from icpilot.domain.decision_types import (
    Action,
    AlarmKind,
    ComponentObservation,
    ComponentState,
    EndpointObservation,
    Rule,
    Trigger,
    TriggerKind,
    declined_warm_up,
)
from icpilot.domain.events import EventType
from icpilot.domain.forecast import CLASSES, SLOTS_PER_DAY, Forecast, HoldingPrices, learn
from icpilot.domain.inputs import build_inputs
from icpilot.domain.standing import acts_again, followed
from icpilot.policy import load_policy_text
from icpilot.policy.model import Policy

BERLIN = ZoneInfo("Europe/Berlin")
NIGHT = datetime(2026, 11, 23, 3, 0, tzinfo=BERLIN)
MORNING = datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)
TWO_GPUS = Reservation(2, 8, 32768)  # half an ml.g5.24xlarge ($10.18/h)


def policy(mode: str = "scale", windows: str = "") -> Policy:
    return load_policy_text(
        "cost: {refusal_cost: 0.10}\n"
        "endpoints:\n  ep:\n    components:\n      m:\n"
        "        max_copies: 2\n        idle_scale_to_zero_after: 30m\n        expected_time_to_ready: 6m\n"
        f"        predictive: {{mode: {mode}, timezone: Europe/Berlin}}\n{windows}"
    )


def night_and_day(night: float = 0.4, day: float = 600.0) -> Forecast:
    """Weekdays: ``night`` mean requests per quarter hour from 00:00 to 07:00, ``day`` from 08:00 to 18:00."""

    def mean(slot: int) -> float:
        hour = slot // 4
        return night if hour < 7 else (day if 8 <= hour < 18 else 0.0)

    return Forecast(
        "Europe/Berlin",
        NIGHT - timedelta(hours=3),
        14,
        {c: [1.0] * SLOTS_PER_DAY for c in CLASSES},
        {c: [0.3] * SLOTS_PER_DAY for c in CLASSES},
        {c: [0] * SLOTS_PER_DAY for c in CLASSES},
        requests={c: [mean(s) if c == "weekday" else 0.0 for s in range(SLOTS_PER_DAY)] for c in CLASSES},
    )


def decide_at(
    now: datetime,
    trigger: Trigger,
    *,
    forecast: Forecast | None = None,
    instances: int | None = 0,
    peer_copies: int = 0,
    state: ComponentState | None = None,
    the_policy: Policy | None = None,
):  # type: ignore[no-untyped-def]
    mine = ComponentObservation("m", "InService", 0, 0, TWO_GPUS)
    other = ComponentObservation("other", "InService", peer_copies, peer_copies, TWO_GPUS)
    ep = EndpointObservation("ep", "ml.g5.24xlarge", 2, (mine, other), current_instances=instances)
    inputs = build_inputs(
        the_policy or policy(),
        ep,
        mine,
        state or ComponentState(),
        [],
        forecast if forecast is not None else night_and_day(),
        now,
    )
    return inputs, inputs.decide(trigger, now)


def alarm(failed: float | None) -> Trigger:
    return Trigger(TriggerKind.ALARM, alarm=AlarmKind.NO_CAPACITY, failed_requests=failed)


def test_a_lone_request_at_night_is_declined_with_the_figures() -> None:
    inputs, d = decide_at(NIGHT, alarm(1))
    assert (d.action, d.rule, d.target) == (Action.NONE, Rule.NOT_WORTH_WARMING, 0)
    (event,) = d.events
    assert event.type == EventType.WARM_UP_DECLINED
    # 6 min load + 6 min to add the instance (the endpoint's instance_provisioning_time) + 30 min idle
    # = 42 min of one $10.18/h instance = $7.13; 1 failed + 1.1 expected (42 min at 0.4 a quarter
    # hour) at $0.10 saves $0.21
    assert event.details["instance_cost_usd"] == pytest.approx(7.13, abs=0.01)
    assert event.details["refusals_saved_usd"] == pytest.approx(0.21, abs=0.01)
    assert event.details["life_minutes"] == 42
    assert d.suspend_scale_out  # AAS's step policy must not warm what icpilot declined
    assert declined_warm_up(d.next_state.last_refusal)
    assert inputs.warm_up is not None and not inputs.warm_up.pays(1)


@pytest.mark.parametrize(
    ("label", "now", "trigger", "kw"),
    [
        ("the morning's demand pays for the instance", MORNING, alarm(1), {}),
        ("a burst at night says it lasts", NIGHT, alarm(80), {}),
        ("a standing alarm (no count): demand that lasted", NIGHT, alarm(None), {}),
        ("learned demand only advises", NIGHT, alarm(1), {"the_policy": policy("forecast-only")}),
        (
            "a window's floor",
            NIGHT,
            alarm(1),
            {
                "the_policy": policy(
                    windows="        schedules: [{name: n, timezone: Europe/Berlin, start: '02:00', end: '04:00', min_copies: 1}]\n"
                )
            },
        ),
        (
            "a forecast stored before request means were learned",
            NIGHT,
            alarm(1),
            {"forecast": Forecast.from_item({k: v for k, v in night_and_day().to_item().items() if k != "requests"})},
        ),
    ],
)
def test_warm_ups_that_pay_or_are_not_priced_go_ahead(label: str, now: datetime, trigger: Trigger, kw: dict) -> None:  # type: ignore[type-arg]
    _, d = decide_at(now, trigger, **kw)
    assert d.action == Action.SCALE and d.target >= 1 and d.starts_warmup, label
    assert not any(e.type == EventType.WARM_UP_DECLINED for e in d.events), label


def test_the_marginal_price_is_a_whole_instance_or_the_share_of_the_one_it_joins() -> None:
    """20 requests a quarter hour at night: $4.90 of refusals over the 36-minute life of a copy
    that joins the instance a peer keeps up (its half of $10.18/h: $3.05), so it is warmed; $5.70
    over the 42 minutes of a copy that needs its own instance ($7.13), so that one is declined."""
    busy_night = night_and_day(night=20.0)
    joins, d = decide_at(NIGHT, alarm(1), forecast=busy_night, instances=1, peer_copies=1)
    assert joins.warm_up is not None and joins.warm_up.instance_per_minute == pytest.approx(10.18 / 2 / 60)
    assert d.action == Action.SCALE and d.starts_warmup
    alone, d = decide_at(NIGHT, alarm(1), forecast=busy_night, instances=0)
    assert alone.warm_up is not None and alone.warm_up.instance_per_minute == pytest.approx(10.18 / 60)
    assert d.rule == Rule.NOT_WORTH_WARMING
    # a lone request does not pay even for a share: declined beside the peer too
    _, d = decide_at(NIGHT, alarm(1), instances=1, peer_copies=1)
    assert d.rule == Rule.NOT_WORTH_WARMING


@pytest.mark.parametrize(("failed", "action"), [(1, Action.NONE), (2, Action.NONE), (21, Action.SCALE)])
def test_a_burst_the_forecast_did_not_see_is_warmed_by_what_its_first_minute_shows(failed: int, action: Action) -> None:
    """Found on the Azure month: a burst on a day the forecast expected nothing, 21 requests failing in
    its first minute, was declined and then waited ten minutes for the tick. Failures beyond a lone
    request are a rate: (21 - 1) a minute over the 42-minute life is 840 requests, $84 against $7.13.
    Two in a minute (a trickle's clump) is 42 requests, $4.40: still declined."""
    quiet = night_and_day(night=0.0)
    _, d = decide_at(NIGHT, alarm(failed), forecast=quiet)
    assert d.action == action
    assert (d.rule == Rule.NOT_WORTH_WARMING) is (action == Action.NONE)


def test_a_demand_signal_for_one_waiting_request_is_declined_too() -> None:
    _, d = decide_at(NIGHT, Trigger(TriggerKind.DEMAND, failed_requests=1))
    assert d.rule == Rule.NOT_WORTH_WARMING and d.action == Action.NONE


def test_declined_is_said_once_while_the_component_stays_at_zero_and_the_standing_alarm_warms() -> None:
    _, first = decide_at(NIGHT, alarm(1))
    later = NIGHT + timedelta(minutes=7)
    _, again = decide_at(later, alarm(2), state=first.next_state)
    assert again.rule == Rule.NOT_WORTH_WARMING and not again.events  # said already
    # The no-capacity alarm still stands at the tick: once it has stood five minutes (a failure in
    # every minute), the tick acts on it, and it warms; two lone requests a minute apart do not.
    p = policy().endpoints["ep"].components["m"]
    assert AlarmKind.NO_CAPACITY in followed(p)
    declined = declined_warm_up(again.next_state.last_refusal)
    since = NIGHT - timedelta(minutes=1)
    assert not acts_again(AlarmKind.NO_CAPACITY, p, NIGHT + timedelta(minutes=3), None, declined, since)
    assert acts_again(AlarmKind.NO_CAPACITY, p, NIGHT + timedelta(minutes=4), None, declined, since)
    assert not acts_again(AlarmKind.NO_CAPACITY, p, later, None, declined, None)  # when it changed: unknown
    _, warmed = decide_at(later, alarm(None), state=again.next_state)
    assert warmed.action == Action.SCALE and warmed.starts_warmup
    assert warmed.next_state.last_refusal is None  # a new episode: the next decline is news again
    assert not acts_again(
        AlarmKind.NO_CAPACITY, p, later, None, declined_warm_up(warmed.next_state.last_refusal), since
    )


def test_the_tick_holds_aas_scale_out_only_where_a_lone_request_would_be_declined() -> None:
    tick = Trigger(TriggerKind.TICK)
    _, night = decide_at(NIGHT, tick)
    _, morning = decide_at(MORNING, tick)
    assert night.action == Action.NONE and night.suspend_scale_out
    assert morning.action == Action.NONE and not morning.suspend_scale_out
    _, no_forecast_policy = decide_at(NIGHT, tick, the_policy=policy("off"))
    assert not no_forecast_policy.suspend_scale_out


# ------------------------------------------------------------------ the forecast's request means


def test_requests_within_counts_each_slot_in_proportion() -> None:
    f = night_and_day(night=0.4, day=600.0)
    assert f.requests_within(NIGHT, timedelta(minutes=15)) == pytest.approx(0.4)
    assert f.requests_within(NIGHT + timedelta(minutes=5), timedelta(minutes=20)) == pytest.approx(0.4 * 20 / 15)
    # 07:50 -> 08:20: 10 minutes of nothing, then 20 minutes of the day's 600 a quarter hour
    start = datetime(2026, 11, 23, 7, 50, tzinfo=BERLIN)
    assert f.requests_within(start, timedelta(minutes=30)) == pytest.approx(600 * 20 / 15)


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2026, 10, 24), max_value=datetime(2026, 10, 26), timezones=st.just(UTC)),
    first=st.integers(min_value=0, max_value=600),
    second=st.integers(min_value=0, max_value=600),
)
def test_requests_within_adds_up_across_the_dst_change(start: datetime, first: int, second: int) -> None:
    """Over Berlin's fall-back night (2026-10-25, a 25-hour day) too: expected requests over two
    spans in a row are their sum, and never more than the busiest slot allows."""
    f = night_and_day(night=0.4, day=600.0)
    a, b = timedelta(minutes=first), timedelta(minutes=second)
    whole = f.requests_within(start, a + b)
    parts = f.requests_within(start, a), f.requests_within(start + a, b)
    assert whole is not None and None not in parts
    assert whole == pytest.approx(parts[0] + parts[1], abs=1e-6)  # type: ignore[operator]
    assert 0 <= whole <= 600 * (first + second) / 15 + 1e-6


def test_learn_keeps_each_slots_mean_requests_across_the_days_of_its_class() -> None:
    """Three weeks: 30 requests at 09:00 every weekday, and a lone request at 03:05 on two days in
    three. The means are per day of the class, quiet days counted as zero, recent weeks weighing more."""
    start = datetime(2026, 11, 2, tzinfo=BERLIN)  # a Monday
    days = 21
    counts = [0.0] * (days * 1440)
    for day in range(days):
        when = start + timedelta(days=day)
        if when.weekday() < 5:
            counts[day * 1440 + 9 * 60] = 30.0  # 09:00 every weekday
            if day % 3 != 0:
                counts[day * 1440 + 3 * 60 + 5] = 1.0  # a lone request at 03:05 on two weekdays in three
    prices = HoldingPrices(0.17, 0.10, 0.01, 6.0, 20.0, 2)
    f = learn(counts, start, start + timedelta(days=days), "Europe/Berlin", prices)
    assert f is not None
    assert f.requests["weekday"][9 * 4] == pytest.approx(30.0)
    assert 0.5 < f.requests["weekday"][3 * 4] < 0.8  # weighted toward recent weeks
    assert f.requests["weekend"][9 * 4] == 0.0
    assert Forecast.from_item(f.to_item()).requests == {c: [round(v, 2) for v in f.requests[c]] for c in CLASSES}


def test_a_forecast_item_with_request_means_of_the_wrong_length_is_refused() -> None:
    item = night_and_day().to_item()
    item["requests"] = {c: [0.0] * 3 for c in CLASSES}
    with pytest.raises(ValueError, match="requests need 96 slots"):
        Forecast.from_item(item)


def test_holidays_are_priced_as_weekends() -> None:
    """A holiday Monday reads the weekend's means: nothing at 09:00, so a lone request is declined."""
    f = night_and_day()
    holiday = Forecast(
        f.timezone,
        f.generated_at,
        f.history_days,
        f.peak,
        f.occurrence,
        f.floors,
        frozenset({date(2026, 11, 23)}),
        f.requests,
    )
    _, d = decide_at(MORNING, alarm(1), forecast=holiday)
    assert d.rule == Rule.NOT_WORTH_WARMING
