"""Learned demand end to end: 14 days of CloudWatch history -> the forecast function -> the forecast
item -> the tick raises the floor ahead of the predicted morning -> ready before the first request."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import boto3
import pytest
import yaml
from icpilot.adapters.state import StateStore

from emulator import Emulator
from emulator.cloudwatch_ext import seed_history
from emulator.sagemaker_ext import invoke_component
from emulator.stack import ACCOUNT, REGION, Stack
from icpilot_cli.main import main

BERLIN = ZoneInfo("Europe/Berlin")
INTEGRATION_POLICY = Path(__file__).resolve().parents[1] / "policy.yaml"


def office_history(now: datetime, days: int = 14, per_minute: int = 8) -> tuple[datetime, list[float]]:
    """Weekdays 09:00-17:00 Berlin at ``per_minute`` requests, the ``days`` before ``now``."""
    start = (now - timedelta(days=days)).replace(second=0, microsecond=0)
    counts = []
    for i in range(days * 1440):
        local = (start + timedelta(minutes=i)).astimezone(BERLIN)
        counts.append(float(per_minute) if local.weekday() < 5 and 9 <= local.hour < 17 else 0.0)
    return start, counts


@pytest.fixture
def predictive_stack(stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """flan-t5-xxl without windows, learning its demand (mode scale, Berlin time). Its autoscaling
    target (10 a copy-minute) and 8 requests a minute make one copy worth holding from 09:00."""
    policy = yaml.safe_load(INTEGRATION_POLICY.read_text())
    flan = policy["endpoints"]["llm-endpoint"]["components"]["flan-t5-xxl"]
    flan["schedules"] = []
    flan["predictive"] = {"mode": "scale", "timezone": "Europe/Berlin"}
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    monkeypatch.setenv("ICPILOT_POLICY_PATH", str(path))
    return stack


def desired(name: str) -> int:
    sm = boto3.client("sagemaker", region_name=REGION)
    return int(sm.describe_inference_component(InferenceComponentName=name)["RuntimeConfig"]["DesiredCopyCount"])


def test_the_forecast_warms_up_before_the_predicted_morning(predictive_stack: Stack, emu: Emulator) -> None:
    stack = predictive_stack
    now = emu.now()  # Monday 06:04Z = 07:04 Berlin; flan at zero copies
    start, counts = office_history(now)
    assert seed_history(ACCOUNT, REGION, "flan-t5-xxl", counts, start) == int(sum(1 for c in counts if c))
    summary = stack.invoke("forecast", {"kind": "forecast"})
    outcome = next(o for o in summary["outcomes"] if o["component"] == "flan-t5-xxl")
    assert outcome["result"] == "forecast", summary
    forecast = StateStore(stack.table).get("llm-endpoint", "flan-t5-xxl").forecast
    assert forecast is not None
    assert forecast.history_days >= 12 and forecast.timezone == "Europe/Berlin"
    slot_09 = 9 * 4
    assert forecast.floors["weekday"][slot_09] == 1 and forecast.floors["weekday"][slot_09 - 4] == 0
    assert forecast.floors["weekend"][slot_09] == 0
    updated = [e for e in stack.lifecycle_events() if e["type"] == "ForecastUpdated"]
    assert len(updated) == 1 and updated[0]["details"]["held_copy_hours_per_week"] == 40.0
    assert desired("flan-t5-xxl") == 0  # nothing happens before the lead time
    emu.advance((datetime(2026, 11, 23, 8, 0, tzinfo=UTC) - emu.now()).total_seconds())  # 09:00 Berlin
    events = [e for e in stack.lifecycle_events() if e["component"] == "flan-t5-xxl"]
    requested = next(e for e in events if e["type"] == "ScaleRequested")
    assert "forecast floor 1" in requested["reason"] and requested["trigger"]["kind"] == "tick"
    started = next(e for e in events if e["type"] == "WarmUpStarted")
    assert datetime.fromisoformat(started["details"]["expected_ready_at"]) <= datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    completed = next(e for e in events if e["type"] == "WarmUpCompleted")
    assert datetime.fromisoformat(completed["time"]) <= datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    served, refused = invoke_component(ACCOUNT, REGION, "flan-t5-xxl", 8)
    assert (served, refused) == (8, 0)


def test_the_cli_shows_the_forecast_and_draws_it(
    predictive_stack: Stack, emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start, counts = office_history(emu.now())
    seed_history(ACCOUNT, REGION, "flan-t5-xxl", counts, start)
    predictive_stack.invoke("forecast", {"kind": "forecast"})
    capsys.readouterr()
    png = tmp_path / "forecast.png"
    assert main(["forecast", "flan-t5-xxl", "--table", predictive_stack.table, "--json", "--png", str(png)]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["mode"] == "scale" and row["learned_from_days"] >= 12
    # from 07:04 Berlin on Monday: held from 09:00 to 17:00 today and tomorrow
    today, tomorrow = row["next_48h"].split()
    assert today == "00" + "1" * 8 + "0" * 14 and tomorrow.startswith("00" + "1" * 8)
    assert png.stat().st_size > 10_000
    assert main(["forecast", "nope", "--table", predictive_stack.table]) == 2


def test_below_min_history_it_stays_reactive_and_says_so(predictive_stack: Stack, emu: Emulator) -> None:
    start, counts = office_history(emu.now(), days=2)
    seed_history(ACCOUNT, REGION, "flan-t5-xxl", counts, start)
    summary = predictive_stack.invoke("forecast", {"kind": "forecast"})
    outcome = next(o for o in summary["outcomes"] if o["component"] == "flan-t5-xxl")
    assert outcome["result"] == "unchanged" and "staying reactive" in outcome["reason"]
    assert StateStore(predictive_stack.table).get("llm-endpoint", "flan-t5-xxl").forecast is None
