"""Fuzzed input: random and truncated events for every function, random policy files.

Every handler answers a bad event with a clear rejection (and a TriggerRejected event where the
event asked for an action) and never raises: a raise would make Scheduler or EventBridge retry a
hopeless event. Every policy text either loads or fails with PolicyError naming the problem.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icpilot.errors import PolicyError
from icpilot.policy.loader import load_policy_text

from emulator import Emulator
from emulator.stack import Stack
from tests.strength import examples

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_POLICY = (ROOT / "tests" / "policy.yaml").read_text()
EVENTS = {p.name: json.loads(p.read_text()) for p in sorted((ROOT / "events").glob("*.json"))}
FUNCTIONS = {
    "schedule-window": [
        "schedule_window_open.json",
        "schedule_window_close.json",
        "schedule_window_open_together.json",
    ],
    "alarm-scale": ["alarm_scale_no_capacity.json", "alarm_scale_direct.json", "alarm_scale_idle.json"],
    "watch-tick": ["watch_tick.json", "watch_tick_cfn_create.json"],
    "configure-autoscaling": ["configure_autoscaling.json"],
    "watch-warmups": ["watch_warmups.json"],
    "demand-signal": ["demand_signal.json"],
}
# Functions that act only on what the event asks for: a bad event is rejected and reported.
ACTS_ON_THE_EVENT = {"schedule-window", "alarm-scale", "demand-signal"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


def mutate(value: Any, data: st.DataObject) -> Any:
    """Drop, retype or replace one field somewhere in an event (or truncate its JSON text)."""
    if isinstance(value, dict) and value and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(value)))
        out = dict(value)
        choice = data.draw(st.sampled_from(["drop", "replace", "recurse"]))
        if choice == "drop":
            del out[key]
        elif choice == "replace":
            out[key] = data.draw(json_values)
        else:
            out[key] = mutate(out[key], data)
        return out
    if data.draw(st.booleans()):
        text = json.dumps(value)
        cut = data.draw(st.integers(0, max(0, len(text) - 1)))
        try:
            return json.loads(text[:cut])
        except ValueError:
            return text[:cut]  # a truncated payload arrives as a string
    return data.draw(json_values)


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_fuzzed_events_get_a_clear_answer_never_a_crash(stack: Stack, emu: Emulator, function: str) -> None:
    """raise_errors is on (the stack fixture): any exception from a handler fails the test."""
    seen = {"rejected": 0, "acted": 0, "announced": 0}

    @settings(max_examples=examples(40), deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        base = copy.deepcopy(EVENTS[data.draw(st.sampled_from(FUNCTIONS[function]))])
        event = mutate(base, data)
        if isinstance(event, dict) and "RequestType" in event:
            event["ResponseURL"] = "local"  # never answer a real CloudFormation URL from a test
        stack.lifecycle_events()
        result = stack.invoke(function, event)
        assert isinstance(result, dict), f"{function} returned {result!r} for {event!r}"
        ok = result.get("ok", True)
        rejected = [o for o in result.get("outcomes", []) if o["result"] == "rejected"] or result.get("rejected")
        if rejected:
            seen["rejected"] += 1
            events = stack.lifecycle_events()
            seen["announced"] += sum(e["type"] == "TriggerRejected" for e in events)
            assert all(o.get("reason") for o in result.get("outcomes", [])), f"a rejection says why: {result}"
        else:
            seen["acted"] += 1
        assert ok in (True, False)

    run()
    print(f"{function}: {seen['rejected']} fuzzed events rejected, {seen['acted']} acted on")
    if function in ACTS_ON_THE_EVENT:
        # Rejections are announced once an hour per cause (a flood is one notification), not per event.
        assert seen["rejected"] > 0 and seen["announced"] > 0


def test_non_object_events_are_answered(stack: Stack) -> None:
    for function in FUNCTIONS:
        for event in ([], "tick", 7, None, [{"rule": "x"}]):
            assert isinstance(stack.invoke(function, event), dict), (function, event)


# ------------------------------------------------------------------ policies
@settings(max_examples=examples(300), deadline=None)
@given(text=st.text(max_size=400))
def test_random_text_is_a_policy_error_or_a_policy(text: str) -> None:
    try:
        load_policy_text(text, "fuzz")
    except PolicyError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


@settings(max_examples=examples(400), deadline=None)
@given(data=st.data())
def test_mutated_example_policies_load_or_name_the_problem(data: st.DataObject) -> None:
    """One field of the shipped policy dropped or replaced by anything: a policy or a PolicyError
    whose problems name where it is."""
    policy = yaml.safe_load(EXAMPLE_POLICY)
    path = data.draw(st.sampled_from(_paths(policy)[1:]))
    parent = policy
    for key in path[:-1]:
        parent = parent[key]
    if data.draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(json_values)
    try:
        load_policy_text(yaml.safe_dump(policy), "fuzz")
    except PolicyError as exc:
        assert exc.problems
        text = " ".join(exc.problems)
        assert any(str(part) in text for part in path) or "mapping" in text or "policy" in text, (path, exc.problems)
