"""CloudFormation custom-resource responses.

Written by hand (about twenty lines) rather than adding crhelper: icpilot's custom resource does
its work synchronously within one invocation, so crhelper's polling and timers would be unused.
The one rule that matters is kept: always answer, SUCCESS or FAILED, or the stack hangs for an hour.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
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


def run_custom_resource(event: dict[str, Any], context: Any, work: Callable[[], Any]) -> dict[str, Any]:
    """Run ``work`` for Create/Update (Delete leaves clean-up to the stack) and always answer.

    ``work`` returns a RunSummary; a policy error answers FAILED so the deploy stops and rolls back.
    """
    if event.get("RequestType") == "Delete":
        send(event, context, "SUCCESS", "nothing to do on delete")
        return {"deleted": True}
    try:
        summary = work()
    except Exception as exc:  # answer CloudFormation whatever happens, or the deploy hangs for an hour
        send(event, context, "FAILED", f"icpilot failed: {exc}")
        raise
    if summary.policy_error:
        send(event, context, "FAILED", "invalid policy: " + "; ".join(summary.policy_error))
    else:
        send(event, context, "SUCCESS", "reconciled")
    return dict(summary.to_dict())
