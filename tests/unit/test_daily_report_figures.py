"""The daily report's arithmetic (icpilot.domain.report), at explicit times: local days across DST,
copy-hours from icpilot's transitions and AAS's settings together, cold starts, percentiles,
requests refused during warm-ups, and the forecast's error."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from icpilot.domain.report import (
    cold_starts,
    copy_hours,
    delayed_requests,
    local_day,
    percentile,
    weighted_absolute_error,
)
from icpilot.domain.transitions import CopyChange
from icpilot.plans.schedules import desired_schedules
from icpilot.policy import load_policy_text

T0 = datetime(2026, 11, 23, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


@pytest.mark.parametrize(
    ("day", "zone", "since", "hours"),
    [
        (date(2026, 11, 23), "Europe/Berlin", datetime(2026, 11, 22, 23, tzinfo=UTC), 24),
        (date(2026, 3, 29), "Europe/Berlin", datetime(2026, 3, 28, 23, tzinfo=UTC), 23),  # spring forward
        (date(2026, 10, 25), "Europe/Berlin", datetime(2026, 10, 24, 22, tzinfo=UTC), 25),  # fall back
        (date(2026, 11, 1), "America/New_York", datetime(2026, 11, 1, 4, tzinfo=UTC), 25),
        (date(2026, 12, 31), "UTC", datetime(2026, 12, 31, tzinfo=UTC), 24),  # the year's last day
        (date(2026, 11, 23), "Asia/Kolkata", datetime(2026, 11, 22, 18, 30, tzinfo=UTC), 24),
    ],
)
def test_a_local_day_runs_midnight_to_midnight_in_its_zone(day: date, zone: str, since: datetime, hours: int) -> None:
    start, end = local_day(day, zone)
    assert start == since and end - start == timedelta(hours=hours)


@pytest.mark.parametrize(
    ("transitions", "settings", "current", "expected"),
    [
        ([], [], 3, (3 * 24.0, 0)),  # nothing ever changed: today's count all day
        ([CopyChange(at(6), 0, 2)], [], 5, (2 * 18.0, 1)),
        ([CopyChange(at(30), 1, 0)], [], 0, (24.0, 0)),  # a later change tells what the day held
        ([CopyChange(at(-5), 0, 4)], [], 1, (4 * 24.0, 0)),
        # AAS scaled out at 9 and icpilot back in at 10: both count, the shared 06:00 change once
        (
            [CopyChange(at(6), 0, 2), CopyChange(at(10), 4, 2)],
            [(at(6), 2), (at(9), 4)],
            2,
            (3 * 2 + 1 * 4 + 14 * 2, 3),
        ),
    ],
)
def test_copy_hours_follow_every_recorded_setting(
    transitions: list[CopyChange], settings: list[tuple[datetime, int]], current: int, expected: tuple[float, int]
) -> None:
    hours, changes = copy_hours(transitions, at(0), at(24), current, settings)
    assert (round(hours, 6), changes) == expected


@given(
    st.lists(st.tuples(st.integers(0, 24 * 60), st.integers(0, 8)), max_size=20),
    st.integers(0, 8),
)
def test_copy_hours_stay_between_the_smallest_and_largest_count(changes: list[tuple[int, int]], current: int) -> None:
    settings = [(at(m / 60), n) for m, n in changes]
    hours, _ = copy_hours([], at(0), at(24), current, settings)
    counts = [n for _m, n in changes] + [current]
    assert min(counts) * 24 - 1e-9 <= hours <= max(counts) * 24 + 1e-9


def test_cold_starts_are_raises_from_zero_inside_the_day() -> None:
    transitions: list[CopyChange] = [
        CopyChange(at(-1), 0, 1),  # the day before
        CopyChange(at(3), 1, 0),
        CopyChange(at(5), 0, 2),
        CopyChange(at(7), 2, 3),  # a scale-out, not a cold start
        CopyChange(at(24), 0, 1),  # at the day's end: (since, until] includes it
    ]
    assert cold_starts(transitions, at(0), at(24)) == [at(5), at(24)]


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [([], 0.5, None), ([7.0], 0.9, 7.0), ([1, 2, 3, 4], 0.5, 2.5), ([10, 20, 30, 40, 50], 0.9, 46.0)],
)
def test_percentile_interpolates_between_order_statistics(
    values: list[float], q: float, expected: float | None
) -> None:
    assert percentile(values, q) == expected


@given(st.lists(st.floats(0, 1e4), min_size=1, max_size=50), st.floats(0, 1), st.floats(0, 1))
def test_percentile_is_monotone_and_bounded(values: list[float], a: float, b: float) -> None:
    low, high = sorted((a, b))
    p_low, p_high = percentile(values, low), percentile(values, high)
    assert p_low is not None and p_high is not None
    assert min(values) - 1e-6 <= p_low <= p_high + 1e-6 <= max(values) + 2e-6


def test_refusals_during_a_warm_up_are_the_delayed_ones() -> None:
    refused = [0.0] * 60
    refused[5], refused[12], refused[40] = 3, 2, 4  # 00:05 and 00:12 inside the warm-up, 00:40 after
    warm_ups = [(at(0) + timedelta(minutes=4), at(0) + timedelta(minutes=13))]
    assert delayed_requests(refused, at(0), warm_ups) == 5


def test_the_forecast_error_is_the_miss_over_the_demand() -> None:
    assert weighted_absolute_error([10, 0, 5], [8, 2, 5]) == pytest.approx(4 / 15)
    assert weighted_absolute_error([3, 3], [0, 0]) is None  # no demand: nothing to be wrong about


def test_each_endpoint_gets_a_daily_report_schedule_at_its_local_time() -> None:
    policy = load_policy_text(
        """
version: 1
endpoints:
  chat:
    timezone: America/New_York
    daily_report: {at: "07:30"}
    components: {m: {max_copies: 2}}
  batch:
    daily_report: {enabled: false}
    components: {b: {max_copies: 1}}
  berlin:
    components:
      x:
        max_copies: 1
        schedules: [{name: day, timezone: Europe/Berlin, days: [MON], start: "08:00", end: "09:00", min_copies: 1}]
"""
    )
    specs = {s.name: s for s in desired_schedules(policy).values() if s.payload.get("report")}
    assert set(specs) == {"chat.daily-report", "berlin.daily-report"}
    assert (specs["chat.daily-report"].expression, specs["chat.daily-report"].timezone) == (
        "cron(30 7 * * ? *)",
        "America/New_York",
    )
    assert specs["berlin.daily-report"].timezone == "Europe/Berlin"  # the zone of its windows
    assert policy.endpoints["berlin"].daily_report.at == time(8, 0)
