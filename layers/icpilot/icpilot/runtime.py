"""Wiring for the Lambda handlers: settings -> adapters -> controller. Kept out of the handlers
so each stays a thin parse/clock/call/return."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .adapters.autoscaling import AutoScalingAdapter
from .adapters.cloudwatch import CloudWatchAdapter
from .adapters.runtime import RuntimeAdapter
from .adapters.sagemaker import SageMakerAdapter
from .adapters.scheduler import SchedulerAdapter, ScheduleTarget
from .adapters.sns import EventPublisher
from .adapters.sqs import DeadLetterQueue
from .adapters.state import StateStore
from .controller import Controller
from .policy.model import Policy
from .policy.source import deployed_policy, is_policy_change
from .service.announce import Announcer
from .service.health import Health
from .settings import Settings

# What the handlers' Tracer patches: icpilot talks only to AWS, through botocore. The default
# (everything the X-Ray SDK can patch) imports requests, sqlite3 and more at cold start to trace
# calls icpilot never makes.
TRACED_MODULES = ("botocore",)


# Makes the boto3 client for a service name ("sagemaker", "dynamodb", ...); None: the adapter's own.
Clients = Callable[[str], Any]


def build_controller(
    settings: Settings,
    correlation_id: str | None = None,
    context: Any | None = None,
    fresh_policy: bool = False,
    clients: Clients | None = None,
    policy_source: Callable[[], Policy] | None = None,
) -> Controller:
    """The one way to wire the controller: the Lambdas, the CLI and the benchmarks all call it.

    ``context``: the Lambda context; its remaining time bounds a pass over many components.
    ``fresh_policy``: read the policy parameter past Powertools' cache (it has just changed).
    ``clients``: the boto3 clients to use (the CLI's point at ``--endpoint-url``); default: each
    adapter makes its own from the environment. ``policy_source``: the policy to act on
    (default: the deployed one, file or SSM parameter, as the settings say)."""
    client: Clients = clients or (lambda service: None)
    state = StateStore(settings.state_table, client("dynamodb"))
    scheduler = None
    if settings.schedule_function_arn and settings.scheduler_role_arn:
        scheduler = SchedulerAdapter(
            settings.schedule_group,
            ScheduleTarget(settings.schedule_function_arn, settings.scheduler_role_arn, settings.schedule_dlq_arn),
            client("scheduler"),
            settings.workers,
        )
    return Controller(
        policy_source=policy_source
        or (
            lambda: deployed_policy(
                settings.policy_path,
                settings.policy_parameter,
                fresh_policy,
                settings.policy_appconfig,
                settings.default_mode,
            )
        ),
        sagemaker=SageMakerAdapter(client("sagemaker")),
        autoscaling=AutoScalingAdapter(client("application-autoscaling"), stack=settings.stack_name),
        state=state,
        publisher=_publisher(settings, client, state),
        scheduler=scheduler,
        correlation_id=correlation_id,
        cloudwatch=CloudWatchAdapter(client("cloudwatch"), owner=settings.stack_name),
        runtime=RuntimeAdapter(client("sagemaker-runtime")),
        seconds_left=(lambda: context.get_remaining_time_in_millis() / 1000) if context is not None else None,
        workers=settings.workers,
    )


def _publisher(settings: Settings, client: Clients, state: StateStore) -> EventPublisher:
    dead_letters = (
        DeadLetterQueue(settings.dead_letter_queue_url, client("sqs")) if settings.dead_letter_queue_url else None
    )
    return EventPublisher(
        settings.topic_arn,
        client("sns"),
        outbox=state,
        dead_letters=dead_letters,
        chat_topic_arn=settings.chat_topic_arn,
        chat_severity=settings.chat_severity,
    )


def build_health(settings: Settings, correlation_id: str, clients: Clients | None = None) -> Health:
    """The health function's service: the publisher the controller uses, without the controller."""
    client: Clients = clients or (lambda service: None)
    state = StateStore(settings.state_table, client("dynamodb"))
    return Health(
        settings.stack_name,
        Announcer(_publisher(settings, client, state), correlation_id),
        CloudWatchAdapter(client("cloudwatch"), owner=settings.stack_name),
        state,
    )


def controller_for(context: Any, event: Any = None) -> Controller:
    """The controller for one Lambda invocation: settings from the environment, the request id as
    correlation id, the invocation's remaining time as the pass's budget; a policy-change event
    (``is_policy_change``) makes it read the policy fresh."""
    return build_controller(
        Settings.from_env(),
        correlation_id=context.aws_request_id,
        context=context,
        fresh_policy=is_policy_change(event),
    )
