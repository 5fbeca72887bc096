"""EventBridge Scheduler: the stack's schedule group, one schedule per window edge."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from ..plans.schedules import ScheduleSpec
from .aws import aws_call, error_code, make_client, translate

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(frozen=True)
class ScheduleTarget:
    function_arn: str
    role_arn: str
    dead_letter_arn: str | None = None
    maximum_retry_attempts: int = 3
    maximum_event_age_seconds: int = 3600


class SchedulerAdapter:
    def __init__(self, group: str, target: ScheduleTarget, client: Any | None = None, workers: int = 1) -> None:
        self.group = group
        self.target = target
        self.client = make_client("scheduler", client)
        self.workers = max(1, workers)  # calls in flight at once (a fleet has thousands of schedules)

    def _call(self, operation: str, **kwargs: Any) -> Any:
        with aws_call("scheduler", operation):
            return getattr(self.client, operation)(**kwargs)

    def listing(self) -> dict[str, str]:
        """Every schedule in the group with when it was last modified (ListSchedules, 100 a page)."""
        found: dict[str, str] = {}
        token = None
        while True:
            page = self._call("list_schedules", GroupName=self.group, **({"NextToken": token} if token else {}))
            found.update({s["Name"]: str(s.get("LastModificationDate", "")) for s in page.get("Schedules", [])})
            token = page.get("NextToken")
            if not token:
                return found

    def current(self, names: list[str] | None = None) -> dict[str, dict[str, Any]]:
        """The named schedules (default: every one in the group) in full: ListSchedules omits
        their expressions, so one GetSchedule each, ``workers`` at a time."""
        names = list(self.listing()) if names is None else names

        def get(name: str) -> dict[str, Any] | None:
            try:
                return dict(self.client.get_schedule(GroupName=self.group, Name=name))
            except ClientError as exc:
                if error_code(exc) == "ResourceNotFoundException":
                    return None  # deleted meanwhile
                raise translate("scheduler", "get_schedule", exc) from exc

        found = self._each(get, names)
        return {name: schedule for name, schedule in zip(names, found, strict=True) if schedule is not None}

    def apply(self, puts: list[tuple[ScheduleSpec, bool]], deletes: list[str]) -> None:
        """``put`` each (spec, exists) and ``delete`` each name, ``workers`` at a time; the first
        failure is raised once every call has ended (what went through stays: a reconcile is
        made again from what is there)."""
        self._each(lambda put: self.put(*put), puts)
        self._each(self.delete, deletes)

    def _each(self, call: Callable[[Item], Result], items: list[Item]) -> list[Result]:
        with ThreadPoolExecutor(min(self.workers, max(1, len(items))), thread_name_prefix="icpilot-scheduler") as pool:
            return list(pool.map(call, items))

    def _target(self, payload: dict[str, Any]) -> dict[str, Any]:
        target: dict[str, Any] = {
            "Arn": self.target.function_arn,
            "RoleArn": self.target.role_arn,
            "Input": json.dumps(payload, sort_keys=True),
            "RetryPolicy": {
                "MaximumRetryAttempts": self.target.maximum_retry_attempts,
                "MaximumEventAgeInSeconds": self.target.maximum_event_age_seconds,
            },
        }
        if self.target.dead_letter_arn:
            target["DeadLetterConfig"] = {"Arn": self.target.dead_letter_arn}
        return target

    def put(self, spec: ScheduleSpec, exists: bool) -> None:
        """Create or update. A racing run that created it first (ConflictException) or deleted
        it meanwhile (ResourceNotFoundException) turns the call into the other one."""
        first, other = ("update_schedule", "create_schedule") if exists else ("create_schedule", "update_schedule")
        raced = "ResourceNotFoundException" if exists else "ConflictException"
        try:
            getattr(self.client, first)(**self._fields(spec))
        except ClientError as exc:
            if error_code(exc) != raced:
                raise translate("scheduler", first, exc) from exc
            self._call(other, **self._fields(spec))
        except BotoCoreError as exc:
            raise translate("scheduler", first, exc) from exc

    def _fields(self, spec: ScheduleSpec) -> dict[str, Any]:
        return dict(
            Name=spec.name,
            GroupName=self.group,
            ScheduleExpression=spec.expression,
            ScheduleExpressionTimezone=spec.timezone,
            FlexibleTimeWindow=spec.flexible_time_window,
            Target=self._target(spec.payload),
            State="ENABLED",
            Description=f"icpilot window edge {spec.payload.get('rule')} ({spec.payload.get('edge')})",
        )

    def delete(self, name: str) -> None:
        try:
            self.client.delete_schedule(GroupName=self.group, Name=name)
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise translate("scheduler", "delete_schedule", exc) from exc
