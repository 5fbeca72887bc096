"""Wires the fault injector into moto's request dispatch (both in-process and server mode)."""

from __future__ import annotations

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


_original_call_action = BaseResponse.call_action


def _call_action(self: BaseResponse) -> Any:
    kind = EMULATOR.faults.draw(self.service_name or "", self._get_action()) if EMULATOR.faults.rules else None
    if kind is None:
        return _original_call_action(self)
    error: ServiceException = InjectedThrottling() if kind == "throttle" else InjectedServerError()
    _status, headers, body = self.serialized(ActionResult(error))
    return (500 if kind == "5xx" else 400), headers, body


def install() -> None:
    BaseResponse.call_action = _call_action  # type: ignore[method-assign]
