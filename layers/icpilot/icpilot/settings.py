"""Run-time settings from the Lambda environment (set by template.yaml)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .domain.events import Severity

DEFAULT_POLICY_PATH = str(Path(__file__).resolve().parent.parent / "policy.yaml")


@dataclass(frozen=True)
class Settings:
    policy_path: str
    state_table: str
    policy_parameter: str | None = None
    policy_appconfig: str | None = None
    default_mode: str = "act"  # the policy's mode where it says none (the stack's DefaultMode)  # "application/environment/profile" when the policy lives in AppConfig
    topic_arn: str | None = None
    schedule_group: str = "icpilot"
    schedule_function_arn: str | None = None
    scheduler_role_arn: str | None = None
    schedule_dlq_arn: str | None = None
    dead_letter_queue_url: str | None = None
    stack_name: str = "icpilot"  # marks the alarms this stack owns (plans.autoscaling.alarm_marker)
    chat_topic_arn: str | None = None  # the chat channel's topic, when the stack turns chat on
    chat_severity: Severity = Severity.WARNING  # the least severe event posted to chat
    restore_copies: str = "adopted"  # on stack delete, components left at zero go back to this
    workers: int = 1  # endpoints a pass works on at once (the stack's Workers)

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            policy_path=env.get("ICPILOT_POLICY_PATH", DEFAULT_POLICY_PATH),
            policy_parameter=env.get("ICPILOT_POLICY_PARAMETER") or None,
            policy_appconfig=env.get("ICPILOT_POLICY_APPCONFIG") or None,
            default_mode=env.get("ICPILOT_DEFAULT_MODE") or "act",
            state_table=env.get("ICPILOT_STATE_TABLE", "icpilot-state"),
            topic_arn=env.get("ICPILOT_TOPIC_ARN") or None,
            schedule_group=env.get("ICPILOT_SCHEDULE_GROUP", "icpilot"),
            schedule_function_arn=env.get("ICPILOT_SCHEDULE_FUNCTION_ARN") or None,
            scheduler_role_arn=env.get("ICPILOT_SCHEDULER_ROLE_ARN") or None,
            schedule_dlq_arn=env.get("ICPILOT_SCHEDULE_DLQ_ARN") or None,
            dead_letter_queue_url=env.get("ICPILOT_DEAD_LETTER_QUEUE_URL") or None,
            stack_name=env.get("ICPILOT_STACK_NAME") or "icpilot",
            chat_topic_arn=env.get("ICPILOT_CHAT_TOPIC_ARN") or None,
            chat_severity=Severity(env.get("ICPILOT_CHAT_SEVERITY") or "warning"),
            restore_copies=env.get("ICPILOT_RESTORE_COPIES_ON_DELETE") or "adopted",
            workers=_workers(env.get("ICPILOT_WORKERS") or "1"),
        )


def _workers(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 32:
        raise ValueError(f"ICPILOT_WORKERS must be a whole number within 1..32, got {raw!r}")
    return int(raw)
