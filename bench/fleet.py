"""Operational limits: icpilot's passes over a large fleet on the emulator server.

``fleet_pass(components, endpoints)`` builds ``endpoints`` endpoints (ml.m5.4xlarge, managed
instance scaling 0..10) with ``components`` CPU inference components spread evenly, a policy
whose window holds every component at one copy now, and times four passes through the real
controller: configure (AAS targets, policies, alarms), the tick that opens the window (every
component scales 0 -> 1), a steady tick (nothing to do), and the watcher with every component in
flight. For each pass: wall seconds on the emulator, AWS calls in all, per component and per API.

``realism=True`` turns on the emulator's AWS-like latency and rate limits (``emulator.realism``):
then each pass also reports the HTTP attempts (retries after throttling included) and whether it
would fit in its Lambda timeout.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import boto3
import yaml

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
# template.yaml's timeouts of the functions that run each pass (configure, tick, watcher).
TIMEOUTS = {"configure": 300, "tick_window_opens": 300, "tick_steady": 300, "watch_all_in_flight": 120}


def fleet_pass(components: int, endpoints: int, realism: bool = False) -> dict[str, Any]:
    from icpilot.adapters.aws import retry_config
    from icpilot.policy import load_policy_text
    from icpilot.runtime import build_controller
    from icpilot.settings import Settings

    from emulator.process import ServerProcess, create_state_table
    from emulator.seed import ROLE

    server = ServerProcess()
    calls: list[str] = []
    attempts: list[int] = []
    try:
        session = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1")
        session.events.register("before-call", lambda model, **_: calls.append(model.name))
        session.events.register("before-send", lambda **_: attempts.append(1))

        config = retry_config()  # the Lambdas' retry settings (adaptive mode) meet the throttling

        def client(service: str) -> Any:
            return session.client(service, endpoint_url=server.url, config=config)

        sm = client("sagemaker")
        policy_endpoints: dict[str, Any] = {}
        for e in range(endpoints):
            endpoint = f"ep-{e:02d}"
            sm.create_endpoint_config(
                EndpointConfigName=f"{endpoint}-config",
                ExecutionRoleArn=ROLE,
                ProductionVariants=[
                    {
                        "VariantName": "v",
                        "InstanceType": "ml.m5.4xlarge",
                        "InitialInstanceCount": 1,
                        "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 10},
                    }
                ],
            )
            sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=f"{endpoint}-config")
            policy_endpoints[endpoint] = {"components": {}}
        for i in range(components):
            name, endpoint = f"model-{i:03d}", f"ep-{i % endpoints:02d}"
            sm.create_inference_component(
                InferenceComponentName=name,
                EndpointName=endpoint,
                Specification={
                    "Container": {"Image": "img"},
                    "ComputeResourceRequirements": {"NumberOfCpuCoresRequired": 1, "MinMemoryRequiredInMb": 1024},
                },
                RuntimeConfig={"CopyCount": 0},
            )
            policy_endpoints[endpoint]["components"][name] = {
                "max_copies": 2,
                "idle_scale_to_zero_after": "30m",
                "autoscaling": {"target": 10},
                "schedules": [{"name": "day", "timezone": "UTC", "start": "06:00", "end": "20:00", "min_copies": 1}],
            }
        create_state_table(client("dynamodb"), "state")
        if realism:  # the fleet is built; the passes meet AWS-like latency and rate limits
            _control(server.url, "/_emulator/realism", {"enabled": True})
        policy = load_policy_text(yaml.safe_dump({"version": 1, "endpoints": policy_endpoints}))
        settings = Settings(policy_path="-", state_table="state")
        controller = build_controller(settings, clients=client, policy_source=lambda: policy)
        passes: dict[str, Any] = {}
        for label, run in (
            ("configure", lambda: controller.configure(NOW)),
            ("tick_window_opens", lambda: controller.on_tick(NOW, reconcile=False)),
            ("tick_steady", lambda: controller.on_tick(NOW, reconcile=False)),
            ("watch_all_in_flight", lambda: controller.on_watch(NOW)),
        ):
            calls.clear()
            attempts.clear()
            t0 = time.perf_counter()
            summary = run()
            seconds = time.perf_counter() - t0
            per_api = Counter(calls)
            passes[label] = {
                "seconds": round(seconds, 2),
                "calls": len(calls),
                "calls_per_component": round(len(calls) / components, 2),
                "busiest_api": dict(per_api.most_common(3)),
                "per_api": dict(per_api.most_common()),
                "outcomes": dict(Counter(o.result for o in summary.outcomes)),
            }
            if realism:
                passes[label].update(
                    http_attempts=len(attempts),
                    retries=len(attempts) - len(calls),
                    fits_lambda_timeout=seconds <= TIMEOUTS[label],
                )
    finally:
        server.stop()
    return {"components": components, "endpoints": endpoints, "realism": realism, "passes": passes}


def _control(url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url + path, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return dict(json.loads(response.read()))
