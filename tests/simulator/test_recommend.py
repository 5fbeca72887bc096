"""The policy that follows a "do not serve" recommendation: a ceiling of 0 at every hour, for that
component only, in a policy that still loads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from icpilot.domain.windows import bounds_at
from icpilot.policy import load_policy, load_policy_text

from simulator.recommend import DO_NOT_SERVE, Recommendation, follow
from simulator.scenarios import ENDPOINT

EXAMPLE = Path(__file__).resolve().parents[2] / "layers" / "icpilot" / "policy.yaml"


def test_following_do_not_serve_sets_a_ceiling_of_zero_for_that_component_only() -> None:
    policy = load_policy(EXAMPLE)
    advice = Recommendation("flan-t5-xxl", DO_NOT_SERVE, 20.9, 729.62, "a trickle")
    followed = follow(policy, ENDPOINT, [advice])
    flan = followed.endpoints[ENDPOINT].components["flan-t5-xxl"]
    falcon = followed.endpoints[ENDPOINT].components["falcon-7b"]
    monday = datetime(2026, 11, 23, tzinfo=UTC)
    for hour in range(0, 7 * 24, 3):  # every window of the week closed to it
        bounds = bounds_at(flan, monday + timedelta(hours=hour))
        assert (bounds.floor, bounds.ceiling) == (0, 0)
    assert flan.autoscaling is None and flan.high_load is None and flan.predictive.mode == "off"
    assert falcon == policy.endpoints[ENDPOINT].components["falcon-7b"]
    # what follow() builds is a policy the loader accepts as it stands
    assert (
        load_policy_text(followed.model_dump_json(exclude_none=True))
        .endpoints[ENDPOINT]
        .components["flan-t5-xxl"]
        .outside
        == flan.outside
    )


def test_an_unknown_recommendation_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown recommendation"):
        follow(load_policy(EXAMPLE), ENDPOINT, [Recommendation("falcon-7b", "buy more GPUs", 0, 0, "")])
