"""Window edges: make the schedule group hold exactly the policy's edges (``plans.schedules``), each
leading by the component's learned time to ready."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from aws_lambda_powertools import Logger

from ..adapters.scheduler import SchedulerAdapter
from ..domain.bursts import burst_leads
from ..domain.decision_types import Trigger
from ..domain.events import EventDraft, EventType
from ..domain.readiness import lead_time
from ..errors import IcpilotError
from ..plans.schedules import ScheduleSpec, desired_schedules
from ..policy.model import Policy
from ..ports import ComponentStore, ScheduleLedger, State
from .announce import Announcer
from .outcomes import RunSummary

logger = Logger(service="icpilot", child=True)


def reconcile_schedules(
    scheduler: SchedulerAdapter,
    state: State,
    policy: Policy,
    writes_per_second: float | None = None,
    now: datetime | None = None,
) -> dict[str, int]:
    """Create, update and delete schedules until the group holds the policy's edges; the counts.
    ``writes_per_second``: the paced copy-count write rate (``domain.bursts``; None: not paced).
    ``now``: a group found as the last reconcile left it, within the same hour, is not read
    schedule by schedule (None: always read)."""
    # Edges lead by the learned time to ready, and by the time the burst of warm-ups a window
    # opens in takes to write, over which Scheduler spreads it; the tick's decisions add
    # provisioning time when no instance is free (that needs a full endpoint observation, which
    # the tick makes anyway).
    bursts = burst_leads(policy, writes_per_second)
    scheduled = [(e, c, cp) for e, c, cp in policy.components() if cp.schedules]
    stored = _histories(state, [(e, c) for e, c, _ in scheduled])
    leads = {
        c: lead_time(cp, stored.get((e, c), ()), False, policy.endpoints[e].provisioning, bursts.get(c, timedelta(0)))
        for e, c, cp in scheduled
    }
    want = desired_schedules(policy, leads, bursts)
    listing = scheduler.listing()
    if now is not None and _last_fingerprint(state) == _fingerprint(want, listing, now):  # nothing changed
        return {"created": 0, "updated": 0, "deleted": 0, "unchanged": len(want)}
    have = scheduler.current(list(listing))
    created = [spec for name, spec in want.items() if name not in have]
    updated = [spec for name, spec in want.items() if name in have and not spec.same_as(have[name])]
    stale = sorted(set(have) - set(want))  # the group is icpilot's own: anything else in it is stale
    scheduler.apply([(spec, False) for spec in created] + [(spec, True) for spec in updated], stale)
    counts = {
        "created": len(created),
        "updated": len(updated),
        "deleted": len(stale),
        "unchanged": len(want) - len(created) - len(updated),
    }
    if created or updated or stale:
        listing = scheduler.listing()  # as the writes left it
    try:
        if now is not None:
            state.remember_schedules(_fingerprint(want, listing, now))
    except IcpilotError as exc:  # the next reconcile reads every schedule again; nothing is lost
        logger.warning("schedule fingerprint not kept", extra={"error": str(exc)})
    return counts


def _fingerprint(want: dict[str, ScheduleSpec], listing: dict[str, str], now: datetime) -> str:
    """The wanted schedules, the group as listed (names and when each was last modified) and the
    hour: a schedule changed by anyone since, a policy or lead that changed, a schedule added or
    deleted, each changes it, and only then must every schedule be read (one GetSchedule each).
    The hour bounds what a change within the second of icpilot's own write (the same modification
    time) could hide: every schedule is read at least once an hour."""
    wanted = [(n, s.expression, s.timezone, s.payload, s.flexible_minutes) for n, s in sorted(want.items())]
    hour = now.astimezone(UTC).strftime("%Y-%m-%dT%H")
    text = json.dumps([wanted, sorted(listing.items()), hour], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _last_fingerprint(state: ScheduleLedger) -> str | None:
    try:
        return state.schedules_fingerprint()
    except IcpilotError as exc:  # read every schedule, as without one
        logger.warning("schedule fingerprint unreadable", extra={"error": str(exc)})
        return None


def _histories(state: ComponentStore, keys: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[float, ...]]:
    """The learned times to ready of ``keys``, read in batches (one by one if a batch fails). An
    item that is not there (or does not read back) has none: its edge leads by the estimate."""
    try:
        found = state.get_many(keys)
    except IcpilotError:
        found = {key: state.get(*key) for key in keys}
    return {key: tuple(stored.ready_history) for key, stored in found.items()}


def reconcile_and_announce(
    scheduler: SchedulerAdapter,
    state: State,
    announcer: Announcer,
    policy: Policy,
    summary: RunSummary,
    trigger: Trigger,
    now: datetime,
    writes_per_second: float | None = None,
) -> None:
    """The tick's reconcile: ``SchedulesReconciled`` when anything changed; a failure is reported and
    the tick goes on (it meets the window edges itself)."""
    try:
        summary.schedules = reconcile_schedules(scheduler, state, policy, writes_per_second, now)
    except IcpilotError as exc:
        announcer.fail(summary, f"reconciling window schedules failed (retried next tick): {exc}", trigger, now)
    changed = {k: v for k, v in summary.schedules.items() if k != "unchanged" and v}
    if changed:
        reason = "window schedules follow the policy: " + ", ".join(f"{v} {k}" for k, v in changed.items())
        draft = EventDraft(type=EventType.SCHEDULES_RECONCILED, reason=reason, details=summary.schedules)
        announcer.announce(draft, trigger, now, None, None)
