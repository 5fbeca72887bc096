"""icpilot's stack on the emulator: template.yaml deployed by ``emulator.template`` (the local
stand-in for ``sam deploy``), plus what a test needs to watch it (an SQS tap on the topic).

Tests and ``make demo`` deploy with ``deploy_stack()``; the dispatcher then invokes the real
handlers when the template's schedules fall due and its rules match, as the deployed wiring would.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from .alarms import put_alarm_in_state
from .core import EMULATOR
from .template import ACCOUNT, REGION, TEMPLATE, TEST_PARAMETERS, Deployment, deploy_template

STACK = "icpilot"
PERIODIC_SCHEDULES = ("TickSchedule", "WatchSchedule", "ConfigureSchedule", "ForecastSchedule")


def function_arn(name: str, stack: str = STACK) -> str:
    """The ARN of the stack's function ``name`` (its code directory in kebab case: ``watch-tick``)."""
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{stack}-{name}"


@dataclass(frozen=True)
class Stack:
    table: str
    topic_arn: str
    events_queue_url: str
    schedule_group: str
    dlq_arn: str
    env: dict[str, str]
    demand_bus: str
    deployment: Deployment
    name: str = STACK

    @property
    def outputs(self) -> dict[str, str]:
        return self.deployment.outputs()

    def function_arn(self, function: str) -> str:
        return self.deployment.functions[function].arn

    def delete(self) -> None:
        """``sam delete`` on the emulator: the template's deletion (``Deployment.delete``) and the tap."""
        self.deployment.delete()
        boto3.client("sqs", region_name=REGION).delete_queue(QueueUrl=self.events_queue_url)
        boto3.client("cloudformation", region_name=REGION).delete_stack(StackName=self.name)

    def resource(self, logical_id: str) -> str:
        """What template.yaml's ``Ref`` of ``logical_id`` answers in this stack (a name, ARN or URL)."""
        return self.deployment.physical[logical_id]

    def pause_periodic_schedules(self, *logical_ids: str) -> None:
        """Delete the stack's periodic schedules (``TickSchedule``...; all of them by default), so
        a test runs those functions itself, at the moments it chooses."""
        scheduler = boto3.client("scheduler", region_name=REGION)
        for logical in logical_ids or PERIODIC_SCHEDULES:
            scheduler.delete_schedule(Name=self.resource(logical))

    def handler_event(self, name: str) -> dict[str, Any]:
        path = os.path.join(os.path.dirname(__file__), "..", "events", name)
        with open(path, encoding="utf-8") as f:
            return dict(json.load(f))

    def alarm_event(self, sample: str, alarm: str | None = None, state: str | None = None) -> dict[str, Any]:
        """A sample alarm event (``events/<sample>``) made true: the alarm it names (or ``alarm``) is put
        in its state (or ``state``) now, and the event carries that moment, as CloudWatch would send it."""
        event = self.handler_event(sample)
        body = event["alarmData"] if "alarmData" in event else event["detail"]
        name = alarm or body["alarmName"]
        if not boto3.client("cloudwatch", region_name=REGION).describe_alarms(AlarmNames=[name])["MetricAlarms"]:
            # The deploy's custom resource configures the alarms; a test may come before the first
            # configure run of the emulated schedule.
            self.invoke("configure-autoscaling", self.handler_event("configure_autoscaling.json"))
        detail = put_alarm_in_state(name, state or body["state"]["value"])
        if "alarmData" in event:
            event["alarmData"].update(alarmName=name, state=detail["state"])
            event["alarmArn"] = f"arn:aws:cloudwatch:{REGION}:123456789012:alarm:{name}"
        else:
            event["detail"] = detail
            event["resources"] = [f"arn:aws:cloudwatch:{REGION}:123456789012:alarm:{name}"]
        return event

    def invoke(self, function: str, event: Any) -> Any:
        return EMULATOR.dispatcher.invoke(self.function_arn(function), event, source="test")

    def lifecycle_events(self) -> list[dict[str, Any]]:
        """Every SNS lifecycle event so far, read through the SQS subscription (drains the queue)."""
        sqs = boto3.client("sqs", region_name=REGION)
        out: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=self.events_queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not batch:
                return out
            for m in batch:
                envelope = json.loads(m["Body"])
                event = json.loads(envelope["Message"])
                event["_subject"] = envelope.get("Subject")
                event["_attributes"] = {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}
                out.append(event)
                sqs.delete_message(QueueUrl=self.events_queue_url, ReceiptHandle=m["ReceiptHandle"])


def deploy_stack(
    policy_path: str | None = None,
    policy_parameter: str | None = None,
    *,
    name: str = STACK,
    parameters: dict[str, str] | None = None,
    template: Path | str | dict[str, Any] = TEMPLATE,
    run_custom_resources: bool = True,
) -> Stack:
    """Deploy template.yaml as stack ``name`` on the emulator (``emulator.template``), subscribe an SQS
    tap to its topic for the tests to read the lifecycle events, and set the functions' variables
    in this process's environment for the CLI and for handlers called directly.

    ``run_custom_resources``: run the deploy-time custom resources (configure, reconcile) as
    CloudFormation would; the tests start the moment before they run, and run them when they need."""
    given = {**TEST_PARAMETERS, **(parameters or {})}
    if policy_parameter:
        given["PolicyParameterName"] = policy_parameter
    overrides = {
        # The emulator has no X-Ray daemon and no CloudWatch Logs agent: quieter, and no trace export.
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": os.environ.get("POWERTOOLS_METRICS_DISABLED", "true"),
        "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
    }
    if policy_path:
        overrides["ICPILOT_POLICY_PATH"] = policy_path
    deployment = deploy_template(name, given, template, overrides)
    outputs = deployment.outputs()
    sqs = boto3.client("sqs", region_name=REGION)
    tap = sqs.create_queue(QueueName=f"{name}-events-tap")["QueueUrl"]
    tap_arn = sqs.get_queue_attributes(QueueUrl=tap, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns", region_name=REGION).subscribe(
        TopicArn=outputs["EventsTopicArn"], Protocol="sqs", Endpoint=tap_arn
    )
    env: dict[str, str] = {}
    for function in deployment.functions.values():
        env.update(function.environment)
    os.environ.update(env)
    EMULATOR.dispatcher.installed_environment = dict(env)
    stack = Stack(
        table=outputs["StateTableName"],
        topic_arn=outputs["EventsTopicArn"],
        events_queue_url=tap,
        schedule_group=outputs["ScheduleGroupName"],
        dlq_arn=deployment.arns["DeadLetterQueue"],
        env=env,
        demand_bus=outputs["DemandBusName"],
        deployment=deployment,
        name=name,
    )
    _record_in_cloudformation(name, outputs)
    if run_custom_resources:
        deployment.create_custom_resources()
    return stack


def _record_in_cloudformation(name: str, outputs: dict[str, str]) -> None:
    """A CloudFormation stack of that name whose outputs are the deployment's, so DescribeStacks
    (``icpilot --stack``) answers as it would after ``sam deploy``. Its only resource is a
    placeholder: what the template makes was made by ``emulator.template``."""
    body = {
        "Resources": {"Deployed": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    with warnings.catch_warnings():  # moto warns that it does not model the placeholder; it needs not
        warnings.simplefilter("ignore", UserWarning)
        boto3.client("cloudformation", region_name=REGION).create_stack(StackName=name, TemplateBody=json.dumps(body))
