"""CloudFormation custom-resource responses.

Written by hand (about twenty lines) rather than adding crhelper: icpilot's custom resource does
its work synchronously within one invocation, so crhelper's polling and timers would be unused.
The one rule that matters is kept: always answer, SUCCESS or FAILED, or the stack hangs for an hour.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any, Literal

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ValidationError

logger = Logger(service="icpilot", child=True)


class CustomResourceRequest(BaseModel):
    """The fields of a CloudFormation custom-resource request icpilot needs to answer it.

    Not Powertools' CloudFormationCustomResource models: they require an http(s) ResponseURL, and
    local runs (the demo) pass a placeholder to say there is nobody to answer.
    """

    RequestType: Literal["Create", "Update", "Delete"]
    ResponseURL: str
    StackId: str
    RequestId: str
    LogicalResourceId: str
    PhysicalResourceId: str | None = None


def respond(event: Any, work: Callable[[], Any], on_delete: Callable[[], Any] | None = None) -> dict[str, Any]:
    """Run ``work`` (it returns a RunSummary) for a periodic schedule, whatever its input; for a
    CloudFormation request (it carries RequestType) run it as a custom resource and answer:
    ``work`` on Create/Update, ``on_delete`` (if any) on Delete."""
    if isinstance(event, dict) and "RequestType" in event:
        return run_custom_resource(event, work, on_delete)
    return dict(work().to_dict())


def send(request: CustomResourceRequest, status: str, reason: str, data: dict[str, Any] | None = None) -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:3500],
            "PhysicalResourceId": request.PhysicalResourceId or f"icpilot-{request.LogicalResourceId}",
            "StackId": request.StackId,
            "RequestId": request.RequestId,
            "LogicalResourceId": request.LogicalResourceId,
            "Data": data or {},
        }
    ).encode()
    if not request.ResponseURL.startswith("https://"):
        return  # a local run (the demo) has nobody to answer
    http = urllib.request.Request(request.ResponseURL, data=body, method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(http, timeout=10):
        pass


def run_custom_resource(
    event: dict[str, Any], work: Callable[[], Any], on_delete: Callable[[], Any] | None = None
) -> dict[str, Any]:
    """Run ``work`` for Create/Update and ``on_delete`` for Delete, and always answer.

    ``work`` returns a RunSummary; a policy error answers FAILED so the deploy stops and rolls back.
    Delete always answers SUCCESS (a clean-up that fails must not leave the stack stuck in
    DELETE_FAILED): what could not be removed is in the Reason and the log. Building the controller
    belongs inside ``work``/``on_delete``, so that even a crash there is answered. A request too
    broken to answer is logged and returned (retrying it cannot help).
    """
    try:
        request = CustomResourceRequest.model_validate(event)
    except ValidationError as exc:
        reason = f"malformed custom-resource request: {exc.errors(include_input=False, include_url=False)}"
        logger.error("malformed custom-resource request", extra={"error": reason})
        return {"ok": False, "rejected": reason}
    if request.RequestType == "Delete":
        if on_delete is None:
            send(request, "SUCCESS", "nothing to do on delete")
            return {"deleted": True}
        try:
            cleaned = on_delete()
        except Exception as exc:
            logger.exception("clean-up on delete failed")
            send(request, "SUCCESS", f"deleted, but the clean-up failed (see the log): {exc}")
            return {"deleted": True, "errors": [str(exc)]}
        left = "; ".join(cleaned.errors)
        send(request, "SUCCESS", f"cleaned up; could not remove: {left}" if left else "cleaned up")
        return dict(cleaned.to_dict())
    try:
        summary = work()
    except Exception as exc:  # answer CloudFormation whatever happens, or the deploy hangs for an hour
        send(request, "FAILED", f"icpilot failed: {exc}")
        raise
    if summary.policy_error and not summary.policy_pending:
        send(request, "FAILED", "invalid policy: " + "; ".join(summary.policy_error))
    elif summary.policy_pending:  # the stack made the policy store: its first policy comes after the deploy
        send(request, "SUCCESS", "no policy deployed yet: " + "; ".join(summary.policy_error or []))
    else:
        send(request, "SUCCESS", "reconciled")
    return dict(summary.to_dict())
