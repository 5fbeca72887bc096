"""AWS-like latency and rate limits (``emulator.realism``, issue 32): off by default; on, each API has a
log-normal latency and a token bucket, and a call that finds the bucket empty gets the service's
throttling error, in both harness modes."""

from __future__ import annotations

import random
import statistics

import pytest
from botocore.exceptions import ClientError

from emulator.realism import DEFAULT_LIMITS, ApiLimits, Realism
from tests.harness import Harness

FAST = {"median_ms": 0.1, "p99_ms": 0.2}  # no wait worth measuring: the tests count answers, not time


def test_latency_draws_have_the_stated_median_and_tail() -> None:
    limits = ApiLimits(40, 200)
    rng = random.Random(7)
    draws = sorted(limits.draw_seconds(rng) * 1000 for _ in range(20_000))
    assert statistics.median(draws) == pytest.approx(40, rel=0.05)
    assert draws[int(0.99 * len(draws))] == pytest.approx(200, rel=0.1)


def test_a_bucket_takes_its_burst_then_refills_at_its_rate() -> None:
    now = [0.0]
    realism = Realism()
    realism.configure(True, {"sagemaker:Describe": ApiLimits(1, 2, rate=2, burst=3)}, clock=lambda: now[0])
    assert [realism.admit("sagemaker", "Describe") for _ in range(4)] == [True, True, True, False]
    now[0] = 0.49  # not yet a whole token back
    assert not realism.admit("sagemaker", "Describe")
    now[0] = 1.0  # two tokens a second since the bucket ran dry
    assert [realism.admit("sagemaker", "Describe") for _ in range(3)] == [True, True, False]
    assert realism.throttled == {"sagemaker:Describe": 3}
    # Each API and each account/region has its own bucket.
    assert realism.admit("sagemaker", "Other") and realism.admit("sagemaker", "Describe", scope="other-account")


def test_off_by_default_and_every_default_is_a_valid_profile() -> None:
    realism = Realism()
    assert not realism.enabled and realism.latency("sagemaker", "DescribeInferenceComponent") == 0.0
    assert all(realism.admit("cloudwatch", "PutMetricAlarm") for _ in range(100))
    assert all(isinstance(v, ApiLimits) for v in DEFAULT_LIMITS.values())


def test_an_empty_bucket_answers_the_services_throttling_error(aws: Harness) -> None:
    aws.realism(
        limits={
            "sagemaker:ListInferenceComponents": {**FAST, "rate": 0.001, "burst": 2},
            "cloudwatch:DescribeAlarms": {**FAST, "rate": 0.001, "burst": 1},
        }
    )
    sagemaker, cloudwatch = aws.client("sagemaker"), aws.client("cloudwatch")
    sagemaker.list_inference_components()
    sagemaker.list_inference_components()
    with pytest.raises(ClientError) as refused:
        sagemaker.list_inference_components()
    assert refused.value.response["Error"]["Code"] == "ThrottlingException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    cloudwatch.describe_alarms()
    with pytest.raises(ClientError) as refused:
        cloudwatch.describe_alarms()
    assert refused.value.response["Error"]["Code"] == "Throttling"
    aws.realism(enabled=False)
    for _ in range(5):
        sagemaker.list_inference_components()  # off again: never throttled
