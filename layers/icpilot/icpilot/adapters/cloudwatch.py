"""CloudWatch: icpilot's alarms (create, compare, delete) and their current states; component metric sums."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..domain.aws_views import AlarmState
from ..plans.autoscaling import PREFIX, alarm_marker, marker_owner
from .aws import aws_call, make_client

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
    """``owner``: the stack whose alarms ``alarms()`` lists (their description begins with its
    ``alarm_marker``); another stack's ``icpilot-`` alarms are never listed, so never deleted."""

    def __init__(self, client: Any | None = None, owner: str = "icpilot") -> None:
        self.client = make_client("cloudwatch", client)
        self.owner = owner

    def alarms(self, prefix: str = PREFIX) -> dict[str, dict[str, Any]]:
        """This stack's metric alarms whose names begin with ``prefix``."""
        return self.alarm_listing(prefix)[0]

    def alarm_listing(self, prefix: str = PREFIX) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """This stack's metric alarms whose names begin with ``prefix``, and those another stack made
        (its marker begins the description) with that stack's name, in one listing. An alarm with
        no marker (made by hand, or before markers) is neither: configure takes it over as before."""
        marker = alarm_marker(self.owner)
        own: dict[str, dict[str, Any]] = {}
        others: dict[str, str] = {}
        with aws_call("cloudwatch", "DescribeAlarms"):
            for page in self.client.get_paginator("describe_alarms").paginate(
                AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm"]
            ):
                for alarm in page.get("MetricAlarms", []):
                    description = str(alarm.get("AlarmDescription", ""))
                    owner = marker_owner(description)
                    if description.startswith(marker):
                        own[alarm["AlarmName"]] = alarm
                    elif owner is not None:
                        others[alarm["AlarmName"]] = owner
        return own, others

    def alarm_state(self, name: str) -> AlarmState | None:
        """The alarm's state as CloudWatch holds it now (None: no such metric alarm)."""
        with aws_call("cloudwatch", "DescribeAlarms"):
            found = self.client.describe_alarms(AlarmNames=[name], AlarmTypes=["MetricAlarm"]).get("MetricAlarms", [])
        if not found:
            return None
        return AlarmState.of(found[0])

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
        """The Sum of an AWS/SageMaker per-component metric over [since, until], per component."""
        series = self.component_series([metric], components, since, until, period)
        return {name: float(sum(values)) for name, values in series.items()}

    def component_series(
        self, metrics: list[str], components: list[str], since: datetime, until: datetime, period: int = 60
    ) -> dict[str, list[float]]:
        """Per component, the Sum of ``metrics`` (added together) in each ``period`` from ``since``
        (dense: periods without data are 0)."""
        return self._series(("AWS/SageMaker", "InferenceComponentName"), metrics, components, since, until, period)

    def function_sums(self, metric: str, functions: list[str], since: datetime, until: datetime) -> dict[str, float]:
        """The Sum of an AWS/Lambda per-function metric (Errors, Throttles) over [since, until]."""
        period = max(60, int((until - since).total_seconds() // 60) * 60)
        series = self._series(("AWS/Lambda", "FunctionName"), [metric], functions, since, until, period)
        return {name: float(sum(values)) for name, values in series.items()}

    def _series(
        self,
        source: tuple[str, str],
        metrics: list[str],
        names: list[str],
        since: datetime,
        until: datetime,
        period: int,
    ) -> dict[str, list[float]]:
        """Per name, the Sum of ``metrics`` in ``source`` (namespace, dimension) in each ``period``.
        One query per name and metric, at most 500 per GetMetricData call (the API's limit); pages followed."""
        namespace, dimension = source
        width = int((until - since).total_seconds() // period)
        series = {name: [0.0] * width for name in names}
        ids = {f"q{i}": (name, metric) for i, (name, metric) in enumerate((n, m) for n in names for m in metrics)}
        items = list(ids.items())
        for first in range(0, len(items), 500):
            queries = [
                {
                    "Id": qid,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": namespace,
                            "MetricName": metric,
                            "Dimensions": [{"Name": dimension, "Value": name}],
                        },
                        "Period": period,
                        "Stat": "Sum",
                    },
                    "ReturnData": True,
                }
                for qid, (name, metric) in items[first : first + 500]
            ]
            with aws_call("cloudwatch", "GetMetricData"):
                for page in self.client.get_paginator("get_metric_data").paginate(
                    MetricDataQueries=queries, StartTime=since, EndTime=until, ScanBy="TimestampAscending"
                ):
                    for result in page.get("MetricDataResults", []):
                        values = series[ids[result["Id"]][0]]
                        for stamp, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                            index = int((_aware(stamp) - since).total_seconds() // period)
                            if 0 <= index < width:
                                values[index] += float(value)
        return series


def _aware(stamp: datetime) -> datetime:
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
