"""Consolidation between bursts (issue 33): AWS bills instances, and target tracking cannot scale in
a component without traffic, so the copies a burst left stay until the idle delay. When the quiet
components of an endpoint (no invocations for ``consolidate_after``) can give up copies so that it
needs fewer instances, they do (``capacity.consolidated``), through ``decide`` on the tick's quiet
trigger. Table-driven on ml.g5.24xlarge (4 GPUs), a hypothesis property of the plan, the decision's
guards, the tick's ranking of standing alarms and the policy's validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from icpilot.adapters.memory import InMemoryStateStore
from icpilot.adapters.sns import EventPublisher
from icpilot.domain.aws_views import AlarmState
from icpilot.domain.capacity import Held, Reservation, consolidated, instances_needed
from icpilot.domain.decision import decide
from icpilot.domain.decision_types import (
    Action,
    AlarmKind,
    ComponentObservation,
    ComponentState,
    Decision,
    EndpointObservation,
    Peer,
    Rule,
    Trigger,
    TriggerKind,
)
from icpilot.domain.instance_types import INSTANCE_TYPES
from icpilot.plans.autoscaling import alarm_name
from icpilot.policy import load_policy_text
from icpilot.policy.model import ComponentPolicy
from icpilot.service.announce import Announcer
from icpilot.service.triggers import TriggerChecks
from pydantic import ValidationError

from tests.fakes import FakeCloudWatch

G5 = INSTANCE_TYPES["ml.g5.24xlarge"]
ONE_GPU = Reservation(1, 2, 8192)
TWO_GPU = Reservation(2, 2, 8192)
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 03:00 Berlin, no window


def falcon(copies: int, quiet: bool = True, lowest: int = 1, priority: int = 50) -> Held:
    return Held("falcon", ONE_GPU, copies, lowest, quiet, priority)


def flan(copies: int, quiet: bool = True, lowest: int = 1, priority: int = 100) -> Held:
    return Held("flan", TWO_GPU, copies, lowest, quiet, priority)


@pytest.mark.parametrize(
    ("held", "expected", "why"),
    [
        ([falcon(4), flan(2)], {"falcon": 2, "flan": 1}, "4 + 4 GPUs on two instances; 2 + 2 fill one"),
        ([falcon(4), flan(2, quiet=False)], {"falcon": 4, "flan": 2}, "flan busy: falcon at 1 + 4 GPUs still two"),
        ([falcon(3), flan(1, quiet=False)], {"falcon": 2, "flan": 1}, "3 + 2 GPUs take two; falcon 2 fits one"),
        ([falcon(4)], {"falcon": 4}, "one instance, whatever falcon keeps: nothing freed, nothing lost"),
        ([falcon(6)], {"falcon": 4}, "6 copies on two instances: 4 fill one"),
        ([falcon(4, lowest=3), flan(2)], {"falcon": 4, "flan": 2}, "falcon's floor 3 + flan 1: 5 GPUs, still two"),
        ([falcon(4), flan(2, lowest=2)], {"falcon": 4, "flan": 2}, "flan's floor 2 fills an instance alone"),
        ([falcon(2), flan(1)], {"falcon": 2, "flan": 1}, "already one instance"),
        ([falcon(4, priority=200), flan(2)], {"falcon": 2, "flan": 1}, "priority orders who gets copies back"),
    ],
)
def test_consolidated(held: list[Held], expected: dict[str, int], why: str) -> None:
    assert consolidated(G5, held).plan == expected, why


@given(
    st.lists(
        st.tuples(st.sampled_from([1, 2, 4]), st.integers(0, 6), st.integers(0, 3), st.booleans(), st.integers(0, 3)),
        min_size=1,
        max_size=4,
    )
)
def test_a_consolidation_frees_instances_or_changes_nothing(parts: list[tuple[int, int, int, bool, int]]) -> None:
    """Busy components keep theirs; quiet ones stay between their lowest and what they hold; a
    changed plan needs fewer instances than today, and no quiet component could keep one copy
    more without needing more instances than the plan."""
    held = [
        Held(f"c{i}", Reservation(gpus, 2, 8192), copies, lowest, quiet, priority)
        for i, (gpus, copies, lowest, quiet, priority) in enumerate(parts)
    ]
    result = consolidated(G5, held)
    plan = result.plan

    def needed(counts: dict[str, int]) -> int:
        return instances_needed(G5, [(h.reservation, counts[h.name]) for h in held])

    now = {h.name: h.copies for h in held}
    for h in held:
        assert plan[h.name] == h.copies if not h.quiet else min(h.copies, h.lowest) <= plan[h.name] <= h.copies
    if plan != now:
        assert result.after == needed(plan) < needed(now) == result.before
        for h in held:
            if h.quiet and plan[h.name] < h.copies:
                assert needed({**plan, h.name: plan[h.name] + 1}) > needed(plan)


POLICY = ComponentPolicy(max_copies=4, consolidate_after="10m", idle_scale_to_zero_after="3h")


def endpoint(falcon_copies: int, flan_copies: int, status: str = "InService") -> EndpointObservation:
    return EndpointObservation(
        "e",
        "ml.g5.24xlarge",
        2,
        (
            ComponentObservation("falcon", status, falcon_copies, falcon_copies, ONE_GPU),
            ComponentObservation("flan", "InService", flan_copies, flan_copies, TWO_GPU),
        ),
    )


def quiet_decision(
    falcon_copies: int,
    flan_copies: int,
    quiet: frozenset[str] = frozenset({"falcon", "flan"}),
    state: ComponentState | None = None,
    status: str = "InService",
    flan_floor: int = 0,
) -> Decision:
    ep = endpoint(falcon_copies, flan_copies, status)
    peers = (Peer("flan", 100, False, flan_floor, copies=flan_copies, ready=True),)
    trigger = Trigger(TriggerKind.ALARM, alarm=AlarmKind.QUIET, quiet=quiet)
    return decide(POLICY, ep.components[0], ep, state or ComponentState(), trigger, NOW, peers)


def test_quiet_beside_a_quiet_peer_gives_up_what_frees_an_instance() -> None:
    d = quiet_decision(4, 2)
    assert (d.action, d.rule, d.target) == (Action.SCALE, Rule.CONSOLIDATE, 2)
    assert "quiet for 10m: 2 of 4 copies beside quiet flan, 1 instances instead of 2" in d.reason
    assert d.aas_min == 2  # no further scale-in frees an instance beside flan's copies: AAS keeps both


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"quiet": frozenset({"falcon"})}, "flan still serves: falcon alone frees no instance"),
        ({"flan_floor": 2}, "flan's floor holds its instance"),
        ({"status": "Updating"}, "the component refuses writes: looked at again next tick"),
    ],
)
def test_quiet_keeps_the_copies_when_nothing_is_freed_or_it_cannot_write(kwargs: dict[str, Any], why: str) -> None:
    d = quiet_decision(4, 2, **kwargs)
    assert (d.action, d.rule, d.target) == (Action.NONE, Rule.CONSOLIDATE, 4), why


def test_a_deferred_scale_up_outranks_the_quiet() -> None:
    pending = ComponentState(pending_target=4, pending_reason="no-capacity alarm")
    d = quiet_decision(2, 2, state=pending)
    assert d.rule == Rule.PENDING_INTENT and d.target == 4


def test_the_tick_acts_on_idle_before_quiet_and_names_the_quiet_peers() -> None:
    policy = load_policy_text(
        "endpoints:\n  e:\n    components:\n"
        "      a: {max_copies: 4, idle_scale_to_zero_after: 30m, consolidate_after: 5m}\n"
        "      b: {max_copies: 2, idle_scale_to_zero_after: 30m, consolidate_after: 5m}\n"
        "  f:\n    components:\n"
        "      c: {max_copies: 2, consolidate_after: 5m}\n"
    )
    standing = AlarmState("ALARM", NOW - timedelta(minutes=1))
    alarms = {
        alarm_name("a", AlarmKind.QUIET): standing,
        alarm_name("a", AlarmKind.IDLE): standing,
        alarm_name("b", AlarmKind.QUIET): standing,
        alarm_name("c", AlarmKind.QUIET): standing,
    }
    checks = TriggerChecks(InMemoryStateStore(), FakeCloudWatch(alarms=alarms), Announcer(EventPublisher(None), "t"))
    triggers, _ = checks.standing_alarms(policy, NOW)
    assert triggers["a"].alarm == AlarmKind.IDLE  # zero before a consolidation
    assert (triggers["b"].alarm, triggers["b"].quiet) == (AlarmKind.QUIET, frozenset({"a", "b"}))
    assert triggers["c"].quiet == frozenset({"c"})  # another endpoint's quiet components are not its peers


@pytest.mark.parametrize("after", ["30s", "25h", "soon"])
def test_consolidate_after_is_a_duration_the_alarm_can_evaluate(after: str) -> None:
    with pytest.raises(ValidationError, match="consolidate_after"):
        ComponentPolicy(max_copies=2, consolidate_after=after)


def test_a_component_of_one_copy_has_nothing_to_consolidate() -> None:
    assert ComponentPolicy(max_copies=1, consolidate_after="10m").quiet_delay is None
    assert ComponentPolicy(max_copies=2, consolidate_after="10m").quiet_delay == timedelta(minutes=10)
