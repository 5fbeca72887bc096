"""The auto idle delay priced by the forecast (issue 33): where learned demand acts, an idle copy is
held only as long as the expected cold start pays for it, and demand in a slot the forecast holds a
copy for is not a reason to hold one (the floor warms ahead of it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icpilot.domain.capacity import Reservation
from icpilot.domain.forecast import CLASSES, SLOTS_PER_DAY, Forecast
from icpilot.domain.readiness import MIN_IDLE, idle_delay_in_force
from icpilot.policy import load_policy_text

INSTANCE = "ml.g5.12xlarge"
RESERVATION = Reservation(1, 1, 1024)
MONDAY_NOON = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # 12:00 in Berlin
BURST_SLOT = 14 * 4  # 14:00-14:15 Berlin


def policy_with(predictive: str = "scale", idle: str = "auto") -> tuple:  # type: ignore[type-arg]
    policy = load_policy_text(
        "cost: {refusal_cost: 0.5}\nendpoints:\n  ep:\n    components:\n      m: {max_copies: 2, warmup_copies: 1, "
        f"idle_scale_to_zero_after: {idle}, expected_time_to_ready: 6m, "
        f"predictive: {{mode: {predictive}, timezone: Europe/Berlin}}}}\n"
    )
    return policy.endpoints["ep"].components["m"], policy.cost_for("ep")


def forecast(occurrence: dict[int, float], held: set[int]) -> Forecast:
    """Weekdays only: ``occurrence`` per slot, a copy held in the ``held`` slots."""
    return Forecast(
        "Europe/Berlin",
        MONDAY_NOON,
        14,
        {c: [10.0 if c == "weekday" and s in occurrence else 0.0 for s in range(SLOTS_PER_DAY)] for c in CLASSES},
        {c: [occurrence.get(s, 0.0) if c == "weekday" else 0.0 for s in range(SLOTS_PER_DAY)] for c in CLASSES},
        {c: [1 if c == "weekday" and s in held else 0 for s in range(SLOTS_PER_DAY)] for c in CLASSES},
    )


def delay(learned: Forecast | None, predictive: str = "scale", idle: str = "auto") -> timedelta:
    cp, cost = policy_with(predictive, idle)
    # A burst met at its cold starts: without a forecast, the copy is worth holding for hours.
    derived = idle_delay_in_force(cp, INSTANCE, RESERVATION, cost, [360.0], [10.0], learned, MONDAY_NOON)
    assert derived is not None
    return derived.delay


def test_without_a_forecast_a_burst_priced_cold_start_holds_the_copy_for_hours() -> None:
    assert delay(None) >= timedelta(hours=6)


def test_a_daily_burst_the_forecast_holds_does_not_keep_an_idle_copy() -> None:
    # The burst's slot is held by the floor (warmed ahead of it): nothing unheld is expected.
    assert delay(forecast({BURST_SLOT: 1.0}, held={BURST_SLOT})) == MIN_IDLE


def test_likely_demand_the_forecast_does_not_hold_keeps_the_copy_as_before() -> None:
    assert delay(forecast({BURST_SLOT: 1.0}, held=set())) == delay(None)


def test_unlikely_demand_shortens_the_hold_in_proportion() -> None:
    full, tenth = delay(None), delay(forecast({BURST_SLOT: 0.1}, held=set()))
    assert MIN_IDLE < tenth < full
    assert abs(tenth / full - 0.1) < 0.02


@pytest.mark.parametrize(("predictive", "idle"), [("off", "auto"), ("forecast-only", "auto"), ("scale", "30m")])
def test_only_an_auto_delay_with_learned_demand_acting_is_priced_by_the_forecast(predictive: str, idle: str) -> None:
    learned = forecast({BURST_SLOT: 1.0}, held={BURST_SLOT})
    assert delay(learned, predictive, idle) == delay(None, predictive, idle)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(st.integers(0, SLOTS_PER_DAY - 1), st.floats(0, 1), max_size=12),
    st.sets(st.integers(0, SLOTS_PER_DAY - 1), max_size=12),
)
def test_the_forecast_only_ever_shortens_the_hold_and_never_below_the_minimum(
    occurrence: dict[int, float], held: set[int]
) -> None:
    priced = delay(forecast(occurrence, held))
    assert MIN_IDLE <= priced <= delay(None)
