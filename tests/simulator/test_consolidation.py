"""The simulator consolidates as the tick does (issue 33): the quiet trigger names the components
whose quiet alarms stand, and ``decide`` lowers them to what frees an instance. Two components that
a burst left on two ml.g5.24xlarge share one a few minutes after ``consolidate_after``, and nothing
changes without it until the idle delay."""

from __future__ import annotations

from datetime import UTC, datetime

from icpilot.domain.capacity import Reservation
from icpilot.domain.cost import CostModel
from icpilot.policy import load_policy_text
from icpilot.policy.model import Policy

from simulator.engine import Result, RunRules, SimComponent, run
from simulator.traces import MinuteDemand, Throughput

START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # a Monday night: no window
INSTANCE = "ml.g5.24xlarge"  # 4 GPUs
RESERVATIONS = {"falcon": Reservation(1, 2, 8192), "flan": Reservation(2, 2, 8192)}
MINUTES = 120
BURST = [30 if 5 <= m < 15 else 0 for m in range(MINUTES)]  # ten minutes of traffic, then none


def simulate(consolidate: str) -> Result:
    policy: Policy = load_policy_text(
        "endpoints:\n  ep:\n    components:\n"
        f"      falcon: {{max_copies: 4, warmup_copies: 4, idle_scale_to_zero_after: 3h{consolidate}}}\n"
        f"      flan: {{max_copies: 2, warmup_copies: 2, idle_scale_to_zero_after: 3h{consolidate}}}\n"
    )
    components = [
        SimComponent(name, cp, RESERVATIONS[name], MinuteDemand(BURST, [10.0] * MINUTES), Throughput(), 2)
        for name, cp in policy.endpoints["ep"].components.items()
    ]
    cost = CostModel.for_endpoint(policy, "ep", INSTANCE)
    rules = RunRules(INSTANCE, 2, cost, provisioning_minutes=0, patience=1, policy=policy, endpoint="ep")
    return run("icpilot", components, rules, START, MINUTES)


def test_quiet_components_share_one_instance_after_consolidate_after() -> None:
    held = simulate("")
    assert (held.copies["falcon"][60], held.copies["flan"][60], held.instances[60]) == (4, 2, 2)
    assert held.instances[-1] == 2  # the idle delay (3h) has not passed: both instances stay
    consolidated = simulate(", consolidate_after: 10m")
    assert (consolidated.copies["falcon"][60], consolidated.copies["flan"][60]) == (2, 1)
    assert consolidated.instances[60] == 1
    # quiet from minute 15: the alarm stands at minute 25, the next tick (every 5 minutes) acts
    first = next(m for m in range(MINUTES) if consolidated.copies["falcon"][m] == 2)
    assert 25 <= first <= 31
    assert consolidated.instance_minutes < held.instance_minutes
