"""Follow warm-ups and other transitions in flight to their end, every minute.

SageMaker emits no event for inference components, so completion and failure are observed by
DescribeInferenceComponent. A periodic watcher (not a one-shot schedule per warm-up) because it
needs no schedule churn or extra permissions, catches every transition whoever started it, and
costs one DynamoDB query per minute when nothing is in flight (no SageMaker call).
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
    return controller_for(context).on_watch(now).to_dict()
