"""The operator CLI against the emulator server: output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from icpilot_cli.main import main
from tests.harness import Harness, ServerProcess, create_seed

EXAMPLE = Path(__file__).resolve().parents[2] / "layers" / "icpilot" / "policy.yaml"


@pytest.fixture
def server(emulator_server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> Harness:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    harness = Harness("server", emulator_server.url)
    harness.reset()
    create_seed(harness.client("sagemaker"), copies=0)
    harness.advance(600)
    return harness


def test_validate_accepts_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLE)]) == 0
    assert "valid (1 endpoint(s), 2 component(s))" in capsys.readouterr().out


def test_validate_lists_every_problem_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("endpoints:\n  ep:\n    components:\n      x: {max_copies: 0, priority: 2000}\n")
    assert main(["validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "endpoints.ep.components.x.max_copies" in err and "≥ 1" in err
    assert "priority" in err and "≤ 1000" in err and "2 problem(s)" in err


def test_validate_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_schema_is_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "icpilot policy"
    out = tmp_path / "schema.json"
    assert main(["schema", "-o", str(out)]) == 0 and json.loads(out.read_text())["$defs"]


def test_plan_at_a_time_says_what_and_why(server: Harness, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--endpoint-url", str(server.url), "--at", "2026-11-23T09:00:00+01:00", "--json"]) == 0
    rows = {r["component"]: r for r in json.loads(capsys.readouterr().out)}
    assert (rows["falcon-7b"]["action"], rows["falcon-7b"]["from"], rows["falcon-7b"]["to"]) == ("scale", 0, 1)
    assert "business-hours" in rows["falcon-7b"]["reason"]
    assert rows["flan-t5-xxl"]["to"] == 1
    # nothing changed
    sm = server.client("sagemaker")
    assert sm.describe_inference_component(InferenceComponentName="falcon-7b")["RuntimeConfig"]["DesiredCopyCount"] == 0
    assert main(["plan", "--endpoint-url", str(server.url), "--at", "2026-11-28T09:00:00+01:00"]) == 0
    assert "icpilot plan at 2026-11-28T09:00:00+01:00" in capsys.readouterr().out  # the table form
    assert main(["plan", "--endpoint-url", str(server.url), "--at", "2026-11-28T09:00:00+01:00", "--json"]) == 0
    assert all("no window active" in r["reason"] for r in json.loads(capsys.readouterr().out))


def test_plan_reports_unknown_endpoint_with_exit_1(
    server: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("endpoints:\n  missing:\n    components:\n      x: {max_copies: 1}\n")
    assert main(["plan", "--policy", str(policy), "--endpoint-url", str(server.url), "--json"]) == 1
    assert "does not exist" in json.loads(capsys.readouterr().out)[0]["reason"]


def test_plan_needs_an_offset(server: Harness, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--endpoint-url", str(server.url), "--at", "2026-11-23T09:00:00"]) == 2


def test_status_shows_copies_and_bounds(server: Harness, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--endpoint-url", str(server.url), "--json", "--endpoint", "llm-endpoint"]) == 0
    rows = {r["component"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["falcon-7b"]["status"] == "InService" and rows["falcon-7b"]["desired"] == 0
    assert rows["falcon-7b"]["aas"] == "-"
    assert rows["falcon-7b"]["next_change"].startswith(
        "business-hours "
    )  # e.g. "business-hours opens Tue 08:00 Europe/Berlin"
    assert "Europe/Berlin" in rows["falcon-7b"]["next_change"]


def test_plan_lists_autoscaling_changes_without_making_them(
    server: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "--endpoint-url", str(server.url), "--autoscaling", "--json"]) == 0
    changes = json.loads(capsys.readouterr().out)["autoscaling"]
    resources = {(c["component"], c["resource"], c["action"]) for c in changes}
    assert ("falcon-7b", "scalable-target", "create") in resources
    assert ("flan-t5-xxl", "alarm/icpilot-flan-t5-xxl-no-capacity", "create") in resources
    aas = server.client("application-autoscaling")
    assert aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []


def test_plan_shows_the_figures_behind_an_auto_idle_delay(
    server: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(
        EXAMPLE.read_text().replace(
            "idle_scale_to_zero_after: 45m", "idle_scale_to_zero_after: auto\n        cold_start_cost: 2.0"
        )
    )
    assert main(["plan", "--policy", str(policy), "--endpoint-url", str(server.url), "--json"]) == 0
    flan = {r["component"]: r for r in json.loads(capsys.readouterr().out)}["flan-t5-xxl"]
    # flan's copy alone would take an ml.g5.24xlarge: its release frees $10.18/h, so $2.00 / $10.18/h
    # = 11.8 min -> 12 min (its share, 2 of 4 GPUs, would be $5.09/h: 24 min)
    assert "1 held $10.18/h" in flan["idle"] and "11.8 min" in flan["idle"] and "0:12:00" in flan["idle"]
    assert flan["lead"] == "8 min (policy estimate)"
