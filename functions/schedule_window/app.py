"""A schedule window opened or closed: bring that component within the window's bounds.

Invoked by EventBridge Scheduler with ``{"rule": "<endpoint>/<component>/<rule>", "edge": "open"|"close"}``.
Never raises for bad input (that would make Scheduler retry a hopeless event): it reports and returns.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from icpilot.runtime import TRACED_MODULES, controller_for
from pydantic import BaseModel

logger = Logger(service="icpilot")
tracer = Tracer(service="icpilot", patch_modules=TRACED_MODULES)


class WindowEdge(BaseModel):
    rule: str
    edge: Literal["open", "close"]


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = datetime.now(UTC)
    controller = controller_for(context)
    try:
        edge = parse(event=event, model=WindowEdge)
    except ValidationError as exc:
        logger.error("malformed schedule event", extra={"errors": exc.errors(include_input=False)})
        return controller.reject(
            f"malformed schedule event: {exc.error_count()} problem(s): {exc.errors(include_input=False)}", now
        ).to_dict()
    return controller.on_schedule(edge.rule, edge.edge, now).to_dict()
