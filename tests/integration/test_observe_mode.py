"""Observe, act, give back: a team's Application Auto Scaling target on a component; icpilot deployed
with ``mode: observe`` (what ``icpilot init`` writes) decides, announces ``WouldScale`` once and
writes nothing; switched to ``mode: act`` it scales within the policy; ``sam delete`` puts the
team's target, policies and scheduled actions back exactly, and a component icpilot left at zero
back at the copies it had."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from emulator import EMULATOR, Emulator
from emulator.stack import Stack
from tests.conftest import deployed_stack

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
    stack: Stack, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
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
    aas.put_scheduled_action(
        ServiceNamespace="sagemaker",
        ResourceId="inference-component/falcon-7b",
        ScalableDimension=IC_DIM,
        ScheduledActionName="team-weekend-floor",
        Schedule="cron(0 8 ? * SAT *)",
        Timezone="Europe/Berlin",
        ScalableTargetAction={"MinCapacity": 1, "MaxCapacity": 2},
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
    alarms_before = boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"]

    sm.update_inference_component_runtime_config(
        InferenceComponentName="flan-t5-xxl", DesiredRuntimeConfig={"CopyCount": 1}
    )  # no team target: icpilot will register its own
    emu.advance(600)
    before = aas_snapshot()
    stack.deployment.create_custom_resources()  # the deploy: reconcile and configure, in observe mode
    emu.advance((7 * 60 - 14) * 60 - 1200)  # to 06:56Z, 07:56 Berlin: falcon's window floor of 2 leads it
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
    # Before 08:00 the policy would take falcon to its night bounds (0); from the window's edge, to
    # its floor of 2: each intent said once, though the edge and two ticks all saw the second.
    assert [(e["from_copies"], e["to_copies"], e["details"]["rule"]) for e in would] == [
        (1, 0, "window-ceiling"),
        (1, 2, "window-floor"),
    ]
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

    # Night: falcon's outside bounds are 0..0, flan goes to zero by an operator's override.
    emu.advance(11 * 3600)
    stack.invoke("watch-tick", stack.handler_event("watch_tick.json"))
    from icpilot_cli.main import main

    assert (
        main(["scale", "flan-t5-xxl", "--copies", "0", "--for", "2h", "--reason", "quiet", "--table", stack.table]) == 0
    )
    assert (desired("falcon-7b"), desired("flan-t5-xxl")) == (0, 0)
    assert aas_snapshot() != before
    emu.advance(600)  # the scale-in settles (SageMaker refuses a write while it is Updating)
    capsys.readouterr()
    assert main(["uninstall", "--plan", "--json", "--table", stack.table]) == 0
    steps = {(r["component"], r["step"]) for r in json.loads(capsys.readouterr().out)}
    assert {
        ("falcon-7b", "restore target"),
        ("flan-t5-xxl", "deregister target"),
        ("flan-t5-xxl", "raise from zero"),
    } <= steps

    stack.delete()  # sam delete: the configure custom resource's Delete gives everything back
    after = aas_snapshot()
    assert after["policies"] == before["policies"] and after["scheduled"] == before["scheduled"]
    assert after["targets"] == before["targets"]  # falcon's, byte for byte; flan's (icpilot's) is gone
    tags = aas.list_tags_for_resource(ResourceARN=after["targets"][0]["ScalableTargetARN"])["Tags"]
    assert tags == {}
    emu.advance(600)
    assert (desired("falcon-7b"), desired("flan-t5-xxl")) == (1, 1)  # the copies each had when icpilot took it


def test_a_stack_deployed_with_the_templates_default_observes_until_the_policy_says_act(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``sam deploy`` with the template's defaults (DefaultMode=observe) and a policy that names no
    mode: the window opens, icpilot says what it would do and writes nothing; the same policy with
    ``mode: act`` scales."""
    with deployed_stack(monkeypatch, {"DefaultMode": "observe"}) as stack:
        stack.pause_periodic_schedules()
        stack.invoke("watch-tick", {"kind": "tick"})  # Monday 06:04Z, before the 08:00 Berlin window
        before = {name: desired(name) for name in ("falcon-7b", "flan-t5-xxl")}
        EMULATOR.advance(3600 + 600)  # 08:14 Berlin: falcon's window floor is 2
        stack.invoke("watch-tick", {"kind": "tick"})
        assert {name: desired(name) for name in before} == before
        would = [e for e in stack.lifecycle_events() if e["type"] == "WouldScale"]
        assert [(e["component"], e["to_copies"]) for e in would if e["component"] == "falcon-7b"] == [("falcon-7b", 2)]

        path = tmp_path / "policy.yaml"
        write_policy(path, "act")  # the policy's own mode wins over the stack's default
        monkeypatch.setenv("ICPILOT_POLICY_PATH", str(path))
        stack.invoke("watch-tick", {"kind": "tick"})
        assert desired("falcon-7b") == 2
