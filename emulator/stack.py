"""icpilot's stack on the emulator: the resources template.yaml creates, and its Lambda handlers
mapped to their function ARNs — the local stand-in for ``sam deploy``.

Tests and ``make demo`` deploy with ``deploy_stack()``; the dispatcher then invokes the real
handlers when schedules fall due, exactly as the deployed wiring would.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import boto3

from .alarms import put_alarm_in_state
from .core import EMULATOR
from .dispatcher import AsyncConfig

ACCOUNT = "123456789012"
REGION = "us-east-1"
STACK = "icpilot"


# The EventBridge rule that sends icpilot's alarm changes to the alarm function (template.yaml too).
ALARM_EVENT_PATTERN = {
    "source": ["aws.cloudwatch"],
    "detail-type": ["CloudWatch Alarm State Change"],
    "detail": {"alarmName": [{"prefix": "icpilot-"}]},
}


# The demand rule on the stack's bus: icpilot_client's Demand events go to the demand function.
DEMAND_BUS = f"{STACK}-demand"
DEMAND_EVENT_PATTERN = {"source": ["icpilot.client"], "detail-type": ["Demand"]}


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK}-{name}"


@dataclass(frozen=True)
class Stack:
    table: str
    topic_arn: str
    events_queue_url: str
    schedule_group: str
    dlq_arn: str
    env: dict[str, str]
    demand_bus: str = DEMAND_BUS

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
        return EMULATOR.dispatcher.invoke(function_arn(function), event, source="test")

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


def deploy_stack(policy_path: str | None = None, policy_parameter: str | None = None) -> Stack:
    """Create the stack's resources on the emulator, set the handlers' environment, map the handlers."""
    ddb = boto3.client("dynamodb", region_name=REGION)
    table = f"{STACK}-state"
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "inflight", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "inflight",
                "KeySchema": [{"AttributeName": "inflight", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    idempotency = f"{STACK}-idempotency"
    ddb.create_table(
        TableName=idempotency,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name=f"{STACK}-events")["TopicArn"]
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName=f"{STACK}-events-tap")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    dlq = sqs.create_queue(QueueName=f"{STACK}-schedule-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    group = f"{STACK}-windows"
    scheduler = boto3.client("scheduler", region_name=REGION)
    scheduler.create_schedule_group(Name=group)
    env = {
        "ICPILOT_STATE_TABLE": table,
        "ICPILOT_TOPIC_ARN": topic,
        "ICPILOT_SCHEDULE_GROUP": group,
        "ICPILOT_SCHEDULE_FUNCTION_ARN": function_arn("schedule-window"),
        "ICPILOT_SCHEDULER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/{STACK}-scheduler",
        "ICPILOT_SCHEDULE_DLQ_ARN": dlq_arn,
        "ICPILOT_DEAD_LETTER_QUEUE_URL": dlq,
        "ICPILOT_IDEMPOTENCY_TABLE": idempotency,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": os.environ.get("POWERTOOLS_METRICS_DISABLED", "true"),
        "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
    }
    if policy_path:
        env["ICPILOT_POLICY_PATH"] = policy_path
    if policy_parameter:
        env["ICPILOT_POLICY_PARAMETER"] = policy_parameter
    os.environ.update(env)
    # The periodic schedules, as template.yaml defines them.
    for name, rate, function, kind in (
        ("tick", "rate(5 minutes)", "watch-tick", "tick"),
        ("configure", "rate(15 minutes)", "configure-autoscaling", "configure"),
        ("watch", "rate(1 minute)", "watch-warmups", "watch"),
        ("forecast", "rate(1 hour)", "forecast", "forecast"),
    ):
        scheduler.create_schedule(
            Name=f"{STACK}-{name}",
            ScheduleExpression=rate,
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={
                "Arn": function_arn(function),
                "RoleArn": env["ICPILOT_SCHEDULER_ROLE_ARN"],
                "Input": json.dumps({"kind": kind}),
            },
        )
    # icpilot's alarms reach the alarm function through EventBridge, as in template.yaml.
    events = boto3.client("events", region_name=REGION)
    events.put_rule(Name=f"{STACK}-alarms", EventPattern=json.dumps(ALARM_EVENT_PATTERN))
    events.put_targets(Rule=f"{STACK}-alarms", Targets=[{"Id": "alarm-scale", "Arn": function_arn("alarm-scale")}])
    # Clients' demand signals reach the demand function through the stack's own bus.
    events.create_event_bus(Name=DEMAND_BUS)
    events.put_rule(Name=f"{STACK}-demand", EventBusName=DEMAND_BUS, EventPattern=json.dumps(DEMAND_EVENT_PATTERN))
    events.put_targets(
        Rule=f"{STACK}-demand",
        EventBusName=DEMAND_BUS,
        Targets=[{"Id": "demand-signal", "Arn": function_arn("demand-signal")}],
    )
    from functions.alarm_scale.app import lambda_handler as alarm_scale
    from functions.configure_autoscaling.app import lambda_handler as configure_autoscaling
    from functions.demand_signal.app import lambda_handler as demand_signal
    from functions.forecast.app import lambda_handler as forecast
    from functions.schedule_window.app import lambda_handler as schedule_window
    from functions.watch_tick.app import lambda_handler as watch_tick
    from functions.watch_warmups.app import lambda_handler as watch_warmups

    # Retries after a failed async invocation and the on-failure queue, as each function's
    # EventInvokeConfig in template.yaml says.
    for function, handler, retries in (
        ("schedule-window", schedule_window, 1),
        ("watch-tick", watch_tick, 0),
        ("alarm-scale", alarm_scale, 1),
        ("configure-autoscaling", configure_autoscaling, 0),
        ("watch-warmups", watch_warmups, 0),
        ("demand-signal", demand_signal, 1),
        ("forecast", forecast, 0),
    ):
        EMULATOR.dispatcher.register(function_arn(function), handler, AsyncConfig(retries, dlq_arn))
    return Stack(table, topic, queue, group, dlq_arn, env)
