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
    """A Lambda context whose remaining time drops below the margin after ``calls`` looks."""

    calls: int
    seen: list[int] = field(default_factory=list)

    def get_remaining_time_in_millis(self) -> int:
        self.seen.append(1)
        return 250_000 if len(self.seen) <= self.calls else 10_000


def test_out_of_time_postpones_the_rest_and_the_next_tick_starts_elsewhere(stack: Stack, emu: Emulator) -> None:
    emu.advance(56 * 60)  # 07:00Z: both components want copies
    with time_machine.travel(emu.now(), tick=True):
        summary = build_controller(Settings.from_env(), context=ShrinkingContext(calls=1)).on_tick(emu.now())
    results = [o.result for o in summary.outcomes]
    assert results.count(Outcome.POSTPONED) == 1 and not summary.ok
    assert "postponed to the next run" in summary.errors[0]
    first_done = summary.outcomes[0].component
    events = stack.lifecycle_events()
    assert any(e["type"] == "ActionFailed" and "out of time" in e["reason"] for e in events)
    # A minute later the order has turned: the postponed component goes first.
    later = emu.now() + timedelta(minutes=1)
    with time_machine.travel(later, tick=True):
        again = build_controller(Settings.from_env(), context=ShrinkingContext(calls=1)).on_tick(later)
    assert again.outcomes[0].component != first_done
