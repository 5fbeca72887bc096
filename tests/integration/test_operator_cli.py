"""The operator CLI's writing commands (scale, resume) and report/lint, on the in-process emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import time_machine

from emulator import EMULATOR, Emulator
from emulator.stack import Stack
from icpilot_cli.main import main

REGION = "us-east-1"
IC_DIM = "sagemaker:inference-component:DesiredCopyCount"
EXAMPLE = Path(__file__).resolve().parents[2] / "layers" / "icpilot" / "policy.yaml"


def desired(name: str) -> int:
    d = boto3.client("sagemaker", region_name=REGION).describe_inference_component(InferenceComponentName=name)
    return int(d["RuntimeConfig"]["DesiredCopyCount"])


def target(name: str) -> dict[str, Any]:
    return dict(
        boto3.client("application-autoscaling", region_name=REGION).describe_scalable_targets(
            ServiceNamespace="sagemaker", ResourceIds=[f"inference-component/{name}"]
        )["ScalableTargets"][0]
    )


def cli(stack: Stack, *args: str, capsys: pytest.CaptureFixture[str] | None = None) -> int:
    if capsys is not None:
        capsys.readouterr()  # drop what the emulated Lambdas logged before
    with time_machine.travel(EMULATOR.now(), tick=True):  # the operator's clock is the emulator's
        return cli_at(stack, *args)


def cli_at(stack: Stack, *args: str) -> int:
    return main(
        [*args, "--table", stack.table, "--json"]
        + (["--topic-arn", stack.topic_arn] if args[0] in ("scale", "resume") else [])
    )


def test_override_pins_copies_and_aas_until_it_expires(
    stack: Stack, emu: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    # The deploy's configure registers flan's target (0..2), tagged as the stack's: only such a
    # target's bounds are moved (a team's untagged one waits for configure to claim it).
    assert stack.invoke("configure-autoscaling", stack.handler_event("configure_autoscaling.json"))["ok"]
    assert (
        cli(
            stack,
            "scale",
            "flan-t5-xxl",
            "--copies",
            "2",
            "--for",
            "30m",
            "--reason",
            "load test at 07:10",
            capsys=capsys,
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["result"] == "scaled" and rows[0]["to"] == 2
    assert desired("flan-t5-xxl") == 2
    assert cli(stack, "status", capsys=capsys) == 0
    status = {r["component"]: r for r in json.loads(capsys.readouterr().out)}
    assert status["flan-t5-xxl"]["override"].startswith("2 until 2026-11-23T06:34")
    assert status["flan-t5-xxl"]["availability"].startswith("warming (ETA 2026-11-23T06:12")
    t = target("flan-t5-xxl")
    assert (t["MinCapacity"], t["MaxCapacity"]) == (2, 2) and t["SuspendedState"]["DynamicScalingInSuspended"] is True
    events = stack.lifecycle_events()
    assert [e["type"] for e in events if e["component"] == "flan-t5-xxl"][:1] == ["OverrideSet"]
    # An idle alarm during the override does nothing.
    idle = stack.alarm_event("alarm_scale_idle.json", alarm="icpilot-flan-t5-xxl-idle")
    summary = stack.invoke("alarm-scale", idle)
    assert "override" in summary["outcomes"][0]["reason"] and desired("flan-t5-xxl") == 2
    emu.advance(35 * 60)  # the tick sees it expired, announces it and hands back to AAS
    ended = [e for e in stack.lifecycle_events() if e["type"] == "OverrideEnded"]
    assert len(ended) == 1 and "expired" in ended[0]["reason"]
    assert target("flan-t5-xxl")["SuspendedState"]["DynamicScalingInSuspended"] is False


def test_resume_ends_an_override_now(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(stack, "scale", "falcon-7b", "--copies", "0", "--for", "2h", "--reason", "maintenance") == 0
    assert cli(stack, "resume", "falcon-7b") == 0
    capsys.readouterr()
    assert [
        e["type"]
        for e in stack.lifecycle_events()
        if e["component"] == "falcon-7b" and e["type"].startswith("Override")
    ] == ["OverrideSet", "OverrideEnded"]


def test_scale_refuses_bad_input(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(stack, "scale", "falcon-7b", "--copies", "9", "--reason", "x") == 1
    assert "outside 0..4" in json.loads(capsys.readouterr().out)[0]["reason"]
    assert cli(stack, "scale", "ghost", "--copies", "1", "--reason", "x") == 1
    assert cli(stack, "scale", "falcon-7b", "--copies", "1", "--for", "soon", "--reason", "x") == 2


def test_report_integrates_recorded_transitions(
    stack: Stack, emu: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    emu.advance(10 * 3600)  # 06:04Z -> 16:04Z: falcon ran 2 copies from 06:54Z (window lead)
    assert cli(stack, "report", "--since", "10h", capsys=capsys) == 0
    rows = {r["component"]: r for r in json.loads(capsys.readouterr().out)}
    falcon = rows["falcon-7b"]
    assert falcon["changes"] == 1
    assert abs(falcon["copy_hours"] - 2 * (16 * 60 + 4 - (6 * 60 + 54)) / 60) < 0.05  # 2 copies x 9h10m
    assert falcon["accelerator_hours"] == falcon["copy_hours"]  # 1 GPU per copy
    assert falcon["always_on_accelerator_hours"] == 40.0  # 4 copies x 10 h


def test_lint_finds_conflicts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "endpoints:\n  ep:\n    components:\n"
        "      a: {max_copies: 2, idle_scale_to_zero_after: 1m, expected_time_to_ready: 8m,"
        " autoscaling: {target: 20}, high_load: {threshold: 10}}\n"
        "      b: {max_copies: 1, outside: {max_copies: 0}}\n"
        "      c: {max_copies: 1, schedules: [{name: old, cron: '0 8 1 1 ? 2020', duration: 1h, min_copies: 1}]}\n"
    )
    assert main(["lint", "--policy", str(policy), "--json"]) == 1
    found = json.loads(capsys.readouterr().out)
    text = " | ".join(f"{f['severity']} {f['where']} {f['message']}" for f in found)
    assert "warning endpoints.ep.components.a.idle_scale_to_zero_after" in text
    assert "high-load threshold 10 is at or below the target-tracking target 20" in text
    assert "error endpoints.ep.components.b.outside" in text and "never fires" in text
    assert main(["lint", "--policy", str(EXAMPLE), "--json"]) == 0


def test_lint_live_compares_aas_with_the_bounds_the_tick_sets(
    stack: Stack, emu: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """``lint --live`` warns about AAS bounds only where they differ from what the next tick sets
    (``plan``'s AAS column: the window, the last copy icpilot owns, copies that free no instance),
    not from the policy's bare floor and ceiling, which icpilot itself departs from."""
    emu.advance(3 * 3600)  # 09:04Z: business hours, falcon's copies written and its bounds set by the tick
    assert cli(stack, "plan", capsys=capsys) == 0
    wanted = {r["component"]: r["aas"] for r in json.loads(capsys.readouterr().out)}
    falcon = target("falcon-7b")
    assert f"{falcon['MinCapacity']}..{falcon['MaxCapacity']}" == wanted["falcon-7b"] != "1..4"  # not the bare window
    assert cli(stack, "lint", "--live", capsys=capsys) == 0
    # no component finding; the seeded endpoint (2 instances, no ScaleInPolicy) gets the advice
    [endpoint] = json.loads(capsys.readouterr().out)
    assert endpoint["where"] == "llm-endpoint" and "ScaleInPolicy IDLE_RELEASE" in endpoint["message"]
    boto3.client("application-autoscaling", region_name=REGION).register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="inference-component/falcon-7b",
        ScalableDimension=IC_DIM,
        MinCapacity=0,
        MaxCapacity=1,
    )  # someone moves the bounds by hand
    assert cli(stack, "lint", "--live", capsys=capsys) == 0  # a warning (exit 1 only with --strict)
    [_, finding] = json.loads(capsys.readouterr().out)
    assert finding["where"] == "falcon-7b"
    assert finding["message"].startswith(f"AAS bounds 0..1 differ from the {wanted['falcon-7b']} the next tick sets")
