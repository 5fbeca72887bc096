"""Observe, then act: a team's Application Auto Scaling target on a component, icpilot deployed
with ``mode: observe`` (what ``icpilot init`` writes) decides, announces ``WouldScale`` once and
writes nothing; switched to ``mode: act`` it scales."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from emulator import Emulator
from emulator.stack import Stack

REGION = "us-east-1"
IC_DIM = "sagemaker:inference-component:DesiredCopyCount"
TEST_POLICY = Path(__file__).resolve().parents[1] / "policy.yaml"


def aas_snapshot() -> dict[str, Any]:
    """Everything AAS holds for the components: targets, policies, scheduled actions."""
    aas = boto3.client("application-autoscaling", region_name=REGION)
    return {
        "targets": aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"],
        "policies": aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"],
        "scheduled": aas.describe_scheduled_actions(ServiceNamespace="sagemaker")["ScheduledActions"],
    }


def desired(name: str) -> int:
    sm = boto3.client("sagemaker", region_name=REGION)
    return int(sm.describe_inference_component(InferenceComponentName=name)["RuntimeConfig"]["DesiredCopyCount"])


def write_policy(path: Path, mode: str) -> None:
    policy = yaml.safe_load(TEST_POLICY.read_text())
    policy["mode"] = mode
    path.write_text(yaml.safe_dump(policy))


def test_observe_writes_nothing_and_says_what_it_would_do_then_act_scales(
    stack: Stack, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "policy.yaml"
    write_policy(path, "observe")
    monkeypatch.setenv("ICPILOT_POLICY_PATH", str(path))
    stack.pause_periodic_schedules()  # the ticks below are the only ones
    sm = boto3.client("sagemaker", region_name=REGION)
    sm.update_inference_component_runtime_config(
        InferenceComponentName="falcon-7b", DesiredRuntimeConfig={"CopyCount": 1}
    )
    emu.advance(600)
    aas = boto3.client("application-autoscaling", region_name=REGION)
    aas.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="inference-component/falcon-7b",
        ScalableDimension=IC_DIM,
        MinCapacity=1,
        MaxCapacity=4,
    )
    aas.put_scaling_policy(
        PolicyName="team-target-tracking",
        ServiceNamespace="sagemaker",
        ResourceId="inference-component/falcon-7b",
        ScalableDimension=IC_DIM,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 30.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"},
        },
    )
    before = aas_snapshot()
    alarms_before = boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"]

    stack.invoke("configure-autoscaling", stack.handler_event("configure_autoscaling.json"))
    emu.advance((7 * 60 - 14) * 60 - 600)  # to 06:56Z, 07:56 Berlin: falcon's window floor of 2 leads it
    first = stack.invoke("watch-tick", stack.handler_event("watch_tick.json"))
    second = stack.invoke("watch-tick", stack.handler_event("watch_tick.json"))

    assert aas_snapshot() == before  # the team's target, policy and actions, exactly as they were
    assert boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"] == alarms_before
    assert desired("falcon-7b") == 1
    falcon = [o for o in first["outcomes"] if o["component"] == "falcon-7b"]
    assert [o["result"] for o in falcon] == ["observed"]
    assert [o["result"] for o in second["outcomes"] if o["component"] == "falcon-7b"] == ["observed"]
    events = stack.lifecycle_events()
    would = [e for e in events if e["type"] == "WouldScale" and e["component"] == "falcon-7b"]
    assert len(would) == 1  # once per intent, not once per tick
    assert (would[0]["from_copies"], would[0]["to_copies"]) == (1, 2)
    assert would[0]["details"]["rule"] == "window-floor"
    assert not [
        e for e in events if e["type"] in ("Scaled", "ScaleRequested", "WarmUpStarted", "AutoScalingConfigured")
    ]

    write_policy(path, "act")  # the explicit switch; a changed policy runs configure at once (PolicyChangeRule)
    stack.invoke("configure-autoscaling", stack.handler_event("configure_autoscaling.json"))
    acted = stack.invoke("watch-tick", stack.handler_event("watch_tick.json"))
    assert [o["result"] for o in acted["outcomes"] if o["component"] == "falcon-7b"] == ["scaled"]
    assert desired("falcon-7b") == 2
    target = aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=["inference-component/falcon-7b"])
    assert target["ScalableTargets"][0]["MinCapacity"] == 2  # the window's floor, now icpilot's to move
