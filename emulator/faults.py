"""Faults on demand: a seeded fraction of calls to an operation answers with an error.

Off by default. Rules are keyed by (service, operation); ``"*"`` matches any. The same seed gives
the same sequence of faults, so a failing test can be replayed.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["throttle", "5xx", "mixed"]  # mixed: throttle or 5xx, half each


@dataclass(frozen=True)
class FaultRule:
    service: str
    operation: str
    rate: float
    kind: FaultKind = "throttle"

    def matches(self, service: str, operation: str) -> bool:
        return self.service in ("*", service) and self.operation in ("*", operation)


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self, seed: int = 0) -> None:
        with self._lock:
            self.rules: list[FaultRule] = []
            self._random = random.Random(seed)
            self.injected: dict[tuple[str, str, str], int] = {}
            # Every call the emulator answered: (service, operation, "ok" | "error" | fault kind).
            self.calls: dict[tuple[str, str, str], int] = {}
            # DynamoDB item writes in the order they were answered: (table, key JSON, operation, outcome).
            self.item_writes: list[tuple[str, str, str, str]] = []
            # Seconds every call waits before it is served (network latency): racing callers then
            # interleave as they would against AWS instead of finishing one by one.
            self.latency_seconds = 0.0

    def record(self, service: str, operation: str, outcome: str) -> None:
        with self._lock:
            key = (service, operation, outcome)
            self.calls[key] = self.calls.get(key, 0) + 1

    def count(self, service: str = "*", operation: str = "*", outcome: str = "*") -> int:
        """How many calls matched (``"*"`` matches anything)."""
        with self._lock:
            return sum(
                n
                for (s, o, r), n in self.calls.items()
                if service in ("*", s) and operation in ("*", o) and outcome in ("*", r)
            )

    def configure(self, rules: list[FaultRule], seed: int = 0) -> None:
        for rule in rules:
            if not 0.0 <= rule.rate <= 1.0:
                raise ValueError(f"fault rate must be within 0..1, got {rule.rate}")
            if rule.kind not in ("throttle", "5xx", "mixed"):
                raise ValueError(f"fault kind must be 'throttle', '5xx' or 'mixed', got {rule.kind!r}")
        with self._lock:
            self.rules = list(rules)
            self._random = random.Random(seed)
            self.injected = {}

    def draw(self, service: str, operation: str) -> Literal["throttle", "5xx"] | None:
        """Decide whether this call fails, and how (the first rule that matches decides)."""
        with self._lock:
            for rule in self.rules:
                if rule.matches(service, operation):
                    if self._random.random() >= rule.rate:
                        return None
                    coin = self._random.random() < 0.5
                    kind: Literal["throttle", "5xx"] = (
                        rule.kind if rule.kind != "mixed" else ("throttle" if coin else "5xx")
                    )
                    key = (service, operation, kind)
                    self.injected[key] = self.injected.get(key, 0) + 1
                    return kind
        return None
