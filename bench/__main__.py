"""Benchmarks (figures, never assertions): run with ``make bench``; results in bench/results.json.

- emulator_describe_per_second: DescribeInferenceComponent calls per second against
  ``python -m emulator`` on this machine (one client, sequential).
- simulated_day_seconds: wall time of advancing the emulator one virtual day with the deployed
  stack's tick and window schedules firing into the real handlers.
- cold_import_ratio: time to import each handler module divided by ``import boto3`` alone, each
  measured in a fresh interpreter (median of 5).
- backtest: the example policy on the two Azure traces (conv -> falcon-7b at 09:00, code ->
  flan-t5-xxl at 14:00): accelerator-hours / oracle and % refused for icpilot, AAS-only, always-on,
  and the wall time of the 24 h simulation.
- fleet: configure, window-opening tick, steady tick and watcher passes over 500 components on
  50 endpoints (and 20 on 2) against the emulator server: seconds, AWS calls, busiest APIs.
- reliability: the invariant property over 10,000 random histories, and the fault, concurrency
  and fuzz suites with the figures they print.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
from rich.console import Console
from rich.table import Table

from bench.fleet import fleet_pass
from bench.reliability import reliability

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "icpilot")])}


def describe_rate(seconds: float = 5.0) -> dict[str, Any]:
    from emulator.seed import create_seed
    from tests.harness import ServerProcess

    server = ServerProcess()
    try:
        sm = boto3.client(
            "sagemaker",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id="t",
            aws_secret_access_key="t",
        )
        create_seed(sm)
        sm.describe_inference_component(InferenceComponentName="falcon-7b")  # warm the connection
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            sm.describe_inference_component(InferenceComponentName="falcon-7b")
            calls += 1
        elapsed = time.perf_counter() - start
    finally:
        server.stop()
    return {"calls": calls, "seconds": round(elapsed, 2), "per_second": round(calls / elapsed, 1)}


def simulated_day() -> dict[str, Any]:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "demo", "--hours", "24"], cwd=ROOT, env=ENV, capture_output=True, text=True, check=True
    )
    elapsed = time.perf_counter() - start
    lines = [line for line in out.stdout.splitlines() if "handler invocations" in line]
    return {"wall_seconds": round(elapsed, 1), "summary": lines[-1].strip() if lines else ""}


def _import_time(module: str) -> float:
    code = f"import time; t=time.perf_counter(); import {module}; print(time.perf_counter()-t)"
    runs = [
        float(subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, check=True).stdout)
        for _ in range(5)
    ]
    return statistics.median(runs)


def cold_imports() -> dict[str, Any]:
    base = _import_time("boto3")
    out: dict[str, Any] = {"boto3_seconds": round(base, 4)}
    for handler in ("functions.schedule_window.app", "functions.watch_tick.app"):
        t = _import_time(handler)
        out[handler] = {"seconds": round(t, 4), "ratio_to_boto3": round(t / base, 2)}
    return out


def backtest_figures() -> dict[str, Any]:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from icpilot.capacity import Reservation
    from icpilot.policy import load_policy

    from simulator.backtest import TraceSpec, backtest

    traces = ROOT.parent / "shared" / "traces"
    policy = load_policy(ROOT / "layers" / "icpilot" / "policy.yaml")
    start = time.perf_counter()
    report = backtest(
        policy,
        "llm-endpoint",
        "ml.g5.24xlarge",
        2,
        {"falcon-7b": Reservation(1, 2, 8192), "flan-t5-xxl": Reservation(2, 2, 8192)},
        [
            TraceSpec(str(traces / "AzureLLMInferenceTrace_conv.csv"), "falcon-7b", 9 * 60),
            TraceSpec(str(traces / "AzureLLMInferenceTrace_code.csv"), "flan-t5-xxl", 14 * 60),
        ],
        datetime(2026, 11, 23, 0, 0, tzinfo=ZoneInfo("Europe/Berlin")),
    )
    elapsed = time.perf_counter() - start
    report.pop("_series")
    return {
        "wall_seconds": round(elapsed, 2),
        "oracle_accelerator_hours": report["oracle"]["accelerator_hours"],
        "strategies": report["strategies"],
    }


def main() -> int:
    console = Console()
    small, fleet = fleet_pass(20, 2), fleet_pass(500, 50)
    results = {
        "emulator_describe": describe_rate(),
        "simulated_day": simulated_day(),
        "cold_import": cold_imports(),
        "backtest": backtest_figures(),
        "fleet": {"20": small, "500": fleet},
        "reliability": reliability(),
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    table = Table(title=f"icpilot benchmarks ({RESULTS.relative_to(ROOT)})")
    table.add_column("measure")
    table.add_column("value")
    table.add_row(
        "DescribeInferenceComponent against the emulator server",
        f"{results['emulator_describe']['per_second']} calls/s",
    )
    table.add_row(
        "one simulated day with the real handlers",
        f"{results['simulated_day']['wall_seconds']} s wall ({results['simulated_day']['summary']})",
    )
    for handler in ("functions.schedule_window.app", "functions.watch_tick.app"):
        r = results["cold_import"][handler]
        table.add_row(f"import {handler} / import boto3", f"{r['ratio_to_boto3']}x ({r['seconds']} s)")
    oracle = results["backtest"]["oracle_accelerator_hours"]
    for name, st in results["backtest"]["strategies"].items():
        table.add_row(
            f"backtest {name}: accelerator-hours / oracle ({oracle}), % refused",
            f"{st['ratio_to_oracle']}x, {st['refused_pct']}% ({st['accelerator_hours']} acc-h, ${st['cost_usd']})",
        )
    table.add_row("backtest: 24 h, two components, wall time", f"{results['backtest']['wall_seconds']} s")
    for label, p in fleet["passes"].items():
        base = small["passes"][label]
        table.add_row(
            f"{label}: 500 components / 50 endpoints (20 / 2)",
            f"{p['seconds']} s, {p['calls']} calls, {p['calls_per_component']}/component "
            f"({base['seconds']} s, {base['calls_per_component']}/component)",
        )
    for name, r in results["reliability"].items():
        table.add_row(
            f"reliability: {name}", f"{'passed' if r['passed'] else 'FAILED'} in {r['seconds']} s: {r['result']}"
        )
        for figure in r["figures"]:
            table.add_row("", figure)
    console.print(table)
    return 0 if all(r["passed"] for r in results["reliability"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
