"""Learn each predictive component's demand from its CloudWatch history and store the forecast, hourly.

Invoked by EventBridge Scheduler (``rate(1 hour)``). Reads Invocations and
NoCapacityInvocationFailures per minute over each component's ``predictive.history`` with batched
GetMetricData, computes the forecast (``icpilot.domain.forecast``), stores it on the component's state item
and publishes ``ForecastUpdated`` when the floors change. The tick reads it from there. Failures are
reported and the next hourly run reads again (no retry loop).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from icpilot.runtime import TRACED_MODULES, controller_for

logger = Logger(service="icpilot")
tracer = Tracer(service="icpilot", patch_modules=TRACED_MODULES)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = datetime.now(UTC)
    return controller_for(context).on_forecast(now).to_dict()
