"""A copy-count change in flight and the watcher's verdict on it. Pure: no AWS, no clock.

The rules (verified, not assumed):
- A Failed component ends the transition as failed.
- Loaded means InService with every desired copy loaded.
- A warm-up (from zero) that is loaded is ready only once the policy's probe, if it has one,
  answers within its latency limit; a failing probe keeps it waiting until the deadline.
- A scale-out or scale-in that is loaded is done (no probe: copies already served before it).
- Not done by the deadline (``warmup_deadline``; three times that for scale-out and scale-in,
  which add to copies already serving) is timed out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from .status import ComponentStatus


class FlightKind(StrEnum):
    """What the watcher follows: a warm-up (from zero, verified and announced when ready), or a
    scale-out or scale-in (done once loaded)."""

    WARM_UP = "warm-up"
    SCALE_OUT = "scale-out"
    SCALE_IN = "scale-in"


WARM_UP = FlightKind.WARM_UP


class Availability(StrEnum):
    """What clients read of a component (``icpilot_client``, ``icpilot status``)."""

    WARMING = "warming"  # a warm-up from zero is loading
    READY = "ready"
    COLD = "cold"  # zero copies
    PARTIAL = "partial"  # a transition timed out with some copies loaded
    FAILED = "failed"


class CopyChange(NamedTuple):
    """One accepted copy-count change, as the state item's bounded history keeps it (``icpilot report``
    integrates them into copy-hours)."""

    at: datetime
    from_copies: int
    to_copies: int


@dataclass(frozen=True)
class InFlight:
    """A copy-count change SageMaker accepted that the watcher follows until it is done."""

    kind: FlightKind
    target: int
    from_copies: int
    requested_at: datetime | None  # when the need arose (the alarm's or client's time), for time-to-ready
    accepted_at: datetime | None  # when SageMaker took the write


class Verdict(StrEnum):
    WAITING = "waiting"
    READY = "ready"  # a warm-up loaded and verified
    DONE = "done"  # a scale-out or scale-in loaded
    TIMED_OUT = "timed-out"
    FAILED = "failed"


@dataclass(frozen=True)
class Observed:
    """What SageMaker says about the component now."""

    status: str
    current: int
    desired: int

    @property
    def loaded(self) -> bool:
        return self.status == ComponentStatus.IN_SERVICE and self.current == self.desired


@dataclass(frozen=True)
class ProbeResult:
    answered: bool
    latency_ms: float
    error: str | None = None


def needs_probe(kind: FlightKind, observed: Observed, has_probe: bool) -> bool:
    """Whether the verdict needs the probe's answer (only a loaded warm-up with a probe does)."""
    return has_probe and kind == WARM_UP and observed.loaded


def verdict(
    kind: FlightKind,
    observed: Observed,
    accepted_at: datetime,
    deadline: timedelta,
    now: datetime,
    probe: ProbeResult | None = None,
    max_latency_ms: float | None = None,
) -> tuple[Verdict, str]:
    """The transition's verdict and why. ``probe``: the answer when ``needs_probe`` said so."""
    if observed.status == ComponentStatus.FAILED:
        return Verdict.FAILED, "SageMaker reports the component Failed"
    elapsed = now - accepted_at
    loaded = observed.loaded
    why = _probe_failure(probe, max_latency_ms) if loaded and kind == WARM_UP else None
    if why is not None:
        if elapsed <= deadline:
            return Verdict.WAITING, f"copies loaded but the probe failed: {why}"
        loaded = False  # a probe that never passes is a warm-up that never finished
    if loaded:
        return (Verdict.READY, "loaded and verified") if kind == WARM_UP else (Verdict.DONE, "loaded")
    limit = deadline if kind == WARM_UP else 3 * deadline
    progress = f"{observed.current} of {observed.desired} copies loaded ({observed.status})"
    if elapsed > limit:
        return Verdict.TIMED_OUT, f"not done after {elapsed.total_seconds() / 60:.0f} min: {progress}"
    return Verdict.WAITING, progress


def _probe_failure(probe: ProbeResult | None, max_latency_ms: float | None) -> str | None:
    """Why the probe failed, or None when it passed (or there is none)."""
    if probe is None:
        return None
    if not probe.answered:
        return probe.error or "no answer"
    if max_latency_ms is not None and probe.latency_ms > max_latency_ms:
        return f"answered in {round(probe.latency_ms, 1)} ms, limit {max_latency_ms} ms"
    return None
