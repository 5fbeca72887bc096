"""The emulator as a server in a subprocess (``python -m emulator --port 0``), for benchmarks and
tests that need it out of process, and the state table as template.yaml declares it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class ServerProcess:
    """``python -m emulator --port 0`` in a subprocess; its first line names the URL. ``command``:
    how to run a module (tests wrap it to move the real clock)."""

    def __init__(self, *extra: str, command: list[str] | None = None) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "icpilot")])}
        self.proc = subprocess.Popen(
            command or [sys.executable, "-m", "emulator", "--port", "0", *extra],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            self.proc.kill()
            raise RuntimeError(f"emulator did not start: {line!r}")
        self.url = line.split("listening on ")[1].split()[0]

    def stop(self) -> int:
        self.proc.terminate()
        return self.proc.wait(timeout=15)


def create_state_table(ddb: Any, name: str) -> None:
    """icpilot's state table as template.yaml declares it (key ``pk``, the sparse ``inflight`` index),
    for tests and benchmarks that run without the stack."""
    from icpilot.adapters.state import INFLIGHT_INDEX

    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "inflight", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": INFLIGHT_INDEX,
                "KeySchema": [{"AttributeName": "inflight", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
