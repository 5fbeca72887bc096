"""Fires what AWS would fire by itself: due Scheduler schedules and EventBridge rule targets.

moto stores schedules and rules but runs no targets (and raises for Lambda rule targets). The
dispatcher maps Lambda function ARNs (or names) to in-process handlers and, as the emulator clock
advances, invokes them with the payload AWS would send: a schedule's ``Input`` (or ``{}``), an
EventBridge event, or an alarm's direct payload. SQS targets of schedules receive the ``Input`` as
a message. Handlers read the clock the normal way (``datetime.now()``): while the emulator is active
the process clock follows the emulator's (``emulator.clock``).

Schedules, rule targets and alarm actions invoke Lambda asynchronously, as AWS does: a handler
that raises is retried (the function's ``retries``, as its EventInvokeConfig says) and then sent
to its on-failure queue, in the shape of a Lambda on-failure destination record.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from icpilot.adapters.aws import forget_clients
from icpilot.policy.source import forget_policy_providers
from moto.events import models as events_models
from moto.scheduler.models import scheduler_backends

from .locking import HandOverLock
from .schedule_expressions import ScheduleClock, ScheduleNotEmulated

Handler = Callable[[dict[str, Any], Any], Any]
log = logging.getLogger("emulator.dispatcher")


@dataclass
class LambdaContext:
    """The attributes Powertools and handlers read from a Lambda context."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/emulated"
    log_stream_name: str = "emulated"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class _Tracked:
    key: tuple[str, str | None]
    expr: ScheduleClock
    first_seen: datetime
    fired_until: datetime


@dataclass(frozen=True)
class AsyncConfig:
    """A function's EventInvokeConfig: retries after a failed async invocation, then the queue."""

    retries: int = 2
    on_failure_queue: str | None = None  # the on-failure destination: an SQS queue or SNS topic ARN


@dataclass
class Invocation:
    time: datetime
    function: str
    source: str
    event: Any
    result: Any = None
    error: str | None = None


def _function_name(arn_or_name: str) -> str:
    # arn:aws:lambda:region:acct:function:NAME[:qualifier]
    if arn_or_name.startswith("arn:"):
        parts = arn_or_name.split(":")
        return parts[6] if len(parts) > 6 else arn_or_name
    return arn_or_name


@contextmanager
def variables_set(variables: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``variables`` set, as it was afterwards."""
    saved = {k: os.environ.get(k) for k in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class Clock(Protocol):
    def now(self) -> datetime: ...


class Dispatcher:
    """A ``TimeHook`` of the emulator core: fires due schedules at each step of the clock."""

    def __init__(
        self,
        clock: Clock,
        lock: HandOverLock | None = None,
        clock_held: Callable[[], contextlib.AbstractContextManager[None]] | None = None,
    ) -> None:
        self.clock = clock
        # The emulator's lock, handed over while a handler runs (emulator.locking), whether the clock
        # invoked it or an AWS call did (an EventBridge rule on PutParameter): a real Lambda holds
        # nothing of AWS's, and a handler that fans out to threads would otherwise wait on itself.
        # The clock is held meanwhile (the stepping lock: re-entered in a step), so other threads'
        # calls go on but virtual time does not move under a handler.
        self.lock = lock or HandOverLock()
        self.clock_held = clock_held or contextlib.nullcontext
        self._environment_lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        # A fresh world has no warm execution environments: the handlers' cached clients go too
        # (they hold adaptive retry's memory of throttling met in the previous world).
        forget_clients()
        forget_policy_providers()
        self.handlers: dict[str, Handler] = {}
        self.async_configs: dict[str, AsyncConfig] = {}
        self.environments: dict[str, dict[str, str]] = {}
        self.installed_environment: dict[str, str] = {}
        self.invocations: list[Invocation] = []
        self.tracked: dict[str, _Tracked] = {}
        self.raise_errors = False

    def register(
        self,
        function: str,
        handler: Handler,
        async_config: AsyncConfig | None = None,
        environment: dict[str, str] | None = None,
    ) -> None:
        """Map a Lambda function (ARN, name, or a logical name used in ARNs) to a handler, with
        the environment it runs in (template.yaml's variables for that function)."""
        self.handlers[_function_name(function)] = handler
        self.async_configs[_function_name(function)] = async_config or AsyncConfig()
        if environment is not None:
            self.environments[_function_name(function)] = dict(environment)

    def unregister(self, function: str) -> None:
        """The function was deleted: invoking it now fails as a missing function would."""
        name = _function_name(function)
        self.handlers.pop(name, None)
        self.async_configs.pop(name, None)
        self.environments.pop(name, None)

    @contextmanager
    def _environment(self, function: str) -> Iterator[None]:
        """Run with the function's own variables. Handlers read ``os.environ``, which one process
        shares: the last deployed stack's variables are installed there (``installed_environment``).
        A variable still at its installed value is swapped for this function's when they differ
        (another stack's function), under a lock, so two stacks' functions take turns; one that a
        test changed since is left as the test set it (an update of every function's configuration)."""
        own = self.environments.get(function, {})
        wanted = {
            k: v
            for k, v in own.items()
            if os.environ.get(k) != v and os.environ.get(k) == self.installed_environment.get(k)
        }
        if not wanted:
            yield
            return
        with self._environment_lock, variables_set(wanted):
            yield

    def invoke_async(self, function_arn: str, event: Any, source: str = "async") -> Any:
        """An asynchronous invocation: retried on error, then recorded on the on-failure queue."""
        name = _function_name(function_arn)
        config = self.async_configs.get(name, AsyncConfig())
        for attempt in range(config.retries + 1):
            record = self.invoke_recorded(
                function_arn, event, source if attempt == 0 else f"{source} (retry {attempt})"
            )
            if record.error is None:
                return record.result
        if config.on_failure_queue:
            self._send_failure(config.on_failure_queue, function_arn, event, record, config.retries)
        return None

    def _send_failure(self, destination: str, function_arn: str, event: Any, record: Invocation, retries: int) -> None:
        """The on-failure record, to a queue or a topic, as Lambda's destinations deliver it."""
        from moto.sns.models import sns_backends
        from moto.sqs.models import sqs_backends

        _, _, service, region, account_id, resource = destination.split(":", 5)
        error_type, _, message = (record.error or "").partition(": ")
        body = {
            "version": "1.0",
            "timestamp": self.clock.now().isoformat(),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": function_arn,
                "condition": "RetriesExhausted",
                "approximateInvokeCount": retries + 1,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": message, "errorType": error_type},
        }
        if service == "sns":
            sns_backends[account_id][region].publish(message=json.dumps(body, default=str), arn=destination)
        else:
            sqs_backends[account_id][region].send_message(resource, json.dumps(body, default=str))

    def invoke(self, function_arn: str, event: Any, source: str = "direct") -> Any:
        """A synchronous invocation (RequestResponse): the handler's result, None if it failed."""
        return self.invoke_recorded(function_arn, event, source).result

    def invoke_recorded(self, function_arn: str, event: Any, source: str) -> Invocation:
        """One invocation, recorded (result or error)."""
        name = _function_name(function_arn)
        handler = self.handlers.get(name)
        record = Invocation(self.clock.now(), name, source, event)
        self.invocations.append(record)
        if handler is None:
            record.error = f"no handler registered for Lambda function {name!r}"
            log.warning(record.error)
            return record
        context = LambdaContext(function_name=name, invoked_function_arn=function_arn)
        try:
            # The handler's own threads make AWS calls too: the lock is theirs meanwhile.
            with self._environment(name), self.clock_held(), self.lock.handed_over():
                record.result = handler(event, context)
        except Exception as exc:  # a failed Lambda invocation is recorded, as AWS would log it
            record.error = f"{type(exc).__name__}: {exc}"
            log.error("handler %s failed: %s", name, traceback.format_exc())
            if self.raise_errors:
                raise
        finally:
            _lambda_metrics(function_arn, name, record)
        return record

    # --------------------------------------------------------------- schedules
    def _schedules(self) -> list[tuple[str, str, Any]]:
        out = []
        for account_id, regions in list(scheduler_backends.items()):
            for region, backend in list(regions.items()):
                for group in list(backend.schedule_groups.values()):
                    for schedule in list(group.schedules.values()):
                        out.append((account_id, region, schedule))
        return out

    def _track(self, schedule: Any, now: datetime) -> _Tracked | None:
        """Parse a schedule once per expression; occurrences count from when it was first seen.

        moto stamps schedules with wall time, so the emulator clock cannot use that stamp: a schedule
        is taken to exist from the first moment the dispatcher sees it (a changed expression or
        time zone counts as new).
        """
        key = (schedule.schedule_expression, schedule.schedule_expression_timezone)
        tracked = self.tracked.get(schedule.arn)
        if tracked is None or tracked.key != key:
            try:
                expr = ScheduleClock.parse(*key)
            except ScheduleNotEmulated as exc:
                log.warning("schedule %s is not emulated: %s", schedule.name, exc)
                return None
            tracked = self.tracked[schedule.arn] = _Tracked(key, expr, first_seen=now, fired_until=now)
        return tracked

    def _next_fire(self, schedule: Any, now: datetime) -> datetime | None:
        """The next occurrence's time as the expression gives it (``_fires_at`` adds the window)."""
        if schedule.state != "ENABLED":
            return None
        tracked = self._track(schedule, now)
        if tracked is None:
            return None
        after = tracked.fired_until
        if schedule.start_date:
            after = max(after, _as_datetime(schedule.start_date) - timedelta(microseconds=1))
        nxt = tracked.expr.next_after(after, start=tracked.first_seen)
        if nxt is None or (schedule.end_date and nxt > _as_datetime(schedule.end_date)):
            return None
        return nxt

    @staticmethod
    def _fires_at(schedule: Any, occurrence: datetime) -> datetime:
        """When an occurrence is invoked: at its time, or, with a flexible time window, at a point
        inside the window (Scheduler picks one; here a stable one per schedule and occurrence)."""
        window = schedule.flexible_time_window or {}
        if window.get("Mode") != "FLEXIBLE":
            return occurrence
        seconds = int(window.get("MaximumWindowInMinutes", 1)) * 60
        digest = hashlib.sha256(f"{schedule.arn}@{occurrence.isoformat()}".encode()).digest()
        return occurrence + timedelta(seconds=int.from_bytes(digest[:4], "big") % seconds)

    def due_after(self, now: datetime) -> datetime | None:
        """The next schedule invocation after ``now`` (``TimeHook``)."""
        times = [self._fires_at(s, t) for _, _, s in self._schedules() if (t := self._next_fire(s, now)) is not None]
        return min(times) if times else None

    def run(self, now: datetime) -> None:
        """``TimeHook``: what fell due."""
        self.fire_due(now)

    def fire_due(self, now: datetime) -> None:
        """Fire every schedule occurrence due at or before ``now`` that has not fired yet."""
        for account_id, region, schedule in self._schedules():
            while (nxt := self._next_fire(schedule, now)) is not None and self._fires_at(schedule, nxt) <= now:
                self.tracked[schedule.arn].fired_until = nxt
                self._fire(account_id, region, schedule, nxt)
                if schedule.action_after_completion == "DELETE" and schedule.schedule_expression.startswith("at("):
                    scheduler_backends[account_id][region].delete_schedule(schedule.group_name, schedule.name)
                    break

    def _fire(self, account_id: str, region: str, schedule: Any, when: datetime) -> None:
        target = schedule.target
        arn = target["Arn"]
        raw = target.get("Input")
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            payload = {"input": raw}
        if ":lambda:" in arn:
            self.invoke_async(arn, payload, source=f"schedule:{schedule.group_name}/{schedule.name}")
        elif ":sqs:" in arn:
            from moto.sqs.models import sqs_backends

            queue = arn.split(":")[-1]
            sqs_backends[account_id][region].send_message(queue, raw or "{}")
        else:
            log.warning("schedule %s: target %s is not emulated", schedule.name, arn)


def _lambda_metrics(function_arn: str, name: str, record: Invocation) -> None:
    """AWS/Lambda's Invocations and Errors for one invocation (per FunctionName), as Lambda sends
    them to CloudWatch: the stack's health alarms watch them. Throttles never happen here."""
    from moto.cloudwatch.models import MetricDatum, cloudwatch_backends

    parts = function_arn.split(":")
    region, account_id = (parts[3], parts[4]) if function_arn.startswith("arn:") else ("us-east-1", "123456789012")
    cw = cloudwatch_backends[account_id][region]
    stamp = record.time.astimezone(UTC).replace(tzinfo=None)  # moto keeps metric timestamps as naive UTC
    dims = [{"Name": "FunctionName", "Value": name}]
    cw.metric_data.append(MetricDatum("AWS/Lambda", "Invocations", 1.0, dims, stamp))
    if record.error is not None:
        cw.metric_data.append(MetricDatum("AWS/Lambda", "Errors", 1.0, dims, stamp))


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    return datetime.fromisoformat(str(value))


# ------------------------------------------------------- EventBridge rule targets
_original_send = events_models.Rule.send_to_targets


def _real_shaped(event: dict[str, Any]) -> dict[str, Any]:
    """The event as AWS delivers it: ISO-8601 ``time``, no moto-internal keys."""
    clean = {k: v for k, v in event.items() if k != "ingestion-time"}
    if isinstance(clean.get("time"), int | float):
        clean["time"] = datetime.fromtimestamp(clean["time"], tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return clean


def _send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
    """Deliver to every target; Lambda targets go to the dispatcher.

    moto's default input template renders an ISO ``time`` unquoted (it expects epoch seconds, as
    PutEvents sends), so targets without an InputTransformer receive the event untransformed.
    """
    if not self.event_pattern.matches_event(original_event):
        return
    event = _real_shaped(original_event)
    saved = self.targets
    try:
        for target in saved:
            if ":lambda:" in target["Arn"]:
                payload = json.loads(target["Input"]) if target.get("Input") else event
                _RULE_DISPATCHER[0].invoke_async(target["Arn"], payload, source=f"rule:{self.name}")
                continue
            self.targets = [target]
            if target.get("InputTransformer") or target.get("Input"):
                _original_send(self, original_event, transform_input)
            else:
                # moto's SQS delivery turns the epoch ``time`` into ISO-8601 itself.
                _original_send(self, {k: v for k, v in original_event.items() if k != "ingestion-time"}, False)  # type: ignore[arg-type]
    finally:
        self.targets = saved


_RULE_DISPATCHER: list[Dispatcher] = []  # the dispatcher rule targets go to (``install``)


def install(dispatcher: Dispatcher) -> None:
    _RULE_DISPATCHER[:] = [dispatcher]
    events_models.Rule.send_to_targets = _send_to_targets  # type: ignore[method-assign]
