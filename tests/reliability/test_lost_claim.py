"""A trigger that loses its conditional claim to another write decides again (issue 14): the
scale-from-zero stands and nothing was announced for the attempt that lost."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from icpilot.adapters.state import StateStore

from emulator import Emulator
from emulator.stack import REGION, Stack


def test_a_lost_claim_is_decided_again_and_announced_once(
    stack: Stack, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = StateStore.write
    raced: list[int] = []

    def write_losing_the_first_claim(
        self: StateStore, endpoint: str, component: str, expected: int, **fields: Any
    ) -> int:
        if fields.get("last_action") == "scaling" and not raced:
            # Another writer (the watcher settling an earlier transition) gets in first.
            raced.append(real_write(self, endpoint, component, expected, last_action="settled"))
        return real_write(self, endpoint, component, expected, **fields)

    monkeypatch.setattr(StateStore, "write", write_losing_the_first_claim)
    stack.lifecycle_events()
    alarm = stack.alarm_event("alarm_scale_no_capacity.json")  # flan-t5-xxl, at zero copies
    summary = stack.invoke("alarm-scale", alarm)
    assert raced, "the race was not staged"
    assert summary["outcomes"][0]["result"] == "scaled", summary
    sm = boto3.client("sagemaker", region_name=REGION)
    assert (
        sm.describe_inference_component(InferenceComponentName="flan-t5-xxl")["RuntimeConfig"]["DesiredCopyCount"] == 1
    )
    events = [e["type"] for e in stack.lifecycle_events() if e["component"] == "flan-t5-xxl"]
    assert events.count("WarmUpStarted") == 1 and events.count("ScaleRequested") == 1


def test_a_demand_whose_rate_limit_claim_loses_to_another_write_still_acts(
    stack: Stack, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the demand was dropped with an untrue "another invocation is handling it" and the
    component stayed at zero. Now the claim is read and made again; only a demand handled within
    the interval rate-limits."""
    real_write = StateStore.write
    raced: list[int] = []

    def write_losing_the_first_demand_claim(
        self: StateStore, endpoint: str, component: str, expected: int, **fields: Any
    ) -> int:
        if "last_demand_at" in fields and not raced:
            # The watcher settling an earlier transition writes the item first.
            raced.append(real_write(self, endpoint, component, expected, last_action="settled"))
        return real_write(self, endpoint, component, expected, **fields)

    monkeypatch.setattr(StateStore, "write", write_losing_the_first_demand_claim)
    summary = stack.invoke("demand-signal", stack.handler_event("demand_signal.json"))  # flan-t5-xxl at zero
    assert raced, "the race was not staged"
    assert summary["outcomes"][0]["result"] == "scaled", summary
    sm = boto3.client("sagemaker", region_name=REGION)
    assert (
        sm.describe_inference_component(InferenceComponentName="flan-t5-xxl")["RuntimeConfig"]["DesiredCopyCount"] == 1
    )
