"""A burst of windows opening together across the fleet: the warm-ups start earlier by the time
their writes take at the paced rate (``domain.bursts``), the opening schedules spread the burst
over that time, and the decision counts the window as due as early as its schedule fires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from icpilot.domain.bursts import burst_lead, burst_leads, opening_together
from icpilot.domain.capacity import Reservation
from icpilot.domain.decision_types import (
    Action,
    ComponentObservation,
    ComponentState,
    EndpointObservation,
    Trigger,
    TriggerKind,
)
from icpilot.domain.inputs import build_inputs
from icpilot.domain.status import ComponentStatus
from icpilot.plans.schedules import desired_schedules
from icpilot.policy import load_policy_text
from icpilot.policy.model import Policy


def window(start: str = "08:00", tz: str = "Europe/Berlin", floor: int = 1, **extra: Any) -> dict[str, Any]:
    return {"name": "day", "timezone": tz, "start": start, "end": "18:00", "min_copies": floor, **extra}


def fleet(components: int, endpoints: int, rule: dict[str, Any] | None = None) -> Policy:
    """``components`` spread over ``endpoints``, each with ``rule`` (default: 08:00 Berlin, 1 copy)."""
    eps: dict[str, Any] = {}
    for n in range(components):
        ep = eps.setdefault(f"llm-{n % endpoints}", {"components": {}})
        ep["components"][f"m{n}"] = {"max_copies": 2, "schedules": [rule or window()]}
    return load_policy_text(yaml.safe_dump({"version": 1, "endpoints": eps}))


def test_two_thousand_openings_at_four_writes_a_second_lead_by_nine_minutes() -> None:
    policy = fleet(2000, 200)
    assert set(opening_together(policy).values()) == {2000}  # counted across endpoints: the account's rate
    assert set(burst_leads(policy, 4.0).values()) == {timedelta(minutes=9)}  # 500 s, whole minutes up
    assert set(burst_leads(policy, 40.0).values()) == set()  # 50 s: inside the lead's own minute
    assert burst_leads(policy, None) == {}  # not paced: nothing to reckon with


@pytest.mark.parametrize(
    ("second", "together"),
    [
        pytest.param(window("08:00", "Europe/Berlin"), 2, id="same wall time, same zone: together"),
        pytest.param(window("08:00", "America/New_York"), 1, id="same wall time elsewhere: apart"),
        pytest.param(window("08:30", "Europe/Berlin"), 1, id="half an hour later: apart"),
        pytest.param(
            window("08:00", "Europe/Berlin", floor=0, max_copies=2), 1, id="a window with no floor writes nothing"
        ),
    ],
)
def test_which_windows_open_together(second: dict[str, Any], together: int) -> None:
    policy = load_policy_text(
        yaml.safe_dump(
            {
                "version": 1,
                "endpoints": {
                    "a": {"components": {"m1": {"max_copies": 2, "schedules": [window()]}}},
                    "b": {"components": {"m2": {"max_copies": 2, "schedules": [second]}}},
                },
            }
        )
    )
    assert opening_together(policy)["m1"] == together


def test_cron_windows_with_one_expression_open_together_and_their_edge_is_not_spread() -> None:
    rule = {"name": "batch", "cron": "0 2 ? * MON-FRI *", "duration": "2h", "timezone": "UTC", "min_copies": 1}
    policy = fleet(300, 3, rule)
    assert set(opening_together(policy).values()) == {300}
    bursts = burst_leads(policy, 1.0)
    assert set(bursts.values()) == {timedelta(minutes=5)}  # the tick warms them 5 minutes earlier
    opening = desired_schedules(policy, None, bursts)["llm-0.m0.batch.open"]  # fires at the opening:
    assert opening.flexible_time_window == {"Mode": "OFF"}  # spread, it would only come later


@given(st.integers(min_value=0, max_value=100_000), st.floats(min_value=0.1, max_value=1000))
def test_a_burst_lead_covers_its_writes_or_they_fit_in_a_minute(together: int, rate: float) -> None:
    lead = burst_lead(together, rate)
    seconds = together / rate
    assert lead.total_seconds() % 60 == 0
    assert lead.total_seconds() >= seconds or (lead == timedelta(0) and seconds < 60)
    assert lead.total_seconds() < seconds + 60


def test_the_opening_schedules_fire_earlier_by_the_burst_and_spread_over_it() -> None:
    policy = fleet(2000, 200)
    bursts = burst_leads(policy, 4.0)
    leads = {c: timedelta(minutes=8) + bursts[c] for _, c, _ in policy.components()}
    specs = desired_schedules(policy, leads, bursts)
    opening = specs["llm-0.m0.day.open"]
    assert opening.expression == "cron(43 7 * * ? *)"  # 08:00 - 8 min load - 9 min of writes
    assert opening.flexible_time_window == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 9}
    assert specs["llm-0.m0.day.close"].flexible_time_window == {"Mode": "OFF"}
    assert desired_schedules(policy, leads)["llm-0.m0.day.open"].flexible_time_window == {"Mode": "OFF"}
    current = {
        "ScheduleExpression": opening.expression,
        "ScheduleExpressionTimezone": opening.timezone,
        "Target": {"Input": '{"edge": "open", "rule": "llm-0/m0/day"}'},
        "FlexibleTimeWindow": {"Mode": "OFF"},
    }
    assert not opening.same_as(current)  # a window spread since is updated
    assert opening.same_as({**current, "FlexibleTimeWindow": opening.flexible_time_window})


def test_the_decision_counts_the_window_due_as_early_as_its_spread_schedule_fires() -> None:
    """At 07:43 Berlin (08:00 - 8 min load - 9 min of writes) the window is due with the burst's
    lead, not without it; a component whose instance is running adds no provisioning."""
    policy = fleet(2000, 200)
    now = datetime(2026, 12, 7, 6, 43, tzinfo=UTC)  # 07:43 CET
    component = ComponentObservation("m0", ComponentStatus.IN_SERVICE, 0, 0, Reservation(1, 4, 16_384))
    endpoint = EndpointObservation("llm-0", "ml.g5.24xlarge", 2, (component,), current_instances=1)
    trigger = Trigger(TriggerKind.SCHEDULE, source="schedule:open", rule="llm-0/m0/day")

    def decided(queued: timedelta) -> Any:
        inputs = build_inputs(policy, endpoint, component, ComponentState(), [], None, now, queued=queued)
        return inputs.decide(trigger, now)

    assert decided(timedelta(0)).action == Action.NONE
    early = decided(burst_leads(policy, 4.0)["m0"])
    assert (early.action, early.target) == (Action.SCALE, 1)
