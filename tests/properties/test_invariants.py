"""Invariants of ``decide`` over random histories: random policies, clock jumps across midnight
and DST, triggers of every kind, busy components, operator overrides and failed writes.

Each history replays decisions against a small world (the component's copies, what a write does
or fails to do) and checks at every step:
- a raise never goes above ``max_copies``, the active ceiling, or what the endpoint can host;
- a lowering never goes below the active floor;
- while an override is in force, copies only ever move to the override's count;
- the decision for a given state and time is the same every time it is asked.

``make test`` runs ICPILOT_INVARIANT_EXAMPLES histories (default 300 at the ci profile, 30 at dev); ``make bench`` runs 10,000.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, event, given, reject, settings
from hypothesis import strategies as st
from icpilot.domain.capacity import Reservation, copies_that_fit
from icpilot.domain.decision import decide
from icpilot.domain.decision_types import (
    Action,
    AlarmKind,
    ComponentObservation,
    ComponentState,
    EndpointObservation,
    LastAction,
    Trigger,
    TriggerKind,
)
from icpilot.domain.instance_types import INSTANCE_TYPES
from icpilot.domain.windows import bounds_at
from icpilot.policy.model import ComponentPolicy
from pydantic import ValidationError

from tests.strength import examples

# An explicit count (make bench: 10,000) wins; otherwise 300 at ci strength, scaled by the profile.
EXAMPLES = int(os.environ.get("ICPILOT_INVARIANT_EXAMPLES") or examples(300))
G5 = INSTANCE_TYPES["ml.g5.24xlarge"]
ONE_GPU = Reservation(1, 2, 8192)
TWO_GPU = Reservation(2, 2, 8192)
# Instants where wall clocks jump (EU and US, both directions) and midnights around them.
DST_EDGES = [
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
    datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
    datetime(2026, 11, 1, 6, 0, tzinfo=UTC),
    datetime(2026, 12, 31, 23, 0, tzinfo=UTC),
]
DAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]


def hhmm(minutes: int) -> str:
    return f"{minutes % 1440 // 60:02d}:{minutes % 60:02d}"


@st.composite
def policies(draw: st.DrawFn) -> ComponentPolicy:
    max_copies = draw(st.integers(1, 6))
    rules = []
    for i in range(draw(st.integers(0, 2))):
        start, length = draw(st.integers(0, 1439)), draw(st.integers(1, 1439))
        floor = draw(st.integers(0, max_copies))
        rules.append(
            {
                "name": f"r{i}",
                "timezone": draw(st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"])),
                "days": draw(st.lists(st.sampled_from(DAYS), min_size=1, unique=True)),
                "start": hhmm(start),
                "end": hhmm(start + length),
                "min_copies": floor,
                "max_copies": draw(st.integers(floor, max_copies)),
            }
        )
    raw: dict[str, object] = {
        "max_copies": max_copies,
        "min_copies": draw(st.integers(0, max_copies)),
        "warmup_copies": draw(st.integers(1, max_copies)),
        "schedules": rules,
    }
    if draw(st.booleans()):
        lo = draw(st.integers(0, max_copies))
        raw["outside"] = {"min_copies": lo, "max_copies": draw(st.integers(lo, max_copies))}
    if draw(st.booleans()):
        raw["idle_scale_to_zero_after"] = draw(st.sampled_from(["15m", "30m", "2h"]))
    if draw(st.booleans()):
        raw["high_load"] = {"threshold": 40, "minutes": 3, "step": draw(st.integers(1, 3))}
    try:
        return ComponentPolicy.model_validate(raw)
    except ValidationError:
        reject()


@dataclass(frozen=True)
class Step:
    jump: timedelta
    to_dst_edge: int | None
    trigger: Trigger
    status: str
    write_fails: bool
    override: int | None  # None: leave as is; -1: clear; n: set to n for two hours


triggers = st.one_of(
    st.just(Trigger(TriggerKind.TICK, source="tick")),
    st.just(Trigger(TriggerKind.SCHEDULE, source="schedule:open", rule="e/c/r0")),
    st.sampled_from([Trigger(TriggerKind.ALARM, source="alarm", alarm=kind) for kind in AlarmKind]),
    st.just(Trigger(TriggerKind.MANUAL, source="override")),
)
steps = st.builds(
    Step,
    jump=st.sampled_from([timedelta(minutes=m) for m in (1, 5, 30, 59, 60, 61, 360, 1440, 1441, 10080)]),
    to_dst_edge=st.one_of(st.none(), st.integers(0, len(DST_EDGES) - 1)),
    trigger=triggers,
    status=st.sampled_from(["InService", "InService", "InService", "Updating", "Creating"]),
    write_fails=st.booleans(),
    override=st.one_of(st.none(), st.none(), st.just(-1), st.integers(0, 6)),
)


@settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(
    policy=policies(),
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)),
    copies=st.integers(0, 6),
    other_copies=st.integers(0, 2),
    max_instances=st.integers(0, 2),
    history=st.lists(steps, min_size=1, max_size=25),
)
def test_invariants_hold_over_random_histories(
    policy: ComponentPolicy,
    start: datetime,
    copies: int,
    other_copies: int,
    max_instances: int,
    history: list[Step],
) -> None:
    now = start
    state = ComponentState()
    flan = ComponentObservation("flan", "InService", other_copies, other_copies, TWO_GPU)
    fits = copies_that_fit(G5, max_instances, ONE_GPU, [(TWO_GPU, other_copies)])
    for step in history:
        now = now + step.jump
        if step.to_dst_edge is not None:
            now = DST_EDGES[step.to_dst_edge] + (now - start) % timedelta(hours=2) - timedelta(hours=1)
        if step.override == -1:
            state = replace(state, override_copies=None, override_until=None)
        elif step.override is not None and step.override <= policy.max_copies:
            state = replace(state, override_copies=step.override, override_until=now + timedelta(hours=2))
        overridden = state.override_until is not None and now < state.override_until
        component = ComponentObservation("falcon", step.status, copies, copies, ONE_GPU)
        endpoint = EndpointObservation("e", "ml.g5.24xlarge", max_instances, (component, flan))

        decision = decide(policy, component, endpoint, state, step.trigger, now)
        again = decide(policy, component, endpoint, state, step.trigger, now)
        assert decision == again, "the same state and time must give the same decision"

        bounds = bounds_at(policy, now)
        event(f"{decision.action.value}{' while overridden' if overridden else ''}")  # --hypothesis-show-statistics
        if decision.action == Action.SCALE:
            assert step.status == "InService", "a busy component is never written"
            if overridden:
                assert decision.target == state.override_copies
            elif decision.target > copies:
                assert decision.target <= min(policy.max_copies, bounds.ceiling, max(fits, copies))
            else:
                assert decision.target >= bounds.floor or decision.target >= copies
        if not decision.pin_aas:
            kept = decision.target if decision.action == Action.SCALE else copies
            # Rule 8: AAS never holds a range that lets target tracking take the last copy itself.
            assert decision.aas_min >= min(1, kept, decision.aas_max), "icpilot owns the last copy"
            lowest = max(bounds.floor, 1)
            if decision.aas_min > lowest:
                # Kept for free: AWS bills instances (4 GPUs), and no scale-in to the floor (or 1)
                # beside flan's copies would free one, so AAS keeps every copy.
                def instances(n: int) -> int:
                    return -(-(n * 1 + other_copies * 2) // 4)

                assert decision.aas_min == min(kept, decision.aas_max), "AAS keeps the copies, no more"
                assert all(instances(n) == instances(kept) for n in range(lowest, kept)), "a scale-in frees nothing"
        # Apply it to the world: a failed write changes nothing and leaves the intent pending.
        if decision.action == Action.SCALE and not step.write_fails:
            copies = decision.target
            state = replace(state, pending_target=None, last_action=LastAction.SCALED, last_refusal=decision.refusal)
        elif decision.action == Action.DEFER or (decision.action == Action.SCALE and step.write_fails):
            state = replace(state, pending_target=decision.target, pending_reason=decision.reason)
        else:
            state = replace(state, pending_target=None, last_refusal=decision.refusal)
        assert copies <= max(policy.max_copies, component.desired), "copies never rise above max_copies"
        if overridden and decision.action == Action.SCALE and not step.write_fails:
            assert copies == state.override_copies
