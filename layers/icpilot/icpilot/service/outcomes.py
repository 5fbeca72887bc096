"""What a run did, per component and in all: the JSON summary every handler returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


def out_of_time(seconds_left: Callable[[], float] | None, margin: float) -> bool:
    """Whether a run (its Lambda's remaining time; None: no limit) has less than ``margin`` seconds
    left: then it starts nothing more and postpones the rest to the next run."""
    return seconds_left is not None and seconds_left() < margin


class Outcome(StrEnum):
    """What one run did with one component (``ComponentOutcome.result``; the JSON summary's word)."""

    SCALED = "scaled"  # the copy count was written
    UNCHANGED = "unchanged"  # nothing to do
    DEFERRED = "deferred"  # the intent is kept for the tick (component busy, after:, AAS racing)
    BLOCKED = "blocked"  # the component is Failed: icpilot will not write to it
    SUPERSEDED = "superseded"  # another invocation acted first (lost the conditional claim three times)
    FAILED = "failed"  # an AWS call or a stored item failed; reported as ActionFailed
    REJECTED = "rejected"  # the trigger was refused (malformed, unknown, unconfirmed): TriggerRejected
    POSTPONED = "postponed"  # the run's time budget ran out before this component; the next run takes it
    WAITING = "waiting"  # watcher: copies are still loading (or the probe failed)
    READY = "ready"  # watcher: a warm-up finished and was verified
    DONE = "done"  # watcher: a scale-out or scale-in finished
    TIMED_OUT = "timed-out"  # watcher: not done by its deadline
    FORECAST = "forecast"  # forecast run: the learned floors were stored
    OBSERVED = "observed"  # observe mode: the decision was announced (WouldScale), nothing written


@dataclass
class ComponentOutcome:
    endpoint: str
    component: str
    result: Outcome
    reason: str
    from_copies: int | None = None
    to_copies: int | None = None


@dataclass
class RunSummary:
    trigger: str
    correlation_id: str
    outcomes: list[ComponentOutcome] = field(default_factory=list)
    schedules: dict[str, int] = field(default_factory=dict)
    autoscaling_changes: list[dict[str, Any]] = field(default_factory=list)
    events_published: int = 0
    events_undelivered: int = 0
    events_republished: int = 0
    policy_error: list[str] | None = None
    policy_pending: bool = False  # the store holds no policy yet (PolicyNotDeployedError)
    errors: list[str] = field(default_factory=list)  # failures outside any one component's evaluation

    @property
    def ok(self) -> bool:
        return (
            self.policy_error is None
            and not self.errors
            and not any(o.result in (Outcome.FAILED, Outcome.REJECTED) for o in self.outcomes)
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        return out
