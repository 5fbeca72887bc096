"""One corrupt state item stops one component, never the run (issue 14): the others are evaluated."""

from __future__ import annotations

import boto3
import pytest

from emulator import Emulator
from emulator.stack import REGION, Stack
from functions.watch_tick.app import lambda_handler as watch_tick


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("warmup_started_at", {"S": "yesterday"}),
        ("override_until", {"S": "2026-11-23T08:00:00"}),  # naive: no zone offset
        ("pending_target", {"S": "two"}),
        ("ready_history", {"S": "[1, 2"}),
        ("version", {"S": "v7"}),
    ],
)
def test_a_corrupt_item_is_that_components_failure_and_the_others_proceed(
    stack: Stack, emu: Emulator, attribute: str, value: dict[str, str]
) -> None:
    ddb = boto3.client("dynamodb", region_name=REGION)
    ddb.put_item(
        TableName=stack.table,
        Item={"pk": {"S": "component#llm-endpoint#falcon-7b"}, "version": {"N": "3"}, attribute: value},
    )
    emu.dispatcher.handlers.pop("icpilot-watch-tick", None)  # this test runs the tick itself
    emu.advance(56 * 60)  # 07:00Z = 08:00 Berlin: both windows open
    emu.dispatcher.register("icpilot-watch-tick", watch_tick)
    summary = stack.invoke("watch-tick", stack.handler_event("watch_tick.json"))
    outcomes = {o["component"]: o for o in summary["outcomes"]}
    assert outcomes["falcon-7b"]["result"] == "failed"
    assert attribute in outcomes["falcon-7b"]["reason"] and "unreadable" in outcomes["falcon-7b"]["reason"]
    assert outcomes["flan-t5-xxl"]["result"] in ("scaled", "unchanged")  # the floor still applied
    sm = boto3.client("sagemaker", region_name=REGION)
    assert (
        sm.describe_inference_component(InferenceComponentName="flan-t5-xxl")["RuntimeConfig"]["DesiredCopyCount"] == 1
    )
    failed = [e for e in stack.lifecycle_events() if e["type"] == "ActionFailed" and e["component"] == "falcon-7b"]
    assert failed and attribute in failed[-1]["reason"]


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("accepted_at", {"S": "yesterday"}),
        ("requested_at", {"S": "2026-11-23T08:00:00"}),  # naive: no zone offset
        ("inflight_target", {"S": "two"}),
        ("inflight_kind", {"N": "7"}),
    ],
)
def test_an_unreadable_transition_is_said_once_and_no_longer_followed_while_the_others_are(
    stack: Stack, emu: Emulator, attribute: str, value: dict[str, str]
) -> None:
    """Issue 14: the watcher read its in-flight record raw; a bad time stopped every watch run."""
    ddb = boto3.client("dynamodb", region_name=REGION)
    when = {"S": emu.now().isoformat()}
    flight = {"inflight": {"S": "1"}, "inflight_kind": {"S": "scale-out"}, "inflight_target": {"N": "1"}}
    flight |= {"inflight_from": {"N": "0"}, "accepted_at": when, "requested_at": when, "version": {"N": "2"}}
    ddb.put_item(TableName=stack.table, Item={"pk": {"S": "component#llm-endpoint#flan-t5-xxl"}, **flight})
    ddb.put_item(
        TableName=stack.table, Item={"pk": {"S": "component#llm-endpoint#falcon-7b"}, **flight, attribute: value}
    )
    summary = stack.invoke("watch-warmups", stack.handler_event("watch_warmups.json"))
    outcomes = {o["component"]: o for o in summary["outcomes"]}
    assert outcomes["flan-t5-xxl"]["result"] == "done"  # the seed's 1 copy is loaded: finished
    assert outcomes["falcon-7b"]["result"] == "failed" and attribute in outcomes["falcon-7b"]["reason"]
    failed = [e for e in stack.lifecycle_events() if e["type"] == "ActionFailed" and e["component"] == "falcon-7b"]
    assert len(failed) == 1 and attribute in failed[0]["reason"] and "stopped following" in failed[0]["reason"]
    again = stack.invoke("watch-warmups", stack.handler_event("watch_warmups.json"))
    assert again["outcomes"] == []  # neither is in flight any more: nothing said twice
    assert not [e for e in stack.lifecycle_events() if e["type"] == "ActionFailed"]
