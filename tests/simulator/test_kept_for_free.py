"""Copies that free no instance are kept (issue 33), through the simulator, which runs the Lambdas'
``decide()``: after a burst, falcon alone on its instance keeps its 4 copies through a trickle that
target tracking would scale in to 1 (the instance stays up for that last copy, so the scale-in
saves nothing), and a second burst an hour later finds them loaded."""

from __future__ import annotations

from datetime import UTC, datetime

from icpilot.domain.capacity import Reservation
from icpilot.domain.cost import CostModel
from icpilot.policy import load_policy_text

from simulator.engine import RunRules, SimComponent, run
from simulator.traces import MinuteDemand, Throughput

START = datetime(2026, 11, 3, 6, tzinfo=UTC)
BURST, TRICKLE = 200, 5  # requests a minute


def demand() -> MinuteDemand:
    # 20 busy minutes from 00:30, a trickle for an hour, another 20 busy minutes, then quiet
    requests = [0] * 30 + [BURST] * 20 + [TRICKLE] * 60 + [BURST] * 20 + [0] * 110
    return MinuteDemand(requests, [r * 5.0 for r in requests])


def simulate(minutes_run: int = 240) -> list[int]:
    policy = load_policy_text(
        "endpoints:\n  ep:\n    components:\n      falcon:\n"
        "        max_copies: 4\n        idle_scale_to_zero_after: 30m\n        expected_time_to_ready: 6m\n"
        "        autoscaling: {metric: invocations_per_copy, target: 55, scale_in_cooldown: 5m}\n"
    )
    component = SimComponent(
        "falcon", policy.endpoints["ep"].components["falcon"], Reservation(1, 2, 8192), demand(), Throughput(), 6
    )
    rules = RunRules(
        "ml.g5.24xlarge", 2, CostModel.for_endpoint(policy, "ep", "ml.g5.24xlarge"), policy=policy, endpoint="ep"
    )
    return run("icpilot", [component], rules, START, minutes_run).copies["falcon"]


def test_copies_on_an_instance_kept_anyway_are_kept() -> None:
    copies = simulate()
    trickle = copies[70:110]  # the trickle, once target tracking has scaled out for the burst
    assert max(copies[30:50]) == 4
    assert min(trickle) == 4, f"target tracking scaled in copies that freed nothing: {trickle}"
    # the second burst meets 4 loaded copies (320 requests a minute): nobody waits for a load
    assert copies[110:130] == [4] * 20
    # icpilot's idle rule still takes the component to zero, which frees the instance
    assert copies[-1] == 0
