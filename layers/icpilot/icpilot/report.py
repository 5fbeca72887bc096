"""Copy-hours and accelerator-hours from recorded transitions, against always-on. Pure.

A component's copies are piecewise constant between transitions ``[time, from, to]``. Over a
period [since, until] the count at ``since`` is the last transition's ``to`` before it, or the
first later transition's ``from`` (nothing changed before that), or the current count when there
was no transition at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Usage:
    component: str
    copy_hours: float
    accelerator_hours: float
    always_on_copy_hours: float
    always_on_accelerator_hours: float
    changes: int

    @property
    def saved_fraction(self) -> float:
        return (
            1 - self.accelerator_hours / self.always_on_accelerator_hours if self.always_on_accelerator_hours else 0.0
        )


def copy_hours(transitions: list[list[object]], since: datetime, until: datetime, current: int) -> tuple[float, int]:
    """(copy-hours in [since, until], number of changes in it)."""
    points = sorted((datetime.fromisoformat(str(t)), int(str(f)), int(str(to))) for t, f, to in transitions)
    before = [p for p in points if p[0] <= since]
    inside = [p for p in points if since < p[0] <= until]
    if before:
        count = before[-1][2]
    elif inside:
        count = inside[0][1]
    else:
        count = current
    total, t = 0.0, since
    for when, _from, to in inside:
        total += count * (when - t).total_seconds() / 3600
        count, t = to, when
    total += count * (until - t).total_seconds() / 3600
    return total, len(inside)


def usage(
    component: str,
    transitions: list[list[object]],
    since: datetime,
    until: datetime,
    current: int,
    accelerators: float,
    ceiling: int,
) -> Usage:
    hours, changes = copy_hours(transitions, since, until, current)
    span = (until - since).total_seconds() / 3600
    per_copy = accelerators or 1.0  # CPU-only components: count copies
    return Usage(
        component,
        round(hours, 3),
        round(hours * per_copy, 3),
        round(ceiling * span, 3),
        round(ceiling * span * per_copy, 3),
        changes,
    )
