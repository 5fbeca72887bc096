"""Consolidation between bursts (issue 33) end to end on the emulator: configure makes each
component's quiet alarm, CloudWatch (the emulator's) puts both in ALARM once no invocation came for
``consolidate_after``, and the tick lowers the quiet components to what frees an instance, as
``capacity.consolidated`` plans it. The alarm event alone does nothing: it cannot see the peers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from emulator import Emulator, evaluate_alarms
from emulator.sagemaker_ext import invoke_component
from emulator.stack import Stack
from tests.integration.test_alarm_flow import REGION, desired, sm, types, use_policy


def between_bursts(comps: dict[str, Any]) -> None:
    """No windows (a purely reactive policy), a long idle delay, quiet after 5 minutes."""
    for cp in comps.values():
        cp.pop("schedules", None)
        cp.pop("outside", None)
        cp.update(idle_scale_to_zero_after="3h", consolidate_after="5m")


@pytest.fixture
def after_a_burst(stack: Stack, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """A burst left falcon-7b at 4 copies (4 GPUs) and flan-t5-xxl at 2 (4 GPUs): two instances."""
    use_policy(tmp_path, monkeypatch, between_bursts)
    summary = stack.invoke("configure-autoscaling", stack.handler_event("configure_autoscaling.json"))
    assert summary["ok"], summary
    for name, copies in (("falcon-7b", 4), ("flan-t5-xxl", 2)):
        sm().update_inference_component_runtime_config(
            InferenceComponentName=name, DesiredRuntimeConfig={"CopyCount": copies}
        )
    emu.advance(15 * 60)  # loaded, the second instance provisioned
    for name in ("falcon-7b", "flan-t5-xxl"):  # the burst's last requests
        assert invoke_component("123456789012", REGION, name, 20)[0] == 20
    emu.advance(7 * 60)  # then nobody calls
    assert (desired("falcon-7b"), desired("flan-t5-xxl")) == (4, 2)
    stack.lifecycle_events()
    return stack


def test_configure_makes_a_quiet_alarm_per_component(after_a_burst: Stack) -> None:
    alarms = {
        a["AlarmName"]: a
        for a in boto3.client("cloudwatch", region_name=REGION).describe_alarms(AlarmNamePrefix="icpilot-")[
            "MetricAlarms"
        ]
    }
    quiet = alarms["icpilot-falcon-7b-quiet"]
    assert (quiet["MetricName"], quiet["EvaluationPeriods"], quiet["TreatMissingData"]) == (
        "Invocations",
        5,
        "breaching",
    )
    assert "icpilot-flan-t5-xxl-quiet" in alarms


def test_the_tick_consolidates_quiet_components_onto_one_instance(after_a_burst: Stack, emu: Emulator) -> None:
    evaluate_alarms()
    after_a_burst.invoke("watch-tick", after_a_burst.handler_event("watch_tick.json"))
    # 4 x 1 GPU + 2 x 2 GPUs need two instances; falcon 2 + flan 1 fill one (capacity.consolidated).
    assert (desired("falcon-7b"), desired("flan-t5-xxl")) == (2, 1)
    events = after_a_burst.lifecycle_events()
    scaled = [e for e in events if e["type"] == "Scaled"]
    assert {e["component"] for e in scaled} == {"falcon-7b", "flan-t5-xxl"}
    assert all("quiet for 5m" in e["reason"] and "1 instances instead of 2" in e["reason"] for e in scaled)
    # Looked at again on the next tick: nothing more to free, so nothing is written.
    emu.advance(5 * 60)
    evaluate_alarms()
    after_a_burst.invoke("watch-tick", after_a_burst.handler_event("watch_tick.json"))
    assert (desired("falcon-7b"), desired("flan-t5-xxl")) == (2, 1)
    assert "Scaled" not in types(after_a_burst.lifecycle_events())


def test_a_quiet_alarm_event_alone_changes_nothing(after_a_burst: Stack) -> None:
    evaluate_alarms()
    event = after_a_burst.alarm_event("alarm_scale_idle.json", alarm="icpilot-falcon-7b-quiet")
    summary = after_a_burst.invoke("alarm-scale", event)
    assert summary["outcomes"][0]["result"] == "unchanged" and "tick" in summary["outcomes"][0]["reason"]
    assert desired("falcon-7b") == 4
