"""A schedule fired: a window opened or closed, or an endpoint's daily report is due.

Invoked by EventBridge Scheduler with ``{"rule": "<endpoint>/<component>/<rule>", "edge": "open"|"close"}``
(bring that component within the window's bounds), ``{"rules": [...], "edge": ...}`` (the edges of
one endpoint that fire at the same instants: each component within its window's bounds, the
endpoint observed once) or ``{"report": "<endpoint>"}`` (publish its ``DailyReport``). Never
raises for bad input (that would make Scheduler retry a hopeless event): it reports and returns.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from icpilot.runtime import TRACED_MODULES, controller_for
from pydantic import BaseModel, ConfigDict, Field, RootModel

logger = Logger(service="icpilot")
tracer = Tracer(service="icpilot", patch_modules=TRACED_MODULES)


class WindowEdge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: str
    edge: Literal["open", "close"]

    @property
    def rules(self) -> list[str]:
        return [self.rule]


class WindowEdges(BaseModel):
    """An endpoint's edges that fire at the same instants, in one schedule."""

    model_config = ConfigDict(extra="forbid")

    rules: list[str] = Field(min_length=1, max_length=100)
    edge: Literal["open", "close"]


class ReportDue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    report: str


class ScheduledEvent(RootModel[WindowEdge | WindowEdges | ReportDue]):
    """What the stack's schedules send: a window edge, the edges of an endpoint that fire
    together, or a daily report."""


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = datetime.now(UTC)
    controller = controller_for(context)
    try:
        scheduled = parse(event=event, model=ScheduledEvent).root
    except ValidationError as exc:
        logger.error("malformed schedule event", extra={"errors": exc.errors(include_input=False)})
        return controller.reject(
            f"malformed schedule event: {exc.error_count()} problem(s): {exc.errors(include_input=False)}", now
        ).to_dict()
    if isinstance(scheduled, ReportDue):
        return controller.on_daily_report(scheduled.report, now).to_dict()
    return controller.on_schedule(scheduled.rules, scheduled.edge, now).to_dict()
