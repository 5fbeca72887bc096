"""Window edges: make the schedule group hold exactly the policy's edges (``plans.schedules``), each
leading by the component's learned time to ready."""

from __future__ import annotations

from datetime import datetime

from ..adapters.scheduler import SchedulerAdapter
from ..domain.decision_types import Trigger
from ..domain.events import EventDraft, EventType
from ..domain.readiness import lead_time
from ..errors import IcpilotError
from ..plans.schedules import desired_schedules
from ..policy.model import Policy
from ..ports import ComponentStore
from .announce import Announcer
from .outcomes import RunSummary


def reconcile_schedules(scheduler: SchedulerAdapter, state: ComponentStore, policy: Policy) -> dict[str, int]:
    """Create, update and delete schedules until the group holds the policy's edges; the counts."""
    # Edges lead by the learned time to ready; the tick's decisions add provisioning time when
    # no instance is free (that needs a full endpoint observation, which the tick makes anyway).
    leads = {
        c: lead_time(cp, state.get(e, c).ready_history, False, policy.endpoints[e].provisioning)
        for e, c, cp in policy.components()
        if cp.schedules
    }
    want = desired_schedules(policy, leads)
    have = scheduler.current()
    counts = {"created": 0, "updated": 0, "deleted": 0, "unchanged": 0}
    for name, spec in want.items():
        if name not in have:
            scheduler.put(spec, exists=False)
            counts["created"] += 1
        elif not spec.same_as(have[name]):
            scheduler.put(spec, exists=True)
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    for name in set(have) - set(want):
        scheduler.delete(name)  # the group is icpilot's own: anything else in it is stale
        counts["deleted"] += 1
    return counts


def reconcile_and_announce(
    scheduler: SchedulerAdapter,
    state: ComponentStore,
    announcer: Announcer,
    policy: Policy,
    summary: RunSummary,
    trigger: Trigger,
    now: datetime,
) -> None:
    """The tick's reconcile: ``SchedulesReconciled`` when anything changed; a failure is reported and
    the tick goes on (it meets the window edges itself)."""
    try:
        summary.schedules = reconcile_schedules(scheduler, state, policy)
    except IcpilotError as exc:
        announcer.fail(summary, f"reconciling window schedules failed (retried next tick): {exc}", trigger, now)
    changed = {k: v for k, v in summary.schedules.items() if k != "unchanged" and v}
    if changed:
        reason = "window schedules follow the policy: " + ", ".join(f"{v} {k}" for k, v in changed.items())
        draft = EventDraft(type=EventType.SCHEDULES_RECONCILED, reason=reason, details=summary.schedules)
        announcer.announce(draft, trigger, now, None, None)
