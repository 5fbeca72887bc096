"""Learned demand, pure: profiles at explicit times (DST weeks included), the ski-rental floors,
robustness to one anomalous day, and properties over random weekly shapes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icpilot.domain.forecast import SLOTS_PER_DAY, Forecast, HoldingPrices, forecast_floor, learn, weighted_quantile

from tests.strength import examples

BERLIN = ZoneInfo("Europe/Berlin")
PRICES = HoldingPrices(
    copy_per_minute=10.18 / 4 / 60,  # one A10G of ml.g5.24xlarge
    refusal_cost=0.10,
    delay_cost_per_minute=0.01,
    load_minutes=6,
    per_copy_per_minute=55,
    max_copies=4,
)


def series(start: datetime, days: int, rate: Callable[[datetime], float], zone: ZoneInfo = BERLIN) -> list[float]:
    """Per-minute counts from ``rate(local datetime)``."""
    return [float(rate((start + timedelta(minutes=i)).astimezone(zone))) for i in range(days * 1440)]


def office(local: datetime) -> float:
    return 60.0 if local.weekday() < 5 and 9 <= local.hour < 17 else 0.0


@pytest.mark.parametrize(
    ("peak", "occurrence", "copies"),
    [
        (60, 1.0, 2),  # the module's worked example: 55 + 5 requests a minute
        (55, 1.0, 1),
        (1, 0.25, 0),  # a trickle is never worth a copy
        (120, 0.1, 0),  # on one day in ten: not a pattern (random bursts recur by chance)
        (120, 0.6, 3),  # 0.6 x 55 x 6 x 0.03 = $5.94 for copies 1, 2; copy 3 serves 10: $1.08 > $0.64
        (110, 0.6, 2),  # copy 3 serves 0
        (500, 1.0, 4),  # capped at max_copies
        (0, 1.0, 0),
    ],
)
def test_copies_worth_holding(peak: float, occurrence: float, copies: int) -> None:
    assert PRICES.worth_holding(peak, occurrence) == copies


def test_weighted_quantile() -> None:
    assert weighted_quantile([0, 10, 10, 10], [1, 1, 1, 1], 0.75) == 10
    assert weighted_quantile([0, 0, 0, 10], [1, 1, 1, 1], 0.75) == 0
    assert weighted_quantile([0, 10], [0.1, 1], 0.75) == 10  # the recent day weighs more
    assert weighted_quantile([], [], 0.75) == 0


def test_an_office_fortnight_gives_weekday_floors_at_explicit_times() -> None:
    start = datetime(2026, 11, 9, tzinfo=BERLIN)  # Monday 00:00
    now = datetime(2026, 11, 23, 0, 0, tzinfo=BERLIN)
    f = learn(series(start, 14, office), start, now, "Europe/Berlin", PRICES)
    assert f is not None and f.history_days == 13  # the first day begins at its first request: partial, left out
    at = lambda d, h, m=0: datetime(2026, 11, d, h, m, tzinfo=BERLIN)  # noqa: E731
    assert f.floor_at(at(23, 8, 59)) == 0  # Monday before nine
    assert f.floor_at(at(23, 9, 0)) == 2  # 60 a minute: 55 + 5
    assert f.floor_at(at(23, 16, 59)) == 2
    assert f.floor_at(at(23, 17, 0)) == 0
    assert f.floor_at(at(28, 12)) == 0  # Saturday
    # the lead: from 08:50 with 12 minutes to load, the 09:00 floor already counts
    assert f.floor_within(at(23, 8, 50), timedelta(minutes=12)) == 2
    assert f.floor_within(at(23, 8, 40), timedelta(minutes=12)) == 0
    assert f.held_copy_hours_per_week() == 5 * 8 * 2


def test_one_holiday_does_not_move_the_profile() -> None:
    start = datetime(2026, 11, 9, tzinfo=BERLIN)
    counts = series(start, 14, lambda t: 0.0 if t.date() == datetime(2026, 11, 11).date() else office(t))
    f = learn(counts, start, datetime(2026, 11, 23, tzinfo=BERLIN), "Europe/Berlin", PRICES)
    assert f is not None and f.floor_at(datetime(2026, 11, 23, 10, tzinfo=BERLIN)) == 2


def test_one_outage_storm_does_not_raise_it() -> None:
    start = datetime(2026, 11, 9, tzinfo=BERLIN)
    storm = datetime(2026, 11, 18).date()
    counts = series(start, 14, lambda t: 400.0 if t.date() == storm and t.hour == 20 else office(t))
    f = learn(counts, start, datetime(2026, 11, 23, tzinfo=BERLIN), "Europe/Berlin", PRICES)
    assert f is not None and f.floor_at(datetime(2026, 11, 23, 20, tzinfo=BERLIN)) == 0


def test_a_dst_week_keeps_the_local_hours() -> None:
    """Berlin leaves summer time on Sunday 25 Oct 2026: 09:00 local is 07:00Z before and 08:00Z after."""
    start = datetime(2026, 10, 19, tzinfo=BERLIN)
    now = datetime(2026, 11, 2, tzinfo=BERLIN)
    f = learn(series(start, 14, office), start, now, "Europe/Berlin", PRICES)
    assert f is not None
    assert f.floor_at(datetime(2026, 11, 2, 8, 0, tzinfo=UTC)) == 2  # 09:00 CET
    assert f.floor_at(datetime(2026, 11, 2, 7, 0, tzinfo=UTC)) == 0  # 08:00 CET


def test_it_never_sees_the_future_and_needs_min_history() -> None:
    start = datetime(2026, 11, 9, tzinfo=BERLIN)
    counts = series(start, 14, office)
    early = datetime(2026, 11, 11, 12, tzinfo=BERLIN)  # two and a half days in
    assert learn(counts, start, early, "Europe/Berlin", PRICES) is None
    # a forecast made on day 5 does not change when later days change
    day5 = datetime(2026, 11, 14, tzinfo=BERLIN)
    later = counts[: 5 * 1440] + [999.0] * (9 * 1440)
    assert learn(counts, start, day5, "Europe/Berlin", PRICES) == learn(later, start, day5, "Europe/Berlin", PRICES)


def test_the_item_round_trips_and_bad_items_are_named() -> None:
    start = datetime(2026, 11, 9, tzinfo=BERLIN)
    f = learn(series(start, 14, office), start, datetime(2026, 11, 23, tzinfo=BERLIN), "Europe/Berlin", PRICES)
    assert f is not None
    back = Forecast.from_item(f.to_item())
    assert back.floors == f.floors and back.changed_from(f) == 0
    with pytest.raises(ValueError, match="unreadable forecast item"):
        Forecast.from_item({"timezone": "Mars/Olympus"})
    assert forecast_floor("forecast-only", 4, f, datetime(2026, 11, 23, 10, tzinfo=BERLIN), timedelta(0)) is None
    assert forecast_floor("scale", 1, f, datetime(2026, 11, 23, 10, tzinfo=BERLIN), timedelta(0)) == 1


def test_a_holiday_in_the_policy_is_held_and_learned_as_a_weekend_day() -> None:
    """Wed 11 Nov listed in the policy as a holiday:
    at 10:00 that Wednesday the forecast holds what a Saturday holds (nothing), where the plain
    forecast holds the weekday's two copies; the day's quiet history joins the weekends', not the
    weekdays' (whose floors stay), and the holiday survives the state table."""
    start = datetime(2026, 11, 2, tzinfo=BERLIN)
    holiday = datetime(2026, 11, 11).date()
    counts = series(start, 14, lambda t: 0.0 if t.date() == holiday else office(t))
    now = datetime(2026, 11, 11, 0, 0, tzinfo=BERLIN)  # learned at the holiday's midnight
    plain = learn(counts, start, now, "Europe/Berlin", PRICES)
    listed = learn(counts, start, now, "Europe/Berlin", PRICES, holidays=frozenset({holiday}))
    assert plain is not None and listed is not None
    ten = datetime(2026, 11, 11, 10, tzinfo=BERLIN)
    assert plain.floor_at(ten) == 2 and listed.floor_at(ten) == 0
    assert listed.floor_at(datetime(2026, 11, 12, 10, tzinfo=BERLIN)) == 2  # Thursday is a weekday again
    assert listed.unheld_odds_within(ten, timedelta(hours=1)) == 0.0  # a weekend slot: no demand seen
    back = Forecast.from_item(listed.to_item())
    assert back.holidays == {holiday} and back.floor_at(ten) == 0
    # a holiday in the history: learned with the weekends (their 10:00 stays empty), weekdays unmoved
    later = datetime(2026, 11, 16, tzinfo=BERLIN)
    learned = learn(counts, start, later, "Europe/Berlin", PRICES, holidays=frozenset({holiday}))
    assert learned is not None
    assert learned.floor_at(datetime(2026, 11, 16, 10, tzinfo=BERLIN)) == 2
    assert learned.occurrence["weekend"][40] == 0.0 and learned.occurrence["weekday"][40] == 1.0


weekly = st.lists(st.sampled_from([0.0, 0.0, 3.0, 20.0, 60.0, 200.0]), min_size=7 * 24, max_size=7 * 24)


@settings(max_examples=examples(25), deadline=None)
@given(hours=weekly, cap=st.integers(0, 6))
def test_floors_never_exceed_the_ceiling(hours: list[float], cap: int) -> None:
    start = datetime(2026, 11, 2, tzinfo=UTC)
    counts = [hours[(i // 60) % (7 * 24)] for i in range(14 * 1440)]
    prices = HoldingPrices(0.04, 0.1, 0.01, 6, 55, cap)
    f = learn(counts, start, start + timedelta(days=14), "UTC", prices)
    assert f is not None or not any(counts)
    if f is not None:
        assert all(0 <= x <= cap for cls in f.floors.values() for x in cls)
        assert all(len(cls) == SLOTS_PER_DAY for cls in f.floors.values())


@settings(max_examples=examples(20), deadline=None)
@given(hours=weekly)
def test_more_weeks_of_the_same_shape_never_lower_accuracy(hours: list[float]) -> None:
    """Identical weeks: the profile's error against the week's own peaks never grows with history."""
    start = datetime(2026, 11, 2, tzinfo=UTC)

    def error(weeks: int) -> float:
        counts = [hours[(i // 60) % (7 * 24)] for i in range(weeks * 7 * 1440)]
        f = learn(counts, start, start + timedelta(weeks=weeks), "UTC", PRICES, history=timedelta(days=15))
        if f is None:
            return float("inf")
        total = 0.0
        for h in range(7 * 24):
            when = start + timedelta(weeks=weeks, hours=h)
            if when.weekday() < 5:  # the weekday class pools five days of the same shape only if equal
                continue
            total += abs(f.expected_at(when) - hours[h])
        return total

    errors = [error(w) for w in (1, 2)]
    assert errors[1] <= errors[0]
