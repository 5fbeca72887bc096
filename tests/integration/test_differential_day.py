"""One truth (issue 29): a scripted day through the deployed stack on the emulator (real handlers,
their schedules, CloudWatch alarms evaluated each minute, the emulator's SageMaker) and through the
simulator, under the same policy and endpoint; icpilot writes the same copy counts at the same
minutes in both.

The day is the integration policy's, with no traffic: falcon-7b's business-hours window (floor 2
from 08:00 Berlin, nothing outside), flan-t5-xxl's (floor 1, idle after 45 minutes). What moves the
copies is the windows' edges and their lead, and the standing idle alarm, which the stack acts on at
its tick (every 5 minutes from the deploy), not when the window closes. This test found that the
simulator acted on standing alarms every minute; it now does at the tick (``RunRules.ticks_at``).
Traffic-driven alarms are the next step: the simulator still models CloudWatch's alarm evaluation
itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import boto3
import pytest
from icpilot.domain.capacity import Reservation
from icpilot.domain.cost import CostModel

from emulator import Emulator
from emulator.stack import Stack
from simulator.engine import RunRules, SimComponent, run
from simulator.traces import MinuteDemand, Throughput
from tests.conftest import INTEGRATION_POLICY

pytestmark = pytest.mark.real_clock

ENDPOINT, INSTANCE = "llm-endpoint", "ml.g5.24xlarge"
RESERVATIONS = {"falcon-7b": Reservation(1, 2, 8192), "flan-t5-xxl": Reservation(2, 2, 8192)}
DAY = 24 * 60


def emulated_writes(stack: Stack, emu: Emulator, start: datetime) -> list[tuple[int, str, int]]:
    """(minute from ``start``, component, copies) of every DesiredCopyCount change over a day."""
    sm = boto3.client("sagemaker", region_name="us-east-1")
    desired = {name: -1 for name in RESERVATIONS}
    writes = []
    for minute in range(DAY):
        for name in desired:
            now = int(sm.describe_inference_component(InferenceComponentName=name)["RuntimeConfig"]["DesiredCopyCount"])
            if now != desired[name] and desired[name] != -1:
                writes.append((minute, name, now))
            desired[name] = now
        emu.advance(60)
    return writes


def simulated_writes(start: datetime, tick_offset: int) -> list[tuple[int, str, int]]:
    from icpilot.policy import load_policy

    policy = load_policy(INTEGRATION_POLICY)
    ep = policy.endpoints[ENDPOINT]
    quiet = MinuteDemand([0] * DAY, [1000.0] * DAY)
    components = [
        SimComponent(name, ep.components[name], RESERVATIONS[name], quiet, Throughput(slots_per_copy=8), 4)
        for name in RESERVATIONS
    ]
    rules = RunRules(
        INSTANCE,
        2,
        CostModel.for_endpoint(policy, ENDPOINT, INSTANCE),
        min_instances=1,
        provisioning_minutes=0,
        policy=policy,
        endpoint=ENDPOINT,
        tick_offset=tick_offset,
    )
    result = run("icpilot", components, rules, start, DAY)
    writes = []
    for name, copies in result.copies.items():
        writes += [(m, name, copies[m]) for m in range(1, DAY) if copies[m] != copies[m - 1]]
    return sorted(writes)


def test_a_scheduled_day_writes_the_same_copies_at_the_same_minutes_in_the_stack_and_the_simulator(
    stack: Stack, emu: Emulator
) -> None:
    deployed_at = emu.now()  # the tick's rate schedule counts its periods from here
    stack.deployment.create_custom_resources()  # the deploy: schedules reconciled, autoscaling configured
    emu.alarm_evaluation_interval = 60
    start = emu.now().replace(second=0, microsecond=0) + timedelta(minutes=1)
    emu.advance((start - emu.now()).total_seconds())
    emulated = sorted(emulated_writes(stack, emu, start))
    tick_offset = int((deployed_at - start).total_seconds() // 60) % 5
    simulated = simulated_writes(start, tick_offset)
    assert emulated, "the window moved no copies: nothing was compared"
    events = [(e["time"], e["type"], e.get("component"), e["reason"][:150]) for e in stack.lifecycle_events()]
    assert emulated == simulated, f"stack {emulated}\nsimulator {simulated}\n" + "\n".join(map(str, events[-12:]))
