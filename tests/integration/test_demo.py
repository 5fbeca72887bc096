"""The demo's first simulated hours, in-process: every lifecycle event it prints reaches the console.

Under ``--real-clock-shift`` (``make test`` runs this suite a year forwards and a year back) this is
the check that the demo does not depend on the real date: its events travel SNS -> SQS, whose
retention would drop them if moto judged them against the real clock (issue 11).
"""

from __future__ import annotations

import re

import pytest

from demo.__main__ import main

pytestmark = pytest.mark.real_clock  # the demo runs the emulator


def test_the_demo_morning_prints_every_event_in_order(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    assert main(["--hours", "1.2", "--out", str(tmp_path)]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if re.match(r"^\d\d:\d\d ", line)]
    events = [(line[:5], line.split()[1], line.split()[2]) for line in lines]
    assert events == [
        ("07:02", "SchedulesReconciled", "-"),
        ("07:02", "AutoScalingConfigured", "-"),
        ("07:52", "WarmUpStarted", "flan-t5-xxl"),
        ("07:52", "ScaleRequested", "flan-t5-xxl"),
        ("07:52", "Scaled", "flan-t5-xxl"),
        ("07:54", "WarmUpStarted", "falcon-7b"),
        ("07:54", "ScaleRequested", "falcon-7b"),
        ("07:54", "Scaled", "falcon-7b"),
        ("08:00", "DailyReport", "-"),  # Sunday's, before the stack existed: copies at zero, no traffic
        ("08:00", "WarmUpCompleted", "falcon-7b"),
        ("08:00", "WarmUpCompleted", "flan-t5-xxl"),
        ("08:01", "SchedulesReconciled", "-"),
    ]
