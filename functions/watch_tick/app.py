"""The periodic tick (and the deploy-time reconcile): sync schedules with the policy, then
re-evaluate every component, which retries deferred or failed intents and catches missed edges.

Invoked by an EventBridge Scheduler rate schedule (``{"kind": "tick"}``) and, on deploy, as a
CloudFormation custom resource (it always answers CloudFormation, SUCCESS or FAILED).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from icpilot import cfn
from icpilot.runtime import build_controller
from icpilot.settings import Settings

logger = Logger(service="icpilot")
tracer = Tracer(service="icpilot")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = datetime.now(UTC)
    controller = build_controller(Settings.from_env(), correlation_id=context.aws_request_id)
    if "RequestType" not in event:
        return controller.on_tick(now).to_dict()
    # CloudFormation custom resource: reconcile on Create/Update; Delete leaves it to the stack
    # (deleting the schedule group deletes its schedules).
    try:
        summary = controller.on_tick(now, reconcile=True) if event["RequestType"] != "Delete" else None
    except Exception as exc:  # answer CloudFormation whatever happens, or the deploy hangs
        logger.exception("reconcile on deploy failed")
        cfn.send(event, context, "FAILED", f"icpilot reconcile failed: {exc}")
        raise
    if summary is not None and summary.policy_error:
        cfn.send(event, context, "FAILED", "invalid policy: " + "; ".join(summary.policy_error))
    else:
        cfn.send(event, context, "SUCCESS", "reconciled", {"schedules": str(summary.schedules if summary else {})})
    return summary.to_dict() if summary else {"deleted": True}
