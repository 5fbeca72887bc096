"""A lone request is not worth an instance (issue 33), through the deployed stack on the emulator:
the alarm function declines the warm-up and says so, AAS's scale-from-zero step policy was held
off ahead of it by the tick, and the tick warms the component once the alarm has stood five minutes."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError
from icpilot.adapters.state import StateStore
from icpilot.domain.forecast import CLASSES, SLOTS_PER_DAY, Forecast

from emulator import EMULATOR, evaluate_alarms
from emulator.stack import Stack
from tests.conftest import deployed_stack

REGION = "us-east-1"
EXAMPLE = Path(__file__).resolve().parents[1] / "policy.yaml"
FLAN = "flan-t5-xxl"


@pytest.fixture
def elastic(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Stack]:
    """The seed endpoint free to release its last instance (MinInstanceCount 0), flan's learned
    demand acting, configured; Monday 07:04 in Berlin, an hour before flan's window opens."""
    with deployed_stack(monkeypatch, min_instances=0) as stack:
        policy = yaml.safe_load(EXAMPLE.read_text())
        flan = policy["endpoints"]["llm-endpoint"]["components"][FLAN]
        flan["predictive"] = {"mode": "scale", "timezone": "Europe/Berlin"}
        path = tmp_path / "policy.yaml"
        path.write_text(yaml.safe_dump(policy))
        monkeypatch.setenv("ICPILOT_POLICY_PATH", str(path))
        # What learned demand kept: 0.4 requests a quarter hour before 09:00, 600 after.
        means = [0.4 if s < 9 * 4 else 600.0 for s in range(SLOTS_PER_DAY)]
        learned = Forecast(
            "Europe/Berlin",
            datetime(2026, 11, 23, 5, 0, tzinfo=UTC),
            14,
            {c: [1.0] * SLOTS_PER_DAY for c in CLASSES},
            {c: [0.3] * SLOTS_PER_DAY for c in CLASSES},
            {c: [0] * SLOTS_PER_DAY for c in CLASSES},
            requests={c: means for c in CLASSES},
        )
        state = StateStore(stack.table)
        stored = state.get("llm-endpoint", FLAN)
        state.write("llm-endpoint", FLAN, stored.version, forecast=json.dumps(learned.to_item()))
        assert stack.invoke("configure-autoscaling", stack.handler_event("configure_autoscaling.json"))["ok"]
        stack.lifecycle_events()
        yield stack


def desired() -> int:
    ic = boto3.client("sagemaker", region_name=REGION).describe_inference_component(InferenceComponentName=FLAN)
    return int(ic["RuntimeConfig"]["DesiredCopyCount"])


def scale_out_suspended() -> bool:
    t = boto3.client("application-autoscaling", region_name=REGION).describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[f"inference-component/{FLAN}"]
    )["ScalableTargets"][0]
    return bool(t["SuspendedState"]["DynamicScalingOutSuspended"])


def call_flan() -> None:
    """One request; with no copy it fails (NoCapacityInvocationFailures, which the alarm counts)."""
    with contextlib.suppress(ClientError):
        boto3.client("sagemaker-runtime", region_name=REGION).invoke_endpoint(
            EndpointName="llm-endpoint", InferenceComponentName=FLAN, Body=b'{"inputs": "hi"}'
        )


def of_flan(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind and e["component"] == FLAN]


def test_a_lone_request_is_declined_and_lasting_demand_is_warmed_by_the_tick(elastic: Stack) -> None:
    emu = EMULATOR
    # 07:19: the empty instance was released (the scale-in cooldown, 10 minutes); the tick since
    # found flan at zero in a quiet hour and holds AAS's step policy off
    emu.advance(900)
    assert desired() == 0 and scale_out_suspended()
    endpoint = boto3.client("sagemaker", region_name=REGION).describe_endpoint(EndpointName="llm-endpoint")
    assert endpoint["ProductionVariants"][0]["CurrentInstanceCount"] == 0  # a copy would add an instance

    call_flan()  # one request finds no copy
    emu.advance(60)
    evaluate_alarms()  # the no-capacity alarm: the alarm function, and AAS's (suspended) step policy
    assert desired() == 0 and scale_out_suspended()
    events = elastic.lifecycle_events()
    (declined,) = of_flan(events, "WarmUpDeclined")
    assert not of_flan(events, "WarmUpStarted")
    assert declined["details"]["failed_requests"] == 1 and declined["details"]["instance_cost_usd"] > 1
    assert declined["trigger"]["kind"] == "alarm"

    for _ in range(4):  # requests go on failing, a minute apart: the alarm stays in ALARM
        call_flan()
        emu.advance(60)
        evaluate_alarms()
    assert desired() == 0  # the tick at 07:24 finds it in ALARM for 4 minutes: two lone requests could do that
    for _ in range(6):
        call_flan()
        emu.advance(60)
        evaluate_alarms()
    # the tick at 07:29 finds it in ALARM for 9 minutes, a failure every minute: demand that lasts is warmed
    assert desired() == 1
    events = elastic.lifecycle_events()
    (warm,) = of_flan(events, "WarmUpStarted")
    assert "still in ALARM" in warm["trigger"]["source"]
    assert not of_flan(events, "WarmUpDeclined")  # the decline was said once
