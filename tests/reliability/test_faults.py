"""Fault suites on the emulator: throttling and 5xx on every service icpilot writes to, SNS down,
and the state table refusing writes. Real handlers, fired by the dispatcher on the emulator clock.

The seed day: Monday 06:04Z, both components at 0 copies; the business-hours window opens at
07:00Z (08:00 Berlin) with falcon-7b's floor 2 and flan-t5-xxl's floor 1.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from icpilot.adapters.state import StateStore

from emulator import Emulator, FaultRule
from emulator.stack import Stack

REGION = "us-east-1"
WRITES = "UpdateInferenceComponentRuntimeConfig"
FAULTY_SERVICES = ("sagemaker", "application-autoscaling", "dynamodb", "sns")


def desired(name: str) -> tuple[int, int]:
    rc = boto3.client("sagemaker", region_name=REGION).describe_inference_component(InferenceComponentName=name)[
        "RuntimeConfig"
    ]
    return rc["DesiredCopyCount"], rc["CurrentCopyCount"]


def parked(stack: Stack) -> list[dict[str, Any]]:
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=stack.table)["Items"]
    return [i for i in items if i["pk"]["S"].startswith("event#")]


def dead_letters(stack: Stack) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName=stack.dlq_arn.rsplit(":", 1)[1])["QueueUrl"]
    out = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for m in batch:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out


@pytest.fixture
def few_retries(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Three attempts per AWS call (the deployed default is eight) so that a few faults get past
    the SDK to the controller, and no real waiting between attempts: the emulator's clock is
    virtual. Returns the backoff the SDK would have slept, in seconds."""
    import botocore.endpoint

    monkeypatch.setenv("ICPILOT_AWS_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("ICPILOT_AWS_RETRY_MODE", "standard")
    slept: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=slept.append, time=time.time))
    return slept


def summaries(emu: Emulator) -> list[dict[str, Any]]:
    return [i.result for i in emu.dispatcher.invocations if isinstance(i.result, dict) and "outcomes" in i.result]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_thirty_percent_faults_on_every_service_still_converge(
    stack: Stack, emu: Emulator, seed: int, few_retries: list[float]
) -> None:
    """30% of SageMaker, AAS, DynamoDB and SNS calls throttled or 5xx: the window's floors are
    reached within bounded ticks, each copy count is written once, each failure said once, and
    no event is lost."""
    assert stack.invoke("configure-autoscaling", {"kind": "configure"})["ok"]
    emu.dispatcher.raise_errors = False  # a crash is what Lambda would retry and dead-letter: counted below
    emu.faults.configure([FaultRule(s, "*", 0.3, "mixed") for s in FAULTY_SERVICES], seed=seed)
    emu.advance(56 * 60 + 20 * 60)  # to 07:20Z: the window opened at 07:00Z, four ticks ago
    injected = sum(emu.faults.injected.values())
    emu.faults.configure([])
    emu.advance(120)  # two watcher minutes without faults: parked events go out

    assert desired("falcon-7b") == (2, 2) and desired("flan-t5-xxl") == (1, 1)
    # Nothing applied twice: one successful copy-count write per component (0->2, 0->1).
    assert emu.faults.count("sagemaker", WRITES, "ok") == 2
    events = stack.lifecycle_events()
    scaled = [e for e in events if e["type"] == "Scaled"]
    assert sorted((e["component"], e["from_copies"], e["to_copies"]) for e in scaled) == [
        ("falcon-7b", 0, 2),
        ("flan-t5-xxl", 0, 1),
    ]
    # No event lost or doubled: every id arrives once, nothing stays parked.
    ids = Counter(e["id"] for e in events)
    assert max(ids.values()) == 1 and parked(stack) == []
    # Every failure reported once: each run that failed says so in one ActionFailed per reason.
    failed_runs = [s for s in summaries(emu) if not s["ok"] and s["policy_error"] is None]
    said = Counter((e["correlation_id"], e["reason"]) for e in events if e["type"] == "ActionFailed")
    assert all(n == 1 for n in said.values())
    reported = {cid for cid, _ in said}
    assert all(
        s["correlation_id"] in reported for s in failed_runs if any(o["result"] == "failed" for o in s["outcomes"])
    )
    # Crashes (the idempotency layer cannot reach DynamoDB) were retried, then dead-lettered.
    crashed = [i for i in emu.dispatcher.invocations if i.error]
    letters = dead_letters(stack)
    assert all(letter["requestContext"]["condition"] == "RetriesExhausted" for letter in letters)
    print(
        f"seed {seed}: {injected} faults injected; {len(failed_runs)} runs reported failures; "
        f"{len(said)} ActionFailed; {len(crashed)} crashed invocations; {len(letters)} dead letters; "
        f"{len(few_retries)} SDK retries"
    )
    assert injected > 50


def test_sns_down_the_action_still_happens_and_its_events_go_out_later(
    stack: Stack, emu: Emulator, few_retries: list[float]
) -> None:
    emu.faults.configure([FaultRule("sns", "Publish", 1.0, "5xx")])
    emu.advance(56 * 60)  # 07:00Z: the window opened while SNS refused every publish
    assert desired("falcon-7b") == (2, 2) and desired("flan-t5-xxl") == (1, 1)  # the actions happened
    assert stack.lifecycle_events() == []
    waiting = parked(stack)
    bodies = [json.loads(p["body"]["S"]) for p in waiting]
    assert {"WarmUpStarted", "ScaleRequested", "Scaled", "WarmUpCompleted"} <= {b["type"] for b in bodies}
    undelivered = sum(s["events_undelivered"] for s in summaries(emu))
    assert undelivered == len(waiting)

    emu.faults.configure([])
    emu.advance(60)  # the watcher's next minute publishes them, oldest first, as they were
    events = stack.lifecycle_events()
    assert [e["id"] for e in events] == [b["id"] for b in sorted(bodies, key=lambda b: (b["time"], b["id"]))]
    assert parked(stack) == []
    falcon = [e for e in events if e["component"] == "falcon-7b" and e["type"] == "Scaled"]
    assert falcon[0]["time"].startswith("2026-11-23T06:54")  # its original time, not the republish time
    assert falcon[0]["_attributes"]["event_type"] == "Scaled"  # filterable as any other


def test_an_event_sns_refuses_for_good_is_dead_lettered_and_announced_once(stack: Stack, emu: Emulator) -> None:
    """One publish answered 400 InvalidParameter (a message SNS will never take): it is not parked
    and retried every minute, but kept on the dead-letter queue, and one ActionFailed says so."""
    emu.faults.configure([FaultRule("sns", "Publish", 1.0, "refused", limit=1)])
    emu.advance(56 * 60)  # 07:00Z: the window opens; the first event of the morning is refused
    assert desired("falcon-7b") == (2, 2)  # the action stands
    assert parked(stack) == []
    [letter] = [d for d in dead_letters(stack) if d.get("kind") == "lifecycle-event-undeliverable"]
    assert "InvalidParameter" in letter["why"]
    refused_id = letter["event"]["id"]
    events = stack.lifecycle_events()
    assert refused_id not in {e["id"] for e in events}  # never delivered, never retried
    notices = [e for e in events if e["details"].get("undeliverable_event_id") == refused_id]
    assert len(notices) == 1 and notices[0]["type"] == "ActionFailed"
    assert "dead-letter queue" in notices[0]["reason"]
    emu.advance(10 * 60)
    assert [e for e in stack.lifecycle_events() if e["details"].get("undeliverable_event_id")] == []


def test_a_parked_event_is_dead_lettered_after_a_day_not_retried_forever(
    stack: Stack, emu: Emulator, few_retries: list[float]
) -> None:
    emu.faults.configure([FaultRule("sns", "Publish", 1.0, "5xx")])
    emu.advance(56 * 60)
    waiting = {json.loads(p["body"]["S"])["id"] for p in parked(stack)}
    assert waiting
    stack.pause_periodic_schedules()  # a quiet day, fast
    emu.advance(23 * 3600)  # 06:00Z next day: the events of 06:04-07:00 are not yet a day old
    stack.invoke("watch-warmups", {"kind": "watch"})  # SNS still down
    assert waiting <= {json.loads(p["body"]["S"])["id"] for p in parked(stack)}  # and the day's own events
    emu.faults.configure([])
    emu.advance(70 * 60)
    stack.invoke("watch-warmups", {"kind": "watch"})  # 07:10Z, SNS is back: the morning's events are over a day old
    assert parked(stack) == []  # the day's younger events went out late, the morning's were given up
    letters = [d for d in dead_letters(stack) if d.get("kind") == "lifecycle-event-undeliverable"]
    assert {d["event"]["id"] for d in letters} == waiting and all("in 24 h of retries" in d["why"] for d in letters)
    notices = [e for e in stack.lifecycle_events() if e["details"].get("undeliverable_event_id")]
    assert {n["details"]["undeliverable_event_id"] for n in notices} == waiting  # each said once


def test_a_crashing_handler_is_retried_then_dead_lettered(stack: Stack, emu: Emulator) -> None:
    """The alarm function cannot reach its idempotency table: Lambda retries it once (its
    EventInvokeConfig), then the on-failure queue holds the event with the error."""
    emu.dispatcher.raise_errors = False
    event = stack.alarm_event("alarm_scale_no_capacity.json")
    emu.faults.configure([FaultRule("dynamodb", "PutItem", 1.0, "5xx")])
    emu.dispatcher.invoke_async(
        stack.env["ICPILOT_SCHEDULE_FUNCTION_ARN"].replace("schedule-window", "alarm-scale"), event, "rule:test"
    )
    runs = [i for i in emu.dispatcher.invocations if i.function == "icpilot-alarm-scale"]
    assert len(runs) == 2 and all(r.error for r in runs)
    [letter] = dead_letters(stack)
    assert letter["requestPayload"] == event and letter["requestContext"]["approximateInvokeCount"] == 2
    assert "Idempotency" in letter["responsePayload"]["errorType"]


def test_copy_written_but_not_recorded_is_reported_and_settled_by_the_next_tick(
    stack: Stack, emu: Emulator, few_retries: list[float]
) -> None:
    """The state table refuses the record right after the copy-count write (three attempts):
    the action stands, Scaled is still said, ActionFailed says what is missing, and the next tick
    finds the component at its target and clears the claim without writing again."""
    emu.faults.configure([FaultRule("dynamodb", "UpdateItem", 1.0, "5xx", after=f"sagemaker:{WRITES}", limit=3)])
    emu.advance(56 * 60)  # 07:00Z; flan-t5-xxl's edge fired first (06:52Z), so it is the one hit
    assert desired("falcon-7b")[0] == 2 and desired("flan-t5-xxl")[0] == 1
    events = stack.lifecycle_events()
    missing = [e for e in events if e["type"] == "ActionFailed"]
    assert len(missing) == 1 and "did not take the record" in missing[0]["reason"]
    hit = missing[0]["component"]
    assert [e["type"] for e in events if e["component"] == hit].count("Scaled") == 1
    emu.advance(10 * 60)
    assert StateStore(stack.table).get("llm-endpoint", hit).state.pending_target is None
    assert emu.faults.count("sagemaker", WRITES, "ok") == 2  # one write per component: nothing twice


def test_a_write_that_took_effect_but_answered_500_is_not_applied_twice(
    stack: Stack, emu: Emulator, few_retries: list[float]
) -> None:
    """AWS can apply a write and still answer 500. The SDK retries it and SageMaker refuses the
    retry (the component is now Updating); icpilot sees its own target already there and carries
    on as applied: Scaled, followed by the watcher, never written twice."""
    emu.faults.configure([FaultRule("sagemaker", WRITES, 1.0, "applied-5xx", limit=1)])
    emu.advance(56 * 60 + 15 * 60)  # 07:15Z
    assert desired("falcon-7b") == (2, 2) and desired("flan-t5-xxl") == (1, 1)
    # The first write (flan-t5-xxl's, 06:52Z) took effect and answered 500; the SDK's retry was
    # refused because the component was then Updating.
    assert emu.faults.count("sagemaker", WRITES, "applied-5xx") == 1
    assert emu.faults.count("sagemaker", WRITES, "ok") == 1  # falcon-7b's
    flan = [e["type"] for e in stack.lifecycle_events() if e["component"] == "flan-t5-xxl"]
    assert "ScaleDeferred" not in flan and flan.count("Scaled") == 1 and "WarmUpCompleted" in flan
    for name in ("falcon-7b", "flan-t5-xxl"):
        assert StateStore(stack.table).get("llm-endpoint", name).state.pending_target is None
