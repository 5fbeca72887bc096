"""Windows that open together across a fleet, and how long their warm-ups take to write. Pure.

AWS limits copy-count writes per account and region, and icpilot paces them (``WriteRates``).
When many components' windows open at the same instant, their warm-ups queue behind one another:
2,000 of them at 4 writes a second take 500 s, so the last would be written 8 minutes into its
lead and ready 8 minutes late. Every component of such a burst therefore starts its warm-up
earlier by the time the whole burst takes to write and a minute more (``burst_lead``, added to
the lead time), and the schedules that mark the opening let EventBridge Scheduler spread the
burst's invocations over the write time (a flexible time window, ``spread``), so they arrive at
about the rate the account allows and the last still has a minute to write.
"""

from __future__ import annotations

import math
from datetime import timedelta

from ..policy.model import Policy, ScheduleRule


def _opening(rule: ScheduleRule) -> tuple[str, str, str]:
    """Rules with the same key open at the same instants: the same wall time in the same zone
    (on the days they share; counted as together on all of them, the safe side)."""
    if rule.cron is not None:
        return ("cron", rule.cron_expression, rule.timezone)
    assert rule.start is not None
    return ("days", rule.start.isoformat(), rule.timezone)


def opening_together(policy: Policy) -> dict[str, int]:
    """For each component with a window that raises its floor: how many components (itself
    included, on every endpoint: the write limit is the account's) have a window opening with
    one of its own, the most over its windows."""
    members: dict[tuple[str, str, str], set[str]] = {}
    for _, component, cp in policy.components():
        for rule in cp.schedules:
            if rule.min_copies > 0:  # a window with no floor writes nothing when it opens
                members.setdefault(_opening(rule), set()).add(component)
    together: dict[str, int] = {}
    for components in members.values():
        for component in components:
            together[component] = max(together.get(component, 0), len(components))
    return together


def burst_lead(together: int, writes_per_second: float | None) -> timedelta:
    """The time ``together`` copy-count writes take at the paced rate, in whole minutes rounded
    up, and one minute more: the invocations Scheduler spreads over the write time (``spread``)
    each need their own seconds to observe and write, and the last lands at the spread's end.
    None when writes are not paced (no rate to reckon with) and none for a burst written within
    a minute: edges and ticks work in whole minutes, so it lands in the lead's own minute."""
    if not writes_per_second or together <= 0:
        return timedelta(0)
    seconds = together / writes_per_second
    return timedelta(minutes=math.ceil(seconds / 60) + 1) if seconds >= 60 else timedelta(0)


def spread(lead: timedelta) -> timedelta:
    """The flexible time window over which Scheduler spreads a burst's opening invocations: its
    lead less the last minute, left for the writes of the invocations that land late in it."""
    return max(timedelta(0), lead - timedelta(minutes=1))


def burst_leads(policy: Policy, writes_per_second: float | None) -> dict[str, timedelta]:
    """``burst_lead`` of every component whose windows open with others' (absent: none)."""
    leads = {c: burst_lead(n, writes_per_second) for c, n in opening_together(policy).items()}
    return {c: lead for c, lead in leads.items() if lead > timedelta(0)}
