"""The watcher's verdict on a transition in flight (domain/transitions.py), at explicit times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from icpilot.domain.transitions import FlightKind, Observed, ProbeResult, Verdict, needs_probe, verdict

ACCEPTED = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
DEADLINE = timedelta(minutes=18)
LOADED = Observed("InService", 2, 2)
LOADING = Observed("Updating", 1, 2)
FAST = ProbeResult(True, 120.0)
SLOW = ProbeResult(True, 9000.0)
DOWN = ProbeResult(False, 0.0, "ModelError: 503")


@pytest.mark.parametrize(
    ("kind", "observed", "minutes", "probe", "expected", "fragment"),
    [
        ("warm-up", LOADED, 7, None, Verdict.READY, "verified"),
        ("warm-up", LOADED, 7, FAST, Verdict.READY, "verified"),
        ("warm-up", LOADED, 7, SLOW, Verdict.WAITING, "answered in 9000.0 ms, limit 2000"),
        ("warm-up", LOADED, 7, DOWN, Verdict.WAITING, "ModelError: 503"),
        ("warm-up", LOADED, 18, DOWN, Verdict.WAITING, "probe failed"),  # the deadline itself still waits
        ("warm-up", LOADED, 19, DOWN, Verdict.TIMED_OUT, "not done after 19 min"),  # never verified: not ready
        ("warm-up", LOADING, 17, None, Verdict.WAITING, "1 of 2 copies loaded (Updating)"),
        ("warm-up", LOADING, 19, None, Verdict.TIMED_OUT, "1 of 2 copies loaded"),
        ("scale-out", LOADED, 1, SLOW, Verdict.DONE, "loaded"),  # no probe for copies added to serving ones
        ("scale-out", LOADING, 19, None, Verdict.WAITING, "1 of 2"),  # three deadlines for a scale-out
        ("scale-out", LOADING, 55, None, Verdict.TIMED_OUT, "not done after 55 min"),
        (FlightKind.SCALE_IN, Observed("InService", 0, 0), 1, None, Verdict.DONE, "loaded"),
        (FlightKind.WARM_UP, Observed("Failed", 0, 1), 1, None, Verdict.FAILED, "Failed"),
        (
            FlightKind.WARM_UP,
            Observed("InService", 1, 2),
            5,
            None,
            Verdict.WAITING,
            "1 of 2",
        ),  # InService, not all loaded
    ],
)
def test_verdict(
    kind: FlightKind, observed: Observed, minutes: int, probe: ProbeResult | None, expected: Verdict, fragment: str
) -> None:
    result, reason = verdict(
        kind, observed, ACCEPTED, DEADLINE, ACCEPTED + timedelta(minutes=minutes), probe, 2000 if probe else None
    )
    assert result == expected and fragment in reason


def test_only_a_loaded_warm_up_with_a_probe_needs_the_probe() -> None:
    assert needs_probe(FlightKind.WARM_UP, LOADED, True)
    assert not needs_probe(FlightKind.WARM_UP, LOADED, False)
    assert not needs_probe(FlightKind.WARM_UP, LOADING, True)
    assert not needs_probe(FlightKind.SCALE_OUT, LOADED, True)


@given(
    kind=st.sampled_from(list(FlightKind)),
    status=st.sampled_from(["InService", "Updating", "Creating", "Failed"]),
    current=st.integers(0, 8),
    desired=st.integers(0, 8),
    seconds=st.integers(0, 6 * 3600),
    answered=st.booleans(),
    latency=st.floats(0, 10_000),
)
def test_ready_means_verified_and_nothing_waits_forever(
    kind: FlightKind, status: str, current: int, desired: int, seconds: int, answered: bool, latency: float
) -> None:
    observed = Observed(status, current, desired)
    probe = ProbeResult(answered, latency) if needs_probe(kind, observed, True) else None
    now = ACCEPTED + timedelta(seconds=seconds)
    result, _ = verdict(kind, observed, ACCEPTED, DEADLINE, now, probe, 2000)
    if result == Verdict.READY:  # a warm-up is ready only when loaded and the probe passed
        assert kind == "warm-up" and observed.loaded and probe is not None and probe.answered
        assert probe.latency_ms <= 2000
    if result == Verdict.WAITING:  # past three deadlines nothing is still waiting
        assert now - ACCEPTED <= 3 * DEADLINE
    assert (result == Verdict.FAILED) == (status == "Failed")
