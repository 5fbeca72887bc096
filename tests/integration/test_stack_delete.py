"""``sam delete``: the configure custom resource removes what icpilot made, and nothing else."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from emulator import Emulator
from emulator.stack import Stack

REGION = "us-east-1"
NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:inference-component:DesiredCopyCount"


def aas() -> Any:
    return boto3.client("application-autoscaling", region_name=REGION)


def targets() -> set[str]:
    found = aas().describe_scalable_targets(ServiceNamespace=NAMESPACE)["ScalableTargets"]
    return {t["ResourceId"].split("/", 1)[1] for t in found}


def policies(component: str) -> set[str]:
    found = aas().describe_scaling_policies(ServiceNamespace=NAMESPACE, ResourceId=f"inference-component/{component}")
    return {p["PolicyName"] for p in found["ScalingPolicies"]}


def alarms() -> set[str]:
    return {a["AlarmName"] for a in boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"]}


def custom_resource(stack: Stack, request_type: str) -> dict[str, Any]:
    event = stack.handler_event("watch_tick_cfn_create.json")
    event.update(RequestType=request_type, LogicalResourceId="ConfigureOnDeploy", PhysicalResourceId="icpilot-x")
    return event


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """What the custom resource answers CloudFormation (the PUT to the presigned URL)."""
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(
        "icpilot.adapters.cfn.send", lambda request, status, reason, data=None: sent.append((status, reason))
    )
    return sent


def test_delete_removes_what_icpilot_made_and_leaves_the_rest(stack: Stack, answers: list[tuple[str, str]]) -> None:
    # Someone else's: falcon's scalable target (registered before icpilot came) and an alarm of theirs.
    aas().register_scalable_target(
        ServiceNamespace=NAMESPACE,
        ResourceId="inference-component/falcon-7b",
        ScalableDimension=DIMENSION,
        MinCapacity=0,
        MaxCapacity=4,
    )
    boto3.client("cloudwatch", region_name=REGION).put_metric_alarm(
        AlarmName="team-falcon-latency",
        Namespace="AWS/SageMaker",
        MetricName="ModelLatency",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1e6,
        ComparisonOperator="GreaterThanThreshold",
    )
    stack.invoke("configure-autoscaling", custom_resource(stack, "Create"))
    assert answers[-1][0] == "SUCCESS"
    assert targets() == {"falcon-7b", "flan-t5-xxl"}
    assert {a for a in alarms() if a.startswith("icpilot-")} and "icpilot-scale-from-zero" in policies("falcon-7b")

    summary = stack.invoke("configure-autoscaling", custom_resource(stack, "Delete"))
    assert answers[-1] == ("SUCCESS", "cleaned up"), summary
    # Every icpilot alarm gone, theirs kept. (The stack's health alarms are template resources:
    # CloudFormation deletes them after this custom resource, as Stack.delete() does.)
    assert {a for a in alarms() if ".health." not in a} == {"team-falcon-latency"}
    assert targets() == {"falcon-7b"}  # icpilot registered flan's target, not falcon's
    assert {p for p in policies("falcon-7b") if p.startswith("icpilot-")} == set()
    assert not summary["errors"]


def test_delete_with_an_invalid_policy_still_cleans_up_and_never_blocks_the_stack(
    stack: Stack, answers: list[tuple[str, str]], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack.invoke("configure-autoscaling", custom_resource(stack, "Create"))
    bad = tmp_path / "policy.yaml"
    bad.write_text("endpoints: {llm-endpoint: {components: {falcon-7b: {max_copies: 0}}}}\n")
    monkeypatch.setenv("ICPILOT_POLICY_PATH", str(bad))
    stack.invoke("configure-autoscaling", custom_resource(stack, "Update"))
    assert answers[-1][0] == "FAILED"  # the deploy of a bad policy stops ...
    stack.invoke("configure-autoscaling", custom_resource(stack, "Delete"))
    assert answers[-1] == ("SUCCESS", "cleaned up")  # ... and its rollback or delete does not get stuck
    assert not {a for a in alarms() if a.startswith("icpilot-")} and targets() == set()


def test_a_controller_that_cannot_be_built_is_still_answered(
    stack: Stack, emu: Emulator, answers: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash while wiring the controller (before this round it ran outside the guard) is answered
    FAILED at once instead of leaving CloudFormation waiting an hour; the invocation still fails."""
    emu.dispatcher.raise_errors = False
    monkeypatch.setattr("functions.configure_autoscaling.app.controller_for", _explode)
    stack.invoke("configure-autoscaling", custom_resource(stack, "Create"))
    assert answers and answers[-1][0] == "FAILED" and "boom" in answers[-1][1]
    stack.invoke("configure-autoscaling", custom_resource(stack, "Delete"))
    assert answers[-1][0] == "SUCCESS" and "clean-up failed" in answers[-1][1]


def _explode(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError("boom: the controller could not be built")
