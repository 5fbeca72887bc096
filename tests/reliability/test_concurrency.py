"""Twenty invocations for the same component at once: the schedule edge, alarms, the tick, the
watcher and operators' CLI overrides. Real handlers on threads; the emulator answers one AWS call
at a time (as DynamoDB serializes writes to one item), so conditional writes race as on AWS."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
import time_machine
from icpilot.adapters.state import StateStore

from emulator import Emulator
from emulator.dispatcher import LambdaContext
from emulator.stack import Stack, function_arn
from icpilot_cli.main import main as cli

REGION = "us-east-1"
FALCON_KEY = json.dumps({"pk": {"S": "component#llm-endpoint#falcon-7b"}})


def quiet_until_the_window(emu: Emulator, stack: Stack) -> None:
    """Delete the periodic schedules, then move to 07:00Z (08:00 Berlin, the window's start):
    nothing has acted yet, so every racer below sees falcon-7b at 0 copies wanting 2."""
    stack.pause_periodic_schedules("TickSchedule", "WatchSchedule", "ConfigureSchedule")
    emu.advance(56 * 60)


def racing_alarm(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """falcon's no-capacity alarm, really in ALARM now. Every racer delivers this same event; with
    idempotency off each is a separate invocation (as distinct alarm transitions would be)."""
    monkeypatch.setenv("POWERTOOLS_IDEMPOTENCY_DISABLED", "true")
    return stack.alarm_event("alarm_scale_no_capacity.json", alarm="icpilot-falcon-7b-no-capacity")


def race(emu: Emulator, calls: list[Callable[[], Any]]) -> list[Any]:
    """Start every call at the same moment (a barrier), one thread each, with 20 ms of latency
    on every AWS call so that the racers interleave as they would against AWS."""
    start = threading.Barrier(len(calls))
    emu.faults.latency_seconds = 0.02

    def run(call: Callable[[], Any]) -> Any:
        start.wait()
        return call()

    try:
        with time_machine.travel(emu.now(), tick=True), ThreadPoolExecutor(max_workers=len(calls)) as pool:
            return list(pool.map(run, calls))
    finally:
        emu.faults.latency_seconds = 0.0


def handler(function: str, event: dict[str, Any]) -> Callable[[], Any]:
    """Call the deployed handler directly (the dispatcher is single-threaded; this is not)."""
    from emulator import EMULATOR

    fn = EMULATOR.dispatcher.handlers[f"icpilot-{function}"]
    return lambda: fn(event, LambdaContext(function_name=function, invoked_function_arn=function_arn(function)))


def falcon_writes(emu: Emulator, table: str) -> list[tuple[str, str, str, str]]:
    return [w for w in emu.faults.item_writes if w[0] == table and w[1] == FALCON_KEY]


def test_twenty_racers_one_write_wins_the_others_observe_it(
    stack: Stack, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    quiet_until_the_window(emu, stack)
    alarm = racing_alarm(stack, monkeypatch)
    open_edge = {"rule": "llm-endpoint/falcon-7b/business-hours", "edge": "open"}
    calls = (
        [handler("schedule-window", open_edge) for _ in range(6)]
        + [handler("alarm-scale", alarm) for _ in range(6)]
        + [handler("watch-tick", {"kind": "tick"}) for _ in range(4)]
        + [handler("watch-warmups", {"kind": "watch"}) for _ in range(4)]
    )
    results = race(emu, calls)

    writes = emu.faults.count("sagemaker", "UpdateInferenceComponentRuntimeConfig", "ok")
    falcon = [o for r in results for o in r["outcomes"] if o["component"] == "falcon-7b"]
    assert [o["result"] for o in falcon].count("scaled") == 1
    assert {o["result"] for o in falcon} <= {"scaled", "superseded", "deferred", "unchanged", "waiting"}
    # One copy-count write for falcon (0 -> 2); the ticks also opened flan's window (0 -> 1) once.
    assert writes == 2
    described = boto3.client("sagemaker", region_name=REGION).describe_inference_component(
        InferenceComponentName="falcon-7b"
    )
    assert described["RuntimeConfig"]["DesiredCopyCount"] == 2
    events = stack.lifecycle_events()
    scaled = [e for e in events if e["type"] == "Scaled" and e["component"] == "falcon-7b"]
    assert len(scaled) == 1
    # Racing ticks reconcile the same schedules: neither a create that lost nor anything else failed.
    assert [e["reason"] for e in events if e["type"] == "ActionFailed"] == []
    # No lost update: each accepted write moved the version by one, so the version counts them.
    accepted = [w for w in falcon_writes(emu, stack.table) if w[3] == "ok"]
    assert StateStore(stack.table).get("llm-endpoint", "falcon-7b").version == len(accepted)
    refused = [w for w in falcon_writes(emu, stack.table) if w[3] == "error"]
    assert refused, "the racers did not contend: no conditional write was refused"
    results_seen = sorted({o["result"] for o in falcon})
    print(f"20 racers: {len(accepted)} state writes accepted, {len(refused)} refused, outcomes {results_seen}")


def test_operators_overrides_racing_the_controller_lose_nothing(
    stack: Stack, emu: Emulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    quiet_until_the_window(emu, stack)
    alarm = racing_alarm(stack, monkeypatch)
    open_edge = {"rule": "llm-endpoint/falcon-7b/business-hours", "edge": "open"}

    def override(copies: int) -> Callable[[], Any]:
        return lambda: cli(["scale", "falcon-7b", "--copies", str(copies), "--for", "2h", "--reason", f"race {copies}"])

    calls = [override(3)] + [handler("schedule-window", open_edge) for _ in range(9)]
    calls += [override(1)] + [handler("alarm-scale", alarm) for _ in range(9)]
    race(emu, calls)
    capsys.readouterr()

    state = StateStore(stack.table).get("llm-endpoint", "falcon-7b")
    assert state.state.override_copies in (1, 3)  # one operator's override is in force, whole
    assert state.override_reason == f"race {state.state.override_copies}"
    accepted = [w for w in falcon_writes(emu, stack.table) if w[3] == "ok"]
    assert state.version == len(accepted)
    events = stack.lifecycle_events()
    assert [e["type"] for e in events].count("OverrideSet") == 2  # both commands were heard
    # The state settles on the override in force: a tick brings the copies to it (one that meets the
    # racers' warm-up still Updating defers, and the next one, after the copies loaded, writes).
    for _ in range(2):
        stack.invoke("watch-tick", {"kind": "tick"})
        emu.advance(600)
    rc = boto3.client("sagemaker", region_name=REGION).describe_inference_component(InferenceComponentName="falcon-7b")
    assert rc["RuntimeConfig"]["DesiredCopyCount"] == state.state.override_copies


def test_overlapping_watcher_runs_announce_a_warm_up_once(
    stack: Stack, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: two watcher runs that both saw the copies ready each published WarmUpCompleted (before
    the conditional write that claims it), under different ids. Now the run that loses the write
    announces nothing, and the event's id is derived from the fact (a retry would carry the same)."""
    quiet_until_the_window(emu, stack)
    stack.invoke("schedule-window", {"rule": "llm-endpoint/falcon-7b/business-hours", "edge": "open"})
    emu.advance(15 * 60)  # the copies are loaded; nobody has looked yet
    race(emu, [handler("watch-warmups", {"kind": "watch"}) for _ in range(6)])
    done = [e for e in stack.lifecycle_events() if e["type"] == "WarmUpCompleted" and e["component"] == "falcon-7b"]
    assert len(done) == 1


@pytest.mark.parametrize("racers", [2, 8])
def test_a_demand_and_the_no_capacity_alarm_racing_for_one_cold_start_announce_it_once(
    stack: Stack, emu: Emulator, monkeypatch: pytest.MonkeyPatch, racers: int
) -> None:
    """Before: a demand signal and the no-capacity alarm racing for flan-t5-xxl's cold start made one
    copy-count write but two WarmUpStarted and a spurious ScaleDeferred: the loser of the claim
    decided again on SageMaker as it had read it before the winner's write. Now a lost claim
    observes the component again, and a claim another invocation is still carrying out is left to it."""
    stack.pause_periodic_schedules("TickSchedule", "WatchSchedule", "ConfigureSchedule")
    monkeypatch.setenv("POWERTOOLS_IDEMPOTENCY_DISABLED", "true")
    alarm = stack.alarm_event("alarm_scale_no_capacity.json", alarm="icpilot-flan-t5-xxl-no-capacity")
    demand = stack.handler_event("demand_signal.json")
    calls = [handler("alarm-scale", alarm) if n % 2 else handler("demand-signal", demand) for n in range(racers)]
    race(emu, calls)

    flan = boto3.client("sagemaker", region_name=REGION).describe_inference_component(
        InferenceComponentName="flan-t5-xxl"
    )
    assert flan["RuntimeConfig"]["DesiredCopyCount"] >= 1
    events = [e["type"] for e in stack.lifecycle_events() if e["component"] == "flan-t5-xxl"]
    assert events.count("WarmUpStarted") == 1, events
    assert "ScaleDeferred" not in events and "ActionFailed" not in events, events
