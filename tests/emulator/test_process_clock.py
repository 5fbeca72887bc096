"""The process clock under the emulator: frozen between virtual moves, so no outcome depends on how
fast the machine runs, and botocore's adaptive retry still gets its tokens back."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config

from emulator import FaultRule, emulated_aws
from emulator.clock import DEFAULT_START

pytestmark = pytest.mark.real_clock  # the process clock itself


def test_real_time_passing_does_not_move_a_virtual_process_clock() -> None:
    with emulated_aws() as emu:
        before = datetime.now(UTC)
        time.sleep(0.2)  # a slow machine between two handler runs
        assert datetime.now(UTC) == before == DEFAULT_START
        emu.advance(31)
        assert datetime.now(UTC) - before == timedelta(seconds=31)
        assert time.time() == (DEFAULT_START + timedelta(seconds=31)).timestamp()


def test_a_wall_clock_emulator_lets_the_process_clock_tick() -> None:
    with emulated_aws(mode="wall"):
        before = time.time()
        time.sleep(0.05)
        assert time.time() > before


def test_adaptive_retry_under_throttling_finishes_with_the_clock_frozen() -> None:
    """The adaptive token bucket refills on elapsed time; with ``time.time()`` frozen it must read
    monotonic time, or the call below would wait forever once throttling drained the bucket."""
    with emulated_aws() as emu:
        emu.faults.configure([FaultRule("sqs", "*", rate=1.0, limit=2)], seed=1)
        sqs = boto3.client("sqs", config=Config(retries={"mode": "adaptive", "total_max_attempts": 10}))
        done = threading.Event()
        result: dict[str, str] = {}

        def call() -> None:
            result["url"] = sqs.create_queue(QueueName="throttled")["QueueUrl"]
            done.set()

        worker = threading.Thread(target=call, daemon=True)
        worker.start()
        assert done.wait(timeout=30), "adaptive retry stalled under a frozen process clock"
        assert result["url"].endswith("/throttled")
        assert emu.faults.injected
