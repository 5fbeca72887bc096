"""CloudFormation custom-resource responses.

Written by hand (about twenty lines) rather than adding crhelper: icpilot's custom resource does
its work synchronously within one invocation, so crhelper's polling and timers would be unused.
The one rule that matters is kept: always answer, SUCCESS or FAILED, or the stack hangs for an hour.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def send(event: dict[str, Any], context: Any, status: str, reason: str, data: dict[str, Any] | None = None) -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:3500],
            "PhysicalResourceId": event.get("PhysicalResourceId")
            or f"icpilot-{event.get('LogicalResourceId', 'reconcile')}",
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data or {},
        }
    ).encode()
    if not event["ResponseURL"].startswith("https://"):
        return  # a local run (the demo) has nobody to answer
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(request, timeout=10):
        pass
