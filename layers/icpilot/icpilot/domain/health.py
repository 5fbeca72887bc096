"""icpilot watching itself: the stack's health alarms and what each one's change means. Pure.

template.yaml creates one CloudWatch alarm per check, named ``<stack>.health.<check>`` (not
``icpilot-…``, so configure and the alarm rule, which own the ``icpilot-`` alarms, never touch
them). Each invokes the health function directly, which announces ``ControllerUnhealthy`` when the
alarm goes to ALARM and ``ControllerRecovered`` when it comes back to OK.
"""

from __future__ import annotations

from enum import StrEnum

from .events import EventDraft, EventType


class HealthCheck(StrEnum):
    DEAD_LETTERS = "dead-letters"
    ERRORS = "errors"
    THROTTLES = "throttles"
    TICK_SILENT = "tick-silent"
    WATCHER_SILENT = "watcher-silent"


# Checks that alarm on a function not running (missing data is breaching).
SILENCE_CHECKS = frozenset({HealthCheck.TICK_SILENT, HealthCheck.WATCHER_SILENT})

# What the check measures, and what an operator does when it fails.
MEANING: dict[HealthCheck, tuple[str, str]] = {
    HealthCheck.DEAD_LETTERS: (
        "undeliverable work is waiting in the dead-letter queue (triggers that failed every retry, or "
        "lifecycle events SNS refused)",
        "read the queue (its URL is the stack output DeadLetterQueueUrl): each message names the trigger "
        "and the error; fix the cause, then delete the messages",
    ),
    HealthCheck.ERRORS: (
        "one of icpilot's functions raised an unhandled error",
        "search the named functions' logs for ERROR; an error each run usually means a permission or a "
        "broken deployment",
    ),
    HealthCheck.THROTTLES: (
        "Lambda throttled one of icpilot's functions (the account's concurrency is used up)",
        "raise the account's Lambda concurrency or give icpilot reserved concurrency",
    ),
    HealthCheck.TICK_SILENT: (
        "the tick has not run for three of its periods, so deferred intents and window floors wait",
        "check the stack's TickSchedule in EventBridge Scheduler and the scheduler role",
    ),
    HealthCheck.WATCHER_SILENT: (
        "the warm-up watcher has not run for three minutes, so warm-ups are not confirmed",
        "check the stack's WatchSchedule in EventBridge Scheduler and the scheduler role",
    ),
}


def health_alarm_name(stack: str, check: HealthCheck) -> str:
    """The name template.yaml gives the check's alarm."""
    return f"{stack}.health.{check}"


def health_check_of(alarm_name: str, stack: str) -> HealthCheck | None:
    """The check ``alarm_name`` is this stack's alarm for; None for any other alarm."""
    prefix = f"{stack}.health."
    if not alarm_name.startswith(prefix):
        return None
    try:
        return HealthCheck(alarm_name[len(prefix) :])
    except ValueError:
        return None


def health_event(
    check: HealthCheck,
    alarm_name: str,
    state: str,
    previous: str,
    changed_at: str,
    state_reason: str,
    functions: tuple[str, ...] = (),
) -> EventDraft | None:
    """The event an alarm change is: ALARM → ControllerUnhealthy; ALARM → OK → ControllerRecovered;
    any other change (INSUFFICIENT_DATA at creation, OK at creation) says nothing. The event id is the
    fact (alarm, state, time), so a redelivered invocation announces the same event."""
    what, todo = MEANING[check]
    details: dict[str, object] = {"check": str(check), "alarm": alarm_name, "alarm_reason": state_reason}
    if functions:
        details["functions"] = list(functions)
    fact = f"health:{alarm_name}:{state}:{changed_at}"
    if state == "ALARM":
        named = f" ({', '.join(functions)})" if functions else ""
        return EventDraft(
            type=EventType.CONTROLLER_UNHEALTHY,
            reason=f"{check}: {what}{named}. What to do: {todo}",
            details={**details, "what_to_do": todo},
            fact=fact,
        )
    if state == "OK" and previous == "ALARM":
        return EventDraft(
            type=EventType.CONTROLLER_RECOVERED, reason=f"{check}: healthy again", details=details, fact=fact
        )
    return None
