"""The periodic tick (and the deploy-time reconcile): sync schedules with the policy, then
re-evaluate every component, which retries deferred or failed intents, catches missed edges and
keeps adding copies while a high-load alarm stays in ALARM.

Invoked by an EventBridge Scheduler rate schedule (``{"kind": "tick"}``), by the policy
parameter's ``Parameter Store Change`` event (the policy is then read fresh) and, on deploy, as a
CloudFormation custom resource (it always answers CloudFormation, SUCCESS or FAILED).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from icpilot.adapters import cfn
from icpilot.runtime import TRACED_MODULES, controller_for

logger = Logger(service="icpilot")
tracer = Tracer(service="icpilot", patch_modules=TRACED_MODULES)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = datetime.now(UTC)
    # The controller is built inside the custom resource's guard: a crash there is still answered.
    return cfn.respond(event, lambda: controller_for(context, event).on_tick(now))
