"""The messy synthetic month: what real months have besides office hours, at explicit local times."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from simulator.synthetic import office

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 10, 19, tzinfo=BERLIN)  # a Monday; summer time ends on Sunday 25 October
HOLIDAY = date(2026, 10, 21)


def local_minutes(days: int) -> list[datetime]:
    return [(START + timedelta(minutes=m)).astimezone(BERLIN) for m in range(days * 1440)]


def test_lone_requests_fall_outside_office_hours_at_about_their_rate() -> None:
    demand = office(START, 14, seed=4, lone_per_hour=1.0, holidays=(HOLIDAY,)).demand()
    outside = [
        r
        for r, local in zip(demand.requests, local_minutes(14), strict=True)
        if local.weekday() >= 5 or local.date() == HOLIDAY or not 8 <= local.hour < 18
    ]
    hours_outside = len(outside) / 60
    assert 0.7 * hours_outside <= sum(outside) <= 1.3 * hours_outside  # about one an hour
    assert max(outside) <= 3  # lone requests, not traffic
    holiday = [r for r, t in zip(demand.requests, local_minutes(14), strict=True) if t.date() == HOLIDAY]
    assert sum(holiday) <= 60  # a holiday has only the lone requests


def test_the_weekly_meeting_is_at_its_local_time_on_both_sides_of_the_dst_change() -> None:
    demand = office(START, 14, seed=4, peak_requests=0.0, meeting=(1, 16, 60, 40.0)).demand()
    busy = {
        local.strftime("%a %Y-%m-%d %H") for r, local in zip(demand.requests, local_minutes(14), strict=True) if r >= 10
    }
    # Tuesdays 20 Oct (summer time) and 27 Oct (winter time), 16:00-17:00 Berlin, nothing else
    assert busy == {"Tue 2026-10-20 16", "Tue 2026-10-27 16"}
