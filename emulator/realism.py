"""AWS-like latency and API rate limits for the emulator (issue 32): off unless a run turns them on.

In process, an emulated AWS call costs well under a millisecond and is never throttled, so a
controller that makes thousands of calls one after another looks fast. With realism on, every
call first waits a latency drawn per service and operation (log-normal from a median and a p99),
and each (service, operation) has a token bucket per account and region: a call that finds it
empty is answered with the service's throttling error, as AWS answers (botocore's retry modes
recognise those codes and back off).

The defaults below are assumptions, stated as such, not measurements of AWS:

- latency: a regional HTTPS call from Lambda is tens of milliseconds; control-plane writes are
  slower than reads; DynamoDB item operations are single-digit milliseconds (its documented
  design point); SNS Publish about 20 ms.
- rates: SageMaker's and Application Auto Scaling's control-plane limits are not all published
  (per account and region); the rates here are deliberately low, so that a controller tested
  against them does not depend on generous ones. CloudWatch publishes its API quotas in Service
  Quotas; the rates here are of the same order and lower. Raise or replace any of them per run
  (``Realism.configure(limits=...)`` or ``POST /_emulator/settings {"realism": ...}``).

Latency is real time (``time.sleep``), so that concurrent callers overlap as they would against AWS,
and buckets refill on the real clock for the same reason: realism is for wall-time benchmarks,
not for virtual-clock tests.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class ApiLimits:
    """One API's latency (median and p99, milliseconds) and token bucket (calls a second, burst)."""

    median_ms: float
    p99_ms: float
    rate: float | None = None  # sustained calls per second; None: never throttled
    burst: float | None = None  # the bucket's size (default: one second of ``rate``)

    def __post_init__(self) -> None:
        if not 0 < self.median_ms <= self.p99_ms:
            raise ValueError(f"latency needs 0 < median <= p99, got {self.median_ms} and {self.p99_ms}")
        if self.rate is not None and self.rate <= 0:
            raise ValueError(f"a rate must be positive, got {self.rate}")

    def draw_seconds(self, rng: random.Random) -> float:
        """A log-normal latency with this median and p99 (p99 = median x e^(2.326 sigma))."""
        sigma = math.log(self.p99_ms / self.median_ms) / 2.326
        return self.median_ms * math.exp(rng.gauss(0.0, sigma)) / 1000.0


# "service:Operation" wins over "service:*"; a service without either has no latency and no limit.
DEFAULT_LIMITS: dict[str, ApiLimits] = {
    "sagemaker:*": ApiLimits(40, 200, rate=20, burst=40),
    "sagemaker:DescribeInferenceComponent": ApiLimits(35, 180, rate=20, burst=40),
    "sagemaker:ListInferenceComponents": ApiLimits(60, 300, rate=10, burst=20),
    "sagemaker:UpdateInferenceComponentRuntimeConfig": ApiLimits(120, 600, rate=5, burst=10),
    "application-autoscaling:*": ApiLimits(45, 250, rate=10, burst=20),
    "application-autoscaling:RegisterScalableTarget": ApiLimits(80, 400, rate=5, burst=10),
    "application-autoscaling:PutScalingPolicy": ApiLimits(90, 450, rate=5, burst=10),
    "cloudwatch:*": ApiLimits(40, 200, rate=20, burst=40),
    "cloudwatch:DescribeAlarms": ApiLimits(45, 250, rate=9, burst=9),
    "cloudwatch:PutMetricAlarm": ApiLimits(60, 300, rate=3, burst=6),
    "cloudwatch:DeleteAlarms": ApiLimits(60, 300, rate=3, burst=6),
    "cloudwatch:GetMetricData": ApiLimits(80, 400, rate=50, burst=50),
    "dynamodb:*": ApiLimits(6, 25),
    "sns:*": ApiLimits(20, 80),
    "scheduler:*": ApiLimits(40, 200, rate=50, burst=50),
    "events:*": ApiLimits(25, 120),
    "sqs:*": ApiLimits(10, 40),
    "ssm:*": ApiLimits(20, 100, rate=40, burst=40),
}

# The error code each service throttles with (botocore's retry modes treat all of them as throttling).
THROTTLE_CODES = {"cloudwatch": "Throttling", "sns": "Throttled", "dynamodb": "ThrottlingException"}
DEFAULT_THROTTLE_CODE = "ThrottlingException"


class Realism:
    """Per-run latency and rate limits (thread-safe). ``enabled`` False: every call is free."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.configure()

    def configure(
        self,
        enabled: bool = False,
        limits: dict[str, ApiLimits] | None = None,
        seed: int = 0,
        clock: object = None,
    ) -> None:
        """Turn realism on or off; ``limits`` override the defaults key by key ("service:Operation"
        or "service:*"). ``clock``: a () -> seconds function for the buckets (default time.monotonic)."""
        with self._lock:
            self.enabled = enabled
            self.limits = {**DEFAULT_LIMITS, **(limits or {})}
            self._random = random.Random(seed)
            self._clock = clock if callable(clock) else time.monotonic
            self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # key -> (tokens, at)
            self.throttled: dict[str, int] = {}
            self.waited_seconds = 0.0

    def limits_for(self, service: str, operation: str) -> ApiLimits | None:
        return self.limits.get(f"{service}:{operation}") or self.limits.get(f"{service}:*")

    def latency(self, service: str, operation: str) -> float:
        """Seconds this call waits (0 when realism is off or the service has no profile)."""
        limits = self.limits_for(service, operation) if self.enabled else None
        if limits is None:
            return 0.0
        with self._lock:
            seconds = limits.draw_seconds(self._random)
            self.waited_seconds += seconds
        return seconds

    def admit(self, service: str, operation: str, scope: str = "") -> bool:
        """Take a token for this call (per account and region: ``scope``); False: throttled."""
        limits = self.limits_for(service, operation) if self.enabled else None
        if limits is None or limits.rate is None:
            return True
        burst = limits.burst if limits.burst is not None else limits.rate
        key = (scope, f"{service}:{operation}")  # AWS limits each API action on its own
        with self._lock:
            now = float(self._clock())  # type: ignore[operator]
            tokens, at = self._buckets.get(key, (burst, now))
            tokens = min(burst, tokens + (now - at) * limits.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                name = f"{service}:{operation}"
                self.throttled[name] = self.throttled.get(name, 0) + 1
                return False
            self._buckets[key] = (tokens - 1.0, now)
            return True

    @staticmethod
    def throttle_code(service: str) -> str:
        return THROTTLE_CODES.get(service, DEFAULT_THROTTLE_CODE)
