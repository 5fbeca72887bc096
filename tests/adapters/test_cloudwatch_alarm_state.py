"""The alarm state icpilot confirms a trigger with: CloudWatch's own last datapoint, read defensively."""

from __future__ import annotations

from typing import Any

import pytest
from icpilot.domain.aws_views import latest_datapoint


@pytest.mark.parametrize(
    ("reason_data", "expected"),
    [
        ('{"version": "1.0", "queryDate": "2026-11-23T06:05:00+00:00", "recentDatapoints": [3.0, 120.0]}', 120.0),
        ('{"version": "1.0", "recentDatapoints": []}', None),
        ('{"version": "1.0"}', None),  # SetAlarmState, or an alarm not evaluated yet
        ("{}", None),
        ("not json", None),
        (None, None),
        ('{"recentDatapoints": ["many"]}', None),
        ('["a", "list"]', None),
    ],
)
def test_thelatest_datapoint_comes_from_state_reason_data(reason_data: Any, expected: float | None) -> None:
    assert latest_datapoint(reason_data) == expected
