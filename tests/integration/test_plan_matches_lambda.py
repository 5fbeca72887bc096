"""``icpilot plan`` and the Lambda decide alike: the same inputs builder (peers, lead time, forecast
floor), the same ``decide()``, for a table of situations where they once disagreed (priority
contention, ``after:``, preemption, a new instance needed for the lead time)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from icpilot.adapters.state import StateStore

from emulator import Emulator
from emulator.stack import REGION, Stack
from functions.watch_tick.app import lambda_handler as watch_tick
from icpilot_cli.main import main

INTEGRATION_POLICY = Path(__file__).resolve().parents[1] / "policy.yaml"
COMPONENTS = ("falcon-7b", "flan-t5-xxl")  # the policy's order: the tick starts at minute % 2


def policy_with(change: Callable[[dict[str, Any]], None], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    policy = yaml.safe_load(INTEGRATION_POLICY.read_text())
    change(policy["endpoints"]["llm-endpoint"]["components"])
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    monkeypatch.setenv("ICPILOT_POLICY_PATH", str(path))


def set_copies(name: str, copies: int) -> None:
    boto3.client("sagemaker", region_name=REGION).update_inference_component_runtime_config(
        InferenceComponentName=name, DesiredRuntimeConfig={"CopyCount": copies}
    )


def contention(c: dict[str, Any]) -> None:
    c["falcon-7b"]["max_copies"] = 6
    c["falcon-7b"]["schedules"][0].update(min_copies=6, max_copies=6)  # 6 + flan's pending 2 x 2 GPUs > 8 GPUs


def dependency(c: dict[str, Any]) -> None:
    c["flan-t5-xxl"]["after"] = ["falcon-7b"]


def preemption(c: dict[str, Any]) -> None:
    c["falcon-7b"]["preemptible"] = True
    c["falcon-7b"]["max_copies"] = 6
    c["falcon-7b"]["schedules"][0]["max_copies"] = 6
    c["flan-t5-xxl"]["schedules"][0]["min_copies"] = 2


def unchanged(c: dict[str, Any]) -> None:
    return None


SITUATIONS = [
    # (name, policy change, setup, the time (UTC), the component the tick evaluates first, what plan must say)
    (
        "priority contention: a higher-priority peer's pending intent is reserved",
        contention,
        "pending",
        "06:56",
        "falcon-7b",
        "capped at 4 by endpoint capacity",
    ),
    ("after: flan waits for falcon", dependency, "none", "06:53", "flan-t5-xxl", "waiting for falcon-7b"),
    ("preemption of a preemptible lower-priority peer", preemption, "falcon-6", "07:01", "flan-t5-xxl", "Preempted"),
    (
        "a new instance is needed: the lead includes provisioning",
        unchanged,
        "falcon-4",
        "06:47",
        "flan-t5-xxl",
        "opens within 0:14:00",
    ),
]


@pytest.mark.parametrize(
    ("title", "change", "setup", "at", "first", "says"), SITUATIONS, ids=[s[0] for s in SITUATIONS]
)
def test_plan_and_the_tick_make_the_same_decision(
    stack: Stack,
    emu: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    title: str,
    change: Callable[[dict[str, Any]], None],
    setup: str,
    at: str,
    first: str,
    says: str,
) -> None:
    policy_with(change, tmp_path, monkeypatch)
    if setup == "pending":
        store = StateStore(stack.table)
        stored = store.get("llm-endpoint", "flan-t5-xxl")
        store.write("llm-endpoint", "flan-t5-xxl", stored.version, pending_target=2, pending_reason="test")
    if setup.startswith("falcon-"):
        set_copies("falcon-7b", int(setup.split("-")[1]))
    hour, minute = (int(x) for x in at.split(":"))
    when = datetime(2026, 11, 23, hour, minute, tzinfo=UTC)
    assert COMPONENTS[int(when.timestamp() // 60) % 2] == first
    emu.dispatcher.handlers.pop("icpilot-watch-tick", None)  # the test runs the tick itself, at `when`
    emu.advance((when - emu.now()).total_seconds())
    capsys.readouterr()
    assert main(["plan", "--table", stack.table, "--json", "--at", when.isoformat()]) in (0, 1)
    plan = {r["component"]: r for r in json.loads(capsys.readouterr().out)}[first]
    emu.dispatcher.register("icpilot-watch-tick", watch_tick)
    summary = stack.invoke("watch-tick", stack.handler_event("watch_tick.json"))
    tick = next(o for o in summary["outcomes"] if o["component"] == first)
    expected_result = {"scale": "scaled", "none": "unchanged", "defer": "deferred", "blocked": "blocked"}
    assert (expected_result[plan["action"]], plan["to"]) == (tick["result"], tick["to_copies"]), title
    assert tick["reason"].startswith(plan["reason"]), (title, plan["reason"], tick["reason"])
    assert says in plan["reason"] or says in plan["events"], (title, plan)
