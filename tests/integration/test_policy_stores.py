"""The policy in AWS AppConfig (issue 31, item 4): the stack makes the application, environment,
profile (the policy's JSON Schema as validator) and strategy; it deploys with nothing in the store
and does nothing until an operator deploys a policy with ``icpilot deploy-policy``; AppConfig
refuses a policy its schema rejects, and the one in force stays."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator import EMULATOR
from emulator.stack import Stack, deploy_stack
from emulator.template import TemplateError
from icpilot_cli.main import main
from tests.conftest import INTEGRATION_POLICY, fresh_account
from tests.harness import create_seed

pytestmark = pytest.mark.real_clock  # the emulator, deployed here

REGION = "us-east-1"


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    with fresh_account(monkeypatch):
        create_seed(boto3.client("sagemaker", region_name=REGION), copies=0)
        EMULATOR.advance(240)
        yield deploy_stack(name="team", parameters={"AppConfigPolicy": "Enabled"})


def deploy_policy(path: Path | str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["deploy-policy", str(path), "--stack", "team", "--json"])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_a_stack_without_a_deployed_policy_deploys_and_waits_for_one(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stack.deployment.custom_resource_results  # the deploy's custom resources answered SUCCESS
    summary = stack.invoke("watch-tick", {"kind": "tick"})
    assert summary["policy_pending"] and "no policy is deployed yet" in summary["policy_error"][0]
    stack.invoke("watch-tick", {"kind": "tick"})
    invalid = [e for e in stack.lifecycle_events() if e["type"] == "PolicyInvalid"]
    assert len(invalid) == 1  # said once, not every tick

    code, out = deploy_policy(INTEGRATION_POLICY, capsys)
    assert code == 0, out
    assert '"state": "COMPLETE"' in out
    EMULATOR.advance(61)  # past the provider's 60 s cache
    summary = stack.invoke("watch-tick", {"kind": "tick"})
    assert summary["policy_error"] is None
    assert {o["component"] for o in summary["outcomes"]} == {"falcon-7b", "flan-t5-xxl"}
    assert stack.invoke("configure-autoscaling", {"kind": "configure"})["ok"]
    alarms = boto3.client("cloudwatch", region_name=REGION).describe_alarms(AlarmNamePrefix="icpilot-")["MetricAlarms"]
    assert {a["AlarmName"] for a in alarms} >= {"icpilot-falcon-7b-no-capacity", "icpilot-flan-t5-xxl-idle"}


def test_appconfig_refuses_what_the_schema_rejects_and_the_policy_in_force_stays(
    stack: Stack, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert deploy_policy(INTEGRATION_POLICY, capsys)[0] == 0
    stack.lifecycle_events()  # the deploy's "no policy deployed yet"
    # Past icpilot's own check (the CLI refuses an invalid file before writing anything) ...
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nendpoints: {llm-endpoint: {components: {falcon-7b: {max_copies: -1}}}}\n")
    code, out = deploy_policy(bad, capsys)
    assert code != 0 and "max_copies" in out
    # ... AppConfig's validator refuses a document the schema rejects.
    outputs = stack.outputs
    appconfig = boto3.client("appconfig", region_name=REGION)
    version = appconfig.create_hosted_configuration_version(
        ApplicationId=outputs["PolicyApplicationId"],
        ConfigurationProfileId=outputs["PolicyProfileId"],
        Content=b'{"version": 1, "endpoints": {"llm-endpoint": {"components": {"falcon-7b": {"max_copies": -1}}}}}',
        ContentType="application/json",
    )["VersionNumber"]
    with pytest.raises(ClientError, match="BadRequestException"):
        appconfig.start_deployment(
            ApplicationId=outputs["PolicyApplicationId"],
            EnvironmentId=outputs["PolicyEnvironmentId"],
            DeploymentStrategyId=outputs["PolicyDeploymentStrategyId"],
            ConfigurationProfileId=outputs["PolicyProfileId"],
            ConfigurationVersion=str(version),
        )
    EMULATOR.advance(61)
    summary = stack.invoke("watch-tick", {"kind": "tick"})
    assert summary["policy_error"] is None  # the first policy is still in force
    assert not [e for e in stack.lifecycle_events() if e["type"] == "PolicyInvalid"]


def test_a_stack_keeps_its_policy_in_one_store(stack: Stack) -> None:
    with pytest.raises(TemplateError, match="OnePolicyStore"):
        deploy_stack(name="both", parameters={"AppConfigPolicy": "Enabled", "PolicyParameterName": "/icpilot/p"})


def test_deploy_policy_to_a_stack_without_appconfig_says_so(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    deploy_stack(name="plain", policy_path=str(INTEGRATION_POLICY))
    code = main(["deploy-policy", str(INTEGRATION_POLICY), "--stack", "plain"])
    err: Any = capsys.readouterr().err
    assert code != 0 and "does not keep its policy in AppConfig" in err
