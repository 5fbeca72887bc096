"""A pass that runs out of Lambda time stops starting components, says so, and the next pass
starts elsewhere, so no component is starved."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import time_machine
from icpilot.controller import Outcome
from icpilot.runtime import build_controller
from icpilot.settings import Settings

from emulator import Emulator
from emulator.stack import Stack


@dataclass
class ShrinkingContext:
    """A Lambda context whose remaining time drops below the margin after ``calls`` looks (a tick
    looks before each endpoint and before each component it starts)."""

    calls: int
    seen: list[int] = field(default_factory=list)

    def get_remaining_time_in_millis(self) -> int:
        self.seen.append(1)
        return 250_000 if len(self.seen) <= self.calls else 10_000


def test_out_of_time_postpones_the_rest_and_the_next_tick_starts_elsewhere(stack: Stack, emu: Emulator) -> None:
    emu.advance(56 * 60)  # 07:00Z: both components want copies
    with time_machine.travel(emu.now(), tick=True):
        summary = build_controller(Settings.from_env(), context=ShrinkingContext(calls=2)).on_tick(emu.now())
    results = [o.result for o in summary.outcomes]
    assert results.count(Outcome.POSTPONED) == 1 and not summary.ok
    assert "postponed to the next run" in summary.errors[0]
    first_done = summary.outcomes[0].component
    events = stack.lifecycle_events()
    assert any(e["type"] == "ActionFailed" and "out of time" in e["reason"] for e in events)
    # A minute later the order has turned: the postponed component goes first.
    later = emu.now() + timedelta(minutes=1)
    with time_machine.travel(later, tick=True):
        again = build_controller(Settings.from_env(), context=ShrinkingContext(calls=2)).on_tick(later)
    assert again.outcomes[0].component != first_done


def test_configure_out_of_time_leaves_the_rest_to_its_next_run_and_deletes_none_of_their_alarms(
    stack: Stack, emu: Emulator
) -> None:
    """Configure stops starting components near the Lambda's timeout and says so; the components it
    did not reach keep their alarms (not looked at is not stale), and the next run goes on."""
    import boto3

    def alarms() -> set[str]:
        cw = boto3.client("cloudwatch", region_name="us-east-1")
        return {a["AlarmName"] for a in cw.describe_alarms(AlarmNamePrefix="icpilot-")["MetricAlarms"]}

    with time_machine.travel(emu.now(), tick=False):
        assert build_controller(Settings.from_env()).configure(emu.now()).ok
        before = alarms()
        assert {name.split("-")[1] for name in before} >= {"falcon", "flan"}
        short = build_controller(Settings.from_env(), context=ShrinkingContext(calls=1)).configure(emu.now())
        assert not short.ok and "configure ran out of time with 1 of 2 components left" in short.errors[0]
        assert alarms() == before  # the postponed component's alarms stand
        events = stack.lifecycle_events()
        assert any(e["type"] == "ActionFailed" and "configure ran out of time" in e["reason"] for e in events)
        assert build_controller(Settings.from_env()).configure(emu.now()).ok
