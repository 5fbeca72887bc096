"""The simulator decides as the Lambdas do: ``build_inputs`` (peers: ``after:``, priorities,
preemption; the learned lead; the forecast floor and its margin) and the idle delay configure
derives with the policy's cost block. Before, it called ``decide()`` with no peers and priced the
idle delay with the default cost block, so `after:` and a policy's refusal cost were not simulated.
"""

from __future__ import annotations

from datetime import UTC, datetime

from icpilot.domain.capacity import Holding, Reservation
from icpilot.domain.cost import CostModel
from icpilot.domain.readiness import idle_delay_in_force
from icpilot.policy import load_policy_text
from icpilot.policy.model import Policy

from simulator.engine import Result, RunRules, SimComponent, run
from simulator.traces import MinuteDemand, Throughput

START = datetime(2026, 11, 23, tzinfo=UTC)
INSTANCE = "ml.g5.12xlarge"
RESERVATION = Reservation(1, 1, 1024)


def simulate(policy: Policy, demand: dict[str, list[int]], minutes: int) -> Result:
    components = [
        SimComponent(
            name,
            cp,
            RESERVATION,
            MinuteDemand(demand.get(name, [0] * minutes), [10.0] * minutes),
            Throughput(slots_per_copy=8),
            2,
        )
        for name, cp in policy.endpoints["ep"].components.items()
    ]
    cost = CostModel.for_endpoint(policy, "ep", INSTANCE)
    rules = RunRules(INSTANCE, 1, cost, provisioning_minutes=0, patience=3, policy=policy, endpoint="ep")
    return run("icpilot", components, rules, START, minutes)


def test_a_component_after_another_waits_for_it_in_the_simulator_as_in_the_lambdas() -> None:
    def policy(after: str) -> Policy:
        return load_policy_text(
            "endpoints:\n  ep:\n    components:\n"
            "      embed: {max_copies: 1, warmup_copies: 1, idle_scale_to_zero_after: 30m, expected_time_to_ready: 2m}\n"
            "      chat: {max_copies: 1, warmup_copies: 1, idle_scale_to_zero_after: 30m, expected_time_to_ready: 2m"
            f"{after}}}\n"
        )

    chat = [5 if 10 <= m < 20 else 0 for m in range(60)]  # requests for chat only; embed stays cold
    waits = simulate(policy(", after: [embed]"), {"chat": chat}, 60)
    assert max(waits.copies["embed"]) == 0 and max(waits.copies["chat"]) == 0  # "waiting for embed to be ready"
    alone = simulate(policy(""), {"chat": chat}, 60)
    assert alone.copies["chat"][11] == 1  # the no-capacity alarm's minute after the first failure


def test_the_idle_delay_is_the_one_configure_derives_from_the_policys_cost_block() -> None:
    policy = load_policy_text(
        "cost: {refusal_cost: 5.0}\n"
        "endpoints:\n  ep:\n    components:\n"
        "      m: {max_copies: 1, warmup_copies: 1, idle_scale_to_zero_after: auto, expected_time_to_ready: 2m}\n"
    )
    cp = policy.endpoints["ep"].components["m"]
    alone = Holding(1)  # its one copy, alone on the endpoint: its release frees the instance
    expected = idle_delay_in_force(cp, INSTANCE, RESERVATION, policy.cost_for("ep"), [], [], held=alone)
    assert expected is not None and expected.delay.total_seconds() > 30 * 60  # not the default block's
    minutes = 720
    result = simulate(policy, {"m": [5 if 5 <= m < 10 else 0 for m in range(minutes)]}, minutes)
    copies = result.copies["m"]
    dropped = next(m for m in range(10, minutes) if copies[m] == 0)
    # The idle alarm goes off once the delay has passed since the last busy minute, as learned from
    # this run's one cold start (configure re-derives the delay from the measured time to ready and
    # the copy's instance time). One copy serves one minute's requests a minute (5 x 96 s mean), so
    # the backlog of minutes 5-8 is served until minute 13 and minute 14 is the first idle one; the
    # alarm judges closed minutes, so it goes off as the delay's last idle minute closes: 14 + delay.
    learned = idle_delay_in_force(cp, INSTANCE, RESERVATION, policy.cost_for("ep"), [2 * 60.0], [5.0], held=alone)
    assert learned is not None
    assert dropped == 14 + learned.delay.total_seconds() // 60
