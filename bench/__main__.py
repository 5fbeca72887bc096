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
- reconcile: AWS calls per component for one tick pass (and one configure pass) against the
  emulator server, and the time of a pass over 200 components divided by the time over 20.
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


def reconcile_pass(n: int) -> dict[str, Any]:
    """One tick and one configure pass over ``n`` components on the emulator server."""
    from datetime import UTC, datetime

    import yaml
    from icpilot.adapters.autoscaling import AutoScalingAdapter
    from icpilot.adapters.cloudwatch import CloudWatchAdapter
    from icpilot.adapters.sagemaker import SageMakerAdapter
    from icpilot.adapters.sns import EventPublisher
    from icpilot.adapters.state import StateStore
    from icpilot.controller import Controller
    from icpilot.policy import load_policy_text

    from emulator.seed import ROLE
    from tests.harness import ServerProcess

    server = ServerProcess()
    calls: list[str] = []
    try:
        session = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1")
        session.events.register("before-call", lambda model, **_: calls.append(model.name))

        def client(service: str) -> Any:
            return session.client(service, endpoint_url=server.url)

        sm = client("sagemaker")
        sm.create_endpoint_config(
            EndpointConfigName="c",
            ExecutionRoleArn=ROLE,
            ProductionVariants=[
                {
                    "VariantName": "v",
                    "InstanceType": "ml.m5.4xlarge",
                    "InitialInstanceCount": 1,
                    "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 50},
                }
            ],
        )
        sm.create_endpoint(EndpointName="ep", EndpointConfigName="c")
        components = {}
        for i in range(n):
            name = f"model-{i:03d}"
            sm.create_inference_component(
                InferenceComponentName=name,
                EndpointName="ep",
                Specification={
                    "Container": {"Image": "img"},
                    "ComputeResourceRequirements": {"NumberOfCpuCoresRequired": 1, "MinMemoryRequiredInMb": 1024},
                },
                RuntimeConfig={"CopyCount": 0},
            )
            components[name] = {"max_copies": 2, "idle_scale_to_zero_after": "30m", "autoscaling": {"target": 10}}
        ddb = client("dynamodb")
        ddb.create_table(
            TableName="state",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        policy = load_policy_text(yaml.safe_dump({"endpoints": {"ep": {"components": components}}}))
        controller = Controller(
            policy_source=lambda: policy,
            sagemaker=SageMakerAdapter(sm),
            autoscaling=AutoScalingAdapter(client("application-autoscaling")),
            state=StateStore("state", ddb),
            publisher=EventPublisher(None),
            cloudwatch=CloudWatchAdapter(client("cloudwatch")),
        )
        calls.clear()
        t0 = time.perf_counter()
        controller.configure(datetime.now(UTC))
        configure_seconds = time.perf_counter() - t0
        configure_calls = len(calls)
        calls.clear()
        t0 = time.perf_counter()
        controller.on_tick(datetime.now(UTC), reconcile=False)
        tick_seconds = time.perf_counter() - t0
        tick_calls = len(calls)
    finally:
        server.stop()
    return {
        "components": n,
        "tick_seconds": round(tick_seconds, 2),
        "tick_calls_per_component": round(tick_calls / n, 1),
        "configure_seconds": round(configure_seconds, 2),
        "configure_calls_per_component": round(configure_calls / n, 1),
    }


def main() -> int:
    console = Console()
    small, large = reconcile_pass(20), reconcile_pass(200)
    results = {
        "emulator_describe": describe_rate(),
        "simulated_day": simulated_day(),
        "cold_import": cold_imports(),
        "backtest": backtest_figures(),
        "reconcile": {
            "20": small,
            "200": large,
            "tick_200_over_20": round(large["tick_seconds"] / small["tick_seconds"], 1),
            "configure_200_over_20": round(large["configure_seconds"] / small["configure_seconds"], 1),
        },
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
    r = results["reconcile"]
    table.add_row(
        "tick pass: AWS calls per component (20 / 200 components)",
        f"{r['20']['tick_calls_per_component']} / {r['200']['tick_calls_per_component']}",
    )
    table.add_row(
        "configure pass: AWS calls per component (20 / 200)",
        f"{r['20']['configure_calls_per_component']} / {r['200']['configure_calls_per_component']}",
    )
    table.add_row(
        "tick pass time, 200 components / 20",
        f"{r['tick_200_over_20']}x ({r['200']['tick_seconds']} s / {r['20']['tick_seconds']} s)",
    )
    table.add_row(
        "configure pass time, 200 components / 20",
        f"{r['configure_200_over_20']}x ({r['200']['configure_seconds']} s / {r['20']['configure_seconds']} s)",
    )
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
