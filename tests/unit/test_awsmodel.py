"""What AWS does, as both stand-ins model it (``awsmodel``): target tracking's cooldown rule and the
load stagger of a batch's copies, at explicit times."""

from __future__ import annotations

import pytest

from awsmodel import TargetTrackingCooldowns, copy_ready_after, copy_ready_minutes

OUT, IN = 120.0, 600.0  # the integration policy's falcon: scale-out 2 min, scale-in 10 min


@pytest.mark.parametrize(
    ("scale_in", "current", "metric", "bounds", "expected"),
    [
        (False, 2, 50.0, (0, 4), 4),  # ceil(2 x 50 / 20) = 5, capped at the max 4
        (False, 2, 25.0, (0, 4), 3),  # ceil(2.5) = 3
        (False, 2, 20.0, (0, 4), None),  # on target: no more copies
        (True, 4, 5.0, (2, 4), 2),  # ceil(1) = 1, held at the min 2
        (True, 2, 5.0, (2, 4), None),  # already at the min: nothing to scale in
        (False, 0, 50.0, (0, 4), None),  # from zero a per-copy metric has no value
    ],
)
def test_one_evaluation_sets_ceil_of_current_times_metric_over_target_within_bounds(
    scale_in: bool, current: int, metric: float, bounds: tuple[int, int], expected: int | None
) -> None:
    assert TargetTrackingCooldowns().act(scale_in, current, metric, 20.0, bounds, 0.0, (OUT, IN)) == expected


def test_cooldowns_hold_each_side_and_a_scale_out_ends_a_scale_in_cooldown() -> None:
    tt = TargetTrackingCooldowns()
    assert tt.act(False, 2, 30.0, 20.0, (0, 8), 0.0, (OUT, IN)) == 3
    assert tt.act(False, 3, 30.0, 20.0, (0, 8), 60.0, (OUT, IN)) is None  # scale-out cooldown: 120 s
    assert tt.act(False, 3, 30.0, 20.0, (0, 8), 120.0, (OUT, IN)) == 5
    assert tt.act(True, 5, 5.0, 20.0, (0, 8), 130.0, (OUT, IN)) == 2  # no scale-in yet: no cooldown
    assert tt.act(True, 2, 5.0, 20.0, (1, 8), 200.0, (OUT, IN)) is None  # scale-in cooldown: 600 s
    assert tt.act(False, 2, 40.0, 20.0, (1, 8), 300.0, (OUT, IN)) == 4  # a scale-out ends it
    assert tt.act(True, 4, 5.0, 20.0, (1, 8), 301.0, (OUT, IN)) == 1


def test_a_batchs_copies_come_up_one_stagger_apart_and_a_minute_watcher_sees_them_at_the_next_boundary() -> None:
    assert [copy_ready_after(240.0, n, 15.0) for n in range(3)] == [240.0, 255.0, 270.0]
    assert [copy_ready_minutes(4, n, 15.0) for n in range(5)] == [4, 5, 5, 5, 5]
    assert [copy_ready_minutes(4, n, 0.0) for n in range(3)] == [4, 4, 4]  # no stagger: together
