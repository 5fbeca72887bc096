"""One truth (issue 29): a scripted day through the deployed stack on the emulator (real handlers,
their schedules, CloudWatch alarms evaluated each minute, the emulator's SageMaker) and through the
simulator, under the same policy; icpilot writes the same copy counts at the same minutes and says
the same lifecycle event types about each component in both.

The day is the integration policy's: falcon-7b's business-hours window (floor 2 from 08:00 Berlin,
nothing outside), flan-t5-xxl's (floor 1, idle after 45 minutes), and traffic (``scripted_load``): requests for
flan at zero copies before the window (the no-capacity alarm warms it up), a falcon burst in the
window (target tracking and the high-load alarm add copies; the idle alarm then takes it back to its
floor one copy per tick), and a lone evening burst for flan after the window (a cold start, then the
idle night). Requests are sent half a minute into each minute (the emulator's bulk API records their
metrics), and every request is served while a copy is loaded (no concurrency limit in either).
flan's clients send the demand signal (``icpilot_client``'s event) when their requests meet zero
copies, and an operator pins falcon to one copy for an hour at 11:05 (``icpilot scale``), which the
next evaluation after the hour ends.

The second test adds rag-endpoint (one instance: a preemptible embedder, and a chat model that
declares ``after: [embed]`` and outranks it) to the same stack, so the handlers fan out over two
endpoints: embed and chat meet traffic cold, chat waits for embed, then its high load preempts
embed, whose requests then meet a full endpoint. It found three faults in icpilot itself, fixed:
AAS's scale-from-zero step policy added chat copies while chat waited for embed (AAS scale-out is
now suspended while a component is cold behind dependencies that are not ready); AAS's bounds let
it add copies that could not be placed, leaving the component Updating and every later write
refused (AAS's max is now capped by what fits beside the others, ``Case.room_for_aas``); and the
emulator deadlocked when a handler invoked by the clock fanned out to threads (``emulator.locking``).
And it found that the simulator evaluated every component every minute (the stack evaluates at its
tick, at a window edge's schedule and as the watcher's follow-up), decided after a minute's
requests were served (the stack's evaluations run as the minute opens), and did not carry out a
decision's preemption.

The first test found these divergences, all fixed in the simulator: it acted on standing alarms every
minute where the stack acts at its tick (``RunRules.ticks_at``), and its idle, high-load and
target-tracking alarms judged the minute under way where CloudWatch judges a minute once it has
closed (one minute later); its target tracking acted after icpilot in a minute (the emulator's
AAS acts first), and it loaded a batch's copies together (``awsmodel.copy_ready_minutes``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import boto3
import pytest
import time_machine
from icpilot.domain.capacity import Reservation
from icpilot.domain.cost import CostModel
from icpilot.policy import load_policy
from icpilot.policy.model import Policy
from icpilot_client.client import DETAIL_TYPE, SOURCE

from awsmodel import COPY_STAGGER_SECONDS
from emulator import EMULATOR, Emulator
from emulator.sagemaker_ext import invoke_component
from emulator.seed import create_endpoint, create_seed
from emulator.stack import Stack, deploy_stack
from icpilot_cli.main import main
from simulator.engine import OperatorOverride, RunRules, SimComponent, run
from simulator.traces import MinuteDemand, Throughput
from tests.conftest import INTEGRATION_POLICY, fresh_account

pytestmark = pytest.mark.real_clock

INSTANCE = "ml.g5.24xlarge"
# endpoint -> component -> accelerators per copy (every component starts at zero copies)
ENDPOINTS = {
    "llm-endpoint": {"falcon-7b": 1, "flan-t5-xxl": 2},
    "rag-endpoint": {"embed": 1, "chat": 2},
}
MAX_INSTANCES = {"llm-endpoint": 2, "rag-endpoint": 1}
# The second endpoint: one instance (4 accelerators) shared by a preemptible embedder and a chat
# model that needs it ready first and outranks it.
RAG = """
  rag-endpoint:                       # ml.g5.24xlarge (4 x A10G), one instance
    components:
      embed:                          # 1 accelerator a copy; gives way to chat
        max_copies: 2
        priority: 10
        preemptible: true
        warmup_copies: 2
        idle_scale_to_zero_after: 20m
        expected_time_to_ready: 4m
      chat:                           # 2 accelerators a copy; warms up once embed serves
        max_copies: 2
        priority: 100
        after: [embed]
        warmup_copies: 1
        idle_scale_to_zero_after: 30m
        expected_time_to_ready: 4m
        high_load: {threshold: 10, minutes: 2, step: 1}
"""
DAY = 24 * 60
ACCOUNT, REGION = "123456789012", "us-east-1"
# 11:05 in Berlin, falcon at its window's floor 2: an operator pins it to 1 copy for an hour; when the
# pin expires, the next evaluation ends it and raises falcon to its floor again
OVERRIDES = {"falcon-7b": (OperatorOverride(300, 1, 60),)}
# flan's clients use icpilot_client: its evening burst at zero copies is met by a demand signal,
# seconds after the first request failed, where the no-capacity alarm acts a minute later
SIGNALS = {"flan-t5-xxl"}


def scripted_load() -> dict[str, list[int]]:
    """Requests per minute from the start of the day (06:05Z on a Monday, 07:05 in Berlin)."""
    load = {name: [0] * DAY for components in ENDPOINTS.values() for name in components}
    load["flan-t5-xxl"][10:20] = [5] * 10  # 07:15 Berlin, flan at zero: the no-capacity alarm
    load["falcon-7b"][120:160] = [100] * 40  # 09:05, falcon at its floor 2: 50 a copy, over 20 and 40
    load["flan-t5-xxl"][800:806] = [3] * 6  # 20:25, after the window: a cold start, then idle
    load["embed"][30:90] = [20] * 60  # embed cold: warmed up by the no-capacity alarm
    load["chat"][31:120] = [30] * 89  # chat cold too: it waits for embed, then its load asks for more
    return load


@pytest.fixture
def two_endpoints(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[Stack, Emulator, Policy]]:
    """The seed endpoint and rag-endpoint, every component at zero, and the stack deployed with the
    integration policy plus rag-endpoint's, Monday 06:00Z."""
    policy_path = tmp_path / "policy.yaml"
    policy_path.write_text(INTEGRATION_POLICY.read_text() + RAG)
    with fresh_account(monkeypatch) as emu:
        emu.settings.model_load_seconds = 240
        sm = boto3.client("sagemaker", region_name=REGION)
        create_seed(sm, copies=0)
        create_endpoint(
            sm,
            "rag-endpoint",
            {"embed": ("BAAI/bge-large-en", 1), "chat": ("meta-llama/Llama-2-13b", 2)},
            max_instances=1,
            copies=0,
        )
        emu.advance(240)
        stack = deploy_stack(policy_path=str(policy_path), run_custom_resources=False)
        emu.dispatcher.raise_errors = True  # a handler crash fails the test
        yield stack, emu, load_policy(policy_path)


def operator_scales(stack: Stack, component: str, pin: OperatorOverride) -> None:
    """``icpilot scale`` as an operator runs it, at the emulator's time."""
    args = ["scale", component, "--copies", str(pin.copies), "--for", f"{pin.minutes}m", "--reason", "maintenance"]
    with time_machine.travel(EMULATOR.now(), tick=False):
        assert main([*args, "--table", stack.table, "--topic-arn", stack.topic_arn, "--json"]) == 0


def signal_demand(stack: Stack, component: str, waiting: int) -> None:
    """The demand event ``icpilot_client`` sends when a request meets a component at zero copies."""
    detail = {"endpoint": "llm-endpoint", "component": component, "waiting": waiting}
    entry = {
        "Source": SOURCE,
        "DetailType": DETAIL_TYPE,
        "Detail": json.dumps(detail),
        "EventBusName": stack.demand_bus,
    }
    assert not boto3.client("events", region_name=REGION).put_events(Entries=[entry])["FailedEntryCount"]


def emulated_writes(stack: Stack, emu: Emulator, load: dict[str, list[int]]) -> list[tuple[int, str, int]]:
    """(minute from now, component, copies) of every DesiredCopyCount change over a day, looked at
    as each minute opens and again half a minute in: the operator's overrides come at the start of
    their minute, ``load``'s requests half a minute in, and the clients of ``SIGNALS`` send the demand
    signal once a cold start when their requests meet zero copies."""
    sm = boto3.client("sagemaker", region_name=REGION)
    desired = {name: -1 for name in load}
    writes = []
    signalled = dict.fromkeys(load, False)

    def look(minute: int) -> None:
        for name in desired:
            now = int(sm.describe_inference_component(InferenceComponentName=name)["RuntimeConfig"]["DesiredCopyCount"])
            if now != desired[name] and desired[name] != -1:
                writes.append((minute, name, now))
            desired[name] = now
            signalled[name] = signalled[name] and now == 0

    for minute in range(DAY):
        for name in desired:
            for pin in OVERRIDES.get(name, ()):
                if pin.minute == minute:
                    operator_scales(stack, name, pin)
        look(minute)
        emu.advance(30)
        for name, requests in load.items():
            if requests[minute]:
                _, refused = invoke_component(ACCOUNT, REGION, name, requests[minute])
                if refused and name in SIGNALS and not signalled[name]:
                    signal_demand(stack, name, refused)
                    signalled[name] = True
        emu.advance(1)  # the signal's rule and the handler it invokes
        look(minute)
        emu.advance(29)
    return writes


def said(stack: Stack, start: datetime) -> list[tuple[int, str, str]]:
    """(minute from ``start``, component, type) of every lifecycle event the stack said about a
    component, and (minute, endpoint, type) of its EndpointIdle (the endpoint-level event of a day;
    the daily report and the health checks are the stack's own jobs, not the simulator's)."""
    events = [e for e in stack.lifecycle_events() if e.get("component") or e["type"] == "EndpointIdle"]
    return sorted(
        (
            int((datetime.fromisoformat(e["time"]) - start).total_seconds() // 60),
            e.get("component") or e["endpoint"],
            e["type"],
        )
        for e in events
    )


def simulated(
    policy: Policy, start: datetime, tick_offset: int, load: dict[str, list[int]], endpoints: list[str]
) -> tuple[list[tuple[int, str, int]], list[tuple[int, str, str]]]:
    """The same day through the simulator, one endpoint a run (they share nothing but the policy)."""
    writes, events = [], []
    for endpoint in endpoints:
        ep, accelerators = policy.endpoints[endpoint], ENDPOINTS[endpoint]
        components = [
            # short requests (0.01 s each): a loaded copy serves all of them, as the emulator does
            SimComponent(
                name,
                ep.components[name],
                Reservation(n, 2, 8192),
                demand,
                Throughput(slots_per_copy=8),
                4,
                OVERRIDES.get(name, ()),
                signals_demand=name in SIGNALS,
            )
            for name, n in accelerators.items()
            for demand in [MinuteDemand(load[name], [0.01 * r for r in load[name]])]
        ]
        rules = RunRules(
            INSTANCE,
            MAX_INSTANCES[endpoint],
            CostModel.for_endpoint(policy, endpoint, INSTANCE),
            min_instances=1,
            provisioning_minutes=0,
            patience=0,  # a request that finds no copy fails at once: the emulator's bulk clients do not retry
            policy=policy,
            endpoint=endpoint,
            tick_offset=tick_offset,
            copy_stagger_seconds=COPY_STAGGER_SECONDS,  # the emulator's: a batch's second copy serves 15 s later
        )
        result = run("icpilot", components, rules, start, DAY)
        for name, copies in result.copies.items():
            writes += [(m, name, copies[m]) for m in range(1, DAY) if copies[m] != copies[m - 1]]
        events += result.events
    return sorted(writes), sorted(events)


def compare_day(stack: Stack, emu: Emulator, policy: Policy, endpoints: list[str]) -> None:
    """Run the scripted day through the deployed stack and the simulator; assert they agree."""
    deployed_at = emu.now()  # the tick's rate schedule counts its periods from here
    stack.deployment.create_custom_resources()  # the deploy: schedules reconciled, autoscaling configured
    emu.alarm_evaluation_interval = 60
    start = emu.now().replace(second=0, microsecond=0) + timedelta(minutes=1)
    emu.advance((start - emu.now()).total_seconds())
    load = {
        name: requests for name, requests in scripted_load().items() if any(name in ENDPOINTS[e] for e in endpoints)
    }
    emulated = sorted(emulated_writes(stack, emu, load))
    tick_offset = int((deployed_at - start).total_seconds() // 60) % 5
    writes, events = simulated(policy, start, tick_offset, load, endpoints)
    assert emulated, "the day moved no copies: nothing was compared"
    pinned = [(pin.minute, name, pin.copies) for name, pins in OVERRIDES.items() if name in load for pin in pins]
    assert set(pinned) <= set(emulated), "an operator's override wrote no copies"
    assert emulated == writes, f"stack {emulated}\nsimulator {writes}"
    spoken = said(stack, start)
    assert spoken == events, f"stack {spoken}\nsimulator {events}"


def test_a_day_with_traffic_writes_the_same_copies_and_says_the_same_in_the_stack_and_the_simulator(
    stack: Stack, emu: Emulator
) -> None:
    compare_day(stack, emu, load_policy(INTEGRATION_POLICY), ["llm-endpoint"])


def test_a_day_on_two_endpoints_with_after_priorities_and_preemption_agrees(
    two_endpoints: tuple[Stack, Emulator, Policy],
) -> None:
    stack, emu, policy = two_endpoints
    compare_day(stack, emu, policy, list(ENDPOINTS))
