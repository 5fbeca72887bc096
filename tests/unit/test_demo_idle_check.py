"""The demo's check of issue 33's idle rule: how long a component held copies above its floor
after its traffic stopped (``demo.__main__.held_above_floor``), on explicit minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from demo.__main__ import Minute, held_above_floor

T0 = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)


def minutes(rows: list[tuple[int, int]]) -> list[Minute]:
    """(desired copies, requests) a minute from T0."""
    return [Minute(T0 + timedelta(minutes=i), desired, desired, requests) for i, (desired, requests) in enumerate(rows)]


@pytest.mark.parametrize(
    ("rows", "floors", "expected"),
    [
        # traffic stops after minute 1; 2 copies above a floor of 0 for three minutes, then zero
        ([(2, 5), (2, 5), (2, 0), (2, 0), (2, 0), (0, 0)], [0] * 6, [(2, 3)]),
        # down to the window's floor (1), not to zero: held above it for two minutes
        ([(3, 9), (3, 0), (2, 0), (1, 0), (1, 0)], [1] * 5, [(1, 2)]),
        # a pause inside a burst: held one minute until traffic came back, then stopped again
        ([(2, 5), (2, 0), (2, 4), (2, 0), (0, 0)], [0] * 5, [(1, 1), (3, 1)]),
        # never above the floor: each stop holds nothing
        ([(1, 3), (1, 0), (1, 0)], [1] * 3, [(1, 0)]),
        # no traffic at all: nothing stopped
        ([(0, 0), (0, 0)], [0] * 2, []),
        # still above the floor when the day ends: counted to the end
        ([(4, 8), (4, 0), (4, 0)], [0] * 3, [(1, 2)]),
    ],
)
def test_held_above_floor_after_traffic_stops(
    rows: list[tuple[int, int]], floors: list[int], expected: list[tuple[int, int]]
) -> None:
    found = held_above_floor(minutes(rows), floors)
    assert [(int((when - T0).total_seconds() // 60), held) for when, held in found] == expected
