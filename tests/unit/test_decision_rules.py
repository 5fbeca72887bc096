"""Which rule decided: every ``Decision`` names its ``Rule``, and tests read the code, not the prose.

One case per rule, at explicit times (Monday 2026-11-23 in Berlin: the window opens at 08:00).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icpilot.domain.capacity import Reservation
from icpilot.domain.decision import decide
from icpilot.domain.decision_types import (
    Action,
    AlarmKind,
    ComponentObservation,
    ComponentState,
    EndpointObservation,
    Peer,
    Rule,
    Trigger,
    TriggerKind,
)
from icpilot.policy.model import ComponentPolicy, ScheduleRule

from tests.strength import examples

BERLIN = ZoneInfo("Europe/Berlin")
NOON = datetime(2026, 11, 23, 12, 0, tzinfo=BERLIN)  # inside the window (floor 2, ceiling 4)
NIGHT = datetime(2026, 11, 23, 23, 0, tzinfo=BERLIN)  # outside every window (0..4)
GPU = Reservation(1, 2, 8192)
WINDOW = ScheduleRule.model_validate(
    {"name": "day", "timezone": "Europe/Berlin", "days": ["MON"], "start": "08:00", "end": "19:00", "min_copies": 2}
)
POLICY = ComponentPolicy(max_copies=4, idle_scale_to_zero_after="30m", schedules=[WINDOW])
TICK = Trigger(TriggerKind.TICK)
IDLE = Trigger(TriggerKind.ALARM, alarm=AlarmKind.IDLE)
NO_CAPACITY = Trigger(TriggerKind.ALARM, alarm=AlarmKind.NO_CAPACITY)
HIGH_LOAD = Trigger(TriggerKind.ALARM, alarm=AlarmKind.HIGH_LOAD)
DEMAND = Trigger(TriggerKind.DEMAND)


def component(desired: int, status: str = "InService", name: str = "m") -> ComponentObservation:
    return ComponentObservation(name, status, desired, desired, GPU)


def endpoint(
    *components: ComponentObservation, status: str = "InService", max_instances: int = 2
) -> EndpointObservation:
    return EndpointObservation("ep", "ml.g5.12xlarge", max_instances, components, status=status)  # 4 GPUs each


@pytest.mark.parametrize(
    ("desired", "trigger", "now", "state", "kw", "rule", "action"),
    [
        (1, TICK, NOON, ComponentState(), {"status": "Failed"}, Rule.COMPONENT_FAILED, Action.BLOCKED),
        (1, TICK, NOON, ComponentState(), {"endpoint_status": "Deleting"}, Rule.ENDPOINT_DOWN, Action.BLOCKED),
        (
            0,
            IDLE,
            NOON,
            ComponentState(override_copies=3, override_until=NOON + timedelta(hours=1)),
            {},
            Rule.OVERRIDE,
            Action.SCALE,
        ),
        (2, DEMAND, NOON, ComponentState(), {}, Rule.DEMAND_PRESENT, Action.NONE),
        (2, IDLE, NOON, ComponentState(), {}, Rule.IDLE_HELD_BY_FLOOR, Action.NONE),
        (
            1,
            IDLE,
            NIGHT,
            ComponentState(warmup_started_at=NIGHT - timedelta(minutes=1)),
            {},
            Rule.IDLE_GUARD,
            Action.NONE,
        ),
        (1, IDLE, NIGHT, ComponentState(), {}, Rule.IDLE, Action.SCALE),
        (0, NO_CAPACITY, NIGHT, ComponentState(), {}, Rule.NO_CAPACITY_ALARM, Action.SCALE),
        (0, DEMAND, NIGHT, ComponentState(), {}, Rule.DEMAND_SIGNAL, Action.SCALE),
        (2, HIGH_LOAD, NIGHT, ComponentState(), {}, Rule.HIGH_LOAD_ALARM, Action.SCALE),
        (
            1,
            TICK,
            NIGHT,
            ComponentState(pending_target=3, pending_reason="deferred"),
            {},
            Rule.PENDING_INTENT,
            Action.SCALE,
        ),
        (0, TICK, NOON, ComponentState(), {}, Rule.WINDOW_FLOOR, Action.SCALE),
        (4, HIGH_LOAD, NOON, ComponentState(), {}, Rule.WINDOW_CEILING, Action.NONE),
        (3, TICK, NOON, ComponentState(), {}, Rule.WITHIN_BOUNDS, Action.NONE),
        (0, TICK, NOON, ComponentState(), {"status": "Updating"}, Rule.BUSY, Action.DEFER),
        (0, TICK, NOON, ComponentState(), {"endpoint_status": "Updating"}, Rule.BUSY, Action.DEFER),
        (0, TICK, NOON, ComponentState(), {"max_instances": 0}, Rule.CAPACITY, Action.NONE),
    ],
)
def test_each_rule_names_itself(
    desired: int,
    trigger: Trigger,
    now: datetime,
    state: ComponentState,
    kw: dict[str, object],
    rule: Rule,
    action: Action,
) -> None:
    me = component(desired, str(kw.get("status", "InService")))
    ep = endpoint(me, status=str(kw.get("endpoint_status", "InService")), max_instances=int(kw.get("max_instances", 2)))  # type: ignore[call-overload]
    d = decide(POLICY, me, ep, state, trigger, now)
    assert (d.rule, d.action) == (rule, action), d.reason


def test_the_after_rules_name_themselves() -> None:
    chat = POLICY.model_copy(update={"after": ["embed"]})
    embed_cold = Peer("embed", 100, False, 0, ready=False, copies=0)
    me = component(0, name="chat")
    waits = decide(chat, me, endpoint(me, component(0, name="embed")), ComponentState(), TICK, NOON, (embed_cold,))
    assert (waits.rule, waits.action) == (Rule.WAIT_FOR_DEPENDENCY, Action.DEFER)
    embed = component(1, name="embed")
    chat_runs = Peer("chat", 100, False, 0, ready=True, copies=1, after=("embed",))
    holds = decide(
        POLICY, embed, endpoint(embed, component(1, name="chat")), ComponentState(), IDLE, NIGHT, (chat_runs,)
    )
    assert (holds.rule, holds.action) == (Rule.HOLD_FOR_DEPENDENTS, Action.DEFER)


@settings(max_examples=examples(200), deadline=None)
@given(
    desired=st.integers(0, 4),
    minutes=st.integers(0, 7 * 24 * 60),
    kind=st.sampled_from([TICK, IDLE, NO_CAPACITY, HIGH_LOAD, DEMAND]),
    pending=st.none() | st.integers(0, 4),
)
def test_every_decision_names_a_rule_that_agrees_with_its_action(
    desired: int, minutes: int, kind: Trigger, pending: int | None
) -> None:
    now = NOON + timedelta(minutes=minutes)
    me = component(desired)
    d = decide(POLICY, me, endpoint(me), ComponentState(pending_target=pending), kind, now)
    assert isinstance(d.rule, Rule)
    if d.rule == Rule.WITHIN_BOUNDS:
        assert d.action == Action.NONE and d.target == desired
    if d.rule in (Rule.WINDOW_FLOOR, Rule.WINDOW_CEILING):
        assert d.target in (d.bounds.floor, d.bounds.ceiling)


@pytest.mark.parametrize(
    ("desired", "now", "rule", "target"),
    [
        (4, NOON, Rule.IDLE, 3),  # above the floor (2): one copy fewer each time the alarm stands
        (3, NOON, Rule.IDLE, 2),
        (2, NOON, Rule.IDLE_HELD_BY_FLOOR, 2),  # at the floor: nothing
        (1, NOON, Rule.WINDOW_FLOOR, 2),  # below it: the floor is met as on any tick
        (3, NIGHT, Rule.IDLE, 0),  # no floor: zero at once
    ],
)
def test_idle_above_the_floor_is_released_step_by_step(desired: int, now: datetime, rule: Rule, target: int) -> None:
    """Before: an idle alarm above a window's floor was ignored, and target tracking cannot scale in
    without datapoints, so flan-t5-xxl held 2 copies from the end of its burst until 19:00."""
    me = component(desired)
    d = decide(POLICY, me, endpoint(me), ComponentState(), IDLE, now)
    assert (d.rule, d.target) == (rule, target), d.reason


@pytest.mark.parametrize(
    ("embed_ready", "chat_copies", "suspended"),
    [
        (False, 0, True),  # cold behind a dependency that is not ready: AAS's step policy must not add
        (True, 0, False),  # the dependency serves: AAS may scale from zero again
        (False, 1, False),  # already running (and not loading): AAS scales it as any other
    ],
)
def test_aas_scale_out_is_suspended_while_a_component_is_cold_behind_its_dependencies(
    embed_ready: bool, chat_copies: int, suspended: bool
) -> None:
    """Before: the deferral said 'waiting for embed', but AAS's scale-from-zero step policy, fired by
    the same no-capacity alarm, added chat's copy anyway (found by the two-endpoint differential day)."""
    chat = POLICY.model_copy(update={"after": ["embed"]})
    embed = Peer("embed", 10, True, 0, ready=embed_ready, copies=1 if embed_ready else 0)
    me = component(chat_copies, name="chat")
    ep = endpoint(me, component(embed.copies, name="embed"))
    d = decide(chat, me, ep, ComponentState(), TICK, NIGHT, (embed,))
    assert d.suspend_scale_out is suspended, d.reason


@pytest.mark.parametrize(
    ("others", "desired", "aas_max"),
    [
        (0, 2, 4),  # 8 GPUs, nothing else: the policy's ceiling 4
        (5, 2, 3),  # 5 held by a peer: 3 fit
        (7, 1, 1),  # 7 held: 1 fits, which it already holds
        (8, 0, 0),  # full: AAS may add nothing (a copy it added could not be placed)
    ],
)
def test_aas_max_never_exceeds_what_fits_beside_the_others(others: int, desired: int, aas_max: int) -> None:
    """Before: AAS's max was the policy's ceiling; the step policy added a copy that could not be
    placed, and the component stayed Updating, refusing every later write, for the rest of the day."""
    me = component(desired)
    peer = ComponentObservation("other", "InService", others, others, GPU)
    d = decide(POLICY, me, endpoint(me, peer), ComponentState(), TICK, NIGHT, (Peer("other", 50, False, 0),))
    assert (d.aas_max, d.aas_min <= d.aas_max) == (aas_max, True), d.reason
