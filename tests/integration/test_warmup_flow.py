"""Verified warm-ups on the emulator clock: time to ready, probes, failures, lead time, dependencies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from emulator import Emulator
from emulator.stack import Stack

REGION = "us-east-1"
EXAMPLE = Path(__file__).resolve().parents[1] / "policy.yaml"  # the integration world's policy


def sm() -> Any:
    return boto3.client("sagemaker", region_name=REGION)


def copies(name: str) -> dict[str, Any]:
    d = sm().describe_inference_component(InferenceComponentName=name)
    return {
        "status": d["InferenceComponentStatus"],
        "desired": d["RuntimeConfig"]["DesiredCopyCount"],
        "current": d["RuntimeConfig"]["CurrentCopyCount"],
    }


def use_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: Any) -> None:
    policy = yaml.safe_load(EXAMPLE.read_text())
    edit(policy["endpoints"]["llm-endpoint"])
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    monkeypatch.setenv("ICPILOT_POLICY_PATH", str(path))


def of(events: list[dict[str, Any]], kind: str, component: str | None = None) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind and (component is None or e["component"] == component)]


def no_tick(stack: Stack) -> None:
    stack.pause_periodic_schedules("TickSchedule")


# Seconds a handler's clock may run ahead of the emulator's on a loaded machine (see emulator.clock).
DRIFT = 30


def test_warm_up_completes_with_the_measured_time_to_ready(stack: Stack, emu: Emulator) -> None:
    emu.configure_component("flan-t5-xxl", model_load_seconds=420)
    stack.invoke("alarm-scale", stack.alarm_event("alarm_scale_no_capacity.json"))  # 06:04Z
    state = StoreView(stack).get("flan-t5-xxl")
    assert state["availability"] == "warming" and state["expected_ready_at"].startswith(
        "2026-11-23T06:12"
    )  # + 8 min expected
    emu.advance(15 * 60)
    done = of(stack.lifecycle_events(), "WarmUpCompleted", "flan-t5-xxl")
    assert len(done) == 1
    measured = done[0]["details"]["model_load_seconds"]
    # The emulator's load time, within one watcher period. Between clock moves the process clock
    # ticks with real time (emulator.clock), so a handler's stamp runs ahead of the emulator's by
    # the real time it has taken so far: the writer's more than the watcher's on a loaded machine
    # (1.4 s in a clean-clone CI run, 5.8 s with three suites at once). DRIFT bounds that.
    assert 420 - DRIFT <= measured < 420 + 60
    assert done[0]["details"]["copies"] == 1
    state = StoreView(stack).get("flan-t5-xxl")
    assert state["availability"] == "ready" and "inflight" not in state


def test_a_failed_deployment_publishes_component_failed(stack: Stack, emu: Emulator) -> None:
    reason = "Container failed health check: CUDA out of memory while loading weights"
    emu.configure_component("flan-t5-xxl", fail_load_with=reason)
    stack.invoke("alarm-scale", stack.alarm_event("alarm_scale_no_capacity.json"))
    assert copies("flan-t5-xxl")["status"] == "Failed"
    emu.advance(60)
    failed = of(stack.lifecycle_events(), "ComponentFailed", "flan-t5-xxl")
    assert len(failed) == 1 and failed[0]["details"]["failure_reason"] == reason and failed[0]["severity"] == "error"
    assert StoreView(stack).get("flan-t5-xxl")["availability"] == "failed"
    emu.advance(600)  # reported once; the tick does not write to a Failed component
    assert len(of(stack.lifecycle_events(), "ComponentFailed", "flan-t5-xxl")) == 0


def test_a_component_that_can_never_fit_is_refused_before_any_write(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sm().create_inference_component(
        InferenceComponentName="llama-70b",
        EndpointName="llm-endpoint",
        Specification={
            "ModelName": "flan-t5-xxl-model",
            "ComputeResourceRequirements": {"NumberOfAcceleratorDevicesRequired": 8, "MinMemoryRequiredInMb": 4096},
        },
        RuntimeConfig={"CopyCount": 0},
    )
    use_policy(
        tmp_path,
        monkeypatch,
        lambda ep: ep["components"].update(
            {
                "llama-70b": {
                    "max_copies": 1,
                    "schedules": [{"name": "always", "start": "00:00", "end": "23:59", "min_copies": 1}],
                }
            }
        ),
    )
    stack.invoke("watch-tick", stack.handler_event("watch_tick.json"))
    refused = of(stack.lifecycle_events(), "CapacityRefused", "llama-70b")
    assert refused and refused[0]["details"]["fits"] == 0 and copies("llama-70b")["desired"] == 0


def test_a_slow_probe_does_not_mark_the_component_ready(
    stack: Stack, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu.settings.sleep_latency = True
    emu.configure_component("flan-t5-xxl", model_latency_ms=300, model_load_seconds=120)
    use_policy(
        tmp_path,
        monkeypatch,
        lambda ep: ep["components"]["flan-t5-xxl"].update(
            probe={"payload": {"inputs": "ping"}, "max_latency_ms": 100}, warmup_timeout="6m"
        ),
    )
    stack.invoke("alarm-scale", stack.alarm_event("alarm_scale_no_capacity.json"))
    emu.advance(5 * 60)
    events = stack.lifecycle_events()
    assert copies("flan-t5-xxl")["current"] == 1 and not of(events, "WarmUpCompleted")
    assert StoreView(stack).get("flan-t5-xxl")["availability"] == "warming"
    emu.advance(2 * 60)  # past warmup_timeout: reported, with the copies that did load
    timed_out = of(stack.lifecycle_events(), "WarmUpTimedOut", "flan-t5-xxl")
    assert len(timed_out) == 1 and timed_out[0]["details"]["copies_ready"] == 1
    assert StoreView(stack).get("flan-t5-xxl")["availability"] == "partial"


def test_a_fast_probe_marks_the_component_ready(
    stack: Stack, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu.settings.sleep_latency = True
    emu.configure_component("flan-t5-xxl", model_latency_ms=5, model_load_seconds=120)
    use_policy(
        tmp_path,
        monkeypatch,
        lambda ep: ep["components"]["flan-t5-xxl"].update(
            probe={"payload": {"inputs": "ping"}, "max_latency_ms": 2000}
        ),
    )
    stack.invoke("alarm-scale", stack.alarm_event("alarm_scale_no_capacity.json"))
    emu.advance(4 * 60)
    done = of(stack.lifecycle_events(), "WarmUpCompleted", "flan-t5-xxl")
    assert len(done) == 1 and done[0]["details"]["probe_latency_ms"] < 2000


def test_dependent_component_starts_only_after_its_dependency_is_ready(
    stack: Stack, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_tick(stack)
    emu.configure_component("flan-t5-xxl", model_load_seconds=300)
    use_policy(tmp_path, monkeypatch, lambda ep: ep["components"]["falcon-7b"].update(after=["flan-t5-xxl"]))
    emu.advance(3600)  # both windows open at 08:00 Berlin; no edge schedules yet (no reconcile)
    for rule in ("flan-t5-xxl", "falcon-7b"):
        stack.invoke("schedule-window", {"rule": f"llm-endpoint/{rule}/business-hours", "edge": "open"})
    assert copies("flan-t5-xxl")["desired"] == 1
    assert copies("falcon-7b")["desired"] == 0  # waits for flan
    deferred = of(stack.lifecycle_events(), "ScaleDeferred", "falcon-7b")
    assert deferred and "waiting for flan-t5-xxl" in deferred[0]["reason"]
    emu.advance(6 * 60)  # flan ready after 300 s; the watcher starts falcon right then
    assert copies("flan-t5-xxl")["current"] == 1
    assert copies("falcon-7b")["desired"] == 2
    events = stack.lifecycle_events()
    flan_ready = of(events, "WarmUpCompleted", "flan-t5-xxl")[0]["time"]
    falcon_start = of(events, "WarmUpStarted", "falcon-7b")[0]["time"]
    assert falcon_start >= flan_ready


def test_scale_down_runs_in_reverse_dependency_order(
    stack: Stack, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_tick(stack)

    def edit(ep: dict[str, Any]) -> None:
        ep["components"]["falcon-7b"]["after"] = ["flan-t5-xxl"]
        ep["components"]["flan-t5-xxl"]["outside"] = {"max_copies": 0}

    use_policy(tmp_path, monkeypatch, edit)
    for name, n in (("flan-t5-xxl", 1), ("falcon-7b", 2)):
        sm().update_inference_component_runtime_config(
            InferenceComponentName=name, DesiredRuntimeConfig={"CopyCount": n}
        )
    emu.advance(600)
    flan_idle = stack.alarm_event("alarm_scale_idle.json", alarm="icpilot-flan-t5-xxl-idle")
    summary = stack.invoke("alarm-scale", flan_idle)  # falcon still runs and depends on flan
    assert summary["outcomes"][0]["result"] == "deferred"
    assert "falcon-7b depend on it" in of(stack.lifecycle_events(), "ScaleDeferred", "flan-t5-xxl")[0]["reason"]
    assert copies("flan-t5-xxl")["desired"] == 1
    stack.invoke("alarm-scale", stack.alarm_event("alarm_scale_idle.json"))  # falcon goes first
    assert copies("falcon-7b")["desired"] == 0
    stack.invoke("watch-tick", stack.handler_event("watch_tick.json"))  # the deferred intent follows
    assert copies("flan-t5-xxl")["desired"] == 0


def test_endpoint_idle_only_when_every_component_is_at_zero(stack: Stack, emu: Emulator) -> None:
    no_tick(stack)
    for name in ("flan-t5-xxl", "falcon-7b"):
        sm().update_inference_component_runtime_config(
            InferenceComponentName=name, DesiredRuntimeConfig={"CopyCount": 1}
        )
    emu.advance(600)
    idle = stack.alarm_event("alarm_scale_idle.json")
    stack.invoke("alarm-scale", idle)  # falcon -> 0; flan still holds the endpoint
    events = stack.lifecycle_events()
    zero = of(events, "ScaledToZero", "falcon-7b")[0]
    assert zero["details"]["endpoint_held_by"] == ["flan-t5-xxl (1)"] and not of(events, "EndpointIdle")
    stack.invoke("alarm-scale", stack.alarm_event("alarm_scale_idle.json", alarm="icpilot-flan-t5-xxl-idle"))
    endpoint_idle = of(stack.lifecycle_events(), "EndpointIdle")
    assert len(endpoint_idle) == 1 and endpoint_idle[0]["endpoint"] == "llm-endpoint"


def test_learned_lead_time_moves_the_opening_edge(stack: Stack, emu: Emulator) -> None:
    emu.configure_component("flan-t5-xxl", model_load_seconds=660)  # 11 min, slower than the 8 min estimate
    stack.invoke("alarm-scale", stack.alarm_event("alarm_scale_no_capacity.json"))
    emu.advance(13 * 60)
    assert of(stack.lifecycle_events(), "WarmUpCompleted", "flan-t5-xxl")
    stack.invoke("watch-tick", stack.handler_event("watch_tick.json"))
    opening = boto3.client("scheduler", region_name=REGION).get_schedule(
        GroupName=stack.schedule_group, Name="llm-endpoint.flan-t5-xxl.business-hours.open"
    )
    # measured 660 s (11 min load, seen by the next minute's watcher): 08:00 less 11 min
    assert opening["ScheduleExpression"] == "cron(49 7 ? * MON,TUE,WED,THU,FRI *)"


def test_the_watcher_makes_no_sagemaker_call_when_nothing_is_in_flight(stack: Stack, emu: Emulator) -> None:
    calls: list[str] = []
    session = boto3.DEFAULT_SESSION or boto3.setup_default_session() or boto3.DEFAULT_SESSION
    assert session is not None
    session.events.register(
        "before-call", lambda model, **_: calls.append(f"{model.service_model.service_name}.{model.name}")
    )
    summary = stack.invoke("watch-warmups", stack.handler_event("watch_warmups.json"))
    assert summary["outcomes"] == [] and summary["ok"]
    assert calls == ["dynamodb.Query"]


class StoreView:
    """The state item as a gateway would read it: GetItem on pk component#<endpoint>#<component>."""

    def __init__(self, stack: Stack) -> None:
        self.table = stack.table

    def get(self, component: str) -> dict[str, Any]:
        """Each attribute's stored value (a gateway reads the item as DynamoDB holds it)."""
        ddb = boto3.client("dynamodb", region_name=REGION)
        item = ddb.get_item(TableName=self.table, Key={"pk": {"S": f"component#llm-endpoint#{component}"}})["Item"]
        return {name: next(iter(value.values())) for name, value in item.items()}


def test_time_to_ready_and_actions_are_emitted_as_emf_metrics(
    stack: Stack, emu: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json as _json

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    stack.invoke("alarm-scale", stack.alarm_event("alarm_scale_no_capacity.json"))
    emu.advance(10 * 60)
    emitted = []
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            doc = _json.loads(line)
            for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                emitted.append((m["Name"], doc.get("component"), doc[m["Name"]]))
    names = {n for n, c, _ in emitted if c == "flan-t5-xxl"}
    assert {"WarmUpStarted", "ScaleRequested", "Scaled", "DesiredCopies", "TimeToReady", "WarmUpCompleted"} <= names
    ttr = [v for n, c, v in emitted if n == "TimeToReady"]
    first = ttr[0][0] if isinstance(ttr[0], list) else ttr[0]
    # The fixture loads a copy in 240 s; the watcher looks once a minute (DRIFT: see above).
    assert 240 - DRIFT < first < 300
