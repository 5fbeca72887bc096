"""One truth (issue 29): a scripted day through the deployed stack on the emulator (real handlers,
their schedules, CloudWatch alarms evaluated each minute, the emulator's SageMaker) and through the
simulator, under the same policy and endpoint; icpilot writes the same copy counts at the same
minutes in both.

The day is the integration policy's: falcon-7b's business-hours window (floor 2 from 08:00 Berlin,
nothing outside), flan-t5-xxl's (floor 1, idle after 45 minutes), and traffic (``LOAD``): requests for
flan at zero copies before the window (the no-capacity alarm warms it up), a falcon burst in the
window (target tracking and the high-load alarm add copies; the idle alarm then takes it back to its
floor one copy per tick), and a lone evening burst for flan after the window (a cold start, then the
idle night). Requests are sent half a minute into each minute (the emulator's bulk API records their
metrics), and every request is served while a copy is loaded (no concurrency limit in either).

This test found two divergences, both fixed in the simulator: it acted on standing alarms every
minute where the stack acts at its tick (``RunRules.ticks_at``), and its idle, high-load and
target-tracking alarms judged the minute under way where CloudWatch judges a minute once it has
closed (one minute later).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import boto3
import pytest
from icpilot.domain.capacity import Reservation
from icpilot.domain.cost import CostModel

from awsmodel import COPY_STAGGER_SECONDS
from emulator import Emulator
from emulator.sagemaker_ext import invoke_component
from emulator.stack import Stack
from simulator.engine import RunRules, SimComponent, run
from simulator.traces import MinuteDemand, Throughput
from tests.conftest import INTEGRATION_POLICY

pytestmark = pytest.mark.real_clock

ENDPOINT, INSTANCE = "llm-endpoint", "ml.g5.24xlarge"
RESERVATIONS = {"falcon-7b": Reservation(1, 2, 8192), "flan-t5-xxl": Reservation(2, 2, 8192)}
DAY = 24 * 60
ACCOUNT, REGION = "123456789012", "us-east-1"


def scripted_load() -> dict[str, list[int]]:
    """Requests per minute from the start of the day (06:05Z on a Monday, 07:05 in Berlin)."""
    load = {name: [0] * DAY for name in RESERVATIONS}
    load["flan-t5-xxl"][10:20] = [5] * 10  # 07:15 Berlin, flan at zero: the no-capacity alarm
    load["falcon-7b"][120:160] = [100] * 40  # 09:05, falcon at its floor 2: 50 a copy, over 20 and 40
    load["flan-t5-xxl"][800:806] = [3] * 6  # 20:25, after the window: a cold start, then idle
    return load


def emulated_writes(emu: Emulator, load: dict[str, list[int]]) -> list[tuple[int, str, int]]:
    """(minute from now, component, copies) of every DesiredCopyCount change over a day, with
    ``load``'s requests sent half a minute into each minute."""
    sm = boto3.client("sagemaker", region_name="us-east-1")
    desired = {name: -1 for name in RESERVATIONS}
    writes = []
    for minute in range(DAY):
        for name in desired:
            now = int(sm.describe_inference_component(InferenceComponentName=name)["RuntimeConfig"]["DesiredCopyCount"])
            if now != desired[name] and desired[name] != -1:
                writes.append((minute, name, now))
            desired[name] = now
        emu.advance(30)
        for name, requests in load.items():
            if requests[minute]:
                invoke_component(ACCOUNT, REGION, name, requests[minute])
        emu.advance(30)
    return writes


def said(stack: Stack, start: datetime) -> list[tuple[int, str, str]]:
    """(minute from ``start``, component, type) of every lifecycle event the stack said about a component."""
    events = [e for e in stack.lifecycle_events() if e.get("component")]
    return sorted(
        (int((datetime.fromisoformat(e["time"]) - start).total_seconds() // 60), e["component"], e["type"])
        for e in events
    )


def simulated(
    start: datetime, tick_offset: int, load: dict[str, list[int]]
) -> tuple[list[tuple[int, str, int]], list[tuple[int, str, str]]]:
    from icpilot.policy import load_policy

    policy = load_policy(INTEGRATION_POLICY)
    ep = policy.endpoints[ENDPOINT]
    components = [
        # short requests (0.01 s each): a loaded copy serves all of them, as the emulator does
        SimComponent(name, ep.components[name], RESERVATIONS[name], demand, Throughput(slots_per_copy=8), 4)
        for name in RESERVATIONS
        for demand in [MinuteDemand(load[name], [0.01 * r for r in load[name]])]
    ]
    rules = RunRules(
        INSTANCE,
        2,
        CostModel.for_endpoint(policy, ENDPOINT, INSTANCE),
        min_instances=1,
        provisioning_minutes=0,
        patience=0,  # a request that finds no copy fails at once: the emulator's bulk clients do not retry
        policy=policy,
        endpoint=ENDPOINT,
        tick_offset=tick_offset,
        copy_stagger_seconds=COPY_STAGGER_SECONDS,  # the emulator's: the second copy of a batch serves 15 s later
    )
    result = run("icpilot", components, rules, start, DAY)
    writes = []
    for name, copies in result.copies.items():
        writes += [(m, name, copies[m]) for m in range(1, DAY) if copies[m] != copies[m - 1]]
    return sorted(writes), sorted(result.events)


def test_a_day_with_traffic_writes_the_same_copies_at_the_same_minutes_in_the_stack_and_the_simulator(
    stack: Stack, emu: Emulator
) -> None:
    deployed_at = emu.now()  # the tick's rate schedule counts its periods from here
    stack.deployment.create_custom_resources()  # the deploy: schedules reconciled, autoscaling configured
    emu.alarm_evaluation_interval = 60
    start = emu.now().replace(second=0, microsecond=0) + timedelta(minutes=1)
    emu.advance((start - emu.now()).total_seconds())
    load = scripted_load()
    emulated = sorted(emulated_writes(emu, load))
    tick_offset = int((deployed_at - start).total_seconds() // 60) % 5
    writes, events = simulated(start, tick_offset, load)
    assert emulated, "the window moved no copies: nothing was compared"
    assert emulated == writes, f"stack {emulated}\nsimulator {writes}"
    spoken = said(stack, start)
    assert spoken == events, f"stack {spoken}\nsimulator {events}"
