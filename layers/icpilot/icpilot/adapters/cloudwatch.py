"""CloudWatch: icpilot's alarms (create, compare, delete) and their current states; component metric sums."""

from __future__ import annotations

from datetime import datetime
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

    def component_sums(
        self, metric: str, components: list[str], since: datetime, until: datetime, period: int = 3600
    ) -> dict[str, float]:
        """The Sum of an AWS/SageMaker per-component metric over [since, until], per component.

        One GetMetricData query per component, at most 500 per call (the API's limit)."""
        sums = dict.fromkeys(components, 0.0)
        ids = {f"m{i}": name for i, name in enumerate(components)}
        items = list(ids.items())
        for first in range(0, len(items), 500):
            queries = [
                {
                    "Id": qid,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/SageMaker",
                            "MetricName": metric,
                            "Dimensions": [{"Name": "InferenceComponentName", "Value": name}],
                        },
                        "Period": period,
                        "Stat": "Sum",
                    },
                    "ReturnData": True,
                }
                for qid, name in items[first : first + 500]
            ]
            with aws_call("cloudwatch", "GetMetricData"):
                for page in self.client.get_paginator("get_metric_data").paginate(
                    MetricDataQueries=queries, StartTime=since, EndTime=until
                ):
                    for result in page.get("MetricDataResults", []):
                        sums[ids[result["Id"]]] += float(sum(result.get("Values", [])))
        return sums
