"""``icpilot init``: a first policy from what the account holds, valid, and changing nothing."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
import yaml
from icpilot.policy import load_policy

from emulator import emulated_aws
from icpilot_cli.main import main
from tests.harness import create_seed

pytestmark = pytest.mark.real_clock  # starts the emulator itself

REGION = "us-east-1"


def test_init_writes_a_valid_policy_that_holds_todays_copies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "policy.yaml"
    with emulated_aws() as emu:
        sm = boto3.client("sagemaker", region_name=REGION)
        create_seed(sm, copies=1)
        emu.advance(600)
        sm.create_model(
            ModelName="classic", ExecutionRoleArn="arn:aws:iam::123456789012:role/x", PrimaryContainer={"Image": "i"}
        )
        sm.create_endpoint_config(
            EndpointConfigName="classic-config",
            ProductionVariants=[
                {"VariantName": "v", "ModelName": "classic", "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1}
            ],
        )
        sm.create_endpoint(EndpointName="classic", EndpointConfigName="classic-config")
        assert main(["init", "--output", str(out)]) == 0
        captured = capsys.readouterr()
        assert "skipped classic: not an inference-component endpoint" in captured.err
        policy = load_policy(out)  # valid as written
        components = {c: cp for _, c, cp in policy.components()}
        assert set(policy.endpoints) == {"llm-endpoint"}
        assert set(components) == {"falcon-7b", "flan-t5-xxl"}
        assert all(cp.min_copies == 1 and cp.max_copies == 1 for cp in components.values())  # today's copies
        assert all(cp.idle_scale_to_zero_after is None for cp in components.values())  # never to zero
        assert out.read_text().startswith("# icpilot policy written by `icpilot init`")
        before = out.read_text()
        assert main(["init", "--output", str(out)]) == 1  # never overwrites without --force
        assert out.read_text() == before and "pass --force" in capsys.readouterr().err
        assert main(["init", "--output", str(out), "--force", "--endpoint", "llm-endpoint"]) == 0
        assert yaml.safe_load(out.read_text())["version"] == 1


def test_init_with_no_component_endpoint_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "policy.yaml"
    with emulated_aws():
        assert main(["init", "--output", str(out)]) == 1
    assert not out.exists()
    assert "no endpoint with inference components found" in capsys.readouterr().err


def test_init_keeps_a_teams_autoscaling_and_starts_in_observe_mode(tmp_path: Path) -> None:
    """Brownfield: a team's target (1..4) with target tracking at 30 per copy is written as the
    component's bounds and autoscaling block, so adopting it keeps what the team set."""
    out = tmp_path / "policy.yaml"
    with emulated_aws() as emu:
        sm = boto3.client("sagemaker", region_name=REGION)
        create_seed(sm, copies=1)
        emu.advance(600)
        aas = boto3.client("application-autoscaling", region_name=REGION)
        aas.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId="inference-component/falcon-7b",
            ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
            MinCapacity=1,
            MaxCapacity=4,
        )
        aas.put_scaling_policy(
            PolicyName="team-tracking",
            ServiceNamespace="sagemaker",
            ResourceId="inference-component/falcon-7b",
            ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 30.0,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"
                },
                "ScaleInCooldown": 600,
            },
        )
        assert main(["init", "--output", str(out)]) == 0
        policy = load_policy(out)
    falcon = policy.endpoints["llm-endpoint"].components["falcon-7b"]
    flan = policy.endpoints["llm-endpoint"].components["flan-t5-xxl"]
    assert (falcon.min_copies, falcon.max_copies) == (1, 4)
    assert falcon.autoscaling is not None and falcon.autoscaling.target == 30.0
    assert falcon.autoscaling.scale_in_cooldown == 600
    assert (flan.min_copies, flan.max_copies, flan.autoscaling) == (1, 1, None)  # no team target: today's copies
    assert policy.mode == "observe"
