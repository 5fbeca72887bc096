"""What each kind of subscriber reads. Pure.

One lifecycle event, three forms:

- the versioned JSON event (``LifecycleEvent.model_dump_json``) for queues, Lambdas, HTTP(S) webhooks
  and Firehose: unchanged, so parsers and filter policies (on message attributes) keep working;
- a short text for e-mail: what happened, to which component, why, the figures, what to do;
- Amazon Q Developer in chat applications' custom-notification format (``version`` 1.0, ``source``
  custom, ``content`` with title, description, next steps and keywords) for a chat channel.

The first two travel together on the events topic as one ``MessageStructure=json`` message (SNS
hands each protocol its own key, ``default`` to the rest). The chat form cannot ride along: Amazon Q
Developer subscribes over HTTPS, the protocol webhooks use too, so it goes to its own topic.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .events import EventType, LifecycleEvent, Severity

# SNS protocols that receive the JSON event itself, through the message's "default" key.
JSON_PROTOCOLS = ("sqs", "lambda", "http", "https", "email-json", "firehose")
SMS_CHARACTERS = 140  # one GSM-7 SMS holds 160; the rest is SNS's sender prefix

SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}

HEADLINE: dict[EventType, str] = {
    EventType.SCALE_REQUESTED: "Copy count change requested",
    EventType.SCALED: "Copy count changed",
    EventType.SCALED_TO_ZERO: "Scaled to zero",
    EventType.SCALE_DEFERRED: "Scaling deferred",
    EventType.CAPACITY_REFUSED: "Capacity refused",
    EventType.CEILING_REACHED: "Ceiling reached",
    EventType.POLICY_INVALID: "Policy invalid",
    EventType.ACTION_FAILED: "Action failed",
    EventType.TRIGGER_REJECTED: "Trigger rejected",
    EventType.SCHEDULES_RECONCILED: "Schedules reconciled",
    EventType.WARM_UP_STARTED: "Warm-up started",
    EventType.WARM_UP_DECLINED: "Warm-up declined: cheaper to refuse",
    EventType.PREEMPTED: "Copies taken for another component",
    EventType.DRIFT_CORRECTED: "Drift corrected",
    EventType.AUTOSCALING_CONFIGURED: "Application Auto Scaling configured",
    EventType.WARM_UP_COMPLETED: "Warm-up completed",
    EventType.WARM_UP_TIMED_OUT: "Warm-up timed out",
    EventType.COMPONENT_FAILED: "Component failed",
    EventType.COMPONENT_GONE: "Component gone",
    EventType.OWNERSHIP_CONFLICT: "Owned by another stack",
    EventType.ENDPOINT_IDLE: "Endpoint idle",
    EventType.OVERRIDE_SET: "Operator override set",
    EventType.OVERRIDE_ENDED: "Operator override ended",
    EventType.FORECAST_UPDATED: "Forecast updated",
    EventType.DAILY_REPORT: "Daily report",
    EventType.WOULD_SCALE: "Would scale (observe mode)",
    EventType.POLICY_MISMATCH: "Policy names what the account lacks",
    EventType.CONTROLLER_UNHEALTHY: "icpilot itself is unhealthy",
    EventType.CONTROLLER_RECOVERED: "icpilot itself recovered",
}

# What the reader should do; empty when nothing (the event is a record, not a call to act).
NEXT_STEPS: dict[EventType, tuple[str, ...]] = {
    EventType.SCALE_DEFERRED: (
        "Nothing, usually: icpilot retries at the next tick.",
        "If it repeats for the same component, check `icpilot status` for the component's state.",
    ),
    EventType.CAPACITY_REFUSED: (
        "Check the endpoint's instance count and managed instance scaling maximum.",
        "Lower another component's floor, or raise the endpoint's MaxInstanceCount.",
    ),
    EventType.CEILING_REACHED: (
        "Traffic wants more copies than max_copies allows: raise max_copies in the policy if the budget allows.",
    ),
    EventType.POLICY_INVALID: (
        "Run `icpilot validate` on the policy and fix the problems listed; the last valid policy stays in force.",
    ),
    EventType.ACTION_FAILED: (
        "Read the reason: a permission, a throttle or an AWS error. icpilot retries what it can.",
        "If it repeats, search the function's log for the correlation id below.",
    ),
    EventType.TRIGGER_REJECTED: (
        "Check who sends this trigger: it named something icpilot does not manage or was malformed.",
    ),
    EventType.PREEMPTED: ("Check priorities in the policy if the preempted component matters more.",),
    EventType.WARM_UP_DECLINED: (
        "Nothing, usually: requests failing every minute for five minutes get the component warmed by the tick.",
        "If these requests must be served, raise `cost.refusal_cost` in the policy, or add a window.",
    ),
    EventType.DRIFT_CORRECTED: (
        "Someone or something changed what icpilot manages; use `icpilot scale` for a deliberate override.",
    ),
    EventType.WARM_UP_TIMED_OUT: (
        "Check the component's container logs and the endpoint's events in the SageMaker console.",
        "If loading is just slower than expected, raise warmup_timeout or expected_time_to_ready.",
    ),
    EventType.COMPONENT_FAILED: (
        "Check the inference component's FailureReason (`aws sagemaker describe-inference-component`).",
        "icpilot writes nothing to it until it is InService again.",
    ),
    EventType.COMPONENT_GONE: ("Remove the component from the policy, or recreate it.",),
    EventType.OWNERSHIP_CONFLICT: (
        "Two icpilot stacks claim this component: narrow one stack's ComponentNamePattern or policy.",
    ),
    EventType.OVERRIDE_SET: ("End it with `icpilot resume` when it is no longer needed.",),
    EventType.POLICY_MISMATCH: (
        "Check that the stack runs your policy (the bundled one names the emulator's llm-endpoint).",
        "Fix the names in the policy, or create the components; icpilot leaves them alone meanwhile.",
    ),
    EventType.CONTROLLER_UNHEALTHY: (
        "Follow the check's own advice in the reason; the alarm named in the details says what it measured.",
        "Until it recovers, scheduled floors and warm-ups may be late: watch `icpilot status`.",
    ),
    EventType.WOULD_SCALE: (
        "Nothing was changed: the component is in observe mode.",
        "When this is what you want icpilot to do, set `mode: act` in the policy.",
    ),
}

_REASON_IN_TITLE = 120
_MAX_FIGURES = 12


class ChatContent(BaseModel):
    model_config = ConfigDict(frozen=True)

    text_type: Literal["client-markdown"] = Field(default="client-markdown", alias="textType")
    title: str
    description: str
    next_steps: list[str] = Field(default_factory=list, alias="nextSteps")
    keywords: list[str] = Field(default_factory=list)


class ChatMetadata(BaseModel):
    model_config = ConfigDict(frozen=True)

    thread_id: str = Field(alias="threadId")
    summary: str
    event_type: str = Field(alias="eventType")
    related_resources: list[str] = Field(default_factory=list, alias="relatedResources")
    additional_context: dict[str, str] = Field(default_factory=dict, alias="additionalContext")


class ChatNotification(BaseModel):
    """Amazon Q Developer in chat applications' custom notification (its documented event schema)."""

    model_config = ConfigDict(frozen=True)

    version: Literal["1.0"] = "1.0"
    source: Literal["custom"] = "custom"
    id: str
    content: ChatContent
    metadata: ChatMetadata

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True)


def headline(event: LifecycleEvent) -> str:
    """``Warm-up started: flan-t5-xxl 0 → 1 copies``: the type in words, the component (else the
    endpoint), the change."""
    text = HEADLINE.get(EventType(event.type), str(event.type))
    if event.component or event.endpoint:
        text += f": {event.component or event.endpoint}"
    if event.from_copies is not None and event.to_copies is not None:
        text += f" {event.from_copies} → {event.to_copies} copies"
    elif event.to_copies is not None:
        text += f" ({event.to_copies} copies)"
    return text


def figures(event: LifecycleEvent) -> list[tuple[str, str]]:
    """The event's scalar details as (label, value), in a stable order: what the reader compares.
    A ``totals`` mapping (the daily report's) comes first."""
    totals = event.details.get("totals")
    scalars = [(f"total {k}", v) for k, v in totals.items()] if isinstance(totals, dict) else []
    scalars += sorted(event.details.items())
    out: list[tuple[str, str]] = []
    for key, value in scalars:
        if isinstance(value, bool | int | float | str) and value != "":
            shown = f"{value:,.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
            out.append((key.replace("_", " "), shown))
    return out[:_MAX_FIGURES]


def component_lines(event: LifecycleEvent) -> list[str]:
    """One line per component row in the details (the daily report's), the costliest first."""
    rows = event.details.get("components")
    if not isinstance(rows, list):
        return []
    out = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        if row.get("error"):
            out.append(f"{row.get('component')}: not reported ({row['error']})")
            continue
        ttr = row.get("time_to_ready_p50_s")
        out.append(
            f"{row.get('component')}: ${row.get('cost_usd', 0):,.2f} (saved ${row.get('saved_usd', 0):,.2f}), "
            f"{row.get('accelerator_hours', 0):,.1f} accelerator-h, {row.get('requests', 0):,} requests, "
            f"{row.get('refused', 0):,} refused, {row.get('cold_starts', 0)} cold starts"
            + (f", ready in {ttr:.0f} s (p50)" if isinstance(ttr, int | float) else "")
            + (f", override {row['override']}" if row.get("override") else "")
        )
    return out


def email_text(event: LifecycleEvent) -> str:
    """The e-mail body: readable in any mail client, the ids at the bottom for whoever digs further."""
    where = f"{event.component} on endpoint {event.endpoint}" if event.component else event.endpoint or "the stack"
    trigger = event.trigger.kind + (f" ({event.trigger.source})" if event.trigger.source else "")
    lines = [
        headline(event),
        "",
        f"What happened: {event.reason}",
        f"Where: {where}",
        f"When: {event.time.isoformat()}",
        f"Severity: {event.severity}",
        f"Triggered by: {trigger}",
    ]
    shown = figures(event)
    if shown:
        lines += ["", "Figures:"] + [f"  {label}: {value}" for label, value in shown]
    rows = component_lines(event)
    if rows:
        lines += ["", "Per component:"] + [f"  {row}" for row in rows]
    steps = NEXT_STEPS.get(EventType(event.type), ())
    lines += ["", "What to do:"] + ([f"  - {s}" for s in steps] if steps else ["  Nothing: this is for the record."])
    lines += [
        "",
        f"Event id {event.id} · correlation id {event.correlation_id} · schema {event.schema_version}",
        "Queue, Lambda and HTTPS subscribers of this topic receive the same event as JSON.",
    ]
    return "\n".join(lines)


def sns_message(event: LifecycleEvent) -> str:
    """The ``Message`` for ``Publish(MessageStructure="json")``: e-mail gets ``email_text``, SMS
    ``sms_text``; every
    other protocol (``JSON_PROTOCOLS`` and the rest) reads ``default``, the JSON event, byte for
    byte what it received before per-protocol messages. One copy of the event, not one per
    protocol: the whole structure counts against SNS's 256 KB."""
    return json.dumps({"default": event.model_dump_json(), "email": email_text(event), "sms": sms_text(event)})


def sms_text(event: LifecycleEvent) -> str:
    """One text message: the headline and the reason, cut to ``SMS_CHARACTERS``."""
    text = f"icpilot {headline(event)}: {event.reason}"
    return text if len(text) <= SMS_CHARACTERS else text[: SMS_CHARACTERS - 1] + "…"


def chat_notification(event: LifecycleEvent) -> ChatNotification:
    """The event as a chat message: a headline with a severity mark, the reason and figures in
    markdown, the next steps, keywords to search the channel by, one thread per component."""
    mark = {Severity.INFO: ":information_source:", Severity.WARNING: ":warning:", Severity.ERROR: ":rotating_light:"}
    title = f"{mark[Severity(event.severity)]} {headline(event)}"
    description = event.reason
    shown = figures(event)
    if shown:
        description += "\n" + "\n".join(f"• *{label}*: {value}" for label, value in shown)
    rows = component_lines(event)
    if rows:
        description += "\n" + "\n".join(f"• {row}" for row in rows)
    description += f"\n_{event.time.isoformat()} · trigger {event.trigger.kind} · event {event.id}_"
    resources = [r for r in (event.endpoint, event.component) if r]
    context: dict[str, Any] = {"severity": str(event.severity), "correlation_id": event.correlation_id}
    return ChatNotification(
        id=event.id,
        content=ChatContent(
            title=title,
            description=description,
            nextSteps=list(NEXT_STEPS.get(EventType(event.type), ())),
            keywords=[str(event.type), str(event.severity), *resources],
        ),
        metadata=ChatMetadata(
            threadId=f"icpilot/{event.endpoint or '-'}/{event.component or '-'}",
            summary=(f"{headline(event)} — {event.reason}")[: _REASON_IN_TITLE + 60],
            eventType=str(event.type),
            relatedResources=resources,
            additionalContext={k: str(v) for k, v in context.items()},
        ),
    )


def severity_at_least(event: LifecycleEvent, floor: Severity) -> bool:
    """Whether the event is as severe as ``floor`` (the chat channel's filter)."""
    return SEVERITY_RANK[Severity(event.severity)] >= SEVERITY_RANK[floor]
