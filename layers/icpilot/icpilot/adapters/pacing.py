"""Client-side pacing of AWS writes: one token bucket per API, shared by every worker of a process.

AWS limits control-plane calls per account and region (SageMaker's and Application Auto Scaling's
rates are not all published; CloudWatch's are in Service Quotas). A pass that fans out over many
endpoints would otherwise meet those limits as ThrottlingException and spend its time in retries;
paced, its writes leave at a rate the account allows and adaptive retry (still on) handles what
other callers use up. The rates come from ``ICPILOT_WRITE_RATES`` (the stack's ``WriteRates``):
``service:Operation=calls-per-second`` pairs, comma separated; empty or ``none``: no pacing.

Why by hand: botocore's own token bucket (``botocore.retries.bucket``) is an internal class of its
adaptive retry, per client and not per API, and it cannot say how full it is without taking a
token, which the priority rule needs (``has_room``: a scale-in waits while warm-ups need the budget).
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Mapping
from typing import Any

# The stack's default (template.yaml WriteRates) is below the rates the emulator assumes for AWS
# (emulator/realism.py), which are themselves deliberately low. Raise both with a quota increase.


class PacingSettingError(ValueError):
    """``ICPILOT_WRITE_RATES`` is not a list of ``service:Operation=rate`` pairs with positive rates."""


class TokenBucket:
    """``rate`` tokens a second up to ``burst``; starts full. Thread-safe; real (monotonic) time."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else rate)
        self._tokens = self.burst
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def take(self) -> float:
        """Take one token, waiting for it; the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                self._refill()
                if self._tokens >= 1:
                    self._tokens -= 1
                    return waited
                pause = (1 - self._tokens) / self.rate
            time.sleep(pause)
            waited += pause

    def level(self) -> float:
        """The tokens in the bucket now (a fraction of ``burst`` tells how busy the API is)."""
        with self._lock:
            self._refill()
            return self._tokens


def parse_rates(text: str) -> dict[str, float]:
    """``"sagemaker:UpdateInferenceComponentRuntimeConfig=4,..."`` -> {api: rate}; "" or "none": {}."""
    if text.strip().lower() in {"", "none", "off"}:
        return {}
    rates: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        api, _, raw = part.partition("=")
        service, _, operation = api.partition(":")
        try:
            rate = float(raw)
        except ValueError:
            rate = -1.0
        if not service or not operation or rate <= 0:
            raise PacingSettingError(
                f"ICPILOT_WRITE_RATES: {part!r} is not service:Operation=calls-per-second with a positive rate"
            )
        rates[f"{service}:{operation}"] = rate
    return rates


class Pacer:
    """The buckets of one process; ``attach`` makes a boto3 client wait for a token before each
    paced call (a botocore ``before-call`` hook, so every adapter's calls are paced alike)."""

    def __init__(self, rates: Mapping[str, float]) -> None:
        self.buckets = {api: TokenBucket(rate, burst=2 * rate) for api, rate in rates.items()}
        self.waited = 0.0  # seconds callers spent waiting, for the bench and the logs
        self._attached: weakref.WeakSet[Any] = weakref.WeakSet()

    def attach(self, client: Any) -> Any:
        if self.buckets and client not in self._attached:
            self._attached.add(client)
            client.meta.events.register("before-call", self._before_call)
        return client

    def _before_call(self, model: Any, **_: Any) -> None:
        bucket = self.buckets.get(f"{model.service_model.service_name}:{model.name}")
        if bucket is not None:
            self.waited += bucket.take()

    def rate(self, api: str) -> float | None:
        """``api``'s paced calls a second (None: not paced)."""
        bucket = self.buckets.get(api)
        return bucket.rate if bucket is not None else None

    def has_room(self, api: str, share: float = 0.5) -> bool:
        """Whether ``api``'s bucket holds at least ``share`` of its burst (always, unpaced): what
        a write that can wait checks, so that the budget goes to writes that cannot."""
        bucket = self.buckets.get(api)
        return bucket is None or bucket.level() >= share * bucket.burst


_pacer: Pacer | None = None
_pacer_text: str | None = None
_pacer_lock = threading.Lock()


def pacer() -> Pacer:
    """This process's pacer, for the rates ``ICPILOT_WRITE_RATES`` names now (unset: no pacing)."""
    global _pacer, _pacer_text
    text = os.environ.get("ICPILOT_WRITE_RATES", "")
    with _pacer_lock:
        if _pacer is None or text != _pacer_text:
            _pacer, _pacer_text = Pacer(parse_rates(text)), text
        return _pacer
