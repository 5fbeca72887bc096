"""The tick's rules for alarms that stay in ALARM (domain/standing.py), at explicit Berlin times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icpilot.domain.decision_types import AlarmKind
from icpilot.domain.standing import acts_again, followed
from icpilot.policy.model import ComponentPolicy

BUSINESS = {"name": "day", "timezone": "Europe/Berlin", "start": "08:00", "end": "19:00", "min_copies": 1}
PLAIN = ComponentPolicy.model_validate(
    {"max_copies": 4, "idle_scale_to_zero_after": "30m", "high_load": {"threshold": 50}, "schedules": [BUSINESS]}
)
TRACKED = ComponentPolicy.model_validate(
    {
        "max_copies": 4,
        "high_load": {"threshold": 80},
        "autoscaling": {"target": 20, "scale_out_cooldown": "5m"},
    }
)
MONDAY_NOON = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # 12:00 Berlin: the window holds 1 copy
MONDAY_NIGHT = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)  # 23:00 Berlin: nothing holds it


@pytest.mark.parametrize(
    ("kind", "policy", "now", "last", "expected"),
    [
        # idle stands: decide() judges each tick (one copy fewer above the floor, zero without one)
        (AlarmKind.IDLE, PLAIN, MONDAY_NOON, None, True),
        (AlarmKind.IDLE, PLAIN, MONDAY_NIGHT, None, True),
        (AlarmKind.HIGH_LOAD, PLAIN, MONDAY_NOON, None, True),  # icpilot never acted: act
        (AlarmKind.HIGH_LOAD, PLAIN, MONDAY_NOON, MONDAY_NOON - timedelta(seconds=59), False),
        (AlarmKind.HIGH_LOAD, PLAIN, MONDAY_NOON, MONDAY_NOON - timedelta(seconds=60), True),  # 60 s default
        (AlarmKind.HIGH_LOAD, TRACKED, MONDAY_NOON, MONDAY_NOON - timedelta(minutes=4), False),  # its own 5m
        (AlarmKind.HIGH_LOAD, TRACKED, MONDAY_NOON, MONDAY_NOON - timedelta(minutes=5), True),
        (AlarmKind.NO_CAPACITY, PLAIN, MONDAY_NIGHT, None, False),  # one-shot: never from the tick
        (AlarmKind.QUIET, PLAIN, MONDAY_NIGHT, None, True),  # decide() judges what a consolidation frees
    ],
)
def test_acts_again(
    kind: AlarmKind, policy: ComponentPolicy, now: datetime, last: datetime | None, expected: bool
) -> None:
    assert acts_again(kind, policy, now, last) is expected


def test_only_the_alarms_a_policy_has_are_followed() -> None:
    assert followed(PLAIN) == [AlarmKind.HIGH_LOAD, AlarmKind.IDLE]
    assert followed(TRACKED) == [AlarmKind.HIGH_LOAD]
    assert followed(ComponentPolicy(max_copies=1)) == []
    quiet = PLAIN.model_copy(update={"consolidate_after": "10m"})
    assert followed(quiet) == [AlarmKind.HIGH_LOAD, AlarmKind.IDLE, AlarmKind.QUIET]
    # one copy at most: nothing to consolidate, no quiet alarm to follow
    assert followed(ComponentPolicy(max_copies=1, consolidate_after="10m")) == []
