"""Cold start of every handler: the time to import its module, against ``import boto3`` alone.

Each figure is the median of RUNS fresh interpreters, the rounds interleaved so machine noise
falls on every module alike. The interpreter runs with the variables Lambda sets
(``LAMBDA_TASK_ROOT``, ``AWS_LAMBDA_FUNCTION_NAME``): the X-Ray SDK behind Powertools' Tracer
behaves differently inside Lambda (outside, its sampler builds two botocore clients at import,
about 90 ms that Lambda never pays), so measuring outside Lambda's environment would mislead.

``libraries_only`` is the floor: the libraries every handler needs (boto3, pydantic, YAML,
Powertools' Logger and Tracer) imported with no icpilot code. ``shares_ms`` splits one handler's import by top-level package (the sum of each module's own
time from ``python -X importtime``): what the remaining cold start is made of.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RUNS = 7
HANDLERS = tuple(f"functions.{d.name}.app" for d in sorted((ROOT / "functions").iterdir()) if (d / "app.py").exists())


def _environment(task_root: str) -> dict[str, str]:
    path = os.pathsep.join([str(ROOT), str(ROOT / "layers" / "icpilot")])
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ICPILOT_", "POWERTOOLS_"))},
        "PYTHONPATH": path,
        "LAMBDA_TASK_ROOT": task_root,
        "AWS_LAMBDA_FUNCTION_NAME": "icpilot-bench",
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        "POWERTOOLS_SERVICE_NAME": "icpilot",
        "POWERTOOLS_METRICS_NAMESPACE": "icpilot",
    }


# What every handler needs before a line of icpilot runs: boto3, pydantic's models (the policy and
# Powertools' parser are pydantic), YAML (the policy), Powertools' Logger and Tracer.
LIBRARIES = (
    "import boto3, yaml; from pydantic import BaseModel; from aws_lambda_powertools import Logger, Tracer; "
    "Logger(service='icpilot'); Tracer(service='icpilot', patch_modules=('botocore',))"
)


def _seconds(statement: str, env: dict[str, str]) -> float:
    code = f"import time; t=time.perf_counter(); {statement}; print(time.perf_counter()-t)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout)


def _shares(module: str, env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"], env=env, capture_output=True, text=True
    )
    totals: dict[str, float] = defaultdict(float)
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _, name = line.removeprefix("import time:").split("|")
        totals[name.strip().split(".")[0]] += int(own) / 1000
    top = sorted(totals.items(), key=lambda kv: -kv[1])
    shown = dict(top[:8])
    shown["everything else"] = sum(v for _, v in top[8:])
    return {k: round(v, 1) for k, v in shown.items()}


def cold_imports() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as task_root:
        env = _environment(task_root)
        statements = {"boto3": "import boto3", "libraries": LIBRARIES, **{m: f"import {m}" for m in HANDLERS}}
        samples: dict[str, list[float]] = {label: [] for label in statements}
        for _ in range(RUNS):
            for label, statement in statements.items():
                samples[label].append(_seconds(statement, env))
        median = {label: statistics.median(s) for label, s in samples.items()}
        base = median["boto3"]
        handlers = {m: {"seconds": round(median[m], 4), "ratio_to_boto3": round(median[m] / base, 2)} for m in HANDLERS}
        heaviest = max(handlers, key=lambda m: handlers[m]["seconds"])
        return {
            "runs": RUNS,
            "boto3_seconds": round(base, 4),
            "libraries_only": {
                "seconds": round(median["libraries"], 4),
                "ratio_to_boto3": round(median["libraries"] / base, 2),
            },
            "handlers": handlers,
            "shares_ms": {"module": heaviest, "by_package": _shares(heaviest, env)},
        }
