"""A client found a component at zero copies: scale it from zero now (icpilot's activator).

Invoked by the stack's demand rule with the ``Demand`` event ``icpilot_client`` sends
(``source: icpilot.client``, ``detail: {"endpoint": ..., "component": ...}``). Acts like the
no-capacity alarm (same ``decide()``, same ``WarmUpStarted``), seconds after the first failed
request instead of a minute. Bounded, idempotent and rate-limited in ``Controller.on_demand``.
Never raises for bad input: it reports ``TriggerRejected`` and returns.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from icpilot.domain.decision_types import TriggerKind
from icpilot.runtime import TRACED_MODULES, controller_for
from pydantic import BaseModel, Field

logger = Logger(service="icpilot")
tracer = Tracer(service="icpilot", patch_modules=TRACED_MODULES)

_NAME = r"^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?$"  # SageMaker's endpoint and component names


class DemandDetail(BaseModel):
    endpoint: str = Field(pattern=_NAME, max_length=63)
    component: str = Field(pattern=_NAME, max_length=63)
    waiting: int | None = Field(default=None, ge=1, le=100_000)  # requests the client holds for it


class DemandEvent(EventBridgeModel):
    source: Literal["icpilot.client"]
    detail_type: Literal["Demand"] = Field(alias="detail-type")  # type: ignore[assignment]
    detail: DemandDetail  # type: ignore[assignment]


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = datetime.now(UTC)
    controller = controller_for(context)
    try:
        demand = parse(event=event, model=DemandEvent)
    except ValidationError as exc:
        logger.error("malformed demand event", extra={"errors": exc.errors(include_input=False)})
        return controller.reject(
            f"malformed demand event: {exc.error_count()} problem(s): {exc.errors(include_input=False)}",
            now,
            TriggerKind.DEMAND,
        ).to_dict()
    sent = demand.time if demand.time.tzinfo else demand.time.replace(tzinfo=UTC)
    detail = demand.detail
    return controller.on_demand(
        detail.endpoint, detail.component, now, requested_at=min(sent, now), waiting=detail.waiting
    ).to_dict()
