"""Schedule-driven scaling end to end: real handlers, events/ files, the emulator clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from icpilot.adapters.state import StateStore
from icpilot.errors import StateConflictError
from icpilot.plans.schedules import together_schedule_name

from emulator import Emulator
from emulator.stack import Stack

REGION = "us-east-1"
IC_DIM = "sagemaker:inference-component:DesiredCopyCount"
EXAMPLE = Path(__file__).resolve().parents[1] / "policy.yaml"  # the integration world's policy


def copies(name: str) -> dict[str, Any]:
    d = boto3.client("sagemaker", region_name=REGION).describe_inference_component(InferenceComponentName=name)
    return {
        "status": d["InferenceComponentStatus"],
        "desired": d["RuntimeConfig"]["DesiredCopyCount"],
        "current": d["RuntimeConfig"]["CurrentCopyCount"],
    }


def register_target(name: str, lo: int = 0, hi: int = 4) -> None:
    boto3.client("application-autoscaling", region_name=REGION).register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=f"inference-component/{name}",
        ScalableDimension=IC_DIM,
        MinCapacity=lo,
        MaxCapacity=hi,
    )


def target(name: str) -> tuple[int, int]:
    t = boto3.client("application-autoscaling", region_name=REGION).describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[f"inference-component/{name}"]
    )["ScalableTargets"][0]
    return t["MinCapacity"], t["MaxCapacity"]


def types(events: list[dict[str, Any]], component: str | None = None) -> list[str]:
    return [e["type"] for e in events if component is None or e["component"] == component]


def test_tick_reconciles_schedules_from_the_policy(stack: Stack) -> None:
    summary = stack.invoke("watch-tick", stack.handler_event("watch_tick.json"))
    assert summary["schedules"] == {"created": 4, "updated": 0, "deleted": 0, "unchanged": 0}
    scheduler = boto3.client("scheduler", region_name=REGION)
    names = sorted(s["Name"] for s in scheduler.list_schedules(GroupName=stack.schedule_group)["Schedules"])
    # The windows open at different times (each leads by its own time to ready) and close together:
    # one schedule closes both.
    both = ["llm-endpoint/falcon-7b/business-hours", "llm-endpoint/flan-t5-xxl/business-hours"]
    closing = together_schedule_name("llm-endpoint", "close", both)
    assert names == sorted(
        [
            "llm-endpoint.daily-report",
            closing,
            "llm-endpoint.falcon-7b.business-hours.open",
            "llm-endpoint.flan-t5-xxl.business-hours.open",
        ]
    )
    shared = scheduler.get_schedule(GroupName=stack.schedule_group, Name=closing)
    assert json.loads(shared["Target"]["Input"]) == {"rules": both, "edge": "close"}
    opening = scheduler.get_schedule(GroupName=stack.schedule_group, Name="llm-endpoint.falcon-7b.business-hours.open")
    assert opening["ScheduleExpression"] == "cron(54 7 ? * MON,TUE,WED,THU,FRI *)"  # 08:00 less the 6 min time to ready
    assert opening["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert json.loads(opening["Target"]["Input"]) == {"edge": "open", "rule": "llm-endpoint/falcon-7b/business-hours"}
    assert opening["Target"]["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600}
    assert opening["Target"]["DeadLetterConfig"]["Arn"] == stack.dlq_arn
    again = stack.invoke("watch-tick", stack.handler_event("watch_tick.json"))
    assert again["schedules"] == {"created": 0, "updated": 0, "deleted": 0, "unchanged": 4}


def test_policy_change_updates_and_deletes_schedules(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack.invoke("watch-tick", stack.handler_event("watch_tick.json"))
    policy = yaml.safe_load(EXAMPLE.read_text())
    flan = policy["endpoints"]["llm-endpoint"]["components"]["flan-t5-xxl"]
    flan["schedules"] = []
    policy["endpoints"]["llm-endpoint"]["components"]["falcon-7b"]["schedules"][0]["start"] = "07:30"
    changed = tmp_path / "policy.yaml"
    changed.write_text(yaml.safe_dump(policy))
    monkeypatch.setenv("ICPILOT_POLICY_PATH", str(changed))
    summary = stack.invoke("watch-tick", stack.handler_event("watch_tick.json"))
    # falcon's opening moves; flan's opening and the closing both shared go; falcon closes alone
    assert summary["schedules"] == {"created": 1, "updated": 1, "deleted": 2, "unchanged": 1}  # the daily report


def test_window_opens_and_closes_on_the_clock(stack: Stack, emu: Emulator) -> None:
    register_target("falcon-7b", 0, 4)
    stack.invoke("watch-tick", stack.handler_event("watch_tick.json"))
    stack.lifecycle_events()
    # falcon's expected time to ready is 6 min: its opening edge fires at 07:54 Berlin (06:54Z), flan's
    # (8 min) at 07:52, so both are loaded when the window opens at 08:00.
    emu.advance(56 * 60)  # 06:04 -> 07:00Z = 08:00 Berlin
    fired = {i.source: i.time for i in emu.dispatcher.invocations if i.source.startswith("schedule:icpilot-windows/")}
    assert fired["schedule:icpilot-windows/llm-endpoint.falcon-7b.business-hours.open"] == datetime(
        2026, 11, 23, 6, 54, tzinfo=UTC
    )
    assert fired["schedule:icpilot-windows/llm-endpoint.flan-t5-xxl.business-hours.open"] == datetime(
        2026, 11, 23, 6, 52, tzinfo=UTC
    )
    assert copies("falcon-7b") == {"status": "InService", "desired": 2, "current": 2}  # ready at the window start
    assert copies("flan-t5-xxl") == {"status": "InService", "desired": 1, "current": 1}
    assert target("falcon-7b") == (2, 4)  # AAS now keeps at least the window's floor
    events = stack.lifecycle_events()
    falcon = [
        e
        for e in events
        if e["component"] == "falcon-7b" and e["type"] in ("WarmUpStarted", "ScaleRequested", "Scaled")
    ]
    assert types(falcon) == ["WarmUpStarted", "ScaleRequested", "Scaled"]
    assert falcon[0]["time"].startswith("2026-11-23T06:54:00") and falcon[0]["details"]["expected_ready_at"].startswith(
        "2026-11-23T07:00:00"
    )
    scaled = falcon[-1]
    assert (scaled["from_copies"], scaled["to_copies"]) == (0, 2)
    assert scaled["schema_version"] == "1.0" and scaled["correlation_id"] and scaled["endpoint"] == "llm-endpoint"
    assert scaled["_attributes"] == {
        "event_type": "Scaled",
        "severity": "info",
        "endpoint": "llm-endpoint",
        "component": "falcon-7b",
    }
    assert scaled["_subject"] == "[icpilot] Scaled falcon-7b 0→2 (llm-endpoint)"
    state = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=stack.table, Key={"pk": {"S": "component#llm-endpoint#falcon-7b"}}
    )["Item"]
    assert state["last_action"]["S"] == "scaled" and "raise to the floor 2" in state["last_reason"]["S"]
    emu.advance(11 * 3600)  # past 19:00 Berlin: falcon's policy says 0..0 outside the window
    assert target("falcon-7b") == (0, 0)
    assert copies("falcon-7b")["desired"] == 0
    closing = [
        e for e in stack.lifecycle_events() if e["component"] == "falcon-7b" and e["trigger"]["kind"] == "schedule"
    ]
    assert types(closing) == ["ScaleRequested", "ScaledToZero"]
    # flan's outside bounds are its own 0..2: the count its window left stays (idle scale-to-zero owns it).
    assert copies("flan-t5-xxl")["desired"] == 1


def test_busy_component_is_deferred_then_retried_by_the_tick(stack: Stack, emu: Emulator) -> None:
    emu.configure_component("falcon-7b", model_load_seconds=7200)
    boto3.client("sagemaker", region_name=REGION).update_inference_component_runtime_config(
        InferenceComponentName="falcon-7b", DesiredRuntimeConfig={"CopyCount": 1}
    )  # Updating until 08:04Z
    emu.advance(3600)  # 07:04Z: the 08:00 Berlin edge and the ticks find falcon busy
    falcon = [e for e in stack.lifecycle_events() if e["component"] == "falcon-7b"]
    assert set(types(falcon)) == {"ScaleDeferred"}
    # Before 08:00 the night bounds (0..0) want 0, from 08:00 the window wants 2: both wait.
    assert {e["to_copies"] for e in falcon} == {0, 2} and falcon[-1]["to_copies"] == 2
    state = StateStore(stack.table).get("llm-endpoint", "falcon-7b").state
    assert state.pending_target == 2
    emu.advance(3600)  # 08:04Z the copy is loaded; the next tick applies the intent
    assert copies("falcon-7b")["desired"] == 2
    retried = [e for e in stack.lifecycle_events() if e["component"] == "falcon-7b" and e["type"] == "Scaled"]
    assert len(retried) == 1 and retried[0]["trigger"]["kind"] == "tick"
    assert StateStore(stack.table).get("llm-endpoint", "falcon-7b").state.pending_target is None


def test_capacity_refusal_is_reported_with_numbers(
    stack: Stack, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = yaml.safe_load(EXAMPLE.read_text())
    falcon = policy["endpoints"]["llm-endpoint"]["components"]["falcon-7b"]
    falcon["max_copies"] = 10
    falcon["schedules"][0].update(min_copies=10, max_copies=10)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    monkeypatch.setenv("ICPILOT_POLICY_PATH", str(path))
    boto3.client("sagemaker", region_name=REGION).update_inference_component_runtime_config(
        InferenceComponentName="flan-t5-xxl", DesiredRuntimeConfig={"CopyCount": 1}
    )
    emu.advance(3600)
    summary = stack.invoke("schedule-window", stack.handler_event("schedule_window_open.json"))
    assert summary["outcomes"][0]["to_copies"] == 6
    refused = next(e for e in stack.lifecycle_events() if e["type"] == "CapacityRefused")
    assert refused["details"]["requested"] == 10 and refused["details"]["granted"] == 6
    assert refused["details"]["instance_type"] == "ml.g5.24xlarge" and refused["details"]["max_instances"] == 2
    assert refused["_attributes"]["severity"] == "warning"


def test_invalid_policy_changes_nothing_and_says_so(
    stack: Stack, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        EXAMPLE.read_text().replace("max_copies: 4\n        priority: 50", "max_copies: -4\n        priority: 50")
    )
    monkeypatch.setenv("ICPILOT_POLICY_PATH", str(path))
    emu.advance(3600)  # twelve ticks find the policy invalid: operators hear it once
    summary = stack.invoke("watch-tick", stack.handler_event("watch_tick.json"))
    assert summary["ok"] is False and summary["outcomes"] == []
    assert any("falcon-7b.max_copies" in p for p in summary["policy_error"])
    events = stack.lifecycle_events()
    assert types(events) == ["PolicyInvalid"] and events[0]["severity"] == "error"
    assert copies("falcon-7b")["desired"] == 0
    assert (
        boto3.client("scheduler", region_name=REGION).list_schedules(GroupName=stack.schedule_group)["Schedules"] == []
    )


def test_policy_from_ssm_parameter_overrides_the_bundled_file(
    stack: Stack, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = yaml.safe_load(EXAMPLE.read_text())
    policy["endpoints"]["llm-endpoint"]["components"]["falcon-7b"]["schedules"][0]["min_copies"] = 3
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/icpilot/policy", Value=yaml.safe_dump(policy), Type="String"
    )
    monkeypatch.setenv("ICPILOT_POLICY_PARAMETER", "/icpilot/policy")
    emu.advance(3600)
    stack.invoke("schedule-window", stack.handler_event("schedule_window_open.json"))
    assert copies("falcon-7b")["desired"] == 3


def test_edges_firing_together_are_evaluated_in_one_pass_and_an_unknown_one_alone_is_rejected(
    stack: Stack, emu: Emulator
) -> None:
    """An endpoint's shared schedule names several rules: each component is brought within its
    window, and a rule that is no longer in the policy is rejected on its own."""
    emu.advance(3600)  # 08:04 Berlin, a Monday: both windows are open
    for name in ("falcon-7b", "flan-t5-xxl"):  # an operator took them to zero meanwhile
        boto3.client("sagemaker", region_name=REGION).update_inference_component_runtime_config(
            InferenceComponentName=name, DesiredRuntimeConfig={"CopyCount": 0}
        )
    emu.advance(60)  # the scale-in done, before the next tick
    assert copies("falcon-7b") == {"status": "InService", "desired": 0, "current": 0}
    stack.lifecycle_events()
    event = stack.handler_event("schedule_window_open_together.json")
    event["rules"] = [*event["rules"], "llm-endpoint/retired-model/business-hours"]
    summary = stack.invoke("schedule-window", event)
    results = {o["component"]: o["result"] for o in summary["outcomes"]}
    assert results == {"falcon-7b": "scaled", "flan-t5-xxl": "scaled", "retired-model": "rejected"}
    assert (copies("falcon-7b")["desired"], copies("flan-t5-xxl")["desired"]) == (2, 1)
    events = stack.lifecycle_events()
    started = [e for e in events if e["type"] == "WarmUpStarted"]
    assert sorted(e["trigger"]["rule"] for e in started) == event["rules"][:2]  # each under its own rule
    assert "TriggerRejected" in types(events)


@pytest.mark.parametrize("event_file", ["schedule_window_unknown_rule.json", "schedule_window_malformed.json"])
def test_bad_schedule_events_are_rejected_not_retried(stack: Stack, event_file: str) -> None:
    summary = stack.invoke("schedule-window", stack.handler_event(event_file))
    assert summary["ok"] is False and summary["outcomes"][0]["result"] == "rejected"
    events = stack.lifecycle_events()
    assert types(events) == ["TriggerRejected"]
    assert copies("falcon-7b")["desired"] == 0


def test_classic_endpoint_is_refused_with_an_explanation(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sm = boto3.client("sagemaker", region_name=REGION)
    sm.create_model(
        ModelName="classic", ExecutionRoleArn="arn:aws:iam::123456789012:role/x", PrimaryContainer={"Image": "img"}
    )
    sm.create_endpoint_config(
        EndpointConfigName="classic",
        ProductionVariants=[
            {"VariantName": "v", "ModelName": "classic", "InstanceType": "ml.m5.xlarge", "InitialInstanceCount": 1}
        ],
    )
    sm.create_endpoint(EndpointName="classic-endpoint", EndpointConfigName="classic")
    path = tmp_path / "policy.yaml"
    path.write_text("version: 1\nendpoints:\n  classic-endpoint:\n    components:\n      some-model: {max_copies: 2}\n")
    monkeypatch.setenv("ICPILOT_POLICY_PATH", str(path))
    summary = stack.invoke("watch-tick", stack.handler_event("watch_tick.json"))
    assert summary["outcomes"][0]["result"] == "rejected"
    assert "hosts no inference components" in summary["outcomes"][0]["reason"]
    # The policy's one endpoint gets its daily-report schedule; the classic endpoint itself is refused.
    assert types(stack.lifecycle_events()) == ["SchedulesReconciled", "ActionFailed"]


def test_component_missing_from_sagemaker_does_not_stop_the_others(stack: Stack, emu: Emulator) -> None:
    boto3.client("sagemaker", region_name=REGION).delete_inference_component(InferenceComponentName="flan-t5-xxl")
    stack.pause_periodic_schedules("TickSchedule")  # only our tick below
    emu.advance(3600)
    summary = stack.invoke("watch-tick", stack.handler_event("watch_tick.json"))
    results = {o["component"]: o["result"] for o in summary["outcomes"]}
    assert results == {"falcon-7b": "scaled", "flan-t5-xxl": "unchanged"}


def test_a_component_deleted_under_icpilot_is_announced_once_then_left_quiet(stack: Stack, emu: Emulator) -> None:
    """Before: every tick raised an error-severity ActionFailed for it (288 a day). Now one
    ComponentGone, quiet ticks after it, and the component is watched again once it is back."""
    sm = boto3.client("sagemaker", region_name=REGION)
    spec = sm.describe_inference_component(InferenceComponentName="flan-t5-xxl")["Specification"]
    sm.delete_inference_component(InferenceComponentName="flan-t5-xxl")
    stack.pause_periodic_schedules("TickSchedule")
    for _ in range(5):
        emu.advance(300)
        summary = stack.invoke("watch-tick", stack.handler_event("watch_tick.json"))
        assert {o["component"]: o["result"] for o in summary["outcomes"]}["flan-t5-xxl"] == "unchanged"
    about = [e for e in stack.lifecycle_events() if e["component"] == "flan-t5-xxl"]
    assert [e["type"] for e in about if e["type"] in ("ComponentGone", "ActionFailed")] == ["ComponentGone"], [
        (e["type"], e["reason"], e["trigger"]) for e in about if e["type"] == "ActionFailed"
    ]
    sm.create_inference_component(
        InferenceComponentName="flan-t5-xxl",
        EndpointName="llm-endpoint",
        VariantName="AllTraffic",
        Specification={k: spec[k] for k in ("ModelName", "ComputeResourceRequirements")},
        RuntimeConfig={"CopyCount": 1},
    )
    emu.advance(600)
    stack.invoke("watch-tick", stack.handler_event("watch_tick.json"))
    assert StateStore(stack.table).get("llm-endpoint", "flan-t5-xxl").gone_since is None
    sm.delete_inference_component(InferenceComponentName="flan-t5-xxl")
    emu.advance(600)
    stack.invoke("watch-tick", stack.handler_event("watch_tick.json"))
    stack.invoke("watch-tick", stack.handler_event("watch_tick.json"))
    again = [e["type"] for e in stack.lifecycle_events() if e["component"] == "flan-t5-xxl"]  # since the last read
    assert again.count("ComponentGone") == 1 and "ActionFailed" not in again  # gone again: said again, once


def test_conditional_writes_let_only_one_racer_win(stack: Stack) -> None:
    store = StateStore(stack.table)
    first = store.get("llm-endpoint", "falcon-7b")
    second = store.get("llm-endpoint", "falcon-7b")
    store.write("llm-endpoint", "falcon-7b", first.version, last_action="scaling", pending_target=2)
    with pytest.raises(StateConflictError):
        store.write("llm-endpoint", "falcon-7b", second.version, last_action="scaling", pending_target=3)
    assert store.get("llm-endpoint", "falcon-7b").state.pending_target == 2


def test_cloudformation_reconcile_answers_success(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(
        "icpilot.adapters.cfn.send", lambda request, status, reason, data=None: sent.append((status, reason))
    )
    stack.invoke("watch-tick", stack.handler_event("watch_tick_cfn_create.json"))
    assert sent == [("SUCCESS", "reconciled")]
