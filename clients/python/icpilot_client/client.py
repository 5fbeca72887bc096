"""``WarmAwareClient.invoke``: ``sagemaker-runtime.invoke_endpoint`` that waits for a component at zero copies.

On SageMaker's no-capacity error (a ValidationError whose message says the component "has no
capacity"; SageMaker gives no other signal, so this is the one place that reads message text) the
client

1. sends one ``Demand`` event (``source: icpilot.client``) to icpilot's event bus, once per cold
   start per component in this process (every thread shares it), so icpilot scales from zero in
   seconds instead of waiting for the one-minute NoCapacityInvocationFailures alarm;
2. reads when the component will be ready: ``availability`` / ``expected_ready_at`` from icpilot's
   state table (one GetItem), or, without that permission, DescribeInferenceComponent;
3. sleeps with capped, jittered backoff toward that time and invokes again,

until ``patience`` runs out; then it raises ``ColdStartTimeout`` carrying the ETA. A model error
or any other client error is raised at once, never retried.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

log = logging.getLogger("icpilot_client")

SOURCE = "icpilot.client"
DETAIL_TYPE = "Demand"
DEFAULT_PATIENCE = 600.0  # seconds: an LLM copy takes minutes to load
MAX_SLEEP = 30.0
RESEND_AFTER = 300.0  # a demand signal lost on the way is sent again after this long


class ColdStartTimeout(TimeoutError):
    """The component did not become ready within the caller's patience.

    ``eta`` is the ready time icpilot last announced (None if it announced none); ``waited`` the
    seconds spent waiting."""

    def __init__(self, component: str, waited: float, eta: datetime | None, availability: str | None) -> None:
        self.component, self.waited, self.eta, self.availability = component, waited, eta, availability
        when = f"; icpilot expects it ready at {eta.isoformat(timespec='seconds')}" if eta else ""
        super().__init__(f"{component} was not ready after waiting {waited:.0f} s ({availability or 'unknown'}){when}")


def is_no_capacity(error: BaseException) -> bool:
    """True for SageMaker's answer to a request that found no copy (or no free copy) of a component."""
    if not isinstance(error, ClientError):
        return False
    err = error.response.get("Error", {})
    return err.get("Code") == "ValidationError" and "no capacity" in str(err.get("Message", "")).lower()


@dataclass(frozen=True)
class Readiness:
    availability: str | None  # warming | ready | cold | partial | failed | None (unknown)
    eta: datetime | None


class _Signals:
    """Process-wide: when a demand signal was last sent, and how many calls wait, per (endpoint, component)."""

    lock = threading.Lock()
    sent: dict[tuple[str, str], float] = {}
    waiting: dict[tuple[str, str], int] = {}


class WarmAwareClient:
    """Thread-safe; one per process is enough. Every client argument is optional (boto3 defaults)."""

    def __init__(
        self,
        *,
        event_bus: str,
        state_table: str | None = None,
        patience: float = DEFAULT_PATIENCE,
        runtime: Any | None = None,
        events: Any | None = None,
        dynamodb: Any | None = None,
        sagemaker: Any | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.event_bus, self.state_table, self.patience = event_bus, state_table, patience
        self.runtime = runtime or boto3.client("sagemaker-runtime")
        self.events = events or boto3.client("events")
        self.dynamodb = dynamodb if dynamodb is not None or state_table is None else boto3.client("dynamodb")
        self._sagemaker = sagemaker
        self.sleep, self.clock = sleep, clock
        self._rng = random.Random()

    @property
    def sagemaker(self) -> Any:
        if self._sagemaker is None:
            self._sagemaker = boto3.client("sagemaker")
        return self._sagemaker

    def invoke(
        self,
        *,
        EndpointName: str,  # boto3's argument names
        InferenceComponentName: str,
        patience: float | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """``invoke_endpoint`` with the same arguments and answer, waiting up to ``patience`` seconds."""
        return self._waiting(self.runtime.invoke_endpoint, EndpointName, InferenceComponentName, patience, kwargs)

    def invoke_stream(
        self,
        *,
        EndpointName: str,
        InferenceComponentName: str,
        patience: float | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """``invoke_endpoint_with_response_stream`` (how LLMs are usually called) with the same
        arguments and answer (read ``["Body"]`` as the event stream), waiting for a cold component
        exactly as ``invoke`` does: SageMaker refuses a stream to a component without capacity
        before any token is sent, so the retry is whole."""
        stream = self.runtime.invoke_endpoint_with_response_stream
        return self._waiting(stream, EndpointName, InferenceComponentName, patience, kwargs)

    def _waiting(
        self,
        call: Callable[..., dict[str, Any]],
        endpoint: str,
        component: str,
        patience: float | None,
        kwargs: dict[str, Any],
    ) -> dict[str, Any]:
        """Call ``call`` until it is served, the error is not a cold start, or patience runs out."""
        patience = self.patience if patience is None else patience
        rewind = _rewinder(kwargs.get("Body"))
        key = (endpoint, component)
        started = self.clock()
        attempt = 0
        waiting = False
        try:
            while True:
                try:
                    rewind()
                    response: dict[str, Any] = call(EndpointName=endpoint, InferenceComponentName=component, **kwargs)
                except ClientError as exc:
                    if not is_no_capacity(exc):
                        raise
                    if not waiting:  # counted once per call: the demand signal says how many wait
                        waiting = True
                        with _Signals.lock:
                            _Signals.waiting[key] = _Signals.waiting.get(key, 0) + 1
                    waited = self.clock() - started
                    readiness = self.readiness(endpoint, component)
                    if readiness.availability in (None, "cold", "failed", "partial"):
                        self.signal(endpoint, component)
                    if waited >= patience:
                        raise ColdStartTimeout(component, waited, readiness.eta, readiness.availability) from exc
                    pause = min(self._pause(attempt, readiness.eta), patience - waited)
                    log.info("%s", self._say(component, readiness, pause))
                    self.sleep(max(0.0, pause))
                    attempt += 1
                    continue
                with _Signals.lock:
                    _Signals.sent.pop(key, None)  # served: the next cold start signals anew
                return response
        finally:
            if waiting:
                with _Signals.lock:
                    left = _Signals.waiting.get(key, 1) - 1
                    if left > 0:
                        _Signals.waiting[key] = left
                    else:
                        _Signals.waiting.pop(key, None)

    # ------------------------------------------------------------------ pieces
    def signal(self, endpoint: str, component: str) -> bool:
        """Send the demand event unless this process sent one for this cold start; True if sent now."""
        key = (endpoint, component)
        with _Signals.lock:
            last = _Signals.sent.get(key)
            if last is not None and self.clock() - last < RESEND_AFTER:
                return False
            _Signals.sent[key] = self.clock()
            waiting = _Signals.waiting.get(key, 0)
        try:
            answer = self.events.put_events(
                Entries=[
                    {
                        "Source": SOURCE,
                        "DetailType": DETAIL_TYPE,
                        "Detail": json.dumps(
                            {"endpoint": endpoint, "component": component, "waiting": max(1, waiting)}
                        ),
                        "EventBusName": self.event_bus,
                    }
                ]
            )
            if answer.get("FailedEntryCount"):
                raise RuntimeError(str(answer.get("Entries")))
        except (ClientError, BotoCoreError, RuntimeError) as exc:
            with _Signals.lock:
                _Signals.sent.pop(key, None)  # let the next attempt try again
            log.warning(
                "could not send the demand signal for %s (the no-capacity alarm still will): %s", component, exc
            )
            return False
        log.info("%s is cold: demand signal sent to %s", component, self.event_bus)
        return True

    def readiness(self, endpoint: str, component: str) -> Readiness:
        """What icpilot says (state table), else what SageMaker says (DescribeInferenceComponent).

        A "ready" from the table while the endpoint answers no-capacity is checked with SageMaker:
        copies can leave without icpilot (a user's or a pipeline's write), and the table then lags."""
        if self.dynamodb is not None and self.state_table:
            try:
                item = self.dynamodb.get_item(
                    TableName=self.state_table,
                    Key={"pk": {"S": f"component#{endpoint}#{component}"}},
                    ProjectionExpression="availability, expected_ready_at",
                ).get("Item", {})
                eta = item.get("expected_ready_at", {}).get("S")
                said = Readiness(item.get("availability", {}).get("S"), _parse(eta))
                if said.availability != "ready":
                    return said
                seen = self._described(component)
                return said if seen.availability in (None, "ready") else seen
            except (ClientError, BotoCoreError) as exc:
                log.debug("state table not readable (%s); asking SageMaker", exc)
        return self._described(component)

    def _described(self, component: str) -> Readiness:
        try:
            rc = self.sagemaker.describe_inference_component(InferenceComponentName=component).get("RuntimeConfig", {})
        except (ClientError, BotoCoreError):
            return Readiness(None, None)
        if rc.get("CurrentCopyCount", 0) > 0:
            return Readiness("ready", None)
        return Readiness("warming" if rc.get("DesiredCopyCount", 0) > 0 else "cold", None)

    def _pause(self, attempt: int, eta: datetime | None) -> float:
        """Half the way to the ETA (at least 1 s), or 1, 2, 4 ... s without one; +-20 % jitter; never
        more than ``MAX_SLEEP``."""
        base = max(1.0, (eta.timestamp() - self.clock()) / 2) if eta is not None else float(2 ** min(attempt, 10))
        return min(MAX_SLEEP, base * self._rng.uniform(0.8, 1.2))

    def _say(self, component: str, readiness: Readiness, pause: float) -> str:
        if readiness.availability == "warming" and readiness.eta is not None:
            minutes = max(0.0, readiness.eta.timestamp() - self.clock()) / 60
            return f"{component} is warming, ready in about {minutes:.0f} min; waiting {pause:.0f} s"
        if readiness.availability == "ready":
            return f"{component} has copies but none free; retrying in {pause:.0f} s"
        return f"{component} is {readiness.availability or 'not ready'}; retrying in {pause:.0f} s"


def _rewinder(body: Any) -> Callable[[], None]:
    """What puts a request body back before each send: nothing for bytes or text; a seek to where
    it started for a seekable file. A stream that cannot seek is refused before anything is sent:
    the retry after a cold start would send it empty, and the request would seem served."""
    if body is None or isinstance(body, bytes | bytearray | str) or not hasattr(body, "read"):
        return lambda: None
    seekable = getattr(body, "seekable", None)
    if not (callable(seekable) and seekable()):
        raise TypeError(
            "Body is a stream that cannot seek: a retry after a cold start could not send it again; "
            "pass bytes, or a seekable file"
        )
    start = body.tell()
    return lambda: body.seek(start)


def _parse(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
