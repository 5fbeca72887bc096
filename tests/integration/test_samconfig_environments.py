"""samconfig.toml's dev and prod environments deployed side by side in one account (issue 31): each
stack, with its own parameters and its own policy parameter, manages only its own components for
hours of its own schedules; no alarm, no scalable target ever changes owner, and neither stack
complains about the other."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from icpilot.plans.autoscaling import marker_owner

from emulator import EMULATOR
from emulator.seed import create_endpoint
from emulator.stack import Stack, deploy_stack
from tests.conftest import fresh_account

pytestmark = pytest.mark.real_clock  # the emulator, deployed here

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ENVIRONMENTS = ("dev", "prod")


def samconfig(env: str) -> tuple[str, dict[str, str]]:
    """The environment's stack name and parameter overrides, as `sam deploy --config-env` reads them."""
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())[env]["deploy"]["parameters"]
    return config["stack_name"], dict(re.findall(r'(\w+)="([^"]*)"', config["parameter_overrides"]))


def policy(env: str) -> str:
    """A policy in the environment's names: a falcon with a business-hours floor and AAS target
    tracking, and a flan that may go to zero."""
    return f"""version: 1
endpoints:
  llm-{env}-endpoint:
    components:
      {env}-falcon-7b:
        min_copies: 0
        max_copies: 3
        warmup_copies: 1
        idle_scale_to_zero_after: 30m
        schedules:
          - name: business-hours
            timezone: Europe/Berlin
            days: [MON, TUE, WED, THU, FRI]
            start: "08:00"
            end: "19:00"
            min_copies: 1
            max_copies: 3
        autoscaling: {{metric: invocations_per_copy, target: 20}}
      {env}-flan-t5-xxl:
        min_copies: 0
        max_copies: 1
        warmup_copies: 1
        idle_scale_to_zero_after: 30m
"""


@pytest.fixture
def stacks(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Stack]]:
    with fresh_account(monkeypatch):  # Monday 06:00Z: 07:00 in Berlin, an hour before the window opens
        sm = boto3.client("sagemaker", region_name=REGION)
        ssm = boto3.client("ssm", region_name=REGION)
        deployed = {}
        for env in ENVIRONMENTS:
            create_endpoint(
                sm,
                f"llm-{env}-endpoint",
                {f"{env}-falcon-7b": ("tiiuae/falcon-7b", 1), f"{env}-flan-t5-xxl": ("google/flan-t5-xxl", 2)},
            )
            name, parameters = samconfig(env)
            ssm.put_parameter(Name=parameters["PolicyParameterName"], Value=policy(env), Type="String")
            deployed[env] = deploy_stack(name=name, parameters=parameters)
        EMULATOR.alarm_evaluation_interval = 60
        yield deployed


def owners() -> dict[str, str | None]:
    """Who owns each icpilot alarm (its description's marker) and each scalable target (its tag)."""
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    aas = boto3.client("application-autoscaling", region_name=REGION)
    out: dict[str, str | None] = {}
    for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNamePrefix="icpilot-"):
        for alarm in page["MetricAlarms"]:
            if ".health." in alarm["AlarmName"]:
                continue  # a stack's own health alarms (named after the stack, not a component)
            out[f"alarm {alarm['AlarmName']}"] = marker_owner(alarm.get("AlarmDescription", ""))
    for target in aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]:
        tags = aas.list_tags_for_resource(ResourceARN=target["ScalableTargetARN"])["Tags"]
        out[f"target {target['ResourceId']}"] = tags.get("icpilot:stack")
    return out


def test_dev_and_prod_from_samconfig_side_by_side_never_take_each_others_components(
    stacks: dict[str, Stack],
) -> None:
    first = owners()
    for env, stack in stacks.items():
        mine = {k for k, owner in first.items() if owner == stack.name}
        assert mine and all(f"-{env}-" in k or f"/{env}-" in k for k in mine), (env, mine)
    assert None not in first.values()  # every alarm and target is claimed by exactly one stack

    events: dict[str, list[dict[str, object]]] = {env: [] for env in stacks}
    for _quarter in range(4 * 4):  # four hours of both stacks' schedules, the 08:00 window included
        EMULATOR.advance(900)
        assert owners() == first
        for env, stack in stacks.items():
            events[env] += stack.lifecycle_events()

    for env in stacks:
        kinds = {str(e["type"]) for e in events[env]}
        assert "OwnershipConflict" not in kinds and "PolicyMismatch" not in kinds, (env, kinds)
        assert not [e for e in events[env] if e["severity"] == "error"], env
        # Each acted, on its own components only: the window raised its falcon.
        warmed = {str(e["component"]) for e in events[env] if e["type"] == "WarmUpStarted"}
        assert warmed == {f"{env}-falcon-7b"}, (env, warmed)
    assert not [i for i in EMULATOR.dispatcher.invocations if i.error]
