"""Managed instance scaling as the API reference describes it: copies placed BINPACK or SPREAD
(InferenceComponentSchedulingConfig), and the scale-in policy (ProductionVariantManagedInstanceScaling
ScaleInPolicy): IDLE_RELEASE releases instances without copies, CONSOLIDATION moves copies onto fewer
instances once CooldownInMinutes have passed since the endpoint's last operation, at most
MaximumStepSize instances at a time, the moved copies serving until their replacements are loaded."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.seed import ROLE
from tests.harness import Harness

LOAD = 240  # the emulator's model-load time (seconds)


def endpoint(aws: Harness, scale_in: dict[str, Any] | None, minimum: int = 0) -> Any:
    """ml.g5.24xlarge (4 GPUs), 0..3 instances, one 1-GPU component "a" placed SPREAD."""
    sm = aws.client("sagemaker")
    scaling: dict[str, Any] = {"Status": "ENABLED", "MinInstanceCount": minimum, "MaxInstanceCount": 3}
    if scale_in:
        scaling["ScaleInPolicy"] = scale_in
    sm.create_endpoint_config(
        EndpointConfigName="cfg",
        ExecutionRoleArn=ROLE,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.g5.24xlarge",
                "InitialInstanceCount": max(1, minimum),
                "ManagedInstanceScaling": scaling,
            }
        ],
    )
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    sm.create_model(ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img"})
    return sm


def component(sm: Any, name: str, copies: int, placement: str) -> None:
    sm.create_inference_component(
        InferenceComponentName=name,
        EndpointName="ep",
        VariantName="AllTraffic",
        Specification={
            "ModelName": "m",
            "ComputeResourceRequirements": {
                "NumberOfAcceleratorDevicesRequired": 1,
                "NumberOfCpuCoresRequired": 1,
                "MinMemoryRequiredInMb": 1024,
            },
            "SchedulingConfig": {"PlacementStrategy": placement},
        },
        RuntimeConfig={"CopyCount": copies},
    )


def instances(sm: Any) -> int:
    return int(sm.describe_endpoint(EndpointName="ep")["ProductionVariants"][0]["CurrentInstanceCount"])


def serving(sm: Any, name: str) -> int:
    d = sm.describe_inference_component(InferenceComponentName=name)
    return int(d["RuntimeConfig"]["CurrentCopyCount"])


def lower_minimum_to_zero(sm: Any) -> None:
    config = sm.describe_endpoint_config(EndpointConfigName="cfg")
    variant = dict(config["ProductionVariants"][0])
    variant["ManagedInstanceScaling"] = {**variant["ManagedInstanceScaling"], "MinInstanceCount": 0}
    sm.create_endpoint_config(EndpointConfigName="cfg-2", ExecutionRoleArn=ROLE, ProductionVariants=[variant])
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="cfg-2")


@pytest.mark.parametrize(("placement", "kept"), [("BINPACK", 1), ("SPREAD", 3)])
def test_binpack_fills_an_instance_and_spread_uses_every_instance(aws: Harness, placement: str, kept: int) -> None:
    """Three 1-GPU copies on three 4-GPU instances; once the minimum drops to 0, IDLE_RELEASE releases
    every instance without a copy: BINPACK put all three on one, SPREAD one on each."""
    sm = endpoint(aws, None, minimum=3)
    component(sm, "a", 3, placement)
    aws.advance(600)
    lower_minimum_to_zero(sm)
    aws.advance(3 * 3600)
    assert instances(sm) == kept and serving(sm, "a") == 3


def two_instances_one_copy_each(aws: Harness, scale_in: dict[str, Any]) -> Any:
    """Two instances, "a" with one copy on each (SPREAD), then MinInstanceCount lowered to 0."""
    sm = endpoint(aws, scale_in, minimum=2)
    component(sm, "a", 2, "SPREAD")
    aws.advance(600)
    lower_minimum_to_zero(sm)
    aws.advance(300)
    assert instances(sm) == 2 and serving(sm, "a") == 2
    return sm


def test_idle_release_keeps_every_instance_that_holds_a_copy(aws: Harness) -> None:
    sm = two_instances_one_copy_each(aws, {"Strategy": "IDLE_RELEASE"})
    aws.advance(3 * 3600)
    assert instances(sm) == 2 and serving(sm, "a") == 2  # 6 of 8 GPUs idle, but no instance is empty


def test_consolidation_moves_copies_after_its_cooldown_and_releases_the_instance(aws: Harness) -> None:
    sm = two_instances_one_copy_each(aws, {"Strategy": "CONSOLIDATION", "CooldownInMinutes": 30})
    aws.advance(10 * 60)
    assert instances(sm) == 2  # within the cooldown after the last operation: nothing moves
    lowest = serving(sm, "a")
    for _ in range((20 * 60 + 2 * LOAD) // 30):  # watched every 30 s: a moved copy serves until replaced
        aws.advance(30)
        lowest = min(lowest, serving(sm, "a"))
    assert lowest == 2
    assert instances(sm) == 1  # both copies on one instance, the other released


def test_consolidation_releases_at_most_maximum_step_size_instances_at_a_time(aws: Harness) -> None:
    sm = endpoint(aws, {"Strategy": "CONSOLIDATION", "CooldownInMinutes": 5, "MaximumStepSize": 1}, minimum=3)
    component(sm, "a", 3, "SPREAD")  # one copy on each of three instances
    aws.advance(600)
    lower_minimum_to_zero(sm)
    seen = [instances(sm)]
    for _ in range(60):
        aws.advance(60)
        seen.append(instances(sm))
    assert seen[0] == 3 and seen[-1] == 1
    assert all(earlier - later <= 1 for earlier, later in itertools.pairwise(seen))
    assert 2 in seen  # one instance released, then the next after another cooldown


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"Strategy": "SHRINK"}, "is not one of IDLE_RELEASE, CONSOLIDATION"),
        ({"Strategy": "CONSOLIDATION", "CooldownInMinutes": 1441}, "between 5 and 1440"),  # boto3 checks the minimum
        ({"Strategy": "CONSOLIDATION", "MaximumStepSize": 101}, "between 1 and 100"),
    ],
)
def test_a_scale_in_policy_out_of_range_is_refused(aws: Harness, policy: dict[str, Any], message: str) -> None:
    with pytest.raises(ClientError) as exc:
        endpoint(aws, policy)
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert message in exc.value.response["Error"]["Message"]
