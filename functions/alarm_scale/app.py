"""An icpilot alarm changed state: scale from zero, scale out under load, or scale to zero when idle.

Accepts the EventBridge ``CloudWatch Alarm State Change`` event and the payload CloudWatch sends
when an alarm invokes Lambda directly. The payload is a claim: the controller confirms the alarm's
state and transition time with DescribeAlarms before acting. Duplicate deliveries act once (Powertools idempotency on
DynamoDB, keyed on the alarm and its state-change time). Bad or foreign events are reported and
returned, never raised (no retry storm).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from icpilot.domain.decision_types import TriggerKind
from icpilot.runtime import TRACED_MODULES, build_controller, controller_for
from icpilot.settings import Settings
from pydantic import BaseModel

logger = Logger(service="icpilot")
tracer = Tracer(service="icpilot", patch_modules=TRACED_MODULES)
config = IdempotencyConfig(event_key_jmespath="key", expires_after_seconds=6 * 3600)
_stores: dict[str, DynamoDBPersistenceLayer] = {}


def _store() -> DynamoDBPersistenceLayer:
    """The idempotency table named by the environment now, its client kept for warm invocations.
    Read per invocation, not at import: the emulator runs two stacks' functions in one process."""
    table = os.environ.get("ICPILOT_IDEMPOTENCY_TABLE", "icpilot-idempotency")
    if table not in _stores:
        _stores[table] = DynamoDBPersistenceLayer(table_name=table)
    return _stores[table]


class AlarmState(BaseModel):
    value: str
    timestamp: str = ""


class AlarmDetail(BaseModel):
    alarmName: str
    state: AlarmState


class AlarmStateChange(EventBridgeModel):
    detail: AlarmDetail  # type: ignore[assignment]


class DirectAlarmInvocation(BaseModel):
    alarmArn: str
    alarmData: AlarmDetail


def _change(event: Any) -> dict[str, str]:
    """(alarm, state, idempotency key) from either payload shape."""
    if isinstance(event, dict) and "alarmData" in event:
        direct = parse(event=event, model=DirectAlarmInvocation)
        d = direct.alarmData
        return {
            "alarm": d.alarmName,
            "state": d.state.value,
            "changed_at": d.state.timestamp,
            "key": f"{direct.alarmArn}@{d.state.value}@{d.state.timestamp}",
        }
    change = parse(event=event, model=AlarmStateChange)
    return {
        "alarm": change.detail.alarmName,
        "state": change.detail.state.value,
        "changed_at": change.detail.state.timestamp,
        # the state too: two transitions stamped the same millisecond are two changes, not a duplicate
        "key": f"{change.detail.alarmName}@{change.detail.state.value}@{change.detail.state.timestamp or change.id}",
    }


def act(change: dict[str, str], request_id: str) -> dict[str, Any]:
    """Act on the change once per idempotency key (a redelivery answers the first result)."""
    once = idempotent_function(data_keyword_argument="change", config=config, persistence_store=_store())
    return dict(once(_act)(change=change, request_id=request_id))


def _act(change: dict[str, str], request_id: str) -> dict[str, Any]:
    controller = build_controller(Settings.from_env(), correlation_id=request_id)
    changed_at = _stamp(change["changed_at"])
    return controller.on_alarm(change["alarm"], change["state"], datetime.now(UTC), changed_at).to_dict()


def _stamp(text: str) -> datetime | None:
    """The event's state timestamp ("2026-11-23T20:01:00.000+0000"); None when absent or unreadable."""
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else None


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config.register_lambda_context(context)  # type: ignore[arg-type]
    try:
        change = _change(event)
    except ValidationError as exc:
        logger.error("malformed alarm event", extra={"errors": exc.errors(include_input=False)})
        controller = controller_for(context)
        return controller.reject(
            f"malformed alarm event: {exc.errors(include_input=False)}", datetime.now(UTC), TriggerKind.ALARM
        ).to_dict()
    return act(change=change, request_id=context.aws_request_id)
