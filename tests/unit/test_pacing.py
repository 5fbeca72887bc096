"""Client-side pacing of AWS writes (``adapters.pacing``) and the rule it serves: a scale-in waits
while copy-count writes are short of their budget, a scale-out does not."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import yaml
from icpilot.adapters.pacing import Pacer, PacingSettingError, TokenBucket, pacer, parse_rates
from icpilot.controller import Outcome
from icpilot.policy import load_policy_text
from icpilot.runtime import build_controller
from icpilot.settings import Settings

from emulator import Emulator, emulated_aws
from emulator.process import create_state_table
from emulator.seed import create_endpoint

WRITE = "sagemaker:UpdateInferenceComponentRuntimeConfig"


@pytest.mark.parametrize(
    ("text", "rates"),
    [
        ("", {}),
        ("none", {}),
        (f"{WRITE}=4", {WRITE: 4.0}),
        (f" {WRITE}=4 , cloudwatch:PutMetricAlarm=2.5,", {WRITE: 4.0, "cloudwatch:PutMetricAlarm": 2.5}),
    ],
)
def test_rates_are_read_as_written(text: str, rates: dict[str, float]) -> None:
    assert parse_rates(text) == rates


@pytest.mark.parametrize("text", ["sagemaker=4", f"{WRITE}=0", f"{WRITE}=fast", ":Op=1", f"{WRITE}"])
def test_a_malformed_rate_is_refused_with_its_part_named(text: str) -> None:
    with pytest.raises(PacingSettingError, match="service:Operation=calls-per-second"):
        parse_rates(text)


def test_a_bucket_starts_full_then_pays_out_at_its_rate() -> None:
    bucket = TokenBucket(rate=200.0, burst=2)
    assert bucket.take() == 0.0 and bucket.take() == 0.0  # the burst
    assert bucket.level() < 1
    started = time.monotonic()
    waited = bucket.take()  # the third waits about 1/200 s
    assert waited > 0 and time.monotonic() - started >= 0.004


def test_has_room_is_about_the_share_of_the_burst_left() -> None:
    paced = Pacer({WRITE: 0.001})  # burst 1, refills in ~17 minutes
    assert paced.has_room(WRITE) and paced.has_room("sagemaker:DescribeEndpoint")  # unpaced: always
    paced.buckets[WRITE].take()
    assert not paced.has_room(WRITE)


def test_attached_clients_wait_on_their_apis_only() -> None:
    from moto import mock_aws

    paced = Pacer({"sqs:CreateQueue": 20.0})
    bucket = paced.buckets["sqs:CreateQueue"]
    with mock_aws():
        sqs = paced.attach(boto3.client("sqs", region_name="us-east-1"))
        paced.attach(sqs)  # once only
        sqs.list_queues()  # unpaced: no token needed
        assert paced.waited == 0
        while bucket.level() >= 1:
            bucket.take()
        sqs.create_queue(QueueName="q")  # waits for the next token (1/20 s)
    assert 0 < paced.waited < 1


START = datetime(2026, 11, 23, 18, 58, tzinfo=UTC)  # the window closes at 19:00Z


@pytest.fixture
def closing_window() -> Iterator[Emulator]:
    with emulated_aws(start=START) as emu:
        sm = boto3.client("sagemaker", region_name="us-east-1")
        create_endpoint(sm, "llm-a", {"going": ("org/going", 1)}, copies=1)
        create_endpoint(sm, "llm-b", {"coming": ("org/coming", 1)}, copies=0)
        create_state_table(boto3.client("dynamodb", region_name="us-east-1"), "state")
        emu.advance(600)  # the copies load
        yield emu


def test_a_scale_in_waits_for_the_write_budget_and_a_scale_out_does_not(
    closing_window: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    night = {"timezone": "UTC", "start": "19:00", "end": "23:00"}
    components = {
        "llm-a": {
            "going": {"max_copies": 2, "schedules": [{"name": "night", **night, "min_copies": 0, "max_copies": 0}]}
        },
        "llm-b": {"coming": {"max_copies": 2, "schedules": [{"name": "night", **night, "min_copies": 1}]}},
    }
    policy = load_policy_text(
        yaml.safe_dump({"version": 1, "endpoints": {e: {"components": c} for e, c in components.items()}})
    )
    now = START + timedelta(minutes=12)  # 19:10Z: the night window holds "going" at 0, "coming" at 1
    monkeypatch.setenv("ICPILOT_WRITE_RATES", f"{WRITE}=0.2")
    pacer().buckets[WRITE].take()  # the budget (a burst of 1) is spent: half a token comes back in 2.5 s
    settings = Settings(policy_path="-", state_table="state")
    summary = build_controller(settings, policy_source=lambda: policy).on_tick(now, reconcile=False)
    by_component = {o.component: o for o in summary.outcomes}
    assert by_component["coming"].result == Outcome.SCALED  # a scale-out waits for its token, then goes
    assert by_component["going"].result == Outcome.POSTPONED
    assert "write budget" in by_component["going"].reason
    sm = boto3.client("sagemaker", region_name="us-east-1")
    assert sm.describe_inference_component(InferenceComponentName="going")["RuntimeConfig"]["DesiredCopyCount"] == 1
    monkeypatch.setenv("ICPILOT_WRITE_RATES", "none")  # the budget back: the next run takes it in
    later = build_controller(settings, policy_source=lambda: policy).on_tick(now + timedelta(minutes=1), False)
    assert {o.component: o.result for o in later.outcomes}["going"] == Outcome.SCALED
    assert sm.describe_inference_component(InferenceComponentName="going")["RuntimeConfig"]["DesiredCopyCount"] == 0
