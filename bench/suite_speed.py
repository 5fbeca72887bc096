"""How long the project's own checks take: ``make check`` (the edit loop) and the pytest part of
``make test`` (the full gate's main pass and its two moved-clock passes), each timed as a developer
runs it, in a subprocess. ``make check`` is timed twice: with mypy's cache removed (a fresh clone)
and again with it warm (the edit loop)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_SUMMARY = re.compile(r"(\d+) passed")


def _timed(*targets: str) -> dict[str, Any]:
    start = time.perf_counter()
    out = subprocess.run(["make", "-s", *targets], cwd=ROOT, capture_output=True, text=True, env=os.environ.copy())
    seconds = time.perf_counter() - start
    passed = sum(int(n) for n in _SUMMARY.findall(out.stdout))
    return {
        "targets": " ".join(targets),
        "wall_seconds": round(seconds, 1),
        "ok": out.returncode == 0,
        "passed": passed,
    }


def suite_speed() -> dict[str, Any]:
    shutil.rmtree(ROOT / ".mypy_cache", ignore_errors=True)
    runs = {
        "check_cold_mypy": _timed("check"),
        "check_warm": _timed("check"),
        "gate_pytest_main": _timed("unit"),
        "gate_pytest_moved_clock": _timed("clock-guard"),
    }
    return {"cpus": os.cpu_count(), "runs": runs}
