"""A component nobody owns never blocks an endpoint (issue 14): one that cannot be described is left out."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from icpilot.adapters.sagemaker import SageMakerAdapter
from icpilot.errors import IcpilotError
from icpilot.policy.lint import lint_endpoint

from emulator import Emulator
from emulator.seed import ROLE, create_seed

OWNED = frozenset({"falcon-7b", "flan-t5-xxl"})


class DeniesOne:
    """The real (emulated) client, except DescribeInferenceComponent on one name: AccessDenied, as the
    scoped IAM the README recommends answers for a component outside ComponentNamePattern."""

    def __init__(self, client: Any, denied: str) -> None:
        self._client, self._denied = client, denied

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def describe_inference_component(self, **kwargs: Any) -> Any:
        if kwargs.get("InferenceComponentName") == self._denied:
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "DescribeInferenceComponent"
            )
        return self._client.describe_inference_component(**kwargs)


@pytest.fixture
def endpoint_with_a_stranger(emulator: Emulator) -> Any:
    sm = boto3.client("sagemaker", region_name="us-east-1")
    create_seed(sm, copies=0)
    sm.create_inference_component(
        InferenceComponentName="someone-elses",
        EndpointName="llm-endpoint",
        VariantName="AllTraffic",
        Specification={
            "ModelName": "falcon-7b-model",
            "ComputeResourceRequirements": {"NumberOfAcceleratorDevicesRequired": 1, "MinMemoryRequiredInMb": 1024},
        },
        RuntimeConfig={"CopyCount": 0},
    )
    emulator.advance(300)
    return sm


def test_a_component_outside_the_policy_that_cannot_be_described_is_left_out(endpoint_with_a_stranger: Any) -> None:
    adapter = SageMakerAdapter(DeniesOne(endpoint_with_a_stranger, "someone-elses"))
    observed = adapter.observe_endpoint("llm-endpoint", OWNED)
    assert {c.name for c in observed.components} == OWNED
    assert observed.unobserved == ("someone-elses",)


def test_a_component_of_the_policy_that_cannot_be_described_is_an_error(endpoint_with_a_stranger: Any) -> None:
    adapter = SageMakerAdapter(DeniesOne(endpoint_with_a_stranger, "flan-t5-xxl"))
    with pytest.raises(IcpilotError):
        adapter.observe_endpoint("llm-endpoint", OWNED)


def test_the_endpoints_scale_in_strategy_is_observed(emulator: Emulator) -> None:
    """Managed instance scaling's ScaleInPolicy (``lint --live`` advises CONSOLIDATION): IDLE_RELEASE
    when the config sets none, as the API reference documents; None without managed scaling."""
    sm = boto3.client("sagemaker", region_name="us-east-1")
    create_seed(sm, copies=0)
    for name, scaling in (
        ("consolidating", {"ScaleInPolicy": {"Strategy": "CONSOLIDATION", "CooldownInMinutes": 5}}),
        ("fixed", None),
    ):
        variant: dict[str, Any] = {
            "VariantName": "AllTraffic",
            "InstanceType": "ml.g5.24xlarge",
            "InitialInstanceCount": 2,
        }
        if scaling is not None:
            variant["ManagedInstanceScaling"] = {
                "Status": "ENABLED",
                "MinInstanceCount": 1,
                "MaxInstanceCount": 2,
                **scaling,
            }
        sm.create_endpoint_config(
            EndpointConfigName=f"{name}-config", ExecutionRoleArn=ROLE, ProductionVariants=[variant]
        )
        sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    emulator.advance(300)
    adapter = SageMakerAdapter(sm)
    assert adapter.observe_endpoint("llm-endpoint", OWNED).scale_in_strategy == "IDLE_RELEASE"
    assert adapter.observe_endpoint("consolidating", OWNED).scale_in_strategy == "CONSOLIDATION"
    assert adapter.observe_endpoint("fixed", OWNED).scale_in_strategy is None


@pytest.mark.parametrize(
    ("strategy", "max_instances", "advised"),
    [("IDLE_RELEASE", 2, True), ("CONSOLIDATION", 2, False), ("IDLE_RELEASE", 1, False), (None, 4, False)],
)
def test_lint_advises_consolidation_where_copies_can_spread(
    strategy: str | None, max_instances: int, advised: bool
) -> None:
    findings = lint_endpoint("ep", strategy, max_instances)
    assert bool(findings) == advised
    assert all(f.severity == "warning" and "CONSOLIDATION" in f.message for f in findings)
