"""Parameter Store changes as EventBridge events, as Systems Manager sends them.

moto stores parameters but emits nothing. AWS puts a ``Parameter Store Change`` event on the
default bus for every create, update and delete ("Amazon EventBridge event examples for Systems
Manager": ``source`` aws.ssm, ``detail`` {operation: Create | Update | Delete |
LabelParameterVersion, name, type, description}); icpilot's PolicyChangeRule reacts to it.
"""

from __future__ import annotations

import json
from typing import Any

from moto.events.models import events_backends
from moto.ssm import models as ssm_models

from .core import EMULATOR

_original_put = ssm_models.SimpleSystemManagerBackend.put_parameter
_original_delete = ssm_models.SimpleSystemManagerBackend.delete_parameter


def _emit(backend: Any, name: str, operation: str, parameter_type: str, description: str | None) -> None:
    detail = {"operation": operation, "name": name, "type": parameter_type, "description": description or ""}
    events_backends[backend.account_id][backend.region_name].put_events(
        [
            {
                "Source": "aws.ssm",
                "DetailType": "Parameter Store Change",
                "Detail": json.dumps(detail),
                "Resources": [f"arn:aws:ssm:{backend.region_name}:{backend.account_id}:parameter/{name.lstrip('/')}"],
                "Time": EMULATOR.now().timestamp(),  # PutEvents carries epoch seconds
            }
        ]
    )


def _put_parameter(self: Any, *args: Any, **kwargs: Any) -> Any:
    name = kwargs.get("name", args[0] if args else "")
    existed = name in self._parameters
    parameter = _original_put(self, *args, **kwargs)
    _emit(self, parameter.name, "Update" if existed else "Create", parameter.parameter_type, parameter.description)
    return parameter


def _delete_parameter(self: Any, name: str) -> None:
    found = self._parameters.get(self._parameters.normalize_name(name))
    _original_delete(self, name)
    if found:
        _emit(self, name, "Delete", found[-1].parameter_type, found[-1].description or "")


def install() -> None:
    ssm_models.SimpleSystemManagerBackend.put_parameter = _put_parameter  # type: ignore[method-assign,assignment]
    ssm_models.SimpleSystemManagerBackend.delete_parameter = _delete_parameter  # type: ignore[method-assign]
