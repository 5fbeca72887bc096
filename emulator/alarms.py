"""CloudWatch alarm evaluation on the emulator clock.

moto stores alarms and metric data but never evaluates them. ``evaluate_alarms`` does, as
CloudWatch would: per alarm, the statistic of each of the last ``EvaluationPeriods`` periods
(ending at the last period boundary), ``DatapointsToAlarm`` of them breaching, missing data per
``TreatMissingData``. On a state change it records the new state, puts a real-shaped
``CloudWatch Alarm State Change`` event on the default EventBridge bus, and runs the alarm's
actions (AAS step policies, SNS topics, Lambda functions). While an alarm stays in ALARM its AAS
actions run again at every evaluation, which is how AAS re-applies a step policy.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.cloudwatch.models import Alarm, MetricAggregatedDatum, MetricDatum, cloudwatch_backends
from moto.events.models import events_backends

from .aas_ext import execute_step_policy, execute_target_tracking, find_policy
from .core import EMULATOR

_COMPARE = {
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "GreaterThanThreshold": lambda v, t: v > t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


@dataclass(frozen=True)
class AlarmChange:
    name: str
    old: str
    new: str
    value: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"AlarmName": self.name, "OldState": self.old, "NewState": self.new, "Value": self.value}


def _dims(dimensions: Any) -> frozenset[tuple[str, str]]:
    return frozenset((d.name, d.value) for d in dimensions)


def _period_statistic(data: list[Any], statistic: str) -> float | None:
    if not data:
        return None
    count = 0.0
    total = 0.0
    lo = float("inf")
    hi = float("-inf")
    for d in data:
        if isinstance(d, MetricAggregatedDatum):
            count += d.sample_count
            total += d.sum
            lo = min(lo, d.min)
            hi = max(hi, d.max)
        elif isinstance(d, MetricDatum):
            count += 1
            total += d.value
            lo = min(lo, d.value)
            hi = max(hi, d.value)
    if statistic == "Sum":
        return total
    if statistic == "SampleCount":
        return count
    if statistic == "Minimum":
        return lo
    if statistic == "Maximum":
        return hi
    return total / count if count else None  # Average


MetricKey = tuple[str, str, frozenset[tuple[str, str]]]


def _by_metric(metric_data: list[Any]) -> dict[MetricKey, list[Any]]:
    """Datapoints grouped by (namespace, metric, dimensions): built once per evaluation, not per alarm."""
    out: dict[MetricKey, list[Any]] = {}
    for d in metric_data:
        out.setdefault((d.namespace, d.name, _dims(d.dimensions)), []).append(d)
    return out


def _series(
    key: MetricKey, statistic: str, period: int, periods: int, metric_data: dict[MetricKey, list[Any]], now: datetime
) -> list[float | None]:
    """One metric's statistic in each of the last ``periods`` complete periods, oldest first."""
    epoch = int(now.timestamp())
    end = epoch - epoch % period  # the last complete period ends at this boundary
    start = end - period * periods
    buckets: list[list[Any]] = [[] for _ in range(periods)]
    for d in metric_data.get(key, []):
        ts = d.timestamp if d.timestamp.tzinfo else d.timestamp.replace(tzinfo=UTC)
        t = ts.timestamp()
        if start <= t < end:
            buckets[int((t - start) // period)].append(d)
    return [_period_statistic(b, statistic) for b in buckets]


# The metric-math expressions the emulator evaluates: an aggregate of every metric the alarm reads.
_AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    "SUM(METRICS())": sum,
    "MAX(METRICS())": max,
    "MIN(METRICS())": min,
}


def evaluates(alarm: Alarm) -> bool:
    """Whether the emulator evaluates this alarm: one metric, or an aggregate over METRICS();
    anomaly, composite and other metric-math alarms are left alone."""
    if alarm.comparison_operator not in _COMPARE or alarm.rule:
        return False
    if alarm.metric_name:
        return True
    returned = [q for q in alarm.metric_data_queries if q.expression and str(q.return_data).lower() != "false"]
    return len(returned) == 1 and str(returned[0].expression).replace(" ", "") in _AGGREGATES


def _period_values(alarm: Alarm, metric_data: dict[MetricKey, list[Any]], now: datetime) -> list[float | None]:
    """The statistic of each evaluated period, oldest first (None where no data). For a metric-math
    aggregate, each period's aggregate over the metrics that have data then (as metric math skips
    a time series with no datapoint at a timestamp)."""
    periods = int(alarm.evaluation_periods)
    if alarm.metric_name:
        key = (alarm.namespace, alarm.metric_name, _dims(alarm.dimensions))
        return _series(key, alarm.statistic or "Average", int(alarm.period), periods, metric_data, now)
    expression = next(str(q.expression) for q in alarm.metric_data_queries if q.expression)
    aggregate = _AGGREGATES[expression.replace(" ", "")]
    columns = [
        _series(
            (q.metric_stat.metric.namespace, q.metric_stat.metric.metric_name, _dims(q.metric_stat.metric.dimensions)),
            q.metric_stat.stat,
            int(q.metric_stat.period),
            periods,
            metric_data,
            now,
        )
        for q in alarm.metric_data_queries
        if q.metric_stat is not None
    ]
    values: list[float | None] = []
    for i in range(periods):
        present = [value for column in columns if (value := column[i]) is not None]
        values.append(float(aggregate(present)) if present else None)
    return values


def _decide(alarm: Alarm, values: list[float | None]) -> tuple[str | None, float | None]:
    """New state (None: keep the current one) and the latest value that decided it."""
    compare = _COMPARE[alarm.comparison_operator]
    needed = int(alarm.datapoints_to_alarm or alarm.evaluation_periods)
    missing = alarm.treat_missing_data or "missing"
    breaching = 0
    present = 0
    for v in values:
        if v is None:
            if missing == "breaching":
                breaching += 1
            continue
        present += 1
        if compare(v, alarm.threshold):
            breaching += 1
    latest = next((v for v in reversed(values) if v is not None), None)
    if breaching >= needed:
        return "ALARM", latest
    if present == 0:
        if missing == "ignore":
            return None, None
        if missing == "missing":
            return "INSUFFICIENT_DATA", None
    return "OK", latest


def _event_detail(alarm: Alarm, old: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "alarmName": alarm.name,
        "state": {
            "value": alarm.state_value,
            "reason": alarm.state_reason,
            "reasonData": alarm.state_reason_data,
            "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "+0000"),
        },
        "previousState": old,
        "configuration": {"description": alarm.description or "", "metrics": _configured_metrics(alarm)},
    }


def _configured_metrics(alarm: Alarm) -> list[dict[str, Any]]:
    """The alarm's metrics as the state-change payload lists them: one, or the metric-math queries."""
    if alarm.metric_name:
        return [_metric_stat("m1", alarm.namespace, alarm.metric_name, alarm.dimensions, alarm.period, alarm.statistic)]
    out: list[dict[str, Any]] = []
    for q in alarm.metric_data_queries:
        returned = str(q.return_data).lower() != "false"
        if q.metric_stat is not None:
            m = q.metric_stat.metric
            stat = _metric_stat(
                q.id, m.namespace, m.metric_name, m.dimensions, q.metric_stat.period, q.metric_stat.stat
            )
            out.append({**stat, "returnData": returned})
        else:
            out.append({"id": q.id, "expression": q.expression, "label": q.label, "returnData": returned})
    return out


def _metric_stat(qid: str, namespace: str, name: str, dimensions: Any, period: Any, stat: str) -> dict[str, Any]:
    return {
        "id": qid,
        "metricStat": {
            "metric": {"namespace": namespace, "name": name, "dimensions": {d.name: d.value for d in dimensions}},
            "period": int(period),
            "stat": stat,
        },
        "returnData": True,
    }


def _direct_payload(alarm: Alarm, old: dict[str, Any], account_id: str, region: str, now: datetime) -> dict[str, Any]:
    """The payload CloudWatch sends when an alarm invokes a Lambda function directly."""
    return {
        "source": "aws.cloudwatch",
        "alarmArn": alarm.alarm_arn,
        "accountId": account_id,
        "time": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "region": region,
        "alarmData": _event_detail(alarm, old, now),
    }


def evaluate_alarms(now: datetime | None = None) -> list[AlarmChange]:
    """Evaluate every metric alarm in every account/region; return the state changes."""
    now = now or EMULATOR.now()
    changes: list[AlarmChange] = []
    for account_id, regions in list(cloudwatch_backends.items()):
        for region, cw in list(regions.items()):
            grouped = _by_metric(cw.metric_data) if cw.alarms else {}
            for alarm in list(cw.alarms.values()):
                if not evaluates(alarm):
                    continue
                values = _period_values(alarm, grouped, now)
                new, value = _decide(alarm, values)
                if new is not None and new != alarm.state_value:
                    old = {
                        "value": alarm.state_value,
                        "reason": alarm.state_reason,
                        "timestamp": alarm.state_updated_timestamp.isoformat(),
                    }
                    reason = (
                        f"Threshold Crossed: {len(values)} datapoint(s) evaluated, latest "
                        f"[{value}] {alarm.comparison_operator} {alarm.threshold}"
                    )
                    reason_data = json.dumps(
                        {
                            "version": "1.0",
                            "queryDate": now.isoformat(),
                            "recentDatapoints": [v for v in values if v is not None],
                            "threshold": alarm.threshold,
                        }
                    )
                    alarm.update_state(reason, reason_data, new)
                    alarm.state_updated_timestamp = now
                    changes.append(AlarmChange(alarm.name, old["value"], new, value))
                    _emit_state_change(alarm, old, account_id, region, now)
                    _run_actions(alarm, old, account_id, region, values, now, changed=True)
                elif alarm.state_value == "ALARM":
                    _run_actions(alarm, None, account_id, region, values, now, changed=False)
    return changes


def put_alarm_in_state(
    name: str, value: str, reason: str = "set by a test", account_id: str = "123456789012", region: str = "us-east-1"
) -> dict[str, Any]:
    """Move an existing alarm to ``value`` now (emulator clock), as SetAlarmState does, and return the
    ``CloudWatch Alarm State Change`` detail CloudWatch would send. No event is emitted and no action
    runs: the caller delivers the detail itself (a test invoking the alarm handler directly)."""
    alarm = cloudwatch_backends[account_id][region].alarms.get(name)
    if alarm is None:
        raise KeyError(f"no alarm {name!r} in {account_id}/{region} (has configure-autoscaling run?)")
    old = {
        "value": alarm.state_value,
        "reason": alarm.state_reason,
        "timestamp": alarm.state_updated_timestamp.isoformat(),
    }
    now = EMULATOR.now()
    alarm.update_state(reason, json.dumps({"version": "1.0", "queryDate": now.isoformat()}), value)
    alarm.state_updated_timestamp = now
    return _event_detail(alarm, old, now)


def _emit_state_change(alarm: Alarm, old: dict[str, Any], account_id: str, region: str, now: datetime) -> None:
    events_backends[account_id][region].put_events(
        [
            {
                "Source": "aws.cloudwatch",
                "DetailType": "CloudWatch Alarm State Change",
                "Detail": json.dumps(_event_detail(alarm, old, now)),
                "Resources": [alarm.alarm_arn],
                "Time": now.timestamp(),  # PutEvents carries epoch seconds
            }
        ]
    )


def _run_actions(
    alarm: Alarm,
    old: dict[str, Any] | None,
    account_id: str,
    region: str,
    values: list[float | None],
    now: datetime,
    changed: bool,
) -> None:
    if not alarm.actions_enabled:
        return
    actions = {
        "ALARM": alarm.alarm_actions,
        "OK": alarm.ok_actions,
        "INSUFFICIENT_DATA": alarm.insufficient_data_actions,
    }.get(alarm.state_value, [])
    for action in actions or []:
        if ":autoscaling:" in action:
            policy = find_policy(account_id, region, action)
            if policy is not None and policy.policy_type == "TargetTrackingScaling":
                latest = next((v for v in reversed(values) if v is not None), None)
                execute_target_tracking(account_id, region, policy, alarm.name, latest, now)
            elif policy is not None:
                metric = step_metric_value(policy, values, alarm.threshold)
                execute_step_policy(account_id, region, policy, metric, alarm.threshold, now)
        elif not changed:
            continue  # SNS and Lambda actions run on state changes only
        elif ":sns:" in action:
            from moto.sns.models import sns_backends

            sns_backends[account_id][region].publish(
                message=json.dumps(_event_detail(alarm, old or {}, now)),
                arn=action,
                subject=f'ALARM: "{alarm.name}" in {region}'[:99],
            )
        elif ":lambda:" in action:
            EMULATOR.dispatcher.invoke_async(
                action, _direct_payload(alarm, old or {}, account_id, region, now), f"alarm:{alarm.name}"
            )


def step_metric_value(policy: Any, values: list[float | None], threshold: float) -> float:
    """The metric value a step policy sizes its step by: the alarm's datapoints in its evaluation
    window, aggregated by the policy's MetricAggregationType (Average when unset, as the
    StepScalingPolicyConfiguration reference says). Without any datapoint (missing data treated as
    breaching) the threshold itself: AWS does not document this case (emulator/README.md)."""
    present = [v for v in values if v is not None]
    if not present:
        return threshold
    kind = (policy.step_scaling_policy_configuration or {}).get("MetricAggregationType") or "Average"
    if kind == "Minimum":
        return min(present)
    if kind == "Maximum":
        return max(present)
    return sum(present) / len(present)


def record_queue_depths(now: datetime) -> None:
    """AWS/SQS ``ApproximateNumberOfMessagesVisible`` at ``now`` of every queue an alarm watches, as
    SQS reports it to CloudWatch each minute (the dead-letter health alarm). moto sends none."""
    from moto.sqs.models import sqs_backends

    stamp = now.astimezone(UTC).replace(tzinfo=None)  # moto keeps metric timestamps as naive UTC
    for account_id, regions in list(sqs_backends.items()):
        for region, sqs in list(regions.items()):
            cw = cloudwatch_backends[account_id][region]
            watched = {  # only queues an alarm watches: the rest would only slow every evaluation
                d.value for a in cw.alarms.values() if a.namespace == "AWS/SQS" for d in a.dimensions
            }
            for name, queue in list(sqs.queues.items()):
                if name not in watched:
                    continue
                dims = [{"Name": "QueueName", "Value": name}]
                visible = float(queue.approximate_number_of_messages)  # visible and not delayed
                cw.metric_data.append(
                    MetricDatum("AWS/SQS", "ApproximateNumberOfMessagesVisible", visible, dims, stamp)
                )


class PeriodicEvaluation:
    """The emulator clock's alarm step (a ``TimeHook``, order 30): every alarm evaluated each
    ``EMULATOR.alarm_evaluation_interval`` seconds, as CloudWatch does once a minute; off (None)
    unless a test or the demo sets the interval, so tests decide when alarms are evaluated."""

    def __init__(self) -> None:
        self.last: datetime | None = None

    def due_after(self, now: datetime) -> datetime | None:
        interval = EMULATOR.alarm_evaluation_interval
        if not interval:
            return None
        return max((self.last or now) + timedelta(seconds=interval), now + timedelta(microseconds=1))

    def run(self, now: datetime) -> None:
        interval = EMULATOR.alarm_evaluation_interval
        if interval and (self.last is None or (now - self.last).total_seconds() >= interval):
            self.last = now
            record_queue_depths(now)
            evaluate_alarms()

    def reset(self) -> None:
        self.last = None


PERIODIC_EVALUATION = PeriodicEvaluation()


def install() -> None:
    EMULATOR.add_hook(PERIODIC_EVALUATION, order=30)
