"""The simulator on small synthetic traces whose optimum is known by hand, and the real traces via the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from icpilot.domain.capacity import Reservation
from icpilot.policy import load_policy_text

from icpilot_cli.main import main
from simulator.backtest import TraceSpec, backtest
from simulator.traces import Throughput

TRACES = Path(__file__).resolve().parents[2] / "traces"
START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
POLICY = load_policy_text(
    "endpoints:\n  ep:\n    components:\n      m: {max_copies: 2, warmup_copies: 1, idle_scale_to_zero_after: 5m, expected_time_to_ready: 2m}\n"
)


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


def run_burst(
    tmp_path: Path, policy_text: str, minutes_with_requests: list[int], offset: int = 60, **kwargs: object
) -> dict:
    trace = synthetic(tmp_path, minutes_with_requests)
    options: dict = {"minutes": 180, "load_minutes": {"m": 2}, "throughput": Throughput(slots_per_copy=8)} | kwargs
    return backtest(
        load_policy_text(policy_text),
        "ep",
        "ml.g5.xlarge",
        1,
        {"m": Reservation(1, 1, 1024)},
        [TraceSpec(str(trace), "m", offset_minutes=offset)],
        START,
        **options,
    )


BASE = "endpoints:\n  ep:\n    components:\n      m: {max_copies: 2, warmup_copies: 1, expected_time_to_ready: 2m, "


def test_strategies_on_a_burst(tmp_path: Path) -> None:
    report = run_burst(tmp_path, BASE + "idle_scale_to_zero_after: 5m}\n", [0, 1, 2, 30, 31], provisioning_minutes=0)
    s = report["strategies"]
    # demand: 1 copy in minutes 60-62 and 90-91; the optimum loads ahead of both (2 + 3, 2 + 2 minutes)
    # and holds one ml.g5.xlarge instance only then: AWS bills the instance, provisioning or in service
    assert s["optimum"]["instance_hours"] == round((2 + 3 + 2 + 2) / 60, 2)
    # with an instance to provision first (6 min), the optimum's loads take 8 minutes: (8 + 3) + (8 + 2)
    provisioned = run_burst(tmp_path, BASE + "idle_scale_to_zero_after: 5m}\n", [0, 1, 2, 30, 31])
    assert provisioned["strategies"]["optimum"]["instance_hours"] == round((8 + 3 + 8 + 2) / 60, 2)
    assert s["optimum"]["refused"] == 0
    # always-on: one ml.g5.xlarge holds one 1-GPU copy: 180 billed minutes, its first load included
    assert s["always-on"]["instance_hours"] == 3.0 and s["always-on"]["refused"] == 0
    # icpilot starts at zero: the first minutes of each burst wait or fail, then a copy is warmed up
    assert 0 < s["icpilot"]["refused"] + s["icpilot"]["delayed"] <= report["requests"]["m"]
    assert s["icpilot"]["cold_starts"] == 2  # idle 5 min between bursts: back to zero, warmed again
    assert s["icpilot"]["instance_usd"] < s["always-on"]["instance_usd"]
    for row in s.values():  # every row speaks the bill: instances plus penalties, never below a bound
        assert row["total_usd"] == pytest.approx(row["instance_usd"] + row["penalty_usd"], abs=0.011)
        assert row["ratio_to_bound"] >= 1.0 - 1e-9
    for name in ("optimum", "reactive-optimum"):  # an exact optimum: bound, replayed schedule and gap
        assert s[name]["bound_usd"] <= s[name]["total_usd"] + 0.005
        assert s[name]["gap_pct"] <= 1.0
    assert s["reactive-optimum"]["bound_usd"] >= s["optimum"]["bound_usd"] - 0.005
    assert s["optimum"]["total_usd"] <= s["reactive-optimum"]["total_usd"] + 0.005  # foresight can do all reactive can
    assert set(s["icpilot"]["components"]) == {"m"}


@pytest.mark.parametrize(
    ("foresight_total", "reactive_total", "row_total", "gap_pct"),
    [
        (2867.37, 1695.07, 1695.07, 16.84),  # the messy month: the solver ran out of time on foresight
        (1500.0, 1695.07, 1500.0, 6.03),  # the solver's own schedule is cheaper: kept
    ],
)
def test_foresight_row_is_never_dearer_than_the_reactive_schedule(
    foresight_total: float, reactive_total: float, row_total: float, gap_pct: float
) -> None:
    """A reactive schedule is a foresight schedule too: the foresight row takes it when it is the
    cheaper replay, keeping its own (lower) bound, so its gap is measured against that bound."""
    from simulator.backtest import _foresight_at_most_reactive

    def row(total: float, bound: float, label: str) -> dict[str, object]:
        return {
            "_total": total,
            "total_usd": total,
            "bound_usd": bound,
            "gap_pct": 0.0,
            "schedule": label,
            "program_usd": total,
            "solve_seconds": 15.0,
            "solver_status": "Time limit reached",
        }

    rows = {"optimum": row(foresight_total, 1409.60, "mine"), "reactive-optimum": row(reactive_total, 1533.60, "r")}
    rows["optimum"]["gap_pct"] = round(100 * (foresight_total - 1409.60) / foresight_total, 2)
    copies = {"optimum": {"m": [2]}, "reactive-optimum": {"m": [1]}}
    replays: dict[str, object] = {"optimum": "foresight replay", "reactive-optimum": "reactive replay"}
    _foresight_at_most_reactive(rows, copies, replays, 1409.60)  # type: ignore[arg-type]
    assert rows["optimum"]["total_usd"] == row_total
    assert rows["optimum"]["bound_usd"] == 1409.60  # the foresight bound stays the foresight row's
    assert rows["optimum"]["gap_pct"] == gap_pct
    taken = reactive_total < foresight_total
    assert (copies["optimum"] == {"m": [1]}) is taken and (replays["optimum"] == "reactive replay") is taken


def test_auto_idle_delay_scales_to_zero_in_the_simulator(tmp_path: Path) -> None:
    """Before: 'auto' derived no idle delay in the simulator, so the component never went back to zero."""
    report = run_burst(tmp_path, BASE + "idle_scale_to_zero_after: auto, scale_to_zero_guard: 1m}\n", [0, 1, 2])
    copies = report["_series"]["copies"]["icpilot"]["m"]
    assert max(copies) == 1 and copies[-1] == 0
    # auto, learned: the cold start took 8 minutes (6 to provision the instance, 2 to load) and met
    # 18 requests in the 9 minutes from the one before it until ready (2 a minute), so the next is
    # priced at 8 min x $1.408/h + 2 x 8 x max($0.10, $0.01 x 4) = $1.79 against the instance its
    # release frees ($1.408/h) -> 76.2 -> 77 min (unlearned: 6.3 -> 7 min). The last requests (minute
    # 62) wait out their patience until minute 64, so the idle run starts at 65, and the alarm judges
    # closed minutes: its 77th idle minute (141) closes at 142, the minute the copy goes.
    first_idle = 65
    assert copies.index(0, 62) == first_idle + 77


def test_refused_minutes_are_demand_not_idleness(tmp_path: Path) -> None:
    """Before: minutes whose requests were all refused counted as idle, so a 1-minute idle alarm took the
    component to zero while its copy was still loading in the middle of a burst."""
    report = run_burst(
        tmp_path,
        BASE + "idle_scale_to_zero_after: 1m, scale_to_zero_guard: 1m}\n",
        list(range(0, 20)),
        load_minutes={"m": 5},
        patience=0,
    )
    copies = report["_series"]["copies"]["icpilot"]["m"]
    first = copies.index(1)
    assert all(n >= 1 for n in copies[first : 60 + 20]), "taken to zero during the burst"


def test_aas_alone_does_not_scale_in_once_the_traffic_stops_as_aws_documents(tmp_path: Path) -> None:
    """Target tracking on InvocationsPerCopy has no datapoint without requests, and does not scale in
    on insufficient data (AWS's target-tracking documentation): AAS alone keeps its last copy after
    the burst. icpilot's idle alarm is what releases it (the emulator agrees: tests/emulator)."""
    report = run_burst(tmp_path, BASE + "idle_scale_to_zero_after: 5m}\n", [0, 1, 2])
    aas = report["_series"]["copies"]["aas-only"]["m"]
    assert max(aas) >= 1 and aas[-1] >= 1 and 0 not in aas[aas.index(max(aas)) :]
    icpilot = report["_series"]["copies"]["icpilot"]["m"]
    assert icpilot[-1] == 0  # the idle alarm (5 minutes here) takes it to zero


def test_always_on_pays_its_first_load(tmp_path: Path) -> None:
    """Before: always-on started loaded for free. Now its first copy loads like any other."""
    report = run_burst(
        tmp_path, BASE + "idle_scale_to_zero_after: 5m}\n", [0, 1, 2], offset=0, patience=0, provisioning_minutes=0
    )
    always_on = report["strategies"]["always-on"]
    assert always_on["cold_starts"] == 1
    assert report["_series"]["copies"]["always-on"]["m"][0] == 1  # paid from minute 0 ...
    assert always_on["refused"] == 2 * 6  # ... but loaded only from minute 2: minutes 0 and 1 find no copy


def test_load_time_is_the_runs_not_the_policys(tmp_path: Path) -> None:
    """A policy that declares a shorter time to ready does not load faster."""
    slow = run_burst(tmp_path, BASE + "idle_scale_to_zero_after: 5m}\n", [0, 1, 2, 3, 4], load_minutes={"m": 4})
    fast = run_burst(
        tmp_path,
        BASE.replace("expected_time_to_ready: 2m", "expected_time_to_ready: 30s") + "idle_scale_to_zero_after: 5m}\n",
        [0, 1, 2, 3, 4],
        load_minutes={"m": 4},
    )
    assert slow["rules"]["load_minutes"] == fast["rules"]["load_minutes"] == {"m": 4}
    assert slow["strategies"]["icpilot"]["refused"] + slow["strategies"]["icpilot"]["delayed"] == (
        fast["strategies"]["icpilot"]["refused"] + fast["strategies"]["icpilot"]["delayed"]
    )


def test_patience_turns_refusals_into_delays(tmp_path: Path) -> None:
    policy = BASE + "idle_scale_to_zero_after: 5m}\n"
    impatient = run_burst(tmp_path, policy, [0, 1, 2, 3, 4, 5], patience=0)["strategies"]["icpilot"]
    patient = run_burst(tmp_path, policy, [0, 1, 2, 3, 4, 5], patience=5)["strategies"]["icpilot"]
    assert impatient["delayed"] == 0 and impatient["refused"] > 0
    assert patient["refused"] < impatient["refused"] and patient["delayed"] > 0
    # a request that waits its 5 minutes and is then refused pays both: waiting is charged by the minute
    assert patient["delayed_minutes"] > 5 * patient["refused"]


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
            "--optimum-seconds",
            "10",
            "--out",
            str(tmp_path),
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    rows = {r["strategy"]: r for r in out["strategies"]}
    assert rows["icpilot"]["instance_hours"] < rows["always-on"]["instance_hours"]
    assert rows["optimum"]["bound_usd"] <= min(r["total_usd"] for r in rows.values())
    # conv needs 5 falcon copies in its peak minute, the ceiling is 4: the optimum refuses those too
    assert rows["optimum"]["refused"] > 0
    assert (tmp_path / "backtest.png").stat().st_size > 10_000
    report = json.loads((tmp_path / "backtest.json").read_text())
    assert report["requests"] == {"falcon-7b": 19366, "flan-t5-xxl": 8819}


def test_the_demand_signal_writes_the_copy_count_a_minute_before_the_alarm(tmp_path: Path) -> None:
    """The alarm needs its 60 s period before icpilot acts; the client's demand signal does not."""
    report = run_burst(tmp_path, BASE + "idle_scale_to_zero_after: 5m}\n", [0, 1, 2, 3, 4, 5], patience=5)
    s = report["strategies"]
    assert s["icpilot"]["first_failure_to_write_minutes"] == 1.0
    assert s["icpilot+demand"]["first_failure_to_write_minutes"] == 0.0
    alarm, demand = s["icpilot"], s["icpilot+demand"]
    # a minute sooner: fewer requests outwait their patience (some are served late instead of refused)
    assert demand["refused"] < alarm["refused"] and demand["total_usd"] < alarm["total_usd"]


def simulate_json(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str, policy: str | None = None) -> dict:
    """``icpilot simulate --json`` on the one-component policy; the report written beside it."""
    policy_path = tmp_path / "policy.yaml"
    policy_path.write_text(
        policy or BASE + "idle_scale_to_zero_after: 5m, per_copy: {accelerators: 1, cores: 1, memory_mb: 1024}}\n"
    )
    options = ["--instance-type", "ml.g5.xlarge", "--max-instances", "1", "--optimum-seconds", "5"]
    code = main(["simulate", "--policy", str(policy_path), *options, "--out", str(tmp_path / "out"), "--json", *extra])
    assert code == 0
    capsys.readouterr()
    return json.loads((tmp_path / "out" / "backtest.json").read_text())


def test_simulate_places_requests_by_their_timestamps_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: a trace was moved so that its first request fell at minute 0. Now it falls at its own
    time of day; the run starts at midnight UTC of its first request unless --start says otherwise."""
    trace = synthetic(tmp_path, [600, 601])  # 10:00 and 10:01 UTC on 2026-11-23
    report = simulate_json(tmp_path, capsys, "--trace", str(trace))
    assert report["start"] == "2026-11-23T00:00:00+00:00"
    requests = report["strategies"]["always-on"]["components"]["m"]
    assert requests["refused"] + requests["delayed"] >= 0 and report["requests"] == {"m": 12}
    shifted = simulate_json(tmp_path, capsys, "--trace", str(trace), "--shift=-9h", "--minutes", "120")
    assert shifted["requests"] == {"m": 12}  # 10:00 moved to 01:00, inside the first two hours
    unshifted = simulate_json(tmp_path, capsys, "--trace", str(trace), "--minutes", "120")
    assert unshifted["requests"] == {"m": 0}


def test_simulate_tiles_by_day_and_scores_from_a_day(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = synthetic(tmp_path, [600, 601])
    report = simulate_json(tmp_path, capsys, "--trace", str(trace), "--tile-days", "3", "--days", "3")
    assert report["requests"] == {"m": 3 * 12}  # 10:00 every day, not back to back
    scored = simulate_json(
        tmp_path, capsys, "--trace", str(trace), "--tile-days", "3", "--days", "3", "--score-from", "1"
    )
    assert scored["scored_from_minute"] == 1440 and scored["requests"] == {"m": 2 * 12}
    assert scored["strategies"]["always-on"]["instance_hours"] == 48.0  # days 2 and 3 only


def test_simulate_takes_what_a_copy_reserves_from_the_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: every component was assumed to reserve 1 GPU. Now the policy's per_copy, or an error."""
    trace = synthetic(tmp_path, [600])
    policy_path = tmp_path / "policy.yaml"
    command = ["simulate", "--policy", str(policy_path), "--trace", str(trace), "--instance-type", "ml.g5.xlarge"]
    policy_path.write_text(BASE + "per_copy: {accelerators: 2, cores: 1, memory_mb: 1024}}\n")
    assert main([*command, "--out", str(tmp_path / "a")]) == 2
    # one ml.g5.xlarge has 1 GPU: a 2-GPU copy never fits, which the simulator says rather than hides
    assert "a copy reserves 2 accelerators, one ml.g5.xlarge has 1" in capsys.readouterr().err
    policy_path.write_text(BASE + "idle_scale_to_zero_after: 5m}\n")
    assert main([*command, "--out", str(tmp_path / "b")]) == 2
    assert "what does a copy reserve? Set per_copy in the policy" in capsys.readouterr().err
    assert main([*command, "--per-copy", "m=1,1,1024", "--out", str(tmp_path / "c"), "--optimum-seconds", "5"]) == 0


def test_simulate_recommends_not_serving_a_trickle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A lone request at 03:00, 11:00 and 19:00: a copy that loads in time for one costs an instance
    for its provisioning and load, more than refusing it at $0.10. Neither optimum serves them, icpilot's scale from zero does, so simulate recommends not serving the component
    and says how in the policy; the policy that follows it costs what refusing does."""
    trace = synthetic(tmp_path, [180, 660, 1140], per_minute=1)
    report = simulate_json(tmp_path, capsys, "--trace", str(trace))
    (advice,) = report["recommendations"]
    assert advice["component"] == "m" and advice["action"] == "do not serve"
    assert "outside: {min_copies: 0, max_copies: 0}" in advice["policy_change"]
    served = report["strategies"]["icpilot"]["total_usd"]
    refusing = report["strategies"]["reactive-optimum"]["total_usd"]
    assert served > refusing
    followed = BASE + (
        "idle_scale_to_zero_after: 5m, per_copy: {accelerators: 1, cores: 1, memory_mb: 1024}, "
        "outside: {min_copies: 0, max_copies: 0}}\n"
    )
    after = simulate_json(tmp_path, capsys, "--trace", str(trace), policy=followed)
    assert after["strategies"]["icpilot"]["total_usd"] == refusing
    assert after["recommendations"] == []
    # the table says it too, with the change to make
    table = ["simulate", "--policy", str(tmp_path / "policy.yaml"), "--trace", str(trace)]
    table += ["--instance-type", "ml.g5.xlarge", "--max-instances", "1", "--optimum-seconds", "5"]
    simulate_json(tmp_path, capsys, "--trace", str(trace))  # the policy file back to the one that serves
    assert main([*table, "--out", str(tmp_path / "t")]) == 0
    out = capsys.readouterr().out
    assert "Recommended: do not serve m" in out and "max_copies: 0" in out
