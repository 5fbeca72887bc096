"""The simulator on small synthetic traces whose optimum is known by hand, and the real traces via the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icpilot.capacity import Reservation
from icpilot.policy import load_policy_text

from icpilot_cli.main import main
from simulator.backtest import TraceSpec, backtest
from simulator.oracle import slot_minutes
from simulator.traces import Throughput

TRACES = Path(__file__).resolve().parents[3] / "shared" / "traces"
START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
POLICY = load_policy_text(
    "endpoints:\n  ep:\n    components:\n      m: {max_copies: 2, warmup_copies: 1, idle_scale_to_zero_after: 5m, expected_time_to_ready: 2m}\n"
)


@pytest.mark.parametrize(
    ("needed", "load", "expected"),
    [
        ([1, 1, 0, 0, 0, 1], 2, 7),  # the module's worked example: (2 + 2) + (1 + 2)
        ([1, 1, 0, 1], 2, 6),  # a gap of 1 <= load is kept warm: 2 + 2 + 1 + 1
        ([0, 0, 0], 5, 0),
        ([2, 1, 2], 1, 6 + 2),  # slot 1: 3 + 1 load; slot 2: busy 0 and 2, gap 1 <= 1 kept: 3 + 1
    ],
)
def test_oracle_by_hand(needed: list[int], load: int, expected: int) -> None:
    assert slot_minutes(needed, load) == expected


@settings(max_examples=100, deadline=None)
@given(needed=st.lists(st.integers(0, 3), max_size=40), load=st.integers(1, 5))
def test_oracle_pays_at_least_the_busy_minutes_and_at_most_always_on(needed: list[int], load: int) -> None:
    cost = slot_minutes(needed, load)
    busy = sum(needed)
    assert cost >= busy + (load if busy else 0)
    assert cost <= max(needed, default=0) * (len(needed) + load)


def synthetic(tmp_path: Path, minutes_with_requests: list[int], per_minute: int = 6) -> Path:
    """A trace with ``per_minute`` small requests in each listed minute (Azure format)."""
    lines = ["TIMESTAMP,ContextTokens,GeneratedTokens"]
    for m in minutes_with_requests:
        for i in range(per_minute):
            t = START.replace(tzinfo=None) + timedelta(minutes=m, seconds=i * 5)
            lines.append(f"{t:%Y-%m-%d %H:%M:%S}.0000000,100,40")
    path = tmp_path / "trace.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_strategies_on_a_burst(tmp_path: Path) -> None:
    trace = synthetic(tmp_path, [0, 1, 2, 30, 31])
    report = backtest(
        POLICY,
        "ep",
        "ml.g5.xlarge",
        1,
        {"m": Reservation(1, 1, 1024)},
        [TraceSpec(str(trace), "m", offset_minutes=60)],
        START,
        minutes=180,
        load_minutes={"m": 2},
        throughput=Throughput(slots_per_copy=8),
    )
    # demand: 1 copy in minutes 60-62 and 90-91 (the first request of the trace is at offset 60)
    assert report["oracle"]["accelerator_hours"] == round((3 + 2 + 2 + 2) / 60, 2)
    s = report["strategies"]
    # always-on at max_copies 2, but one ml.g5.xlarge holds one 1-GPU copy: 1 x 180 min
    assert s["always-on"]["accelerator_hours"] == 3.0 and s["always-on"]["refused"] == 0
    # icpilot starts at zero: the first minute of each burst is refused, then a copy is warmed up
    assert 0 < s["icpilot"]["refused"] < report["requests"]["m"]
    assert s["icpilot"]["cold_starts"] == 2  # idle 5 min between bursts: back to zero, warmed again
    assert s["icpilot"]["accelerator_hours"] < s["always-on"]["accelerator_hours"]
    # AAS alone never goes back to zero (target tracking does not scale in to 0)
    assert s["aas-only"]["minutes_at_zero"]["m"] < s["icpilot"]["minutes_at_zero"]["m"]
    assert s["icpilot"]["ratio_to_oracle"] >= 1.0


@pytest.mark.skipif(not TRACES.exists(), reason="../shared/traces is not beside the checkout")
def test_cli_backtest_on_the_real_traces(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "simulate",
            "--trace",
            f"{TRACES}/AzureLLMInferenceTrace_conv.csv,{TRACES}/AzureLLMInferenceTrace_code.csv",
            "--map",
            "AzureLLMInferenceTrace_conv.csv=falcon-7b",
            "--map",
            "AzureLLMInferenceTrace_code.csv=flan-t5-xxl",
            "--offset",
            "9h",
            "--offset",
            "14h",
            "--per-copy",
            "falcon-7b=1,2,8192;flan-t5-xxl=2,2,8192",
            "--out",
            str(tmp_path),
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    rows = {r["strategy"]: r for r in out["strategies"]}
    assert rows["icpilot"]["accelerator_hours"] < rows["always-on"]["accelerator_hours"]
    assert rows["oracle"]["accelerator_hours"] <= rows["icpilot"]["accelerator_hours"]
    assert (tmp_path / "backtest.png").stat().st_size > 10_000
    report = json.loads((tmp_path / "backtest.json").read_text())
    assert report["requests"] == {"falcon-7b": 19366, "flan-t5-xxl": 8819}
