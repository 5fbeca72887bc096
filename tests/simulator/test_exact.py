"""The exact optimum (HiGHS) against brute force over every schedule, and its schedules replayed.

Brute force plays every copy-count schedule of a few minutes through the engine: nothing may beat
the solver's bound, and the solver's schedule replayed through the engine costs, to the cent, both
what the program says and the best brute force finds."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icpilot.domain.capacity import Reservation
from icpilot.domain.cost import CostModel
from icpilot.policy.model import ComponentPolicy, CostPolicy

from simulator import exact
from simulator.engine import REPLAY, RunRules, SimComponent, run
from simulator.exact import replay, result_cost, simple_schedule, solve
from simulator.traces import MinuteDemand, Throughput
from tests.strength import examples

START = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
G5_12X = "ml.g5.12xlarge"  # 4 GPUs, $7.09/h


def component(name: str, gpus: int, requests: list[int], load: int, max_copies: int = 2) -> SimComponent:
    """Requests of 30 slot-seconds, one slot a copy: a loaded copy serves 2 a minute."""
    policy = ComponentPolicy.model_validate({"max_copies": max_copies})
    demand = MinuteDemand(requests, [30.0 * r for r in requests])
    return SimComponent(name, policy, Reservation(gpus, 2, 1024), demand, Throughput(slots_per_copy=1), load)


def rules(refusal: float, patience: int, provisioning: int, min_instances: int = 0, max_instances: int = 2) -> RunRules:
    cost = CostModel.of(CostPolicy(refusal_cost=refusal), G5_12X)
    return RunRules(G5_12X, max_instances, cost, min_instances, provisioning, patience)


def brute_force(components: list[SimComponent], run_rules: RunRules, minutes: int, reactive: bool = False) -> float:
    """The cheapest of every schedule with 0-2 copies per component and minute, played by the engine.

    ``reactive``: of the reactive ones only, copies added only in a minute with a request arriving or
    waiting, and never more asked for than the endpoint's instances hold (the engine would place
    such a copy when a peer releases room, an addition in a minute the class forbids: outside the
    program's class, see ``exact``'s docstring)."""
    may_add = {
        c.name: [not reactive or any(c.demand.requests[max(0, t - run_rules.patience) : t + 1]) for t in range(minutes)]
        for c in components
    }
    room = run_rules.max_instances * run_rules.accelerators_per_instance if reactive else math.inf

    def of_the_class(schedule: dict[str, list[int]]) -> bool:
        added_unasked = any(
            copies[t] > (copies[t - 1] if t else 0) and not may_add[name][t]
            for name, copies in schedule.items()
            for t in range(minutes)
        )
        over = any(sum(schedule[c.name][t] * c.accelerators for c in components) > room for t in range(minutes))
        return not (added_unasked or over)

    best = float("inf")
    for flat in itertools.product(range(3), repeat=minutes * len(components)):
        schedule = {c.name: list(flat[i * minutes : (i + 1) * minutes]) for i, c in enumerate(components)}
        if of_the_class(schedule):
            best = min(best, result_cost(run(REPLAY, components, run_rules, START, minutes, 0, schedule), run_rules))
    return best


def drawn_components(
    data: st.DataObject, two: bool, minutes: int, requests: list[int], a_loads: int
) -> list[SimComponent]:
    """Component a (2 GPUs, loading 1 to ``a_loads`` minutes) and, with ``two``, b (1 or 2 GPUs,
    loading 1-2), each with a minute series drawn from ``requests``."""
    traffic = st.lists(st.sampled_from(requests), min_size=minutes, max_size=minutes)
    components = [component("a", 2, data.draw(traffic), data.draw(st.integers(1, a_loads)))]
    if two:
        components.append(
            component("b", data.draw(st.sampled_from([1, 2])), data.draw(traffic), data.draw(st.integers(1, 2)))
        )
    return components


def test_a_worked_example_bills_the_instance_from_its_provisioning() -> None:
    """2 requests a minute (what one copy serves) in minutes 4-6; a copy loads in 2 minutes after a
    1-minute provisioning; refusal $2. The optimum adds the copy in minute 1 (instance ready at 2,
    copy ready at 4) and releases it in minute 7: 6 instance-minutes x $7.09/60 = $0.709."""
    c = component("m", 2, [0, 0, 0, 0, 2, 2, 2, 0], load=2, max_copies=1)
    run_rules = rules(refusal=2.0, patience=0, provisioning=1)
    solved = solve([c], run_rules, 8)
    assert solved.schedule["m"] == [0, 1, 1, 1, 1, 1, 1, 0]
    assert round(solved.incumbent_usd, 4) == round(6 * 7.09 / 60, 4)
    assert solved.gap <= 1e-4
    replayed = replay(solved, [c], run_rules, START, 8)
    assert replayed.instances == [0, 1, 1, 1, 1, 1, 1, 0]
    assert round(result_cost(replayed, run_rules), 2) == round(solved.incumbent_usd, 2)


def test_reactive_adds_copies_only_when_requests_arrive_or_wait() -> None:
    c = component("m", 2, [0, 0, 0, 0] + [2] * 8, load=2, max_copies=1)
    solved = solve([c], rules(refusal=2.0, patience=0, provisioning=1), 12, reactive=True)
    # not before the first request (it cannot know it is coming), and then at once
    assert solved.schedule["m"] == [0] * 4 + [1] * 8


@settings(max_examples=examples(25), deadline=None)
@given(
    data=st.data(),
    two=st.booleans(),
    patience=st.integers(0, 2),
    provisioning=st.integers(0, 2),
    min_instances=st.sampled_from([0, 0, 1]),
    max_instances=st.sampled_from([1, 2]),
    refusal=st.sampled_from([0.01, 0.05, 0.5]),
)
def test_the_exact_optimum_equals_brute_force(
    data: st.DataObject,
    two: bool,
    patience: int,
    provisioning: int,
    min_instances: int,
    max_instances: int,
    refusal: float,
) -> None:
    minutes = 4 if two else 6
    components = drawn_components(data, two, minutes, [0, 0, 1, 3, 5], a_loads=2)
    run_rules = rules(refusal, patience, provisioning, min_instances, max_instances)
    solved = solve(components, run_rules, minutes)
    replayed = result_cost(replay(solved, components, run_rules, START, minutes), run_rules)
    best = brute_force(components, run_rules, minutes)
    assert solved.bound_usd <= best + 1e-6, "a schedule beat the proven bound"
    assert round(replayed, 2) == round(best, 2) == round(solved.incumbent_usd, 2)


@settings(max_examples=examples(25), deadline=None)
@given(
    data=st.data(),
    two=st.booleans(),
    patience=st.integers(0, 2),
    provisioning=st.integers(0, 3),
    max_instances=st.sampled_from([1, 2]),
    refusal=st.sampled_from([0.05, 0.5, 2.0]),
)
def test_the_reactive_optimum_equals_brute_force(
    data: st.DataObject, two: bool, patience: int, provisioning: int, max_instances: int, refusal: float
) -> None:
    """Bursts after gaps, where the reactive program's rows on what a gap's copies serve and on
    instances that only grow by an addition bind: no reactive schedule beats the bound, and the
    solver's schedule is the cheapest."""
    minutes = 5 if two else 8
    components = drawn_components(data, two, minutes, [0, 0, 0, 2, 5], a_loads=3)
    run_rules = rules(refusal, patience, provisioning, 0, max_instances)
    solved = solve(components, run_rules, minutes, reactive=True)
    best = brute_force(components, run_rules, minutes, reactive=True)
    assert solved.bound_usd <= best + 1e-6, "a reactive schedule beat the proven bound"
    replayed = result_cost(replay(solved, components, run_rules, START, minutes), run_rules)
    assert round(replayed, 2) == round(best, 2) == round(solved.incumbent_usd, 2)


@settings(max_examples=examples(10), deadline=None)
@given(
    traffic=st.lists(st.sampled_from([0, 0, 1, 3, 5]), min_size=8, max_size=8),
    patience=st.integers(0, 1),
    provisioning=st.integers(0, 1),
)
def test_a_run_solved_day_by_day_keeps_a_true_bound(traffic: list[int], patience: int, provisioning: int) -> None:
    """Cut into "days" of 4 minutes, each a relaxation of the run: the days' bounds add up to a bound
    no schedule beats, and the schedule put back together is a real one (its replay)."""
    components = [component("a", 2, traffic, load=1)]
    run_rules = rules(0.05, patience, provisioning)
    solved = solve(components, run_rules, 8, day=4)
    assert "solved by day (2 days" in solved.status
    best = brute_force(components, run_rules, 8)
    assert solved.bound_usd <= best + 1e-6
    assert result_cost(replay(solved, components, run_rules, START, 8), run_rules) >= best - 1e-6


def test_a_simple_schedule_stands_beside_the_solvers() -> None:
    """What the optimum's row falls back on when the solver's schedule, in its time, costs more: the
    copies the demand of the next (foresight) or last (reactive) load and provisioning time needs."""
    c = component("m", 2, [0, 0, 0, 0, 2, 2, 5, 0, 0, 0], load=2, max_copies=2)
    run_rules = rules(0.05, 0, 1)
    # needed: 1 copy for 2 requests, 3 for 5 (capped at 2); 3 minutes ahead, or 3 behind
    assert simple_schedule([c], run_rules, 10)["m"] == [0, 1, 1, 2, 2, 2, 2, 0, 0, 0]
    reactive = simple_schedule([c], run_rules, 10, reactive=True)["m"]
    assert reactive == [0, 0, 0, 0, 1, 1, 2, 2, 2, 2]
    first = next(t for t, n in enumerate(reactive) if n)
    assert c.demand.requests[first] > 0  # added only in a minute a request arrives


@settings(max_examples=examples(10), deadline=None)
@given(
    a=st.lists(st.sampled_from([0, 0, 1, 3, 5]), min_size=4, max_size=4),
    b=st.lists(st.sampled_from([0, 0, 1, 3, 5]), min_size=4, max_size=4),
    patience=st.integers(0, 1),
    provisioning=st.integers(0, 2),
)
def test_improving_window_by_window_keeps_the_optimum_exact(
    a: list[int], b: list[int], patience: int, provisioning: int
) -> None:
    """Two components, every window solved in turn before the whole program (fix-and-optimize, which
    the bench's time per day only allows on long budgets): still brute force's optimum, to the cent,
    and the bound still holds."""
    components = [component("a", 2, a, load=1), component("b", 1, b, load=2)]
    run_rules = rules(0.05, patience, provisioning)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(exact, "WINDOW_SECONDS", 0.0)
        patch.setattr(exact, "WINDOW_MINUTES", (2, 1))  # four windows, each holding the rest fixed
        patch.setattr(exact, "_SOLVED", {})
        solved = solve(components, run_rules, 4)
    best = brute_force(components, run_rules, 4)
    assert solved.bound_usd <= best + 1e-6
    assert round(result_cost(replay(solved, components, run_rules, START, 4), run_rules), 2) == round(best, 2)


def test_a_day_improved_window_by_window_costs_what_it_says(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two components sharing instances for four hours, every busy window improved in turn and the
    whole program run from the result, all in three seconds: the bound holds against the schedule's
    replay, and a schedule served in order replays to the program's cost, to the cent (a machine too
    busy to find one in the time falls back to the simple schedule, and says so)."""
    office = [0] * 30 + [4, 6, 8, 6, 4, 2] * 20 + [0] * 90
    batch = [0] * 100 + [10] * 20 + [0] * 60 + [3] * 30 + [0] * 30
    components = [component("a", 2, office, load=6, max_copies=4), component("b", 1, batch, load=4, max_copies=4)]
    run_rules = rules(0.10, 1, 3)
    monkeypatch.setattr(exact, "WINDOW_SECONDS", 0.0)
    monkeypatch.setattr(exact, "_SOLVED", {})
    solved = solve(components, run_rules, 240, time_limit=3.0)
    replayed = result_cost(replay(solved, components, run_rules, START, 240), run_rules)
    assert solved.bound_usd <= replayed + 1e-6
    if "order not yet imposed" not in solved.status and "no schedule found" not in solved.status:
        assert round(replayed, 2) == round(solved.incumbent_usd, 2)


def test_a_start_is_completed_and_never_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    """The improvement completes its start with the start's copies and releases fixed (the rest of
    the program follows from them, in a fraction of a second), where HiGHS handed only the copies
    searched for seconds of its own: on a slow machine a day of the messy month then fell back on
    the bound's run, $2,834 where its start costs $166. A scored weekday of that month, two
    components sharing instances, from its best simple schedule in two seconds: the solver's
    schedule, replayed, costs no more than the start."""
    from icpilot.policy import load_policy

    from simulator.scenarios import build, setup

    scenario = build("office-messy")
    components, run_rules = setup(load_policy(ROOT / "layers" / "icpilot" / "policy.yaml"), scenario)
    first, last = 7 * 1440, 8 * 1440
    day = [replace(c, demand=c.demand.between(first, last)) for c in components]
    monkeypatch.setattr(exact, "_SOLVED", {})
    simple, plain = exact.best_simple(day, run_rules, scenario.start, 1440)
    solved = solve(day, run_rules, 1440, time_limit=2.0, start=simple)
    assert math.isfinite(solved.incumbent_usd), solved.status
    replayed = result_cost(replay(solved, day, run_rules, scenario.start, 1440), run_rules)
    assert round(replayed, 2) <= round(result_cost(plain, run_rules), 2)
    assert solved.bound_usd <= replayed + 1e-6


def test_after_its_windows_the_whole_program_is_solved() -> None:
    """Fix-and-optimize stops at a schedule no single window improves; the bound's run is on the
    whole program with nothing held, so the optimum and bound are the program's. Here a and b each cost 1
    alone and save 3 together (a + b - 3ab): neither window moves from (0, 0), the whole finds (1, 1)."""
    lp = exact._Program()
    a, b, both = lp.var(0, 1, 1.0), lp.var(0, 1, 1.0), lp.var(0, 1, -3.0)
    lp.row({both: 1.0, a: -1.0}, upper=0)
    lp.row({both: 1.0, b: -1.0}, upper=0)
    found = lp.solve(5.0, 1e-6, 0.0, starts=[{a: 0.0, b: 0.0}], windows=[{a}, {b}], window_seconds=0.0)
    assert [round(found.values[c]) for c in (a, b, both)] == [1, 1, 1]
    assert round(found.objective, 6) == round(found.bound, 6) == -1.0
    assert found.status == "Optimal"


@pytest.mark.parametrize(
    ("copies", "hold", "held"),
    [
        ([0, 2, 0, 0, 1, 0], 2, [0, 2, 2, 2, 1, 0]),  # a 2-minute gap held at the count before it
        ([0, 2, 0, 0, 1, 0], 1, [0, 2, 0, 0, 1, 0]),  # longer than the hold: released
        ([0, 0, 3, 0], 5, [0, 0, 3, 0]),  # before the first copy and after the last: nothing to hold for
        ([1, 0, 2, 0, 0, 0, 1], 3, [1, 1, 2, 2, 2, 2, 1]),
    ],
)
def test_a_simple_schedule_holds_copies_through_short_gaps(copies: list[int], hold: int, held: list[int]) -> None:
    assert exact._held_through_gaps(copies, hold) == held


def test_between_bursts_the_cheapest_simple_schedule_holds_its_copies() -> None:
    """Two bursts 20 minutes apart, a copy loading 5 minutes after a 5-minute provisioning, waits of
    $1 a minute: keeping the copy through the gap (20 instance-minutes) costs less than the second
    burst's ten minutes of waiting, so ``best_simple`` holds it, its replay is cheaper than the plain
    simple schedule's, and the solver, started from it, returns no dearer a schedule."""
    burst = [2] * 5
    c = component("m", 2, [0] * 2 + burst + [0] * 20 + burst + [0] * 13, load=5, max_copies=1)
    base = rules(refusal=20.0, patience=15, provisioning=5)
    run_rules = replace(base, cost=replace(base.cost, delay_cost_per_minute=1.0))
    minutes = 45
    schedule, held = exact.best_simple([c], run_rules, START, minutes, reactive=True)
    plain = run(REPLAY, [c], run_rules, START, minutes, 0, simple_schedule([c], run_rules, minutes, reactive=True))
    assert min(schedule["m"][7:27]) == 1  # held through the gap
    assert result_cost(held, run_rules) < result_cost(plain, run_rules)
    solved = solve([c], run_rules, minutes, reactive=True, time_limit=10, start=schedule)
    assert (
        result_cost(replay(solved, [c], run_rules, START, minutes), run_rules) <= result_cost(held, run_rules) + 0.005
    )


def test_the_proven_bound_holds_when_a_request_waits_out_its_patience_for_a_loading_copy() -> None:
    """Found by ``test_the_exact_optimum_equals_brute_force``: one request in minute 1, a 2-minute
    load, patience 1, one instance always up, refusal $0.01. Holding the copy through minute 2
    serves the request as its patience ends ($0.01 of waiting) instead of refusing it ($0.02).
    HiGHS 1.15 handed the simple schedule [1, 1, 0, 0, 0, 0] ($0.729) as a start proves it optimal
    (its presolve cuts the cheaper one off); the bound comes from a run handed no start."""
    c = component("a", 2, [0, 1, 0, 0, 0, 0], load=2)
    run_rules = rules(refusal=0.01, patience=1, provisioning=0, min_instances=1, max_instances=1)
    best = brute_force([c], run_rules, 6)
    assert round(best, 3) == 0.719
    solved = solve([c], run_rules, 6, start={"a": [1, 1, 0, 0, 0, 0]})
    assert solved.bound_usd <= best + 1e-6
    assert round(solved.incumbent_usd, 3) == 0.719
    assert round(result_cost(replay(solved, [c], run_rules, START, 6), run_rules), 3) == 0.719
