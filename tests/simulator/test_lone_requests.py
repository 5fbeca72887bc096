"""Lone requests at night (issue 33), through the simulator, which runs the Lambdas' ``decide()``:
with learned demand acting, a lone request at a quiet hour is refused rather than warmed for,
demand that lasts through the night is warmed by the tick, and a policy whose learned demand only
advises warms for every request, as before."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icpilot.domain.capacity import Reservation
from icpilot.domain.cost import CostModel
from icpilot.domain.events import EventType
from icpilot.policy import load_policy_text

from simulator.engine import Result, RunRules, SimComponent, run
from simulator.traces import MinuteDemand, Throughput

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 11, 2, tzinfo=BERLIN)  # a Monday
DAYS = 9  # the last day (Tuesday 2026-11-10) is scored: a week of history before it
LONE = 3 * 60 + 5  # 03:05, a lone request every night
STREAM = (1 * 60, 1 * 60 + 40)  # 01:00-01:40 on the scored night only: a request every minute


def demand() -> MinuteDemand:
    requests = [0] * (DAYS * 1440)
    for day in range(DAYS):
        base = day * 1440
        if (START + timedelta(days=day)).weekday() < 5:
            for minute in range(9 * 60, 17 * 60):
                requests[base + minute] = 30
        requests[base + LONE] = 1
    last = (DAYS - 1) * 1440
    for minute in range(*STREAM):
        requests[last + minute] = 1
    return MinuteDemand(requests, [r * 2.0 for r in requests])


def simulate(mode: str) -> tuple[Result, SimComponent]:
    policy = load_policy_text(
        "cost: {refusal_cost: 0.10}\n"
        "endpoints:\n  ep:\n    components:\n      m:\n"
        "        max_copies: 2\n        idle_scale_to_zero_after: 30m\n        expected_time_to_ready: 6m\n"
        f"        predictive: {{mode: {mode}, timezone: Europe/Berlin}}\n"
    )
    component = SimComponent(
        "m", policy.endpoints["ep"].components["m"], Reservation(2, 8, 32768), demand(), Throughput(), 6
    )
    rules = RunRules(
        "ml.g5.24xlarge", 1, CostModel.for_endpoint(policy, "ep", "ml.g5.24xlarge"), policy=policy, endpoint="ep"
    )
    scored = (DAYS - 1) * 1440
    return run("icpilot", [component], rules, START, DAYS * 1440, score_from=scored), component


def night_copies(result: Result, first: int, last: int) -> list[int]:
    base = (DAYS - 1) * 1440
    return result.copies["m"][base + first : base + last]


def test_a_lone_request_at_night_is_refused_not_warmed_for_and_said_once() -> None:
    result, _ = simulate("scale")
    assert max(night_copies(result, LONE, LONE + 60)) == 0  # no copy for the 03:05 request
    base = (DAYS - 1) * 1440
    declined = [m for m, _, kind in result.events if kind == str(EventType.WARM_UP_DECLINED) and m >= base]
    warmed = [m for m, _, kind in result.events if kind == str(EventType.WARM_UP_STARTED) and m >= base]
    assert base + LONE + 1 in declined  # the alarm's minute after the request
    # the morning is warmed ahead (learned floors), and the night's stream by the tick
    assert any(base + STREAM[0] < m <= base + STREAM[0] + 10 for m in warmed)
    assert result.ledgers["m"].refused >= 1


def test_demand_that_lasts_through_the_night_is_warmed_by_the_tick() -> None:
    result, _ = simulate("scale")
    copies = night_copies(result, *STREAM)
    # the alarm's minute declines the first requests; the first tick that finds the alarm standing
    # five minutes (01:10) warms
    assert copies[0] == 0 and max(copies) >= 1
    assert copies.index(1) == 10


def test_when_learned_demand_only_advises_every_lone_request_is_warmed_for() -> None:
    result, _ = simulate("forecast-only")
    assert max(night_copies(result, LONE, LONE + 60)) >= 1
    assert not [e for e in result.events if e[2] == str(EventType.WARM_UP_DECLINED)]


def test_declining_lone_requests_costs_less_on_the_bill() -> None:
    acting, _ = simulate("scale")
    advising, _ = simulate("forecast-only")
    assert acting.instance_minutes < advising.instance_minutes
