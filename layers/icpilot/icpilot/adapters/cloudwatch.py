"""CloudWatch: icpilot's alarms (create, compare, delete) and their current states."""

from __future__ import annotations

from typing import Any

from .aws import aws_call, make_client

PREFIX = "icpilot-"

# The fields icpilot sets on an alarm; a difference in any of them is drift.
ALARM_FIELDS = (
    "Namespace",
    "MetricName",
    "Dimensions",
    "Statistic",
    "Period",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "AlarmActions",
)


class CloudWatchAdapter:
    def __init__(self, client: Any | None = None) -> None:
        self.client = make_client("cloudwatch", client)

    def alarms(self, prefix: str = PREFIX) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        with aws_call("cloudwatch", "DescribeAlarms"):
            for page in self.client.get_paginator("describe_alarms").paginate(
                AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm"]
            ):
                for alarm in page.get("MetricAlarms", []):
                    out[alarm["AlarmName"]] = alarm
        return out

    def put_alarm(self, spec: dict[str, Any]) -> None:
        with aws_call("cloudwatch", "PutMetricAlarm"):
            self.client.put_metric_alarm(**spec)

    def delete_alarms(self, names: list[str]) -> None:
        if not names:
            return
        with aws_call("cloudwatch", "DeleteAlarms"):
            self.client.delete_alarms(AlarmNames=names)
