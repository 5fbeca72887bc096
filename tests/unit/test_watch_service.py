"""The watch service on the in-memory state twin (adapters/memory.py) and the in-process
emulator: the service layer needs no DynamoDB to be exercised, only its ports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from icpilot.adapters.cloudwatch import CloudWatchAdapter
from icpilot.adapters.memory import InMemoryStateStore
from icpilot.adapters.sagemaker import SageMakerAdapter
from icpilot.adapters.sns import EventPublisher
from icpilot.domain.decision_types import Trigger, TriggerKind
from icpilot.domain.transitions import Availability
from icpilot.policy import load_policy
from icpilot.service.announce import Announcer
from icpilot.service.outcomes import Outcome, RunSummary
from icpilot.service.watch import Watch

from emulator import emulated_aws
from tests.fakes import FakeCloudWatch
from tests.harness import create_seed

pytestmark = pytest.mark.real_clock  # starts the emulator itself

MONDAY = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
POLICY = load_policy(Path(__file__).resolve().parents[1] / "policy.yaml")


def test_a_loaded_warm_up_is_ready_and_its_measured_time_is_kept() -> None:
    with emulated_aws() as emu:
        sm = boto3.client("sagemaker", region_name="us-east-1")
        create_seed(sm, copies=1)
        emu.advance(600)  # both components' one copy loaded
        now = emu.now()
        state = InMemoryStateStore()
        state.write(
            "llm-endpoint",
            "falcon-7b",
            0,
            inflight="1",
            inflight_kind="warm-up",
            inflight_target=1,
            inflight_from=0,
            requested_at=now - timedelta(minutes=7),
            accepted_at=now - timedelta(minutes=6),
            availability="warming",
        )
        publisher = EventPublisher(None)
        watch = Watch(state, SageMakerAdapter(sm), None, publisher, Announcer(publisher, "test"), CloudWatchAdapter())
        summary = RunSummary(trigger="watch", correlation_id="test")
        policy, ready = watch.run(lambda: POLICY, summary, Trigger(TriggerKind.TICK, source="watch"), now)
    assert policy is POLICY and ready == [("llm-endpoint", "falcon-7b")]
    assert [o.result for o in summary.outcomes] == [Outcome.READY]
    completed = [e for e in publisher.published if e.type == "WarmUpCompleted"]
    assert completed and completed[0].details["time_to_ready_seconds"] == 420.0
    stored = state.get("llm-endpoint", "falcon-7b")
    assert stored.ready_history == (420.0,) and stored.availability is Availability.READY
    assert state.watch_items() == ([], [])  # no longer in flight


def test_nothing_in_flight_reads_no_policy() -> None:
    state = InMemoryStateStore()
    publisher = EventPublisher(None)
    watch = Watch(state, SageMakerAdapter(object()), None, publisher, Announcer(publisher, "test"), FakeCloudWatch())
    summary = RunSummary(trigger="watch", correlation_id="test")

    def no_policy_needed() -> None:
        raise AssertionError("the policy is read only when something is in flight")

    trigger = Trigger(TriggerKind.TICK, source="watch")
    assert watch.run(no_policy_needed, summary, trigger, MONDAY) == (None, [])
    assert summary.outcomes == []
