"""The emulator's process-wide state and its time loop.

One ``Emulator`` per process (``EMULATOR``): the clock, the model settings, the fault injector and
the dispatcher that hands due schedules and rule targets to in-process Lambda handlers. Per-account
state (endpoints, components) lives on moto's SageMaker backend, so ``moto``'s reset clears it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from moto.sagemaker.models import SageMakerModelBackend, sagemaker_backends

from .clock import ClockMode, EmulatorClock
from .faults import FaultInjector
from .world import ComponentSettings, EmulatorSettings, World

if TYPE_CHECKING:
    from .dispatcher import Dispatcher

_WORLD_ATTR = "_icpilot_emulator_world"


class Emulator:
    def __init__(self) -> None:
        from .dispatcher import Dispatcher

        self.lock = threading.RLock()
        self.clock = EmulatorClock()
        self.settings = EmulatorSettings()
        self.faults = FaultInjector()
        self.dispatcher: Dispatcher = Dispatcher(self)
        self.alarm_evaluation_interval: float | None = None
        self._last_alarm_evaluation: datetime | None = None

    def reset(self, mode: ClockMode = "virtual", start: datetime | None = None) -> None:
        """Forget everything the emulator adds (moto's own reset clears the AWS state)."""
        with self.lock:
            self.clock.reset(mode, start)
            self.settings = EmulatorSettings()
            self.faults.reset()
            self.dispatcher.reset()
            self.alarm_evaluation_interval = None
            self._last_alarm_evaluation = None

    def configure_component(self, name: str, **values: float | int | str | None) -> None:
        """Per-component model timings, e.g. ``model_load_seconds=480`` for a large LLM."""
        self.settings.components[name] = ComponentSettings(**values)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ worlds
    def world(self, backend: SageMakerModelBackend) -> World:
        world = backend.__dict__.get(_WORLD_ATTR)
        if world is None:
            world = World(self.settings, self.clock.now())
            backend.__dict__[_WORLD_ATTR] = world
        world.settings = self.settings
        world.sync(self.clock.now())
        return world

    def world_for(self, account_id: str, region: str) -> World:
        return self.world(sagemaker_backends[account_id][region])

    def worlds(self) -> Iterator[World]:
        for _account, regions in list(sagemaker_backends.items()):
            for _region, backend in list(regions.items()):
                world = backend.__dict__.get(_WORLD_ATTR)
                if world is not None:
                    yield world

    # -------------------------------------------------------------------- time
    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, seconds: float) -> datetime:
        """Move virtual time forward, firing everything that falls due on the way, in order."""
        if seconds < 0:
            raise ValueError("advance takes a non-negative number of seconds")
        with self.lock:
            target = self.clock.now() + timedelta(seconds=seconds)
            while True:
                now = self.clock.now()
                nxt = self._next_event_after(now)
                if nxt is None or nxt > target:
                    break
                self._run_at(nxt)
            self._run_at(target)
            return self.clock.now()

    def tick(self) -> None:
        """Process what is due at the current time (the wall-clock server calls this)."""
        with self.lock:
            self._run_at(self.clock.now())

    def _next_event_after(self, now: datetime) -> datetime | None:
        candidates = [t for w in self.worlds() if (t := w.next_event_after(now)) is not None]
        if (t := self.dispatcher.next_due_after(now)) is not None:
            candidates.append(t)
        if self.alarm_evaluation_interval:
            last = self._last_alarm_evaluation or now
            candidates.append(
                max(last + timedelta(seconds=self.alarm_evaluation_interval), now + timedelta(microseconds=1))
            )
        return min(candidates) if candidates else None

    def _run_at(self, t: datetime) -> None:
        if t > self.clock.now():
            self.clock.set(t)
        for world in self.worlds():
            world.sync(t)
        from .aas_ext import run_scheduled_actions  # aas_ext reads EMULATOR: imported late

        run_scheduled_actions(t)
        self.dispatcher.fire_due(t)
        if self.alarm_evaluation_interval:
            due = (
                self._last_alarm_evaluation is None
                or (t - self._last_alarm_evaluation).total_seconds() >= self.alarm_evaluation_interval
            )
            if due:
                from .alarms import evaluate_alarms

                self._last_alarm_evaluation = t
                evaluate_alarms()


EMULATOR = Emulator()
