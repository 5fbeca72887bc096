"""Alarm-driven scaling and AAS configuration end to end on the emulator clock."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError

from emulator import Emulator, evaluate_alarms
from emulator.stack import Stack

REGION = "us-east-1"
IC_DIM = "sagemaker:inference-component:DesiredCopyCount"
EXAMPLE = Path(__file__).resolve().parents[1] / "policy.yaml"  # the integration world's policy


def sm() -> Any:
    return boto3.client("sagemaker", region_name=REGION)


def aas() -> Any:
    return boto3.client("application-autoscaling", region_name=REGION)


def desired(name: str) -> int:
    return int(sm().describe_inference_component(InferenceComponentName=name)["RuntimeConfig"]["DesiredCopyCount"])


def target(name: str) -> dict[str, Any]:
    t = aas().describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[f"inference-component/{name}"])[
        "ScalableTargets"
    ]
    return dict(t[0]) if t else {}


def invoke(name: str) -> bool:
    try:
        boto3.client("sagemaker-runtime", region_name=REGION).invoke_endpoint(
            EndpointName="llm-endpoint", InferenceComponentName=name, Body=b'{"inputs": "hi"}'
        )
        return True
    except ClientError:
        return False


def types(events: list[dict[str, Any]], component: str | None = None) -> list[str]:
    return [e["type"] for e in events if component is None or e["component"] == component]


def use_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: Any) -> None:
    policy = yaml.safe_load(EXAMPLE.read_text())
    edit(policy["endpoints"]["llm-endpoint"]["components"])
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    monkeypatch.setenv("ICPILOT_POLICY_PATH", str(path))


@pytest.fixture
def configured(stack: Stack) -> Stack:
    summary = stack.invoke("configure-autoscaling", stack.handler_event("configure_autoscaling.json"))
    assert summary["ok"], summary
    stack.lifecycle_events()
    return stack


def test_configure_creates_the_recipe_and_is_idempotent(stack: Stack) -> None:
    summary = stack.invoke("configure-autoscaling", stack.handler_event("configure_autoscaling.json"))
    made = {(c["component"], c["resource"]) for c in summary["autoscaling_changes"]}
    assert ("falcon-7b", "scalable-target") in made and (
        "flan-t5-xxl",
        "scaling-policy/icpilot-scale-from-zero",
    ) in made
    assert ("falcon-7b", "alarm/icpilot-falcon-7b-high-load") in made and (
        "flan-t5-xxl",
        "alarm/icpilot-flan-t5-xxl-idle",
    ) in made
    policies = {
        p["PolicyName"]: p
        for p in aas().describe_scaling_policies(
            ServiceNamespace="sagemaker", ResourceId="inference-component/flan-t5-xxl"
        )["ScalingPolicies"]
    }
    assert policies["icpilot-target-tracking"]["TargetTrackingScalingPolicyConfiguration"][
        "PredefinedMetricSpecification"
    ] == {"PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"}
    step = policies["icpilot-scale-from-zero"]["StepScalingPolicyConfiguration"]
    assert (
        step["StepAdjustments"] == [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}]
        and step["Cooldown"] == 60
    )
    alarms = {
        a["AlarmName"]: a
        for a in boto3.client("cloudwatch", region_name=REGION).describe_alarms(AlarmNamePrefix="icpilot-")[
            "MetricAlarms"
        ]
    }
    no_cap = alarms["icpilot-flan-t5-xxl-no-capacity"]
    assert (no_cap["ComparisonOperator"], no_cap["Threshold"], no_cap["Statistic"], no_cap["Period"]) == (
        "GreaterThanOrEqualToThreshold",
        1.0,
        "Sum",
        60,
    )
    assert no_cap["AlarmActions"] == [policies["icpilot-scale-from-zero"]["PolicyARN"]]
    idle = alarms["icpilot-flan-t5-xxl-idle"]
    assert (idle["EvaluationPeriods"], idle["TreatMissingData"], idle["MetricName"]) == (45, "breaching", "Invocations")
    assert types(stack.lifecycle_events()) == ["AutoScalingConfigured"]
    again = stack.invoke("configure-autoscaling", stack.handler_event("configure_autoscaling.json"))
    assert again["autoscaling_changes"] == [] and stack.lifecycle_events() == []


def test_drift_is_corrected_on_the_next_tick_and_reported(configured: Stack, emu: Emulator) -> None:
    aas().put_scaling_policy(
        PolicyName="icpilot-target-tracking",
        ServiceNamespace="sagemaker",
        ResourceId="inference-component/flan-t5-xxl",
        ScalableDimension=IC_DIM,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 99.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"},
        },
    )
    boto3.client("cloudwatch", region_name=REGION).put_metric_alarm(
        AlarmName="someone-elses-alarm",
        Namespace="AWS/EC2",
        MetricName="CPUUtilization",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=90,
        ComparisonOperator="GreaterThanThreshold",
    )
    emu.advance(15 * 60)  # the configure schedule runs
    policies = {
        p["PolicyName"]: p
        for p in aas().describe_scaling_policies(
            ServiceNamespace="sagemaker", ResourceId="inference-component/flan-t5-xxl"
        )["ScalingPolicies"]
    }
    assert policies["icpilot-target-tracking"]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 10.0
    drift = [e for e in configured.lifecycle_events() if e["type"] == "DriftCorrected"]
    assert len(drift) == 1 and drift[0]["component"] == "flan-t5-xxl" and "TargetValue" in drift[0]["reason"]
    names = [a["AlarmName"] for a in boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"]]
    assert "someone-elses-alarm" in names  # never touched


def test_components_that_leave_the_policy_are_cleaned_up(
    configured: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_policy(tmp_path, monkeypatch, lambda comps: comps.pop("falcon-7b"))
    summary = configured.invoke("configure-autoscaling", configured.handler_event("configure_autoscaling.json"))
    removed = {
        c["resource"]
        for c in summary["autoscaling_changes"]
        if c["component"] == "falcon-7b" and c["action"] == "delete"
    }
    assert removed == {
        "alarm/icpilot-falcon-7b-no-capacity",
        "alarm/icpilot-falcon-7b-idle",
        "alarm/icpilot-falcon-7b-high-load",
        "scaling-policy/icpilot-scale-from-zero",
        "scaling-policy/icpilot-target-tracking",
        "scalable-target",
    }
    assert target("falcon-7b") == {}
    assert target("flan-t5-xxl") != {}


def test_scale_from_zero_on_demand_then_the_copy_answers(configured: Stack, emu: Emulator) -> None:
    assert desired("flan-t5-xxl") == 0
    assert not invoke("flan-t5-xxl")
    emu.advance(60)
    evaluate_alarms()  # -> ALARM -> EventBridge rule -> alarm function; AAS's step policy runs too
    assert desired("flan-t5-xxl") == 1
    events = configured.lifecycle_events()
    warm = [e for e in events if e["type"] == "WarmUpStarted"]
    assert len(warm) == 1 and warm[0]["component"] == "flan-t5-xxl" and warm[0]["trigger"]["kind"] == "alarm"
    assert warm[0]["details"]["expected_time_to_ready_seconds"] == 480
    assert target("flan-t5-xxl")["SuspendedState"]["DynamicScalingOutSuspended"] is True  # the step policy waits
    emu.advance(240)
    assert invoke("flan-t5-xxl")
    emu.advance(300)  # the tick sees the warm-up done and gives scale-out back to AAS
    assert target("flan-t5-xxl")["SuspendedState"]["DynamicScalingOutSuspended"] is False
    assert desired("flan-t5-xxl") == 1


def test_scale_from_zero_warms_up_several_copies_at_once(
    configured: Stack, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_policy(tmp_path, monkeypatch, lambda comps: comps["flan-t5-xxl"].update(warmup_copies=2))
    configured.invoke("alarm-scale", configured.alarm_event("alarm_scale_no_capacity.json"))
    assert desired("flan-t5-xxl") == 2


def test_direct_alarm_payload_is_accepted(configured: Stack) -> None:
    summary = configured.invoke("alarm-scale", configured.alarm_event("alarm_scale_direct.json"))
    assert summary["outcomes"][0]["result"] == "scaled" and desired("flan-t5-xxl") == 1


def test_duplicate_delivery_acts_once(configured: Stack) -> None:
    event = configured.alarm_event("alarm_scale_no_capacity.json")
    first = configured.invoke("alarm-scale", event)
    second = configured.invoke("alarm-scale", event)
    assert first == second
    assert types(configured.lifecycle_events(), "flan-t5-xxl").count("ScaleRequested") == 1


def test_idle_scales_to_zero_after_the_delay_but_not_right_after_a_warm_up(configured: Stack, emu: Emulator) -> None:
    emu.advance(60 * 60)  # 08:04 Berlin: the window raised flan to 1
    assert desired("flan-t5-xxl") == 1
    emu.advance(11 * 3600)  # window closed at 19:00; nobody calls flan
    configured.lifecycle_events()
    emu.advance(46 * 60)
    evaluate_alarms()
    assert desired("flan-t5-xxl") == 0
    zero = [e for e in configured.lifecycle_events() if e["type"] == "ScaledToZero" and e["component"] == "flan-t5-xxl"]
    assert zero and zero[0]["trigger"]["kind"] == "alarm" and "idle" in zero[0]["reason"]
    # A request brings it back. Its copy is still leaving (SageMaker keeps the component Updating
    # and refuses the write), so the intent is deferred; the watcher, closing the scale-in a minute
    # later, carries it out at once (not at the next tick, up to TickRate later).
    configured.invoke("alarm-scale", configured.alarm_event("alarm_scale_no_capacity.json"))
    assert desired("flan-t5-xxl") == 0
    assert "ScaleDeferred" in types(configured.lifecycle_events(), "flan-t5-xxl")
    emu.advance(60)
    assert desired("flan-t5-xxl") == 1
    settled = [i for i in emu.dispatcher.invocations if i.function == "icpilot-watch-warmups"][-1].result
    assert [o["result"] for o in settled["outcomes"] if o["component"] == "flan-t5-xxl"] == ["done", "scaled"]
    # An idle alarm right after the warm-up is ignored (guard).
    emu.advance(60)  # the idle alarm goes to ALARM again a minute later (a new transition)
    idle = configured.alarm_event("alarm_scale_idle.json", alarm="icpilot-flan-t5-xxl-idle")
    summary = configured.invoke("alarm-scale", idle)
    assert summary["outcomes"][0]["result"] == "unchanged" and "guard" in summary["outcomes"][0]["reason"]
    assert desired("flan-t5-xxl") == 1


def test_aas_does_not_bring_a_copy_back_after_icpilot_scales_to_zero(configured: Stack, emu: Emulator) -> None:
    assert not invoke("flan-t5-xxl")
    emu.advance(60)
    evaluate_alarms()
    emu.advance(600)
    assert desired("flan-t5-xxl") == 1
    emu.advance(16 * 60)  # past the guard
    idle = configured.alarm_event("alarm_scale_idle.json", alarm="icpilot-flan-t5-xxl-idle")
    configured.invoke("alarm-scale", idle)
    assert desired("flan-t5-xxl") == 0
    for _ in range(5):  # past the step policy's cooldown, alarms re-evaluated each minute
        emu.advance(61)
        evaluate_alarms()
    assert desired("flan-t5-xxl") == 0


def test_sustained_load_scales_out_to_the_ceiling(configured: Stack, emu: Emulator) -> None:
    """Target tracking (executed by the emulator's AAS) and icpilot's high-load alarm both add
    copies; whoever writes, the count climbs to the ceiling and never past it."""
    from emulator.sagemaker_ext import invoke_component

    emu.advance(60 * 60)  # 08:04 Berlin, falcon at its floor 2
    emu.advance(10 * 60)
    assert desired("falcon-7b") == 2
    seen = []
    for _ in range(30):  # 30 minutes of heavy traffic: 200 requests a minute
        emu.advance(60)
        invoke_component("123456789012", REGION, "falcon-7b", 200)
        evaluate_alarms()
        seen.append(desired("falcon-7b"))
    assert desired("falcon-7b") == 4 and max(seen) == 4  # the ceiling, never more
    activities = aas().describe_scaling_activities(
        ServiceNamespace="sagemaker", ResourceId="inference-component/falcon-7b"
    )["ScalingActivities"]
    assert any("TargetTracking-inference-component/falcon-7b-AlarmHigh-" in a["Cause"] for a in activities)
    icpilot = [
        e
        for e in configured.lifecycle_events()
        if e["component"] == "falcon-7b" and e["type"] == "Scaled" and e["trigger"]["kind"] == "alarm"
    ]
    assert all(e["to_copies"] <= 4 for e in icpilot)


def falcon_at_its_floor_without_tracking(
    configured: Stack, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """08:14 Berlin, falcon's floor of 2 loaded, its high-load alarm (above 40 for 3 minutes, step 1)
    alone: without target tracking, AAS does not race icpilot's alarm."""
    use_policy(tmp_path, monkeypatch, lambda comps: comps["falcon-7b"].pop("autoscaling"))
    configured.invoke("configure-autoscaling", configured.handler_event("configure_autoscaling.json"))
    emu.advance(60 * 60 + 10 * 60)
    assert desired("falcon-7b") == 2


def test_a_high_load_alarm_scales_out_by_cloudwatchs_datapoint_in_one_write(
    configured: Stack, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The alarm's own datapoint (InvocationsPerCopy in StateReasonData, read from CloudWatch, not
    the payload) says how many copies the load needs: 2 -> 4 in one write, where a +1 step would
    write 3 and then wait a load time to write 4."""
    from emulator.sagemaker_ext import invoke_component

    falcon_at_its_floor_without_tracking(configured, emu, tmp_path, monkeypatch)
    for _ in range(4):  # 140 a minute over 2 copies: 70 per copy, above 40 for the alarm's 3 closed minutes
        emu.advance(60)
        assert invoke_component("123456789012", REGION, "falcon-7b", 140) == (140, 0)
        evaluate_alarms()
    assert desired("falcon-7b") == 4  # ceil(2 x 70 / 40) = 4 (its threshold: no target tracking here)
    scaled = [
        e
        for e in configured.lifecycle_events()
        if e["component"] == "falcon-7b" and e["type"] == "Scaled" and e["trigger"]["kind"] == "alarm"
    ]
    assert [(e["from_copies"], e["to_copies"]) for e in scaled] == [(2, 4)]
    assert "70 invocations per copy on 2 copies; 4 at once" in scaled[0]["reason"], scaled[0]["reason"]


def test_a_standing_high_load_alarm_adds_its_step_on_the_tick_whatever_its_old_datapoint(
    configured: Stack, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A standing alarm's StateReasonData is from its state change, before icpilot's last scale-out:
    the tick adds the policy's step, never the old datapoint over today's copies."""
    import json

    falcon_at_its_floor_without_tracking(configured, emu, tmp_path, monkeypatch)
    boto3.client("cloudwatch", region_name=REGION).set_alarm_state(
        AlarmName="icpilot-falcon-7b-high-load",
        StateValue="ALARM",
        StateReason="Threshold Crossed: 3 datapoints were greater than the threshold (40.0)",
        StateReasonData=json.dumps({"version": "1.0", "recentDatapoints": [400.0, 400.0, 400.0], "threshold": 40.0}),
    )
    configured.invoke("watch-tick", configured.handler_event("watch_tick.json"))
    assert desired("falcon-7b") == 3  # +1, not ceil(2 x 400 / 40) = 20 held to the ceiling of 4


def test_foreign_unknown_and_malformed_alarms_are_rejected(configured: Stack) -> None:
    for name in ("alarm_scale_foreign.json", "alarm_scale_malformed.json"):
        summary = configured.invoke("alarm-scale", configured.handler_event(name))
        assert summary["outcomes"][0]["result"] == "rejected"
    ghost = configured.handler_event("alarm_scale_no_capacity.json")
    ghost["detail"]["alarmName"] = "icpilot-ghost-model-idle"
    assert configured.invoke("alarm-scale", ghost)["outcomes"][0]["result"] == "rejected"
    # Two causes (malformed; not an icpilot alarm of the policy): each announced once an hour.
    rejected = configured.lifecycle_events()
    assert types(rejected) == ["TriggerRejected"] * 2
    assert sorted(e["details"]["cause"] for e in rejected) == ["alarm:malformed", "alarm:not-icpilot"]
    assert desired("flan-t5-xxl") == 0 and desired("falcon-7b") == 0


def test_ok_state_changes_do_nothing(configured: Stack) -> None:
    ok = configured.alarm_event("alarm_scale_no_capacity.json", state="OK")
    assert configured.invoke("alarm-scale", ok)["outcomes"][0]["result"] == "unchanged"
    assert desired("flan-t5-xxl") == 0


@pytest.mark.parametrize("order", ["alarm-first", "schedule-first"])
def test_racing_alarm_and_schedule_end_the_same_whatever_the_order(
    configured: Stack, emu: Emulator, order: str
) -> None:
    configured.pause_periodic_schedules("TickSchedule")
    emu.advance(3600)  # 08:04 Berlin: flan's window is open (floor 1); no tick ran
    flan_open = {"rule": "llm-endpoint/flan-t5-xxl/business-hours", "edge": "open"}
    alarm = configured.alarm_event("alarm_scale_no_capacity.json")
    calls = [("alarm-scale", alarm), ("schedule-window", flan_open)]
    for function, event in calls if order == "alarm-first" else reversed(calls):
        configured.invoke(function, event)
    assert desired("flan-t5-xxl") == 1
    assert types(configured.lifecycle_events(), "flan-t5-xxl").count("Scaled") == 1


def test_capacity_is_shared_by_priority_and_preemption(
    configured: Stack, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def edit(comps: dict[str, Any]) -> None:
        comps["falcon-7b"].update(max_copies=8, preemptible=True, outside={"min_copies": 0, "max_copies": 8})
        comps["falcon-7b"]["high_load"]["step"] = 8
        comps["flan-t5-xxl"].update(max_copies=2, high_load={"threshold": 5, "minutes": 1, "step": 1})

    use_policy(tmp_path, monkeypatch, edit)
    configured.invoke("configure-autoscaling", configured.handler_event("configure_autoscaling.json"))
    configured.invoke("alarm-scale", configured.alarm_event("alarm_scale_no_capacity.json"))  # flan 1 copy = 2 GPUs
    emu.advance(600)
    falcon_load = configured.alarm_event("alarm_scale_high_load.json")
    summary = configured.invoke("alarm-scale", falcon_load)
    assert summary["outcomes"][0]["to_copies"] == 6  # 8 GPUs on 2 instances, 2 held by flan
    refused = [e for e in configured.lifecycle_events() if e["type"] == "CapacityRefused"]
    assert (
        refused[0]["component"] == "falcon-7b"
        and refused[0]["details"]["requested"] == 8
        and refused[0]["details"]["granted"] == 6
    )
    emu.advance(900)
    flan_load = configured.alarm_event("alarm_scale_high_load.json", alarm="icpilot-flan-t5-xxl-high-load")
    summary = configured.invoke("alarm-scale", flan_load)
    assert summary["outcomes"][0]["to_copies"] == 2  # higher priority: falcon gives up 2 copies
    assert desired("falcon-7b") == 4
    preempted = [e for e in configured.lifecycle_events() if e["type"] == "Preempted"]
    assert preempted and preempted[0]["details"] == {"victim": "falcon-7b", "for": "flan-t5-xxl", "copies": 4}
    assert target("falcon-7b")["MaxCapacity"] == 4


def flan_idle_periods(configured: Stack) -> int:
    """Run configure, then read the minutes of flan's idle alarm (its evaluation periods)."""
    assert configured.invoke("configure-autoscaling", configured.handler_event("configure_autoscaling.json"))["ok"]
    alarms = boto3.client("cloudwatch", region_name=REGION).describe_alarms(AlarmNames=["icpilot-flan-t5-xxl-idle"])[
        "MetricAlarms"
    ]
    return int(alarms[0]["EvaluationPeriods"])


def test_a_cold_start_is_sized_by_cloudwatchs_datapoint_and_prices_the_next_idle_delay(
    configured: Stack, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from emulator.sagemaker_ext import invoke_component

    use_policy(tmp_path, monkeypatch, lambda comps: comps["flan-t5-xxl"].update(idle_scale_to_zero_after="auto"))

    # Priced by the cost model alone: 8 min (expected_time_to_ready) of a $5.09/h copy + one refusal
    # = $0.78, against the ml.g5.24xlarge its copy would take alone ($10.18/h) -> 4.6 min -> the
    # 5-minute minimum.
    assert flan_idle_periods(configured) == 5
    assert invoke_component("123456789012", REGION, "flan-t5-xxl", 120) == (0, 120)  # 120 requests meet zero copies
    emu.advance(60)
    evaluate_alarms()  # CloudWatch's datapoint (120 failed in the minute), not the payload, sizes the warm-up
    assert desired("flan-t5-xxl") == 2  # ceil(120 / 10 per copy), at the ceiling of 2
    scaled = [e for e in configured.lifecycle_events() if e["type"] == "Scaled"]
    assert "120 requests" in scaled[0]["reason"], scaled[0]["reason"]
    assert flan_idle_periods(configured) == 5  # nothing learned until the warm-up is over
    emu.advance(10 * 60)  # the copies load (4 min here); the watcher measures the cold start
    completed = next(e for e in configured.lifecycle_events() if e["type"] == "WarmUpCompleted")
    ttr, met = completed["details"]["time_to_ready_seconds"], completed["details"]["met_requests_per_minute"]
    # 120 requests failed from the minute before the scale-up until ready (ttr + 1 minute).
    assert met == pytest.approx(120 / (ttr / 60 + 1), abs=0.1)
    # The next cold start is priced by what this one met, over the measured time to ready and the
    # drain after it: copy $5.09/h x ttr + met/min x (ttr + drain) x max($0.10, $0.01 x ttr / 2),
    # divided by what holding flan's 2 copies costs: they fill an ml.g5.24xlarge, whose release
    # saves $10.18/h. Its 2 copies at a target of 10 serve 20 a minute, no more than the 20 that met
    # it: the backlog would not drain while such a burst lasts, so the drain counts one load time.
    minutes = ttr / 60
    assert met >= 2 * 10
    price = 5.09 * minutes / 60 + met * 2 * minutes * max(0.10, 0.01 * minutes / 2)
    assert flan_idle_periods(configured) == math.ceil(price / 10.18 * 60)


def test_a_forecast_that_holds_the_burst_shortens_the_idle_delay_and_says_no_drift(
    configured: Stack, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Learned demand acting and ``idle: auto``: configure prices the idle delay with the stored
    forecast at this hour. A forecast that holds a copy for flan's only demand (its floor warms
    ahead of it) leaves nothing to wait for, so the idle alarm drops to the 5-minute minimum; that
    is configure's own re-derivation, logged, not announced as drift."""
    from icpilot.adapters.state import StateStore
    from icpilot.domain.forecast import CLASSES, SLOTS_PER_DAY, Forecast

    use_policy(
        tmp_path,
        monkeypatch,
        lambda comps: comps["flan-t5-xxl"].update(
            idle_scale_to_zero_after="auto",
            cold_start_cost=2.0,
            predictive={"mode": "scale", "timezone": "Europe/Berlin"},
        ),
    )

    # no forecast yet: $2.00 against the ml.g5.24xlarge flan's copy would take alone, 11.8 -> 12 min
    assert flan_idle_periods(configured) == 12
    burst = 14 * 4  # 14:00 Berlin on weekdays, held by the floor
    learned = Forecast(
        "Europe/Berlin",
        datetime.now(UTC),
        14,
        {c: [30.0 if s == burst else 0.0 for s in range(SLOTS_PER_DAY)] for c in CLASSES},
        {c: [1.0 if s == burst else 0.0 for s in range(SLOTS_PER_DAY)] for c in CLASSES},
        {c: [1 if s == burst else 0 for s in range(SLOTS_PER_DAY)] for c in CLASSES},
    )
    state = StateStore(configured.table)
    stored = state.get("llm-endpoint", "flan-t5-xxl")
    state.write("llm-endpoint", "flan-t5-xxl", stored.version, forecast=json.dumps(learned.to_item()))
    configured.lifecycle_events()
    assert flan_idle_periods(configured) == 5
    assert not [e for e in configured.lifecycle_events() if e["type"] == "DriftCorrected"]


def test_a_scale_from_zero_is_sized_by_what_past_cold_starts_met(
    configured: Stack, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three requests fail, but flan's last cold starts met 24-40 a minute (the watcher's record):
    the first write asks for the copies that demand needs at once (ceil(30 / 10 per copy) = 3, at
    its ceiling of 2), since SageMaker refuses a second write while the first copy loads."""
    from icpilot.adapters.state import StateStore

    from emulator.sagemaker_ext import invoke_component

    use_policy(tmp_path, monkeypatch, lambda comps: comps["flan-t5-xxl"].update(warmup_copies=1))
    state = StateStore(configured.table)
    stored = state.get("llm-endpoint", "flan-t5-xxl")
    state.write("llm-endpoint", "flan-t5-xxl", stored.version, met_at_cold_start=[24.0, 30.0, 40.0])
    assert invoke_component("123456789012", REGION, "flan-t5-xxl", 3) == (0, 3)
    emu.advance(60)
    evaluate_alarms()
    assert desired("flan-t5-xxl") == 2
    scaled = next(e for e in configured.lifecycle_events() if e["type"] == "Scaled")
    assert "3 requests failed" in scaled["reason"] and "cold starts met a median 30" in scaled["reason"]
