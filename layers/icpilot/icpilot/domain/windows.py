"""When schedule windows are open, and the Scheduler expressions that mark their edges. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..policy.model import DAYS, ComponentPolicy, ScheduleRule


@dataclass(frozen=True)
class Bounds:
    """Where a component's copy count must stay right now, and which windows say so."""

    floor: int
    ceiling: int
    active_rules: tuple[str, ...]


def _local(day: date, minutes: timedelta, tz: ZoneInfo) -> datetime:
    """The instant of a wall time: 08:00 + 11 h is 19:00 local whatever DST does in between.

    DST rules: a wall time inside a spring-forward gap (02:30 in New York on the second Sunday of
    March does not exist) is the first valid instant after the gap (03:00 EDT), so a window that
    starts in the gap opens when the gap ends and one that ends in it closes there; a window inside
    the gap is empty. A repeated wall time in the fall-back night is its first occurrence (fold=0).
    """
    wall = datetime(day.year, day.month, day.day) + minutes
    when = wall.replace(tzinfo=tz)
    if when.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall:
        return when
    # In a gap: search the first instant whose local wall time is at or after `wall`.
    lo, hi = when.replace(fold=1).astimezone(UTC), when.replace(fold=0).astimezone(UTC)
    lo, hi = min(lo, hi), max(lo, hi)
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0).astimezone(tz)


def rule_active(rule: ScheduleRule, now: datetime) -> bool:
    """Is ``now`` (aware) inside one of the rule's windows?"""
    tz = ZoneInfo(rule.timezone)
    if rule.cron is not None:
        # Active when the rule fired within the last ``window``: the first fire after
        # (now - window) is at or before now.
        fire = rule.schedule.next_after(now - rule.window)
        return fire is not None and fire <= now
    assert rule.start is not None
    start = timedelta(hours=rule.start.hour, minutes=rule.start.minute)
    today = now.astimezone(tz).date()
    # A window that crosses midnight started yesterday; check both start days.
    for day in (today, today - timedelta(days=1)):
        if DAYS[day.weekday()] not in rule.active_days:
            continue
        opens = _local(day, start, tz)
        closes = _local(day, start + rule.window, tz)
        if opens <= now < closes:
            return True
    return False


def bounds_at(policy: ComponentPolicy, now: datetime) -> Bounds:
    """Floor and ceiling at ``now``: the highest active floor and ceiling, else the outside bounds."""
    active = [r for r in policy.schedules if rule_active(r, now)]
    if not active:
        floor, ceiling = policy.outside_bounds
        return Bounds(floor, ceiling, ())
    floor = max(max(r.min_copies for r in active), policy.min_copies)
    ceiling = max(r.max_copies if r.max_copies is not None else policy.max_copies for r in active)
    return Bounds(floor, max(ceiling, floor), tuple(r.name for r in active))  # the floor wins a clash


@dataclass(frozen=True)
class Edge:
    """One EventBridge Scheduler schedule marking a window's opening or closing."""

    rule: str
    edge: str  # "open" | "close"
    expression: str
    timezone: str


def _day_list(days: tuple[str, ...], shift: int) -> str:
    if len(days) == 7:
        return "*"
    return ",".join(DAYS[(DAYS.index(d) + shift) % 7] for d in sorted(days, key=DAYS.index))


def edges(rule: ScheduleRule, lead: timedelta = timedelta(0)) -> list[Edge]:
    """Scheduler expressions for a rule's edges; the open edge fires ``lead`` early (whole minutes).

    A cron rule's close edge is left to the periodic tick (a cron expression plus a duration is
    not a cron expression in general), and so is its lead.
    """
    if rule.cron is not None:
        return [Edge(rule.name, "open", rule.cron_expression, rule.timezone)]
    assert rule.start is not None and rule.end is not None
    start_minute = rule.start.hour * 60 + rule.start.minute - int(lead.total_seconds() // 60)
    # An early start may fall on the previous day(s): shift the days with it.
    day_shift, start_minute = divmod(start_minute, 24 * 60)
    end_minute = rule.end.hour * 60 + rule.end.minute
    crosses_midnight = rule.end <= rule.start

    def cron(minute_of_day: int, days: str) -> str:
        hh, mm = divmod(minute_of_day, 60)
        return f"cron({mm} {hh} ? * {days} *)" if days != "*" else f"cron({mm} {hh} * * ? *)"

    return [
        Edge(rule.name, "open", cron(start_minute, _day_list(rule.active_days, day_shift)), rule.timezone),
        Edge(
            rule.name,
            "close",
            cron(end_minute, _day_list(rule.active_days, 1 if crosses_midnight else 0)),
            rule.timezone,
        ),
    ]


def bounds_with_lead(policy: ComponentPolicy, now: datetime, lead: timedelta) -> Bounds:
    """Bounds now, raised to those of windows opening within ``lead`` (so warm-ups start early)."""
    current = bounds_at(policy, now)
    if lead <= timedelta(0):
        return current
    ahead = bounds_at(policy, now + lead)
    early = tuple(r for r in ahead.active_rules if r not in current.active_rules)
    if not early or ahead.floor <= current.floor:
        return current
    return Bounds(
        ahead.floor,
        max(current.ceiling, ahead.ceiling),
        current.active_rules + tuple(f"{r} (opens within {lead})" for r in early),
    )
