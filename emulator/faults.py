"""Faults on demand: a seeded fraction of calls to an operation answers with an error.

Off by default. Rules are keyed by (service, operation); ``"*"`` matches any. The same seed gives
the same sequence of faults, so a failing test can be replayed.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Literal

# throttle / 5xx: the call fails before it has any effect; mixed: either, half each;
# applied-5xx: the call takes effect, then the caller sees a 500 (as AWS can answer);
# refused: a 400 InvalidParameter, a refusal that no retry can change (e.g. SNS and a message it
# will never take).
FaultKind = Literal["throttle", "5xx", "mixed", "applied-5xx", "refused"]
Drawn = Literal["throttle", "5xx", "applied-5xx", "refused"]
KINDS = ("throttle", "5xx", "mixed", "applied-5xx", "refused")


@dataclass(frozen=True)
class FaultRule:
    service: str
    operation: str
    rate: float
    kind: FaultKind = "throttle"
    after: str | None = None  # "service:Operation": the rule waits for one successful such call
    limit: int | None = None  # at most this many faults from this rule

    def matches(self, service: str, operation: str) -> bool:
        return self.service in ("*", service) and self.operation in ("*", operation)


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self, seed: int = 0) -> None:
        with self._lock:
            self.rules: list[FaultRule] = []
            self._armed: set[int] = set()
            self._used: dict[int, int] = {}
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
            if outcome == "ok":
                self._armed |= {i for i, r in enumerate(self.rules) if r.after == f"{service}:{operation}"}

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
            if rule.kind not in KINDS:
                raise ValueError(f"fault kind must be one of {', '.join(KINDS)}, got {rule.kind!r}")
        with self._lock:
            self.rules = list(rules)
            self._random = random.Random(seed)
            self.injected = {}
            self._armed = {i for i, r in enumerate(self.rules) if r.after is None}
            self._used = {}

    def draw(self, service: str, operation: str) -> Drawn | None:
        """Decide whether this call fails, and how (the first armed rule that matches decides)."""
        with self._lock:
            for i, rule in enumerate(self.rules):
                if i not in self._armed or (rule.limit is not None and self._used.get(i, 0) >= rule.limit):
                    continue
                if rule.matches(service, operation):
                    if self._random.random() >= rule.rate:
                        return None
                    self._used[i] = self._used.get(i, 0) + 1
                    coin = self._random.random() < 0.5
                    kind: Drawn = rule.kind if rule.kind != "mixed" else ("throttle" if coin else "5xx")
                    key = (service, operation, kind)
                    self.injected[key] = self.injected.get(key, 0) + 1
                    return kind
        return None
