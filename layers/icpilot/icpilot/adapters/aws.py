"""Shared adapter plumbing: client construction and error translation."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..errors import AwsCallError, ThrottledError

# Adaptive mode adds client-side rate limiting on top of the standard retries; 8 attempts absorb
# bursts of throttling without holding a Lambda for long.
RETRY_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 8}, connect_timeout=5, read_timeout=20)

THROTTLING = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
}


def make_client(service: str, client: Any | None = None) -> Any:
    return client if client is not None else boto3.client(service, config=RETRY_CONFIG)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", ""))


def translate(service: str, operation: str, exc: Exception) -> Exception:
    """The icpilot exception for an AWS failure that no adapter handled more specifically."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        if code in THROTTLING:
            return ThrottledError(f"{service}.{operation} throttled after retries")
        return AwsCallError(service, operation, code, error_message(exc))
    if isinstance(exc, BotoCoreError):
        return AwsCallError(service, operation, type(exc).__name__, str(exc))
    return exc
