"""A burst of windows opening together across the fleet: the warm-ups start earlier by the time
their writes take at the paced rate (``domain.bursts``), the opening schedules spread the burst
over that time, and the decision counts the window as due as early as its schedule fires."""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from icpilot.domain.bursts import burst_lead, burst_leads, opening_together, spread
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
from icpilot.domain.windows import edges
from icpilot.plans.schedules import RULES_PER_SCHEDULE, ScheduleSpec, desired_schedules
from icpilot.policy import load_policy_text
from icpilot.policy.model import Policy


def edge_of(specs: dict[str, ScheduleSpec], rule_ref: str, edge: str) -> ScheduleSpec:
    """The schedule that fires ``rule_ref``'s ``edge`` (its own, or its endpoint's shared one)."""
    (found,) = [
        s
        for s in specs.values()
        if s.payload.get("edge") == edge and rule_ref in s.payload.get("rules", [s.payload.get("rule")])
    ]
    return found


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
    # 500 s, whole minutes up, and the last invocation's minute
    assert set(burst_leads(policy, 4.0).values()) == {timedelta(minutes=10)}
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
    assert set(bursts.values()) == {timedelta(minutes=6)}  # the tick warms them 6 minutes earlier
    opening = edge_of(desired_schedules(policy, None, bursts), "llm-0/m0/batch", "open")  # fires at the opening:
    assert opening.flexible_time_window == {"Mode": "OFF"}  # spread, it would only come later


@given(st.integers(min_value=0, max_value=100_000), st.floats(min_value=0.1, max_value=1000))
def test_a_burst_lead_covers_its_writes_or_they_fit_in_a_minute(together: int, rate: float) -> None:
    lead = burst_lead(together, rate)
    seconds = together / rate
    assert lead.total_seconds() % 60 == 0
    assert lead.total_seconds() >= seconds or (lead == timedelta(0) and seconds < 60)
    assert lead.total_seconds() < seconds + 120  # whole minutes up, and the last invocation's minute
    assert lead == timedelta(0) or spread(lead).total_seconds() >= seconds  # the spread covers the writes


def test_the_opening_schedules_fire_earlier_by_the_burst_and_spread_over_it() -> None:
    policy = fleet(2000, 200)
    bursts = burst_leads(policy, 4.0)
    leads = {c: timedelta(minutes=8) + bursts[c] for _, c, _ in policy.components()}
    specs = desired_schedules(policy, leads, bursts)
    opening = edge_of(specs, "llm-0/m0/day", "open")
    assert opening.expression == "cron(42 7 * * ? *)"  # 08:00 - 8 min load - 9 min of writes - 1
    assert opening.flexible_time_window == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 9}
    assert edge_of(specs, "llm-0/m0/day", "close").flexible_time_window == {"Mode": "OFF"}
    assert edge_of(desired_schedules(policy, leads), "llm-0/m0/day", "open").flexible_time_window == {"Mode": "OFF"}
    # An endpoint's ten windows open together: one schedule carries them (one observation of the
    # endpoint per burst, not ten): 400 schedules for the fleet's 4,000 edges, and its 200 daily reports.
    assert opening.payload == {"rules": sorted(f"llm-0/m{n}/day" for n in range(0, 2000, 200)), "edge": "open"}
    assert len(specs) == 200 * 2 + 200
    current = {
        "ScheduleExpression": opening.expression,
        "ScheduleExpressionTimezone": opening.timezone,
        "Target": {"Input": json.dumps(opening.payload)},
        "FlexibleTimeWindow": {"Mode": "OFF"},
    }
    assert not opening.same_as(current)  # a window spread since is updated
    assert opening.same_as({**current, "FlexibleTimeWindow": opening.flexible_time_window})


def test_the_decision_counts_the_window_due_as_early_as_its_spread_schedule_fires() -> None:
    """At 07:42 Berlin (08:00 - 8 min load - 9 min of writes - 1) the window is due with the burst's
    lead, not without it; a component whose instance is running adds no provisioning."""
    policy = fleet(2000, 200)
    now = datetime(2026, 12, 7, 6, 42, tzinfo=UTC)  # 07:42 CET
    component = ComponentObservation("m0", ComponentStatus.IN_SERVICE, 0, 0, Reservation(1, 4, 16_384))
    endpoint = EndpointObservation("llm-0", "ml.g5.24xlarge", 2, (component,), current_instances=1)
    trigger = Trigger(TriggerKind.SCHEDULE, source="schedule:open", rule="llm-0/m0/day")

    def decided(queued: timedelta) -> Any:
        inputs = build_inputs(policy, endpoint, component, ComponentState(), [], None, now, queued=queued)
        return inputs.decide(trigger, now)

    assert decided(timedelta(0)).action == Action.NONE
    early = decided(burst_leads(policy, 4.0)["m0"])
    assert (early.action, early.target) == (Action.SCALE, 1)


@given(
    st.integers(min_value=1, max_value=60),
    st.integers(min_value=1, max_value=3),
    st.lists(st.integers(min_value=0, max_value=2), min_size=60, max_size=60),
)
def test_every_edge_fires_from_exactly_one_schedule_and_a_shared_one_holds_one_instant(
    components: int, endpoints: int, lead_minutes: list[int]
) -> None:
    """However components share endpoints and leads: each window edge is carried by one schedule;
    a shared schedule carries one endpoint's edges that fire at the same instant, at most
    RULES_PER_SCHEDULE of them; a lone edge keeps its own schedule and payload."""
    policy = fleet(components, endpoints)
    leads = {c: timedelta(minutes=lead_minutes[n]) for n, (_, c, _) in enumerate(policy.components())}
    specs = desired_schedules(policy, leads)
    carried: list[tuple[str, str]] = []
    for spec in (s for s in specs.values() if "edge" in s.payload):  # not the daily reports
        refs = spec.payload.get("rules") or [spec.payload["rule"]]
        assert 1 <= len(refs) <= RULES_PER_SCHEDULE
        assert len({r.split("/")[0] for r in refs}) == 1  # one endpoint
        edge = spec.payload["edge"]
        carried += [(r, edge) for r in refs]
        if "rule" in spec.payload:
            endpoint, component, rule = spec.payload["rule"].split("/")
            assert spec.name == f"{endpoint}.{component}.{rule}.{edge}"
        for ref in refs:  # each member's own edge fires at the schedule's instant
            _, component, _ = ref.split("/")
            (rule,) = policy.component(component)[1].schedules  # type: ignore[index]
            assert next(e.expression for e in edges(rule, leads[component]) if e.edge == edge) == spec.expression
    expected = [(f"{e}/{c}/day", edge) for e, c, _ in policy.components() for edge in ("open", "close")]
    assert sorted(carried) == sorted(expected)
    instants = Counter(  # an endpoint's edges firing together share as few schedules as the limit allows
        (ref.split("/")[0], spec.payload["edge"], spec.expression)
        for spec in specs.values()
        if "edge" in spec.payload
        for ref in spec.payload.get("rules") or [spec.payload["rule"]]
    )
    shared = Counter(
        (r.split("/")[0], s.payload["edge"], s.expression)
        for s in specs.values()
        for r in s.payload.get("rules", [])[:1]
    )
    lone = Counter(
        (s.payload["rule"].split("/")[0], s.payload["edge"], s.expression)
        for s in specs.values()
        if "rule" in s.payload
    )
    for instant, members in instants.items():
        assert shared[instant] + lone[instant] == math.ceil(members / RULES_PER_SCHEDULE)
        assert lone[instant] == (1 if members == 1 else 0)


def test_a_shared_schedule_keeps_its_name_when_its_lead_moves() -> None:
    """A measured time to ready moves every member's lead: the shared schedule is updated in
    place (same name), not deleted and made again."""
    policy = fleet(4, 1)
    before = desired_schedules(policy, {c: timedelta(minutes=8) for _, c, _ in policy.components()})
    after = desired_schedules(policy, {c: timedelta(minutes=12) for _, c, _ in policy.components()})
    assert set(before) == set(after) and len(before) == 3  # opening, closing, daily report
    opening = next(name for name, s in before.items() if s.payload.get("edge") == "open")
    assert (before[opening].expression, after[opening].expression) == ("cron(52 7 * * ? *)", "cron(48 7 * * ? *)")
