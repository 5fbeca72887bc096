"""Configure AAS and icpilot's alarms from the policy: scalable targets, target tracking, the
scale-from-zero step policy and alarms, idle and high-load alarms. Idempotent; corrects drift
(DriftCorrected) and removes what components that left the policy no longer need.

Invoked on deploy (CloudFormation custom resource), by a periodic schedule, and by the policy
parameter's ``Parameter Store Change`` event, so a changed policy reaches AAS and the alarms in
seconds (the policy is then read past the parameter cache).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from icpilot.adapters import cfn
from icpilot.runtime import TRACED_MODULES, controller_for
from icpilot.settings import Settings

logger = Logger(service="icpilot")
tracer = Tracer(service="icpilot", patch_modules=TRACED_MODULES)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = datetime.now(UTC)
    # The controller is built inside the custom resource's guard: a crash there is still answered.
    return cfn.respond(
        event,
        lambda: controller_for(context, event).configure(now),
        on_delete=lambda: controller_for(context).unconfigure(now, Settings.from_env().restore_copies),
    )
