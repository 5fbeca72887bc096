"""The offline and reactive optima equal brute force on every small case, and hand-checked examples."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.optimum import SlotCosts, evaluate, layers, solve_slot
from simulator.traces import MinuteDemand, Throughput
from tests.strength import examples


def brute_force(demand: list[float], costs: SlotCosts, reactive: bool = False) -> float:
    """The cheapest of every loaded-minutes pattern a copy slot can follow (2^n patterns).

    A pattern is feasible when each run of loaded minutes starting at s has its ``load`` minutes
    [s - load, s) free of loaded minutes and inside the horizon; reactive patterns also need demand
    (arriving or still waiting) in the minute each load starts. Penalties come from ``evaluate``.
    """
    n, load, patience = len(demand), costs.load, costs.patience
    best = math.inf
    for bits in itertools.product((False, True), repeat=n):
        on = list(bits)
        starts = [s for s in range(n) if on[s] and (s == 0 or not on[s - 1])]
        feasible = True
        last_on = -1
        for s in starts:
            if s - load < 0 or any(on[s - load : s]):
                feasible = False
                break
            begin = s - load
            if reactive:
                waiting_from = max(last_on + 1, begin - patience)
                if not (demand[begin] or any(demand[waiting_from:begin])):
                    feasible = False
                    break
            last_on = max(m for m in range(s, n) if on[m] and all(on[s : m + 1]))
        if not feasible:
            continue
        refused, delayed = evaluate(on, demand, patience)
        cost = (
            (sum(on) + load * len(starts)) * costs.per_minute
            + refused * costs.refusal
            + delayed * costs.delay_per_minute
        )
        best = min(best, cost)
    return best


slot_costs = st.builds(
    SlotCosts,
    per_minute=st.sampled_from([0.5, 1.0, 2.5]),
    refusal=st.sampled_from([0.0, 0.3, 1.0, 4.0, 20.0]),
    delay_per_minute=st.sampled_from([0.0, 0.1, 0.7, 3.0]),
    load=st.integers(1, 4),
    patience=st.integers(0, 3),
)


@settings(max_examples=examples(300), deadline=None)
@given(demand=st.lists(st.sampled_from([0.0, 0.0, 1.0, 2.0, 0.5, 5.0]), min_size=1, max_size=12), costs=slot_costs)
def test_offline_optimum_equals_brute_force(demand: list[float], costs: SlotCosts) -> None:
    outcome = solve_slot(demand, costs)
    assert outcome.cost(costs) == pytest.approx(brute_force(demand, costs))


@settings(max_examples=examples(300), deadline=None)
@given(demand=st.lists(st.sampled_from([0.0, 0.0, 1.0, 2.0, 0.5, 5.0]), min_size=1, max_size=12), costs=slot_costs)
def test_reactive_optimum_equals_brute_force_and_never_beats_the_offline_one(
    demand: list[float], costs: SlotCosts
) -> None:
    reactive = solve_slot(demand, costs, reactive=True)
    assert reactive.cost(costs) == pytest.approx(brute_force(demand, costs, reactive=True))
    assert reactive.cost(costs) >= solve_slot(demand, costs).cost(costs) - 1e-9


@settings(max_examples=examples(60), deadline=None)
@given(
    requests=st.lists(st.integers(0, 30), min_size=1, max_size=8),
    seconds_per_request=st.sampled_from([10.0, 40.0, 90.0]),
    costs=slot_costs,
)
def test_two_copies_equal_brute_force_over_both_slots(
    requests: list[int], seconds_per_request: float, costs: SlotCosts
) -> None:
    """With two copies the slots are independent (no shared ceiling below 2): the optimum is the sum."""
    demand = MinuteDemand(requests, [r * seconds_per_request for r in requests])
    throughput = Throughput(slots_per_copy=8)
    two = layers(demand, throughput, 2)
    assert [a + b for a, b in zip(*two, strict=True)] == pytest.approx(
        [r * min(1.0, 960.0 / (r * seconds_per_request)) if r else 0.0 for r in requests]
    )
    total = sum(solve_slot(d, costs).cost(costs) for d in two)
    assert total == pytest.approx(sum(brute_force(d, costs) for d in two))


@pytest.mark.parametrize(
    ("demand", "costs", "paid", "on", "refused", "delayed"),
    [
        # The module's worked example: release through a gap longer than the load, reload in time.
        ([0, 0, 1, 1, 0, 0, 0, 1], SlotCosts(1, 10, 0.5, 2, 0), "11110111", "00110001", 0, 0),
        # Refusing is cheaper than a load for one cheap request at the very start.
        ([1, 0, 0, 0], SlotCosts(1, 0.5, 0.5, 2, 0), "0000", "0000", 1, 0),
        # Patience: a request at minute 0 waits 2 minutes for a copy loaded at 2 instead of failing.
        ([1, 0, 0, 0], SlotCosts(1, 10, 0.5, 2, 2), "1110", "0010", 0, 2),
        # A gap no longer than the load is cheaper kept warm.
        ([0, 0, 1, 0, 1], SlotCosts(1, 10, 0.5, 2, 0), "11111", "00111", 0, 0),
    ],
)
def test_optimum_by_hand(
    demand: list[float], costs: SlotCosts, paid: str, on: str, refused: float, delayed: float
) -> None:
    outcome = solve_slot([float(d) for d in demand], costs)
    assert "".join("1" if p else "0" for p in outcome.paid) == paid
    assert "".join("1" if p else "0" for p in outcome.on) == on
    assert (outcome.refused, outcome.delayed_minutes) == (refused, delayed)


def test_the_reactive_optimum_cannot_load_before_demand() -> None:
    """A burst at minute 3 with load 2: offline loads at 1 and serves on time; reactive waits for it."""
    costs = SlotCosts(per_minute=1, refusal=10, delay_per_minute=0.5, load=2, patience=2)
    demand = [0.0, 0.0, 0.0, 4.0, 4.0, 4.0]
    offline, reactive = solve_slot(demand, costs), solve_slot(demand, costs, reactive=True)
    assert offline.on == [False, False, False, True, True, True]
    assert (offline.refused, offline.delayed_minutes) == (0, 0)
    assert reactive.on == [False, False, False, False, False, True]
    assert (reactive.refused, reactive.delayed_minutes) == (0, 4 * 2 + 4 * 1)
