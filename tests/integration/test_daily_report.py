"""The daily report over an emulated Monday: at 08:00 Berlin on Tuesday the stack publishes
``DailyReport`` for Monday (Berlin), and its figures agree with what the emulator measured (the
requests it served and refused, the copy counts SageMaker held minute by minute); ``icpilot report
--day`` prints the same figures."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest

from emulator import EMULATOR
from emulator.sagemaker_ext import invoke_component
from emulator.stack import Stack
from emulator.template import ACCOUNT, REGION
from icpilot_cli.main import main

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 11, 23, tzinfo=BERLIN)


def traffic(local: datetime) -> dict[str, int]:
    """Requests this minute: a falcon burst past its target (AAS scales out on its own), and
    flan requests at night after it went to zero (a cold start, refusals while it loads)."""
    minutes = local.hour * 60 + local.minute
    out = {}
    if 10 * 60 <= minutes < 10 * 60 + 40:
        out["falcon-7b"] = 90
    if 21 * 60 <= minutes < 21 * 60 + 25:
        out["flan-t5-xxl"] = 4
    return out


def test_the_daily_report_arrives_at_eight_in_berlin_with_the_emulators_figures(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    emu = EMULATOR
    emu.alarm_evaluation_interval = 60
    stack.deployment.create_custom_resources()  # the deploy: schedules (the report's too), AAS, alarms
    sm = boto3.client("sagemaker", region_name=REGION)
    served: dict[str, int] = {"falcon-7b": 0, "flan-t5-xxl": 0}
    refused = dict(served)
    copy_minutes = dict.fromkeys(served, 0.0)
    since, until = MONDAY.astimezone(UTC), (MONDAY + timedelta(days=1)).astimezone(UTC)
    events: list[dict[str, Any]] = []
    report_due = datetime(2026, 11, 24, 8, 0, tzinfo=BERLIN)
    while emu.now() < report_due + timedelta(minutes=2):
        now = emu.now()
        for name, count in traffic(now.astimezone(BERLIN)).items():
            ok, no = invoke_component(ACCOUNT, REGION, name, count)
            served[name] += ok
            refused[name] += no
        if now < until:
            for name in copy_minutes:  # what SageMaker holds this minute (the copy-hours' truth)
                rc = sm.describe_inference_component(InferenceComponentName=name)["RuntimeConfig"]
                copy_minutes[name] += rc["DesiredCopyCount"] * min(60.0, (until - now).total_seconds()) / 60
        emu.advance(60)
        events += stack.lifecycle_events()

    reports = [e for e in events if e["type"] == "DailyReport"]
    assert [r["time"][:16] for r in reports] == ["2026-11-23T07:00", "2026-11-24T07:00"]  # 08:00 Berlin
    report = reports[-1]
    details = report["details"]
    assert (details["day"], details["timezone"]) == ("2026-11-23", "Europe/Berlin")
    assert (details["since"], details["until"]) == (since.isoformat(), until.isoformat())
    rows = {row["component"]: row for row in details["components"]}
    for name in served:
        row = rows[name]
        assert row["requests"] == served[name], name
        assert row["refused"] == refused[name], name
        changes_bound = 0.1 * (1 + row["cold_starts"]) + 0.5  # a change lands within its minute
        assert abs(row["copy_hours"] - copy_minutes[name] / 60) <= changes_bound, (name, row, copy_minutes[name] / 60)
    falcon, flan = rows["falcon-7b"], rows["flan-t5-xxl"]
    assert falcon["refused"] == 0 and falcon["copy_hours"] > 2 * 11  # AAS's scale-out is counted
    assert flan["cold_starts"] >= 1 and flan["refused"] > 0
    assert 0 < flan["delayed"] <= flan["refused"]  # refused while the warm-up loaded
    assert flan["time_to_ready_p50_s"] > 0
    assert details["totals"]["requests"] == sum(served.values())
    assert report["reason"].startswith("2026-11-23 on llm-endpoint: $")

    capsys.readouterr()
    assert main(["report", "--day", "2026-11-23", "--json", "--table", stack.table]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == [{"endpoint": "llm-endpoint", **details}]


def test_report_day_refuses_a_day_that_has_not_ended(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--day", "2026-11-23", "--table", stack.table]) == 2
    assert "has not ended yet in Europe/Berlin" in capsys.readouterr().err
    assert main(["report", "--day", "23.11.2026", "--table", stack.table]) == 2
