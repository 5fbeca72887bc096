"""Scale-ins that free no instance (issue 33): AWS bills instances, so AAS's MinCapacity keeps a
component's copies when no scale-in to its lowest count, beside the others' copies, would free one.
Table-driven on ml.g5.24xlarge (4 GPUs), a hypothesis property, and the decision's AAS bounds."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from icpilot.domain.capacity import Reservation, instances_needed
from icpilot.domain.decision import decide
from icpilot.domain.decision_types import (
    AlarmKind,
    ComponentObservation,
    ComponentState,
    EndpointObservation,
    Trigger,
    TriggerKind,
)
from icpilot.domain.instance_types import INSTANCE_TYPES
from icpilot.domain.sizing import kept_for_free
from icpilot.policy.model import ComponentPolicy

ONE_GPU = Reservation(1, 2, 8192)
TWO_GPU = Reservation(2, 2, 8192)
WHOLE = Reservation(4, 8, 8192)
G5 = INSTANCE_TYPES["ml.g5.24xlarge"]


def falcon(copies: int, reservation: Reservation = ONE_GPU) -> ComponentObservation:
    return ComponentObservation("falcon", "InService", copies, copies, reservation)


def on_endpoint(me: ComponentObservation, flan: int = 0, instance_type: str = "ml.g5.24xlarge") -> EndpointObservation:
    peer = ComponentObservation("flan", "InService", flan, flan, TWO_GPU)
    return EndpointObservation("e", instance_type, 4, (me, peer))


@pytest.mark.parametrize(
    ("copies", "reservation", "flan", "lowest", "expected", "why"),
    [
        (4, ONE_GPU, 0, 1, 4, "4 falcon copies fill one instance alone: 1 to 3 still take it"),
        (2, ONE_GPU, 1, 1, 2, "2 falcon + 1 flan = 4 GPUs, one instance; 1 falcon still takes it"),
        (3, ONE_GPU, 1, 1, 1, "3 + 2 GPUs take two instances; 2 falcon copies free one"),
        (4, ONE_GPU, 1, 1, 1, "4 + 2 GPUs take two; falcon at 2 beside flan's copy fits one"),
        (4, ONE_GPU, 1, 3, 4, "with a floor of 3 no scale-in frees one (3 + 2 GPUs take two)"),
        (4, ONE_GPU, 2, 1, 4, "flan's 2 copies fill one instance, falcon's 4 the other: 1 falcon still takes it"),
        (3, WHOLE, 0, 1, 1, "a copy per instance: every scale-in frees one"),
        (1, ONE_GPU, 0, 1, 1, "nothing above the lowest"),
        (0, ONE_GPU, 0, 0, 0, "no copies"),
    ],
)
def test_kept_for_free(copies: int, reservation: Reservation, flan: int, lowest: int, expected: int, why: str) -> None:
    me = falcon(copies, reservation)
    assert kept_for_free(me, on_endpoint(me, flan), lowest, copies) == expected, why


def test_an_unknown_instance_type_keeps_the_lowest() -> None:
    me = falcon(4)
    assert kept_for_free(me, on_endpoint(me, instance_type="ml.unknown.1"), 1, 4) == 1


@given(
    copies=st.integers(0, 8),
    accelerators=st.sampled_from([1, 2, 4]),
    flan=st.integers(0, 4),
    lowest=st.integers(0, 4),
)
def test_kept_for_free_frees_nothing_or_lets_go(copies: int, accelerators: int, flan: int, lowest: int) -> None:
    """Either AAS may go to ``lowest``, or it keeps every copy and no count from ``lowest`` up needs
    fewer instances (counted here by accelerators: cores and memory never bind on these copies)."""
    me = falcon(copies, Reservation(accelerators, 2, 8192))
    kept = kept_for_free(me, on_endpoint(me, flan), lowest, copies)

    def instances(n: int) -> int:
        return math.ceil((n * accelerators + flan * 2) / 4)

    assert kept in (lowest, copies)
    if kept == copies > lowest:
        assert all(instances(n) == instances(copies) for n in range(lowest, copies))
    elif copies > lowest:
        assert any(instances(n) < instances(copies) for n in range(lowest, copies))


def test_instances_needed_places_largest_first() -> None:
    # 2 flan copies (2 GPUs) and 3 falcon (1 GPU): 7 GPUs on two instances; a 5-GPU copy never fits
    assert instances_needed(G5, [(ONE_GPU, 3), (TWO_GPU, 2)]) == 2
    assert instances_needed(G5, []) == 0
    assert instances_needed(G5, [(Reservation(5, 2, 8192), 1)]) > 4


MONDAY = datetime(2026, 11, 23, 12, tzinfo=UTC)
REACTIVE = ComponentPolicy(max_copies=4, idle_scale_to_zero_after="30m")


def test_after_a_burst_aas_keeps_copies_that_free_nothing() -> None:
    """Falcon alone at 4 copies after a burst: target tracking may not take it to 1 (the instance
    stays up for the last copy, the next burst would wait for three loads); icpilot's idle rule still
    takes it to zero, which frees the instance."""
    me = falcon(4)
    tick = decide(REACTIVE, me, on_endpoint(me), ComponentState(), Trigger(TriggerKind.TICK), MONDAY)
    assert (tick.aas_min, tick.aas_max) == (4, 4)
    idle = decide(
        REACTIVE, me, on_endpoint(me), ComponentState(), Trigger(TriggerKind.ALARM, alarm=AlarmKind.IDLE), MONDAY
    )
    assert (idle.target, idle.aas_min) == (0, 0)


def test_beside_a_peer_the_scale_in_that_frees_an_instance_is_left_to_aas() -> None:
    me = falcon(4)
    tick = decide(REACTIVE, me, on_endpoint(me, flan=1), ComponentState(), Trigger(TriggerKind.TICK), MONDAY)
    assert tick.aas_min == 1  # falcon at 2 beside flan's copy fits one instance: AAS may scale in
