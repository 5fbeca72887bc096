"""The installed ``icpilot`` console script in a subprocess, at 80 columns, against an emulator
started the way the README says (``python -m emulator --seed 1``): what an operator sees."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import ServerProcess

pytestmark = pytest.mark.real_clock  # an emulator server in a subprocess

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = shutil.which("icpilot", path=str(Path(sys.executable).parent)) or "icpilot"


@pytest.fixture(scope="module")
def seeded() -> Iterator[str]:
    server = ServerProcess("--seed", "1")
    yield server.url
    server.stop()


def icpilot(*args: str, region: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ICPILOT_"))}
    env.update(COLUMNS="80", AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", TERM="dumb")
    if region:
        env["AWS_DEFAULT_REGION"] = "us-east-1"
    return subprocess.run([SCRIPT, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr


def test_status_fits_80_columns_and_names_every_component(seeded: str) -> None:
    result = icpilot("status", "--endpoint-url", seeded)
    no_traceback(result)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "falcon-7b" in result.stdout and "flan-t5-xxl" in result.stdout
    assert "1/1" in result.stdout  # desired/current: the seed's one copy each, loaded
    assert "2026-11-23" in lines[0] or "2026-11-23" in result.stdout  # the emulator's clock, not the wall's


def test_an_unknown_endpoint_is_an_error_not_an_empty_table(seeded: str) -> None:
    result = icpilot("status", "--endpoint-url", seeded, "--endpoint", "nope")
    no_traceback(result)
    assert result.returncode == 1 and "endpoint 'nope' is not in the policy" in result.stderr


def test_no_region_is_one_line_not_a_traceback() -> None:
    result = icpilot("plan", region=False)
    no_traceback(result)
    assert result.returncode == 2 and "no AWS region" in result.stderr


def test_plan_offline_answers_from_the_policy_alone_without_aws() -> None:
    """Issue 18: "what would the policy do at T" needs no AWS, no region, no emulator."""
    result = icpilot("plan", "--offline", "--at", "2026-11-23T08:30:00+01:00", "--copies", "falcon-7b=1", region=False)
    no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert "offline" in result.stdout and "0 → 1" in result.stdout  # flan-t5-xxl raised to its floor
    assert "falcon-7b: lead 6 min" in result.stdout  # lead time and idle delay outside --json too
    night = icpilot(
        "plan", "--offline", "--at", "2026-11-23T23:30:00+01:00", "--copies", "falcon-7b=3", "--json", region=False
    )
    rows = {r["component"]: r for r in json.loads(night.stdout)}
    assert (rows["falcon-7b"]["from"], rows["falcon-7b"]["to"]) == (3, 0)
    assert "ceiling 0" in rows["falcon-7b"]["reason"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--offline", "--copies", "ghost=1"], "--copies 'ghost=1': expected COMPONENT=N"),
        (["--offline", "--autoscaling"], "needs AWS or --endpoint-url: drop --offline"),
        (["--copies", "falcon-7b=1"], "add --offline"),
    ],
)
def test_plan_offline_usage_errors_are_one_line(args: list[str], message: str) -> None:
    result = icpilot("plan", *args, region=False)
    no_traceback(result)
    assert result.returncode == 2 and message in result.stderr


def test_a_missing_state_table_is_named(seeded: str) -> None:
    result = icpilot("resume", "falcon-7b", "--endpoint-url", seeded, "--table", "no-such-table")
    no_traceback(result)
    assert result.returncode == 1 and "table 'no-such-table' does not exist" in result.stderr


def test_piped_into_head_exits_quietly(seeded: str) -> None:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    shell = f"{SCRIPT} schema | head -n 1"
    result = subprocess.run(shell, shell=True, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "{" and "BrokenPipeError" not in result.stderr


def test_every_subcommand_describes_itself() -> None:
    for command in (
        "validate",
        "schema",
        "plan",
        "status",
        "scale",
        "resume",
        "lint",
        "forecast",
        "report",
        "simulate",
    ):
        result = icpilot(command, "--help")
        assert result.returncode == 0
        description = result.stdout.split("\n\n")[1]
        assert len(description.split()) >= 4, f"{command} --help has no description"
