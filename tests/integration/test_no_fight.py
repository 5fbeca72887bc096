"""icpilot and Application Auto Scaling on the same component, with AAS acting as AWS documents:
target tracking executed by its own alarms, bounds that clamp the count when they move, scale-out
suspension honoured. icpilot never loses an intent and never writes a count AAS reverts.

The world: Monday 06:00Z, both components at 0 copies; falcon-7b's business-hours window (08:00-19:00
Berlin) has floor 2, target tracking at 20 invocations per copy per minute, ceiling 4.
"""

from __future__ import annotations

from typing import Any

import boto3

from emulator import Emulator, evaluate_alarms
from emulator.sagemaker_ext import invoke_component
from emulator.stack import Stack

REGION = "us-east-1"
ACCOUNT = "123456789012"


def desired(name: str) -> int:
    described = boto3.client("sagemaker", region_name=REGION).describe_inference_component(InferenceComponentName=name)
    return int(described["RuntimeConfig"]["DesiredCopyCount"])


def activities(component: str) -> list[dict[str, Any]]:
    return list(
        boto3.client("application-autoscaling", region_name=REGION).describe_scaling_activities(
            ServiceNamespace="sagemaker", ResourceId=f"inference-component/{component}"
        )["ScalingActivities"]
    )


def target(component: str) -> dict[str, Any]:
    found = boto3.client("application-autoscaling", region_name=REGION).describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[f"inference-component/{component}"]
    )["ScalableTargets"]
    return dict(found[0])


def configured(stack: Stack) -> None:
    assert stack.invoke("configure-autoscaling", stack.handler_event("configure_autoscaling.json"))["ok"]


def test_a_window_opening_moves_count_then_bounds_so_aas_never_races_the_write(stack: Stack, emu: Emulator) -> None:
    configured(stack)
    emu.advance(60 * 60)  # 07:00Z: the window opens; falcon 0 -> 2, then Min 2
    assert desired("falcon-7b") == 2 and target("falcon-7b")["MinCapacity"] == 2
    events = stack.lifecycle_events()
    falcon = [e["type"] for e in events if e["component"] == "falcon-7b"]
    assert "Scaled" in falcon and "ScaleDeferred" not in falcon  # icpilot's own write was never refused
    assert [a for a in activities("falcon-7b") if "bounds moved" in a["Cause"]] == []  # AAS had nothing to clamp


def test_target_tracking_scales_out_under_load_and_not_below_the_window_floor(stack: Stack, emu: Emulator) -> None:
    configured(stack)
    emu.advance(60 * 60 + 10 * 60)  # 07:10Z, falcon at its floor 2 and loaded
    for _ in range(10):  # 120 a minute over 2 copies = 60 per copy, target 20: AAS adds copies
        emu.advance(60)
        invoke_component(ACCOUNT, REGION, "falcon-7b", 120)
        evaluate_alarms()
    assert desired("falcon-7b") == 4  # ceil(2 x 60 / 20) = 6, held at the window's ceiling 4
    assert any("AlarmHigh" in a["Cause"] for a in activities("falcon-7b"))
    for _ in range(40):  # then a trickle: 1 a minute, far below 90% of the target, for 40 minutes
        emu.advance(60)
        invoke_component(ACCOUNT, REGION, "falcon-7b", 1)
        evaluate_alarms()
    assert desired("falcon-7b") == 2  # AAS scaled in, but the window's floor (AAS MinCapacity) holds
    assert any("AlarmLow" in a["Cause"] for a in activities("falcon-7b"))
    falcon = [e for e in stack.lifecycle_events() if e["component"] == "falcon-7b"]
    assert not [e for e in falcon if e["type"] in ("ScaleDeferred", "ActionFailed")]


def test_scale_out_stays_suspended_while_a_warm_up_loads(stack: Stack, emu: Emulator) -> None:
    """A scale from zero suspends AAS dynamic scale-out until the copies serve: the no-capacity step
    policy keeps firing while requests fail, but adds nothing on top of the warm-up."""
    configured(stack)
    emu.configure_component("flan-t5-xxl", model_load_seconds=480)
    stack.invoke("alarm-scale", stack.alarm_event("alarm_scale_no_capacity.json"))  # flan 0 -> 1
    assert desired("flan-t5-xxl") == 1 and target("flan-t5-xxl")["SuspendedState"]["DynamicScalingOutSuspended"]
    for _ in range(6):  # requests keep failing while the copy loads; the alarm stays in ALARM
        emu.advance(60)
        invoke_component(ACCOUNT, REGION, "flan-t5-xxl", 5)
        evaluate_alarms()
        assert desired("flan-t5-xxl") == 1
    emu.advance(5 * 60)  # loaded; the watcher confirms it and the tick gives scale-out back
    assert not target("flan-t5-xxl")["SuspendedState"]["DynamicScalingOutSuspended"]
    assert [e["type"] for e in stack.lifecycle_events() if e["type"] == "WarmUpCompleted"] == ["WarmUpCompleted"]


def test_registering_a_target_holds_the_running_count(stack: Stack, emu: Emulator) -> None:
    """At night (falcon's ceiling 0) icpilot is deployed onto a falcon someone runs at 1 copy: the
    first configure registers bounds that hold the 1 copy, so AAS writes nothing; icpilot's own tick
    then takes it to 0 and says so."""
    stack.pause_periodic_schedules("TickSchedule")
    boto3.client("sagemaker", region_name=REGION).update_inference_component_runtime_config(
        InferenceComponentName="falcon-7b", DesiredRuntimeConfig={"CopyCount": 1}
    )
    emu.advance(300)
    configured(stack)
    assert desired("falcon-7b") == 1 and activities("falcon-7b") == []
    stack.invoke("watch-tick", stack.handler_event("watch_tick.json"))
    assert desired("falcon-7b") == 0
    zero = [e for e in stack.lifecycle_events() if e["type"] == "ScaledToZero" and e["component"] == "falcon-7b"]
    assert zero and activities("falcon-7b") == []


def test_a_users_scheduled_action_raises_the_count_and_icpilot_does_not_take_it_back(
    stack: Stack, emu: Emulator
) -> None:
    """Someone left a scheduled action on falcon (Min 3 at 09:00 Berlin). AAS runs it; icpilot's next
    ticks find 3 copies inside the window's [2, 4] and write no count (AAS's raise stands). icpilot
    owns the bounds, so it puts MinCapacity back to the window's 2 (README: one owner per target)."""
    configured(stack)
    emu.advance(60 * 60 + 10 * 60)  # 07:10Z: falcon at the window's floor 2
    boto3.client("application-autoscaling", region_name=REGION).put_scheduled_action(
        ServiceNamespace="sagemaker",
        ScheduledActionName="team-morning-boost",
        ResourceId="inference-component/falcon-7b",
        ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
        Schedule="cron(0 9 * * ? *)",
        Timezone="Europe/Berlin",
        ScalableTargetAction={"MinCapacity": 3, "MaxCapacity": 4},
    )
    stack.lifecycle_events()
    emu.advance(55 * 60)  # 08:05Z = 09:05 Berlin: the action ran
    assert any(a["Cause"].startswith("scheduled action team-morning-boost") for a in activities("falcon-7b"))
    emu.advance(10 * 60)  # ten ticks later
    assert desired("falcon-7b") == 3
    falcon = [e for e in stack.lifecycle_events() if e["component"] == "falcon-7b"]
    assert [e for e in falcon if e["type"] in ("Scaled", "ScaleRequested", "ScaledToZero")] == []
    assert target("falcon-7b")["MinCapacity"] == 2
