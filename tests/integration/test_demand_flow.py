"""The activator: a client meets a component at zero copies, signals demand, waits, and is served.

Handlers run in-process against the emulator; the client's sleep advances the emulator clock (a
virtual sleep), so a cold start of minutes takes a moment.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from icpilot_client import ColdStartTimeout, WarmAwareClient, is_no_capacity
from icpilot_client.client import _Signals

from emulator import Emulator
from emulator.stack import Stack

REGION = "us-east-1"


class VirtualSleep:
    """``sleep(s)`` advances the emulator to the caller's wake time (threads share one clock)."""

    def __init__(self, emu: Emulator) -> None:
        self.emu, self.lock = emu, threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self.lock:
            wake = self.emu.now() + timedelta(seconds=seconds)
            if wake > self.emu.now():
                self.emu.advance((wake - self.emu.now()).total_seconds())


@pytest.fixture
def client(stack: Stack, emu: Emulator) -> WarmAwareClient:
    _Signals.sent.clear()
    return WarmAwareClient(
        event_bus=stack.demand_bus,
        state_table=stack.table,
        runtime=boto3.client("sagemaker-runtime", region_name=REGION),
        events=boto3.client("events", region_name=REGION),
        dynamodb=boto3.client("dynamodb", region_name=REGION),
        sagemaker=boto3.client("sagemaker", region_name=REGION),
        sleep=VirtualSleep(emu),
        clock=lambda: emu.now().timestamp(),
    )


def invoke(client: WarmAwareClient, component: str = "flan-t5-xxl", **kw: Any) -> dict[str, Any]:
    return client.invoke(EndpointName="llm-endpoint", InferenceComponentName=component, Body=b'{"inputs": "hi"}', **kw)


def desired(name: str) -> int:
    sm = boto3.client("sagemaker", region_name=REGION)
    return int(sm.describe_inference_component(InferenceComponentName=name)["RuntimeConfig"]["DesiredCopyCount"])


def demand_runs(emu: Emulator) -> list[Any]:
    return [i for i in emu.dispatcher.invocations if i.function == "icpilot-demand-signal"]


def test_first_request_at_zero_starts_the_copy_in_seconds_and_is_served(
    stack: Stack, emu: Emulator, client: WarmAwareClient
) -> None:
    first = emu.now()  # 06:04Z: flan-t5-xxl at zero, no window (bounds 0..2)
    assert desired("flan-t5-xxl") == 0
    response = invoke(client)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    runs = demand_runs(emu)
    assert len(runs) == 1 and runs[0].error is None
    assert (runs[0].time - first).total_seconds() < 5  # the alarm path needs a 60 s period first
    assert runs[0].result["outcomes"][0]["result"] == "scaled"
    events = [e for e in stack.lifecycle_events() if e["component"] == "flan-t5-xxl"]
    started = next(e for e in events if e["type"] == "WarmUpStarted")
    assert started["trigger"]["kind"] == "demand"
    # Served once the copy loaded (the fixture's 240 s), not refused.
    assert 240 <= (emu.now() - first).total_seconds() < 240 + 60


def test_fifty_concurrent_callers_make_one_demand_event_and_one_warm_up(
    stack: Stack, emu: Emulator, client: WarmAwareClient
) -> None:
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(lambda _: invoke(client), range(50)))
    assert all(r["ResponseMetadata"]["HTTPStatusCode"] == 200 for r in results)
    assert len(demand_runs(emu)) == 1
    events = [e for e in stack.lifecycle_events() if e["component"] == "flan-t5-xxl"]
    assert [e["type"] for e in events].count("WarmUpStarted") == 1
    assert desired("flan-t5-xxl") == 1


def test_a_demand_signal_is_bounded_rate_limited_and_checked(stack: Stack, emu: Emulator) -> None:
    event = stack.handler_event("demand_signal.json")
    first = stack.invoke("demand-signal", event)
    assert first["outcomes"][0]["result"] == "scaled" and desired("flan-t5-xxl") == 1  # warmup_copies, no more
    again = stack.invoke("demand-signal", event)
    assert "rate-limited" in again["outcomes"][0]["reason"]
    emu.advance(31)
    present = stack.invoke("demand-signal", event)
    assert present["outcomes"][0]["result"] == "unchanged" and "already 1 copy" in present["outcomes"][0]["reason"]
    # falcon-7b at night: the policy's ceiling outside office hours is 0 -> refused, with the reason.
    night = stack.handler_event("demand_signal.json")
    night["detail"]["component"] = "falcon-7b"
    refused = stack.invoke("demand-signal", night)
    assert refused["outcomes"][0]["result"] == "unchanged" and desired("falcon-7b") == 0
    events = stack.lifecycle_events()
    ceiling = [e for e in events if e["type"] == "CeilingReached" and e["component"] == "falcon-7b"]
    assert ceiling and ceiling[0]["details"]["ceiling"] == 0 and ceiling[0]["details"]["limit"] == "policy"
    assert not [e for e in events if e["type"] == "CapacityRefused" and e["component"] == "falcon-7b"]
    # Unknown components, wrong endpoints and malformed events are rejected, never retried.
    unknown = stack.handler_event("demand_signal.json")
    unknown["detail"]["component"] = "ghost"
    assert stack.invoke("demand-signal", unknown)["outcomes"][0]["result"] == "rejected"
    elsewhere = stack.handler_event("demand_signal.json")
    elsewhere["detail"]["endpoint"] = "other-endpoint"
    assert stack.invoke("demand-signal", elsewhere)["outcomes"][0]["result"] == "rejected"
    stack.invoke("demand-signal", stack.handler_event("demand_signal_malformed.json"))
    rejected = [e for e in stack.lifecycle_events() if e["type"] == "TriggerRejected"]
    assert len(rejected) == 3 and any("malformed demand event" in e["reason"] for e in rejected)


def test_beyond_patience_the_client_raises_with_the_eta(stack: Stack, emu: Emulator, client: WarmAwareClient) -> None:
    start = emu.now()
    with pytest.raises(ColdStartTimeout) as exc:
        invoke(client, patience=60)
    assert exc.value.availability == "warming" and exc.value.eta is not None
    assert exc.value.eta > start and 60 <= exc.value.waited < 90


def test_model_errors_and_other_client_errors_are_not_retried(
    stack: Stack, emu: Emulator, client: WarmAwareClient
) -> None:
    with pytest.raises(ClientError) as exc:
        invoke(client, component="not-a-component")
    assert not is_no_capacity(exc.value)
    assert demand_runs(emu) == []


def test_demand_that_meets_copies_still_leaving_is_deferred_then_served(
    stack: Stack, emu: Emulator, client: WarmAwareClient
) -> None:
    # SageMaker keeps a component Updating while its copies leave, and refuses writes meanwhile.
    invoke(client)  # flan warms from zero and serves
    emu.settings.copy_release_seconds = 180
    boto3.client("sagemaker", region_name=REGION).update_inference_component_runtime_config(
        InferenceComponentName="flan-t5-xxl", DesiredRuntimeConfig={"CopyCount": 0}
    )
    _Signals.sent.clear()
    response = invoke(client)  # meets zero serving copies while the last one is still leaving
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    events = [e for e in stack.lifecycle_events() if e["component"] == "flan-t5-xxl"]
    kinds = [e["type"] for e in events]
    deferred = kinds.index("ScaleDeferred", kinds.index("WarmUpStarted") + 1)
    assert "Updating" in events[deferred]["reason"]
    # The client waits and signals again; once the copy has left, the warm-up starts and the request is served.
    assert "WarmUpStarted" in kinds[deferred:]


@pytest.mark.parametrize("sent", ["2000-01-01T00:00:00Z", "-1h"], ids=["forged-2000", "client-clock-an-hour-slow"])
def test_a_clients_clock_never_teaches_a_time_to_ready(stack: Stack, emu: Emulator, sent: str) -> None:
    """Before: the Demand event's own ``time`` was believed (only a future one was clamped): a forged
    2000-01-01 recorded a time to ready of 848,729,280 s, which then moved the learned lead time and
    window edges. Now icpilot bounds it by its own clock: at most DEMAND_CLOCK_SKEW (60 s) earlier."""
    event = stack.handler_event("demand_signal.json")
    sent_at = emu.now() - timedelta(hours=1) if sent == "-1h" else None
    event["time"] = sent_at.strftime("%Y-%m-%dT%H:%M:%SZ") if sent_at else sent
    asked = emu.now()
    assert stack.invoke("demand-signal", event)["outcomes"][0]["result"] == "scaled"
    for _ in range(30):  # the watcher follows the warm-up every minute
        emu.advance(60)
        done = [e for e in stack.lifecycle_events() if e["type"] == "WarmUpCompleted"]
        if done:
            break
    assert done, "the warm-up did not complete"
    ready = done[0]["details"]["time_to_ready_seconds"]
    took = (emu.now() - asked).total_seconds()
    assert 0 < ready <= took + 60  # what icpilot measured, give or take the client's minute


@pytest.mark.parametrize(("failed", "copies"), [(0, 1), (15, 2)], ids=["nothing-measured", "fifteen-failed"])
def test_a_clients_count_of_waiting_requests_is_capped_by_what_cloudwatch_measured(
    stack: Stack, emu: Emulator, failed: int, copies: int
) -> None:
    """Before: the Demand's ``waiting`` was believed: 100,000 claimed requests, none real, put
    flan-t5-xxl at its ceiling (2 copies) on every signal, a cost attack. Now a claim sizes the
    warm-up only as far as CloudWatch's own NoCapacityInvocationFailures of the last minutes bear it
    out: none measured -> warmup_copies (1); 15 failed at a target of 10 a copy -> 2."""
    from emulator.sagemaker_ext import invoke_component

    if failed:
        assert invoke_component("123456789012", REGION, "flan-t5-xxl", failed) == (0, failed)
    event = stack.handler_event("demand_signal.json")
    event["detail"]["waiting"] = 100_000
    assert stack.invoke("demand-signal", event)["outcomes"][0]["result"] == "scaled"
    assert desired("flan-t5-xxl") == copies


def test_a_flood_of_forged_demands_is_announced_once_an_hour_with_its_count(stack: Stack, emu: Emulator) -> None:
    """Before: 100 forged Demands for components not in the policy made 100 TriggerRejected
    notifications (operators' mail has no filter). Now each is rejected and logged, and the topic
    hears one per cause an hour; the next one says how many were not announced meanwhile."""
    for n in range(100):
        event = stack.handler_event("demand_signal.json")
        event["detail"]["component"] = f"ghost-{n}"
        assert stack.invoke("demand-signal", event)["outcomes"][0]["result"] == "rejected"
    rejected = [e for e in stack.lifecycle_events() if e["type"] == "TriggerRejected"]
    assert len(rejected) == 1 and rejected[0]["details"]["unannounced_since_last"] == 0
    emu.advance(3600)
    event = stack.handler_event("demand_signal.json")
    event["detail"]["component"] = "ghost-again"
    stack.invoke("demand-signal", event)
    later = [e for e in stack.lifecycle_events() if e["type"] == "TriggerRejected"]  # the queue was drained
    assert len(later) == 1 and later[0]["details"]["unannounced_since_last"] == 99


def test_a_file_body_is_sent_whole_on_the_retry_after_the_cold_start(
    stack: Stack, emu: Emulator, client: WarmAwareClient
) -> None:
    """A seekable file is rewound before each send: the request served after the cold start
    carries the prompt, not the empty remainder of a stream read by the first attempt."""
    import io

    body = io.BytesIO(b'{"inputs": "the whole prompt"}')
    response = client.invoke(EndpointName="llm-endpoint", InferenceComponentName="flan-t5-xxl", Body=body)
    answer = json.loads(response["Body"].read())
    assert answer[0]["generated_text"] == "[flan-t5-xxl] the whole prompt"


def test_a_stream_that_cannot_seek_is_refused_before_anything_is_sent(
    stack: Stack, emu: Emulator, client: WarmAwareClient
) -> None:
    class Pipe:
        def read(self, size: int = -1) -> bytes:
            return b'{"inputs": "x"}'

        def seekable(self) -> bool:
            return False

    with pytest.raises(TypeError, match="cannot seek"):
        client.invoke(EndpointName="llm-endpoint", InferenceComponentName="flan-t5-xxl", Body=Pipe())
    assert demand_runs(emu) == [] and desired("flan-t5-xxl") == 0  # nothing was sent, nothing signalled


def test_a_streamed_call_waits_through_the_cold_start_like_invoke(
    stack: Stack, emu: Emulator, client: WarmAwareClient
) -> None:
    first = emu.now()
    response = client.invoke_stream(
        EndpointName="llm-endpoint", InferenceComponentName="flan-t5-xxl", Body=b'{"inputs": "stream me"}'
    )
    text = "".join(e["PayloadPart"]["Bytes"].decode() for e in response["Body"] if "PayloadPart" in e)
    assert "[flan-t5-xxl] stream me" in text
    assert len(demand_runs(emu)) == 1 and 240 <= (emu.now() - first).total_seconds() < 300


def test_the_client_never_sleeps_more_than_its_cap(client: WarmAwareClient) -> None:
    from icpilot_client.client import MAX_SLEEP

    pauses = [client._pause(attempt, None) for attempt in range(40) for _ in range(20)]
    assert max(pauses) <= MAX_SLEEP and min(pauses) >= 0.8
