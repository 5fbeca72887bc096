"""Standing alarms: an alarm that stays in ALARM gets no new EventBridge event, so the tick acts
on it again under these rules. Pure: no AWS, no clock.

- idle: while the alarm stands (no invocations for the idle delay), decide again each tick: one
  copy fewer while the component is above the floor in force, zero once nothing holds it (an idle
  alarm that went to ALARM while a window's floor held the copies never fires again by itself);
- quiet (``consolidate_after``): acted on by the tick only, which reads every quiet alarm of the
  endpoint in one listing: the copies the quiet components give up to free an instance (an alarm
  event for it alone would not know its peers');
- high-load: add ``step`` more copies, one scale-out cooldown after icpilot's last action, while
  the load lasts (the cooldown is the target-tracking one when the policy has it, else 60 s);
- no-capacity: only after icpilot declined the warm-up (``domain.warming``), and once the alarm
  has stood ``LASTING_DEMAND`` (requests failing in every minute of five in a row are demand that
  lasts, not a lone request): the tick warms the component then. Otherwise never again from the
  tick (scale-from-zero is a one-shot, and the alarm clears once a copy serves).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..policy.model import ComponentPolicy, parse_duration
from .decision_types import AlarmKind

DEFAULT_SCALE_OUT_COOLDOWN = timedelta(seconds=60)
# A no-capacity alarm in ALARM this long (a failure in every minute: its period is one minute, and
# a minute without one sets it back to OK) is demand that lasts. Shorter runs happen by chance in a
# trickle (two lone requests a minute apart), and those are what a declined warm-up declined.
LASTING_DEMAND = timedelta(minutes=5)


def followed(policy: ComponentPolicy) -> list[AlarmKind]:
    """The component's alarms the tick looks at while they stay in ALARM."""
    kinds = [AlarmKind.HIGH_LOAD] if policy.high_load else []
    if policy.predictive.mode == "scale":  # a warm-up may be declined (domain.warming)
        kinds.append(AlarmKind.NO_CAPACITY)
    if policy.idle_scale_to_zero_after is not None:
        kinds.append(AlarmKind.IDLE)
    return kinds + ([AlarmKind.QUIET] if policy.quiet_delay is not None else [])


def acts_again(
    kind: AlarmKind,
    policy: ComponentPolicy,
    now: datetime,
    last_action_at: datetime | None,
    declined: bool = False,
    alarm_since: datetime | None = None,
) -> bool:
    """Whether the tick acts on the component's ``kind`` alarm that is still in ALARM (``declined``:
    icpilot's last word on the component was a declined warm-up, ``declined_warm_up``;
    ``alarm_since``: when the alarm went to ALARM)."""
    if kind == AlarmKind.NO_CAPACITY:
        return declined and alarm_since is not None and now - alarm_since >= LASTING_DEMAND
    if kind in (AlarmKind.IDLE, AlarmKind.QUIET):
        return True  # decide() judges: one copy fewer above a floor, zero without one, else nothing;
        # quiet: what the quiet components give up to free an instance, else nothing
    # high-load
    if last_action_at is None:
        return True
    cooldown = (
        parse_duration(policy.autoscaling.scale_out_cooldown) if policy.autoscaling else DEFAULT_SCALE_OUT_COOLDOWN
    )
    return now - last_action_at >= cooldown
