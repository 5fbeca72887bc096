"""One of the stack's health alarms changed state: announce ControllerUnhealthy or ControllerRecovered.

Invoked by CloudWatch directly (the alarm's action is this function), with CloudWatch's alarm
payload. It shares no code path with the controller beyond the publisher: a broken policy or a
failing alarm function cannot silence it. If this function itself fails every retry, Lambda's
on-failure destination publishes the invocation record to the events topic as it is (template.yaml).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from icpilot.runtime import TRACED_MODULES, build_health
from icpilot.service.health import AlarmChange
from icpilot.settings import Settings
from pydantic import BaseModel, Field

logger = Logger(service="icpilot")
tracer = Tracer(service="icpilot", patch_modules=TRACED_MODULES)


class _State(BaseModel):
    value: str
    reason: str = ""
    timestamp: str = ""


class _Metric(BaseModel):
    dimensions: dict[str, str] = Field(default_factory=dict)


class _MetricStat(BaseModel):
    metric: _Metric
    period: int = 300


class _Query(BaseModel):
    metricStat: _MetricStat | None = None


class _Configuration(BaseModel):
    metrics: list[_Query] = Field(default_factory=list)


class _AlarmData(BaseModel):
    alarmName: str
    state: _State
    previousState: _State | None = None
    configuration: _Configuration = Field(default_factory=_Configuration)


class DirectAlarmInvocation(BaseModel):
    alarmArn: str
    alarmData: _AlarmData


def _change(event: Any) -> AlarmChange:
    data = parse(event=event, model=DirectAlarmInvocation).alarmData
    functions = tuple(
        name
        for query in data.configuration.metrics
        if query.metricStat and (name := query.metricStat.metric.dimensions.get("FunctionName"))
    )
    return AlarmChange(
        alarm=data.alarmName,
        state=data.state.value,
        previous=data.previousState.value if data.previousState else "",
        changed_at=data.state.timestamp,
        reason=data.state.reason,
        functions=functions,
        period_seconds=next((q.metricStat.period for q in data.configuration.metrics if q.metricStat), 300),
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        change = _change(event)
    except ValidationError as exc:
        # Not CloudWatch's payload: nothing to announce, and a retry would not change it.
        logger.error("malformed health alarm event", extra={"errors": exc.errors(include_input=False)})
        return {"outcome": "rejected", "reason": "malformed health alarm event"}
    health = build_health(Settings.from_env(), correlation_id=context.aws_request_id)
    return health.on_alarm(change, datetime.now(UTC))
