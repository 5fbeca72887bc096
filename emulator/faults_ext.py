"""Wires the fault injector into moto's request dispatch (both in-process and server mode)."""

from __future__ import annotations

import json
import time
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, BaseResponse

from .core import EMULATOR


class InjectedThrottling(ServiceException):
    code = "ThrottlingException"
    message = "Rate exceeded (injected by the icpilot emulator)"


class InjectedServerError(ServiceException):
    code = "InternalFailure"
    message = "We encountered an internal error. Please try again. (injected by the icpilot emulator)"


class InjectedRefusal(ServiceException):
    code = "InvalidParameter"
    message = "Invalid parameter: the request is refused (injected by the icpilot emulator)"


_original_call_action = BaseResponse.call_action
ITEM_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}


def _call_action(self: BaseResponse) -> Any:
    """Every AWS call, one at a time: the emulator serializes calls (as DynamoDB serializes writes
    to one item), so conditional writes from racing threads behave as on AWS; moto alone does not
    lock. Calls are counted by outcome, and the fault injector may answer instead."""
    service, operation = self.service_name or "", self._get_action()
    if EMULATOR.faults.latency_seconds:
        time.sleep(EMULATOR.faults.latency_seconds)
    realism = EMULATOR.realism
    if realism.enabled:
        # Concurrent callers wait side by side, as against AWS: the server takes the lock around
        # each request, so it is handed over while this call waits (held, every latency of a
        # fleet's workers was served one after another).
        with EMULATOR.lock.handed_over():
            time.sleep(realism.latency(service, operation))
        if not realism.admit(service, operation, f"{self.current_account}/{self.region}"):
            EMULATOR.faults.record(service, operation, "rate-limited")
            throttled = InjectedThrottling()
            throttled.code = realism.throttle_code(service)
            throttled.message = "Rate exceeded"
            _status, headers, answer = self.serialized(ActionResult(throttled))
            return 400, headers, answer
    with EMULATOR.lock:
        kind = EMULATOR.faults.draw(service, operation) if EMULATOR.faults.rules else None
        if kind is None:
            response = _original_call_action(self)
            outcome = "ok" if int(response[0]) < 400 else "error"
            EMULATOR.faults.record(service, operation, outcome)
            if service == "dynamodb" and operation in ITEM_WRITES:
                raw = self.body
                body = raw if isinstance(raw, dict) else json.loads(raw or "{}")
                key = body.get("Key") or {"pk": (body.get("Item") or {}).get("pk")}
                EMULATOR.faults.item_writes.append((body.get("TableName", ""), json.dumps(key), operation, outcome))
            return response
        if kind == "applied-5xx":
            _original_call_action(self)  # it takes effect; the answer is lost
        EMULATOR.faults.record(service, operation, kind)
    error: ServiceException = {"throttle": InjectedThrottling, "refused": InjectedRefusal}.get(
        kind, InjectedServerError
    )()
    _status, headers, body = self.serialized(ActionResult(error))
    return (400 if kind in ("throttle", "refused") else 500), headers, body


def install() -> None:
    BaseResponse.call_action = _call_action  # type: ignore[method-assign]
