"""The cost block: validated with path, value and range; merged per endpoint; priced in one place."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from icpilot.domain.capacity import Holding, Reservation
from icpilot.domain.cost import CostModel, UnknownInstanceType, drain_minutes
from icpilot.domain.readiness import idle_delay
from icpilot.errors import PolicyError
from icpilot.policy import load_policy_text, policy_json_schema

ONE = "endpoints:\n  ep:\n    components:\n      m: {max_copies: 2, idle_scale_to_zero_after: auto, expected_time_to_ready: 8m}\n"


@pytest.mark.parametrize(
    ("block", "path", "fragment"),
    [
        ("cost: {refusal_cost: -1}\n", "cost.refusal_cost", "greater than or equal to 0"),
        ("cost: {delay_cost_per_minute: 5000}\n", "cost.delay_cost_per_minute", "less than or equal to 1000"),
        ("cost: {price_per_hour: 0}\n", "cost.price_per_hour", "greater than 0"),
        ("cost: {refusal: 1}\n", "cost.refusal", "Extra inputs"),
    ],
)
def test_cost_errors_name_path_value_and_range(block: str, path: str, fragment: str) -> None:
    with pytest.raises(PolicyError) as exc:
        load_policy_text(block + ONE)
    assert any(path in p and fragment.lower() in p.lower() for p in exc.value.problems), exc.value.problems


def test_an_endpoint_overrides_only_the_fields_it_sets() -> None:
    policy = load_policy_text(
        "cost: {refusal_cost: 0.5, delay_cost_per_minute: 0.02}\n"
        "endpoints:\n  ep:\n    cost: {price_per_hour: 9.5}\n    components:\n      m: {max_copies: 1}\n"
        "  other:\n    components:\n      n: {max_copies: 1}\n"
    )
    ep = policy.cost_for("ep")
    assert (ep.refusal_cost, ep.delay_cost_per_minute, ep.price_per_hour) == (0.5, 0.02, 9.5)
    assert policy.cost_for("other").price_per_hour is None


def test_the_schema_documents_the_cost_block() -> None:
    schema = policy_json_schema()
    assert "cost" in schema["properties"]
    assert "refusal_cost" in schema["$defs"]["CostPolicy"]["properties"]


@pytest.mark.parametrize(
    ("instance_type", "reservation", "price", "per_hour"),
    [
        ("ml.g5.24xlarge", Reservation(2, 2, 8192), None, 5.09),  # 2 of 4 GPUs at $10.18/h
        ("ml.g5.24xlarge", Reservation(1, 2, 8192), 8.0, 2.0),  # the policy's price wins
        ("ml.c5.xlarge", Reservation(0, 2, 2048), None, None),  # CPU-only: cores / vCPUs
    ],
)
def test_copy_prices(instance_type: str, reservation: Reservation, price: float | None, per_hour: float | None) -> None:
    policy = load_policy_text((f"cost: {{price_per_hour: {price}}}\n" if price else "") + ONE)
    try:
        model = CostModel.for_endpoint(policy, "ep", instance_type)
    except UnknownInstanceType:
        assert per_hour is None
        return
    expected = per_hour if per_hour is not None else model.instance_price_per_hour * 2 / model.instance_vcpus
    assert model.copy_per_hour(reservation) == pytest.approx(expected)


def test_total_cost_worked_example() -> None:
    """The README's example: 30 GPU-hours, 100 refused, 400 request-minutes of waiting = $90.35."""
    model = CostModel.for_endpoint(load_policy_text(ONE), "ep", "ml.g5.24xlarge")
    gpu_hour = model.copy_per_hour(Reservation(1, 1, 1024))
    assert 30 * gpu_hour + model.penalty(100, 400) == pytest.approx(90.35)


def test_auto_idle_delay_comes_from_the_cost_block() -> None:
    """flan-t5-xxl: 8 min load at $5.09/h ($0.68) + one refusal ($0.10) = $0.78 -> 9.2 min -> 10 min;
    a dearer refusal keeps the copy longer."""
    policy = load_policy_text(ONE)
    cp = policy.endpoints["ep"].components["m"]
    derived = idle_delay(cp, "ml.g5.24xlarge", Reservation(2, 2, 8192), policy.cost_for("ep"))
    assert derived is not None and derived.delay == timedelta(minutes=10)
    dear = load_policy_text("cost: {refusal_cost: 2.0}\n" + ONE)
    longer = idle_delay(cp, "ml.g5.24xlarge", Reservation(2, 2, 8192), dear.cost_for("ep"))
    assert longer is not None and longer.delay == timedelta(minutes=32)  # (0.68 + 2.00) / 5.09 h = 31.6 -> 32


def test_a_cold_start_is_priced_by_the_requests_it_meets() -> None:
    """The docstring's example: 90 requests a minute over 8 minutes, each a refusal at $0.10 (dearer
    than waiting 4 minutes on average at $0.01): $72.00 + the copy's $0.68."""
    model = CostModel.for_endpoint(load_policy_text(ONE), "ep", "ml.g5.24xlarge")
    flan = Reservation(2, 2, 8192)
    assert model.cold_start(flan, 8, 90) == pytest.approx(72.68, abs=0.01)
    assert model.cold_start(flan, 8, 0) == pytest.approx(0.78, abs=0.01)  # one refusal at least
    # A long load makes waiting dearer than failing: each request then costs its wait, 15 min x $0.01.
    assert model.cold_start(flan, 30, 10) == pytest.approx(5.09 * 30 / 60 + 10 * 30 * 0.15, abs=0.01)


@pytest.mark.parametrize(
    ("demand", "serves", "minutes"),
    [
        (90, None, 0.0),  # what the copies serve is unknown: no drain counted
        (0, 110, 0.0),  # nothing met it: nothing to drain
        (10, 110, 0.8),  # 80 waiting at ready, drained at 100 a minute
        (90, 110, 8.0),  # 720 at 20 a minute: 36 minutes, counted for one load time
        (110, 110, 8.0),  # copies that only keep up never drain it
        (200, 110, 8.0),  # a burst above the ceiling: the cap, not infinity
    ],
)
def test_the_backlog_a_cold_start_leaves_drains_for_at_most_a_load_time(
    demand: float, serves: float | None, minutes: float
) -> None:
    assert drain_minutes(8, demand, serves) == pytest.approx(minutes)


@given(
    load=st.floats(0.5, 60),
    demand=st.floats(0, 1000),
    more=st.floats(0, 1000),
    serves=st.floats(1, 2000),
    faster=st.floats(0, 2000),
)
def test_a_drain_is_bounded_grows_with_demand_and_shrinks_with_serving(
    load: float, demand: float, more: float, serves: float, faster: float
) -> None:
    drain = drain_minutes(load, demand, serves)
    assert 0 <= drain <= load
    assert drain_minutes(load, demand + more, serves) >= drain
    assert drain_minutes(load, demand, serves + faster) <= drain


def test_a_cold_start_also_costs_the_requests_that_wait_behind_its_backlog() -> None:
    """The docstring's example: 90 a minute for 8 minutes, copies serving 110 a minute; the drain is
    counted for 8 minutes more, so 90 x 16 requests meet it at $0.10 each, + the copy's $0.68."""
    model = CostModel.for_endpoint(load_policy_text(ONE), "ep", "ml.g5.24xlarge")
    flan = Reservation(2, 2, 8192)
    assert model.cold_start(flan, 8, 90, drain_minutes(8, 90, 110)) == pytest.approx(144.68, abs=0.01)
    assert model.cold_start(flan, 8, 90, drain_minutes(8, 90, None)) == pytest.approx(72.68, abs=0.01)


@pytest.mark.parametrize(
    ("tracking", "minutes"),
    [
        ("", 103),  # no invocations target: 10 x 8 x $0.10 + $0.68 = $8.68 / $5.09 an hour = 102.3 min
        # 2 copies at 55 serve 110 a minute: 80 waiting drain in 0.8 min, 10 x 8.8 x $0.10 + $0.68 = $9.48
        (", autoscaling: {metric: invocations_per_copy, target: 55}", 112),
    ],
)
def test_auto_idle_delay_prices_the_drain_by_what_the_copies_serve(tracking: str, minutes: int) -> None:
    policy = load_policy_text(ONE.replace("expected_time_to_ready: 8m", "expected_time_to_ready: 8m" + tracking))
    cp = policy.endpoints["ep"].components["m"]
    derived = idle_delay(cp, "ml.g5.24xlarge", Reservation(2, 2, 8192), policy.cost_for("ep"), met_at_cold_start=[10])
    assert derived is not None and derived.delay == timedelta(minutes=minutes)
    assert ("+ 1 min draining" in derived.explanation) is bool(tracking), derived.explanation


@pytest.mark.parametrize(
    ("met", "policy_price", "minutes"),
    [
        ([], None, 10),  # nothing learned yet: the cost model's floor
        ([90.0], None, 857),  # $72.68 / $5.09 per hour = 14.28 h
        ([5.0, 90.0, 400.0], None, 857),  # the median, so one storm does not set the price
        ([0.5], None, 13),  # a trickle: 0.5 x 8 min x $0.10 + the copy's $0.68 = $1.08 -> 12.7 min
        ([90.0], 2.0, 24),  # the policy's own cold_start_cost wins over what was learned
        ([100000.0], None, 1440),  # clamped to 24 h
    ],
)
def test_auto_idle_delay_learns_the_price_of_a_cold_start(
    met: list[float], policy_price: float | None, minutes: int
) -> None:
    policy = load_policy_text(ONE)
    cp = policy.endpoints["ep"].components["m"].model_copy(update={"cold_start_cost": policy_price})
    derived = idle_delay(cp, "ml.g5.24xlarge", Reservation(2, 2, 8192), policy.cost_for("ep"), met_at_cold_start=met)
    assert derived is not None and derived.delay == timedelta(minutes=minutes)
    if met and policy_price is None:
        assert f"median of the last {len(met)} cold starts" in derived.explanation


FALCON_COPY = Reservation(1, 1, 1024)  # 1 of ml.g5.24xlarge's 4 GPUs
FLAN_COPY = Reservation(2, 2, 8192)  # 2 of its 4 GPUs


@pytest.mark.parametrize(
    ("reservation", "copies", "beside", "per_hour"),
    [
        (FALCON_COPY, 1, (), 10.18),  # alone: its release frees the instance
        (FALCON_COPY, 1, ((FLAN_COPY, 1),), 2.545),  # beside flan on one instance: frees nothing, pays its share
        (FALCON_COPY, 4, (), 10.18),  # four fill the instance: the instance, which is also their share
        (FALCON_COPY, 4, ((FLAN_COPY, 1),), 10.18),  # 6 GPUs take 2 instances, flan alone 1: one freed
        (FLAN_COPY, 2, ((FALCON_COPY, 4),), 10.18),  # flan's two copies hold the second instance
        (FLAN_COPY, 1, ((FALCON_COPY, 2),), 5.09),  # all on one instance: flan's share
    ],
)
def test_holding_is_priced_at_the_instance_time_a_release_frees(
    reservation: Reservation, copies: int, beside: tuple[tuple[Reservation, int], ...], per_hour: float
) -> None:
    """AWS bills instances: a release that frees one saves the instance's price; one that frees none
    saves nothing, so the copies pay their share of what they share."""
    model = CostModel.for_endpoint(load_policy_text(ONE), "ep", "ml.g5.24xlarge")
    held = Holding(copies, beside)
    assert model.holding_per_hour(reservation, held) == pytest.approx(per_hour)


@pytest.mark.parametrize(
    ("beside", "minutes"),
    [
        ((), 12),  # alone, its release frees $10.18/h: $2.00 / $10.18 = 11.8 min
        (((FALCON_COPY, 1),), 24),  # beside a falcon-7b copy it frees nothing: $2.00 / $5.09 = 23.6 min
    ],
)
def test_the_auto_idle_delay_weighs_the_cold_start_against_the_instance_time_freed(
    beside: tuple[tuple[Reservation, int], ...], minutes: int
) -> None:
    policy = load_policy_text(ONE)
    cp = policy.endpoints["ep"].components["m"].model_copy(update={"cold_start_cost": 2.0})
    derived = idle_delay(cp, "ml.g5.24xlarge", FLAN_COPY, policy.cost_for("ep"), held=Holding(1, beside))
    assert derived is not None and derived.delay == timedelta(minutes=minutes)
    assert "the instance time they free or share" in derived.explanation
