"""Reliability figures: the invariant property at 10,000 histories and the fault, concurrency and
fuzz suites, each run by pytest in a fresh process; the suites print their own figures."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INVARIANT_EXAMPLES = 10_000
FIGURE_PREFIXES = (
    "seed ",
    "20 racers",
    "schedule-window:",
    "alarm-scale:",
    "watch-tick:",
    "configure-autoscaling:",
    "watch-warmups:",
)


def _pytest(target: str, env: dict[str, str]) -> dict[str, Any]:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "pytest", target, "-q", "-s", "-p", "no:cacheprovider", "--hypothesis-show-statistics"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    lines = out.stdout.splitlines()
    return {
        "passed": out.returncode == 0,
        "seconds": round(time.perf_counter() - start, 1),
        "result": next((line for line in reversed(lines) if " passed" in line or " failed" in line), ""),
        "figures": [line.strip(". ") for line in lines if line.lstrip(". ").startswith(FIGURE_PREFIXES)],
    }


def reliability() -> dict[str, Any]:
    env = {**os.environ, "POWERTOOLS_LOG_LEVEL": "CRITICAL"}
    invariants = _pytest(
        "tests/properties/test_invariants.py", {**env, "ICPILOT_INVARIANT_EXAMPLES": str(INVARIANT_EXAMPLES)}
    )
    invariants["histories"] = INVARIANT_EXAMPLES
    return {
        "invariants": invariants,
        "faults": _pytest("tests/reliability/test_faults.py", env),
        "concurrency": _pytest("tests/reliability/test_concurrency.py", env),
        "fuzz": _pytest("tests/reliability/test_fuzz.py", env),
    }
