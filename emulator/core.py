"""The emulator's process-wide state and its time loop.

One ``Emulator`` per process (``EMULATOR``): the clock, the model settings, the fault injector and
the dispatcher that hands due schedules and rule targets to in-process Lambda handlers. Per-account
state (endpoints, components) lives on moto's SageMaker backend, so ``moto``'s reset clears it.

What else happens on the clock registers as a ``TimeHook`` (``add_hook``, in ``emulator.install``):
AAS scheduled actions, the dispatcher, periodic alarm evaluation. The core imports none of them;
they import the core.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Protocol

from moto.sagemaker.models import SageMakerModelBackend, sagemaker_backends

from .clock import ClockMode, EmulatorClock
from .dispatcher import Dispatcher
from .faults import FaultInjector
from .locking import HandOverLock
from .realism import Realism
from .world import ComponentSettings, EmulatorSettings, World

_WORLD_ATTR = "_icpilot_emulator_world"


class TimeHook(Protocol):
    """Something that happens on the emulator clock, after the worlds have moved to ``now``."""

    def due_after(self, now: datetime) -> datetime | None:
        """When it next wants to run after ``now`` (None: only when something else wakes the loop)."""

    def run(self, now: datetime) -> None:
        """Do what is due at ``now``."""

    def reset(self) -> None:
        """Forget everything (a fresh emulated world)."""


class Emulator:
    def __init__(self) -> None:
        self.lock = HandOverLock()
        self.stepping = threading.RLock()  # one clock step at a time (emulator.locking)
        self.clock = EmulatorClock()
        self.settings = EmulatorSettings()
        self.faults = FaultInjector()
        self.realism = Realism()  # AWS-like latency and rate limits; off unless a run turns them on
        self.dispatcher = Dispatcher(self.clock, self.lock, self._step)
        self.alarm_evaluation_interval: float | None = None  # seconds; None: alarms evaluated on request
        self._hooks: list[tuple[int, TimeHook]] = [(20, self.dispatcher)]

    def add_hook(self, hook: TimeHook, order: int) -> None:
        """Run ``hook`` at every step of the clock, hooks in ``order`` (AAS 10, dispatcher 20, alarms 30)."""
        if all(h is not hook for _, h in self._hooks):
            self._hooks = sorted([*self._hooks, (order, hook)], key=lambda item: item[0])

    def reset(self, mode: ClockMode = "virtual", start: datetime | None = None) -> None:
        """Forget everything the emulator adds (moto's own reset clears the AWS state)."""
        with self.lock:
            self.clock.reset(mode, start)
            self.settings = EmulatorSettings()
            self.faults.reset()
            self.realism.configure()
            for _, hook in self._hooks:
                hook.reset()
            self.alarm_evaluation_interval = None

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
        with self._step(), self.lock:
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
        with self._step(), self.lock:
            self._run_at(self.clock.now())

    @contextmanager
    def _step(self) -> Iterator[None]:
        """Hold the stepping lock; wait for another thread's step with the emulator's lock handed over
        (that step's handlers may need it)."""
        with self.lock.handed_over():
            self.stepping.acquire()
        try:
            yield
        finally:
            self.stepping.release()

    def _next_event_after(self, now: datetime) -> datetime | None:
        candidates = [t for w in self.worlds() if (t := w.next_event_after(now)) is not None]
        candidates += [t for _, hook in self._hooks if (t := hook.due_after(now)) is not None]
        return min(candidates) if candidates else None

    def _run_at(self, t: datetime) -> None:
        if t > self.clock.now():
            self.clock.set(t)
        for world in self.worlds():
            world.sync(t)
        for _, hook in self._hooks:
            hook.run(t)


EMULATOR = Emulator()
