"""CloudWatch in the emulator: GetMetricData fast over weeks of 1-minute data, and history seeding.

moto 5.2.5 answers GetMetricData by scanning every stored datapoint once per period: 14 days at a
60 s period over two weeks of per-minute data is 20,160 periods x tens of thousands of points, which
takes minutes. The forecast function reads exactly that, so the emulator answers metric-stat
queries in one pass, bucketing datapoints by period (moto's own ``Statistics`` computes each
bucket, so the figures are moto's). Expression queries still go to moto. ``seed_history`` writes
per-minute history straight into moto's store (the way the emulator's invocations are recorded).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.cloudwatch import models as cw_models
from moto.cloudwatch.models import CloudWatchBackend, MetricAggregatedDatum, Statistics, cloudwatch_backends

from .core import EMULATOR

_original_get_metric_data = CloudWatchBackend.get_metric_data


Key = tuple[str, str, tuple[tuple[str, str], ...]]  # namespace, metric name, sorted dimensions


def _stored_key(md: Any) -> Key:
    return (md.namespace, md.name, tuple(sorted((d.name, d.value) for d in md.dimensions)))


def _query_key(query: dict[str, Any]) -> Key:
    metric = query["MetricStat"]["Metric"]
    dims = tuple(sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions", [])))
    return (metric["Namespace"], metric["MetricName"], dims)


def _get_metric_data(
    self: CloudWatchBackend,
    queries: list[dict[str, Any]],
    start_time: datetime,
    end_time: datetime,
    scan_by: str = "TimestampAscending",
) -> list[dict[str, Any]]:
    if any("MetricStat" not in q for q in queries):
        return _original_get_metric_data(self, queries, start_time, end_time, scan_by)
    start_time = start_time.replace(microsecond=0)
    end_time = end_time.replace(microsecond=0)
    if start_time >= end_time:  # moto's own validation and messages
        return _original_get_metric_data(self, queries, start_time, end_time, scan_by)
    wanted = {_query_key(q) for q in queries}
    by_metric: dict[Key, list[Any]] = defaultdict(list)
    for md in self.get_all_metrics():
        if start_time <= md.timestamp < end_time and (key := _stored_key(md)) in wanted:
            by_metric[key].append(md)
    results = []
    for q in queries:
        stat_q = q["MetricStat"]
        metric = stat_q["Metric"]
        period = int(stat_q["Period"])
        unit = stat_q.get("Unit")
        buckets: dict[int, list[Any]] = defaultdict(list)
        for md in by_metric.get(_query_key(q), []):
            if unit and md.unit != unit:
                continue
            buckets[int((md.timestamp - start_time).total_seconds() // period)].append(md)
        values, stamps = [], []
        for index in sorted(buckets):
            stats = Statistics([stat_q["Stat"]], start_time + timedelta(seconds=index * period))
            stats.metric_data = buckets[index]
            values.append(stats.get_statistics_for_type(stat_q["Stat"]))
            stamps.append(stats.timestamp)
        if scan_by == "TimestampDescending":
            values.reverse()
            stamps.reverse()
        if q.get("ReturnData", True):
            results.append(
                {
                    "id": q["Id"],
                    "label": q.get("Label") or f"{metric['MetricName']} {stat_q['Stat']}",
                    "values": values,
                    "timestamps": stamps,
                    "status_code": "Complete",
                }
            )
    return results


def seed_history(
    account_id: str,
    region: str,
    component: str,
    counts: list[float],
    start: datetime,
    metric: str = "Invocations",
    namespace: str = "AWS/SageMaker",
) -> int:
    """Store ``counts[i]`` requests of ``component`` at ``start + i minutes`` (Sum per minute); returns
    the datapoints written. For tests and demos that need days of history in an instant."""
    cw = cloudwatch_backends[account_id][region]
    dims = [{"Name": "InferenceComponentName", "Value": component}]
    base = start.astimezone(UTC).replace(tzinfo=None)  # moto keeps metric timestamps as naive UTC
    written = 0
    for i, count in enumerate(counts):
        if count > 0:
            stamp = base + timedelta(minutes=i)
            cw.metric_data.append(
                MetricAggregatedDatum(namespace, metric, 1.0, 1.0, int(count), float(count), dims, stamp)
            )
            written += 1
    return written


_original_put_metric_alarm = CloudWatchBackend.put_metric_alarm


def _put_metric_alarm(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    """As CloudWatch: a new alarm starts in INSUFFICIENT_DATA ("Unchecked: Initial alarm creation");
    an update overwrites the configuration and keeps the state (moto resets both to OK)."""
    before = self.alarms.get(name)
    alarm = _original_put_metric_alarm(self, name, *args, **kwargs)
    if before is None:
        alarm.state_value = "INSUFFICIENT_DATA"
        alarm.state_reason = "Unchecked: Initial alarm creation"
        alarm.state_reason_data = "{}"
        alarm.state_updated_timestamp = EMULATOR.now()
    else:
        alarm.state_value, alarm.state_reason = before.state_value, before.state_reason
        alarm.state_reason_data, alarm.state_updated_timestamp = (
            before.state_reason_data,
            before.state_updated_timestamp,
        )
    return alarm


def install() -> None:
    if getattr(cw_models, "_icpilot_fast_get_metric_data", False):
        return
    CloudWatchBackend.get_metric_data = _get_metric_data  # type: ignore[method-assign]
    CloudWatchBackend.put_metric_alarm = _put_metric_alarm  # type: ignore[method-assign]
    cw_models._icpilot_fast_get_metric_data = True  # type: ignore[attr-defined]
