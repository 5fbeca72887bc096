"""The endpoint's own status, read and honoured: an endpoint being updated defers its components'
changes, a Failed or Deleting one is left alone (said once), a deleted one is ComponentGone once.

Before: icpilot never read EndpointStatus. At the window opening during an UpdateEndpoint it wrote
falcon-7b's copies anyway (refused: an error ActionFailed), and against a Failed or deleted endpoint
it reported an error every tick. Handlers run in-process against the emulator, which refuses a
component's write while its endpoint is not InService.
"""

from __future__ import annotations

from collections import Counter

import boto3

from emulator import Emulator
from emulator.stack import Stack

REGION = "us-east-1"


def falcon(summary: dict) -> dict:  # type: ignore[type-arg]
    return next(o for o in summary["outcomes"] if o["component"] == "falcon-7b")


def desired(name: str) -> int:
    sm = boto3.client("sagemaker", region_name=REGION)
    return int(sm.describe_inference_component(InferenceComponentName=name)["RuntimeConfig"]["DesiredCopyCount"])


def writes(emu: Emulator) -> int:
    return emu.faults.count("sagemaker", "UpdateInferenceComponentRuntimeConfig")


def at_the_window(stack: Stack, emu: Emulator) -> None:
    """07:00Z (08:00 Berlin): falcon-7b's window opens (floor 2); nothing has acted on it yet."""
    stack.pause_periodic_schedules()
    emu.advance(56 * 60)


def test_an_endpoint_being_updated_defers_the_window_opening_until_it_is_in_service(
    stack: Stack, emu: Emulator
) -> None:
    sm = boto3.client("sagemaker", region_name=REGION)
    emu.settings.endpoint_update_seconds = 15 * 60
    at_the_window(stack, emu)
    config = sm.describe_endpoint_config(EndpointConfigName="llm-config")
    sm.create_endpoint_config(
        EndpointConfigName="llm-config-2",
        ExecutionRoleArn=config["ExecutionRoleArn"],
        ProductionVariants=config["ProductionVariants"],
    )
    sm.update_endpoint(EndpointName="llm-endpoint", EndpointConfigName="llm-config-2")
    before = writes(emu)

    deferred = falcon(stack.invoke("watch-tick", {"kind": "tick"}))
    assert deferred["result"] == "deferred" and "endpoint is Updating" in deferred["reason"]
    assert writes(emu) == before  # not even tried: the status was read first
    events = [e for e in stack.lifecycle_events() if e["component"] == "falcon-7b"]
    assert [e["type"] for e in events] == ["ScaleDeferred"]

    emu.advance(15 * 60)  # the update is over
    assert falcon(stack.invoke("watch-tick", {"kind": "tick"}))["result"] == "scaled"
    assert desired("falcon-7b") == 2


def test_a_failed_endpoint_is_left_alone_said_once_and_taken_up_again_when_it_recovers(
    stack: Stack, emu: Emulator
) -> None:
    at_the_window(stack, emu)
    emu.world_for("123456789012", REGION).fail_endpoint("llm-endpoint", "an instance could not be recovered")
    before = writes(emu)
    for _ in range(3):
        blocked = falcon(stack.invoke("watch-tick", {"kind": "tick"}))
        assert blocked["result"] == "blocked" and "an instance could not be recovered" in blocked["reason"]
        emu.advance(300)
    assert writes(emu) == before
    failures = Counter(e["component"] for e in stack.lifecycle_events() if e["type"] == "ActionFailed")
    assert failures == {"falcon-7b": 1, "flan-t5-xxl": 1}  # once each, not every tick

    emu.world_for("123456789012", REGION).fail_endpoint("llm-endpoint", None)
    assert falcon(stack.invoke("watch-tick", {"kind": "tick"}))["result"] == "scaled"


def test_an_endpoint_being_deleted_is_left_alone_and_once_gone_each_component_is_said_gone_once(
    stack: Stack, emu: Emulator
) -> None:
    at_the_window(stack, emu)
    emu.settings.endpoint_delete_seconds = 600
    boto3.client("sagemaker", region_name=REGION).delete_endpoint(EndpointName="llm-endpoint")
    before = writes(emu)
    assert falcon(stack.invoke("watch-tick", {"kind": "tick"}))["result"] == "blocked"
    emu.advance(601)
    for _ in range(3):
        assert falcon(stack.invoke("watch-tick", {"kind": "tick"}))["result"] == "unchanged"
        emu.advance(300)
    assert writes(emu) == before
    kinds = Counter((e["type"], e["component"]) for e in stack.lifecycle_events())
    assert kinds[("ComponentGone", "falcon-7b")] == 1 and kinds[("ComponentGone", "flan-t5-xxl")] == 1
    assert kinds[("ActionFailed", "falcon-7b")] == 1  # "is Deleting", once; nothing every tick
