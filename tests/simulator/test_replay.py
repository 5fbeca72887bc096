"""An optimum's schedule played under the simulator's rules: the queue drains a backlog with the
capacity it has, where the optima assume draining is free."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from icpilot.domain.capacity import Reservation
from icpilot.domain.cost import CostModel
from icpilot.policy import load_policy_text
from icpilot.policy.model import CostPolicy

from simulator.backtest import backtest_components
from simulator.engine import REPLAY, RunRules, SimComponent, run
from simulator.optimum import SlotCosts, solve_slot
from simulator.traces import MinuteDemand, Throughput

START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
MINUTES = 20
POLICY = load_policy_text(
    "endpoints:\n  ep:\n    components:\n      m: {max_copies: 1, idle_scale_to_zero_after: 5m}\n"
)
COST = CostModel.of(CostPolicy(), "ml.g5.xlarge")  # $1.408/h for its one GPU, refusal $0.10, delay $0.01/min
RULES = RunRules("ml.g5.xlarge", 1, COST, min_instances=1, provisioning_minutes=0, patience=3)


def one_request_a_minute(minutes: list[int], name: str = "m") -> SimComponent:
    """One request of 60 slot-seconds in each listed minute: exactly what one copy (1 slot) serves."""
    requests = [1 if t in minutes else 0 for t in range(MINUTES)]
    demand = MinuteDemand(requests, [60.0 * r for r in requests])
    return SimComponent(
        name, POLICY.endpoints["ep"].components["m"], Reservation(1, 1, 1024), demand, Throughput(slots_per_copy=1), 2
    )


def test_a_replayed_schedule_pays_the_backlog_its_optimum_drains_for_free() -> None:
    """Requests in minutes 10, 11, 12; a copy loads in 2 minutes. The reactive optimum loads at 10 and
    serves from 12: the two waiting requests (2 and 1 minutes) are served in minute 12 beside that
    minute's own, then it releases the copy: 3 paid minutes + $0.03 of waiting. Played under the
    simulator's rules, minute 12's capacity serves only the oldest (2 minutes late); the other two
    wait for a copy that is gone and are refused after the 3 minutes of patience."""
    component = one_request_a_minute([10, 11, 12])
    per_minute = COST.copy_per_minute(component.reservation)
    relaxed = solve_slot(
        [float(r) for r in component.demand.requests], SlotCosts(per_minute, 0.10, 0.01, 2, 3), reactive=True
    )
    assert [t for t, paid in enumerate(relaxed.paid) if paid] == [10, 11, 12]
    assert (relaxed.refused, relaxed.delayed_minutes) == (0, 3)

    schedule = {"m": [1 if paid else 0 for paid in relaxed.paid]}
    ledger = run(REPLAY, [component], RULES, START, MINUTES, schedule=schedule).ledgers["m"]
    assert ledger.copy_minutes == 3  # the same paid minutes
    assert (ledger.served, ledger.delayed, ledger.delayed_minutes, ledger.refused) == (1, 1, 2, 2)
    assert ledger.penalty(COST) == pytest.approx(2 * 0.01 + 2 * 0.10)
    assert ledger.penalty(COST) > relaxed.cost(SlotCosts(0.0, 0.10, 0.01, 2, 3))


def test_a_schedule_that_keeps_its_copy_drains_the_backlog() -> None:
    """The same requests with the copy kept two minutes longer: each waits 2 minutes, none refused."""
    component = one_request_a_minute([10, 11, 12])
    schedule = {"m": [1 if 10 <= t <= 14 else 0 for t in range(MINUTES)]}
    ledger = run(REPLAY, [component], RULES, START, MINUTES, schedule=schedule).ledgers["m"]
    assert (ledger.copy_minutes, ledger.delayed_minutes, ledger.refused) == (5, 6, 0)


@pytest.mark.parametrize(
    ("strategy", "schedule"),
    [(REPLAY, None), ("icpilot", {"m": [0] * MINUTES})],
    ids=["replay without a schedule", "a schedule for an online strategy"],
)
def test_a_schedule_goes_with_the_replay_and_only_with_it(strategy: str, schedule: dict | None) -> None:
    with pytest.raises(ValueError, match="schedule"):
        run(strategy, [one_request_a_minute([1])], RULES, START, MINUTES, schedule=schedule)


def test_a_replay_releases_before_it_adds_so_a_handover_fits() -> None:
    """One GPU; the schedule hands it from ``a`` to ``b`` in minute 5. Whatever the components'
    order, ``b`` gets its copy in that minute: the release is applied first."""
    a, b = one_request_a_minute([], "a"), one_request_a_minute([], "b")
    schedule = {"a": [1 if t < 5 else 0 for t in range(MINUTES)], "b": [1 if t >= 5 else 0 for t in range(MINUTES)]}
    result = run(REPLAY, [b, a], RULES, START, MINUTES, schedule=schedule)
    assert result.copies == schedule


def test_a_backtest_refuses_demand_that_does_not_span_the_run() -> None:
    """The optima solve the whole demand series and the strategies the run's minutes: scored on
    different spans, they would not compare."""
    with pytest.raises(ValueError, match="m: 20 minutes of demand for a run of 10 minutes"):
        backtest_components([one_request_a_minute([1])], RULES, START, 10)
