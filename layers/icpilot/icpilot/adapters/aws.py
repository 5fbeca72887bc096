"""Shared adapter plumbing: client construction and error translation."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..errors import AwsCallError, ThrottledError
from .pacing import pacer

# Adaptive mode adds client-side rate limiting on top of the standard retries; 8 attempts absorb
# bursts of throttling without holding a Lambda for long. ICPILOT_AWS_MAX_ATTEMPTS (total attempts,
# 1..20) and ICPILOT_AWS_RETRY_MODE (standard | adaptive | legacy) change them: the fault suites
# use few attempts so that failures reach the controller.
DEFAULT_ATTEMPTS = 8
RETRY_MODES = ("standard", "adaptive", "legacy")


def retry_config() -> Config:
    raw = os.environ.get("ICPILOT_AWS_MAX_ATTEMPTS", str(DEFAULT_ATTEMPTS))
    mode = os.environ.get("ICPILOT_AWS_RETRY_MODE", "adaptive")
    if not raw.isdigit() or not 1 <= int(raw) <= 20:
        raise ValueError(f"ICPILOT_AWS_MAX_ATTEMPTS must be a whole number within 1..20, got {raw!r}")
    if mode not in RETRY_MODES:
        raise ValueError(f"ICPILOT_AWS_RETRY_MODE must be one of {', '.join(RETRY_MODES)}, got {mode!r}")
    return Config(
        retries={"mode": mode, "total_max_attempts": int(raw)},  # type: ignore[typeddict-item]
        connect_timeout=5,
        read_timeout=20,
    )


THROTTLING = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
}


# Clients live as long as the execution environment, as AWS advises for Lambda ("initialize SDK
# clients outside the handler"): building one costs ~10 ms of CPU (most of a warm watcher run)
# and a fresh one forgets what adaptive retry learned about throttling. They are keyed by every
# setting a client fixes at creation, so a changed environment gets a new client, never a stale one.
_CLIENT_ENV = (
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "ICPILOT_AWS_MAX_ATTEMPTS",
    "ICPILOT_AWS_RETRY_MODE",
    "ICPILOT_WRITE_RATES",
)
_clients: dict[tuple[object, ...], Any] = {}
_clients_lock = threading.Lock()


def make_client(service: str, client: Any | None = None, config: Config | None = None) -> Any:
    """``client`` if given, else this process's client for ``service`` (made once per setting).
    ``config``: a module-level constant (it is keyed by identity); default: ``retry_config()``.
    Either way its writes are paced (``pacing``) when ``ICPILOT_WRITE_RATES`` names rates."""
    if client is not None:
        return pacer().attach(client)
    env_key = f"AWS_ENDPOINT_URL_{service.upper().replace('-', '_')}"
    key = (
        service,
        id(config),
        *(os.environ.get(name) for name in (*_CLIENT_ENV, env_key)),
    )
    with _clients_lock:
        cached = _clients.get(key)
        if cached is None:
            cached = _clients[key] = pacer().attach(boto3.client(service, config=config or retry_config()))
        return cached


def forget_clients() -> None:
    """Drop every cached client: a fresh execution environment (the emulator calls it on reset)."""
    with _clients_lock:
        _clients.clear()


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


@contextmanager
def aws_call(
    service: str, operation: str, known: Callable[[ClientError], Exception | None] | None = None
) -> Iterator[None]:
    """AWS calls inside leave only as icpilot errors: ``known`` maps the failures an adapter
    recognizes (a missing component, a lost condition) to their own exception; the rest go
    through ``translate``."""
    try:
        yield
    except ClientError as exc:
        specific = known(exc) if known is not None else None
        if specific is not None:
            raise specific from None
        raise translate(service, operation, exc) from exc
    except BotoCoreError as exc:
        raise translate(service, operation, exc) from exc
