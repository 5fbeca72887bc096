"""SageMaker Runtime: the readiness probe (one InvokeEndpoint on a component, timed)."""

from __future__ import annotations

import json
import time
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..domain.transitions import ProbeResult
from .aws import error_code, make_client

# A probe must not be retried by the SDK: a retry would hide the latency the probe measures.
PROBE_CONFIG = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=60)


class RuntimeAdapter:
    def __init__(self, client: Any | None = None) -> None:
        self.client = client if client is not None else _probe_client()

    def probe(self, endpoint: str, component: str, payload: dict[str, object] | str, content_type: str) -> ProbeResult:
        body = payload if isinstance(payload, str) else json.dumps(payload)
        start = time.perf_counter()
        try:
            response = self.client.invoke_endpoint(
                EndpointName=endpoint, InferenceComponentName=component, Body=body.encode(), ContentType=content_type
            )
            response["Body"].read()
        except ClientError as exc:
            code = error_code(exc)
            # A ModelError's message is the container's answer, which may echo the request: keep it
            # out of events and logs.
            message = "" if code == "ModelError" else f": {exc.response.get('Error', {}).get('Message', '')[:300]}"
            return ProbeResult(False, (time.perf_counter() - start) * 1000, code + message)
        except BotoCoreError as exc:
            return ProbeResult(False, (time.perf_counter() - start) * 1000, f"{type(exc).__name__}: {exc}")
        return ProbeResult(True, (time.perf_counter() - start) * 1000)


def _probe_client() -> Any:
    return make_client("sagemaker-runtime", config=PROBE_CONFIG)
