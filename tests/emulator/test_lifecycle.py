"""Placement, capacity and lifecycle on the emulator clock."""

from __future__ import annotations

from typing import Any

from tests.harness import ROLE, Harness, create_seed


def runtime(sm: Any, name: str) -> dict[str, Any]:
    d = sm.describe_inference_component(InferenceComponentName=name)
    return {"status": d["InferenceComponentStatus"], **d["RuntimeConfig"], "reason": d.get("FailureReason")}


def instances(sm: Any) -> tuple[int, int]:
    v = sm.describe_endpoint(EndpointName="llm-endpoint")["ProductionVariants"][0]
    return v["CurrentInstanceCount"], v["DesiredInstanceCount"]


def test_creating_becomes_in_service_after_the_model_load_time(aws: Harness) -> None:
    aws.settings(model_load_seconds=300)
    sm = aws.client("sagemaker")
    create_seed(sm)
    aws.advance(299)
    assert runtime(sm, "falcon-7b")["status"] == "Creating"
    assert runtime(sm, "falcon-7b")["CurrentCopyCount"] == 0
    aws.advance(1)
    assert runtime(sm, "falcon-7b")["status"] == "InService"


def test_per_component_load_time(aws: Harness) -> None:
    aws.component_settings("flan-t5-xxl", model_load_seconds=480)
    aws.settings(model_load_seconds=120)
    sm = aws.client("sagemaker")
    create_seed(sm)
    aws.advance(121)
    assert runtime(sm, "falcon-7b")["status"] == "InService"
    assert runtime(sm, "flan-t5-xxl")["status"] == "Creating"
    aws.advance(360)
    assert runtime(sm, "flan-t5-xxl")["status"] == "InService"


def test_raising_loads_copies_one_by_one_and_lowering_releases(aws: Harness) -> None:
    aws.settings(model_load_seconds=200, copy_stagger_seconds=20, copy_release_seconds=0)
    sm = aws.client("sagemaker")
    create_seed(sm)
    aws.advance(200)
    sm.update_inference_component_runtime_config(
        InferenceComponentName="flan-t5-xxl", DesiredRuntimeConfig={"CopyCount": 0}
    )
    sm.update_inference_component_runtime_config(
        InferenceComponentName="falcon-7b", DesiredRuntimeConfig={"CopyCount": 3}
    )
    seen = []
    for step in (199, 1, 19, 1):  # new copies ready at +200 and +220 (stagger 20 s)
        aws.advance(step)
        seen.append(runtime(sm, "falcon-7b")["CurrentCopyCount"])
    assert seen == [1, 2, 2, 3]
    assert runtime(sm, "falcon-7b")["status"] == "InService"
    sm.update_inference_component_runtime_config(
        InferenceComponentName="falcon-7b", DesiredRuntimeConfig={"CopyCount": 0}
    )
    state = runtime(sm, "falcon-7b")
    assert state["CurrentCopyCount"] == 0 and state["PlacementStatus"] == []
    aws.advance(1)
    assert runtime(sm, "falcon-7b")["status"] == "InService"


def test_copies_that_do_not_fit_wait_for_a_new_instance_up_to_max(aws: Harness) -> None:
    aws.settings(model_load_seconds=100, copy_stagger_seconds=0, instance_provisioning_seconds=300)
    sm = aws.client("sagemaker")
    create_seed(sm)  # flan 2 GPUs + falcon 1 GPU on one 4-GPU instance
    aws.advance(100)
    # 6 more falcon copies: 1 fits now, 4 on a second instance (max 2), the last one waits.
    sm.update_inference_component_runtime_config(
        InferenceComponentName="falcon-7b", DesiredRuntimeConfig={"CopyCount": 7}
    )
    assert instances(sm) == (1, 2)
    aws.advance(100)
    assert runtime(sm, "falcon-7b")["CurrentCopyCount"] == 2
    aws.advance(300)
    assert instances(sm) == (2, 2)
    state = runtime(sm, "falcon-7b")
    assert state["CurrentCopyCount"] == 6 and state["status"] == "Updating"  # the seventh waits
    aws.advance(3600)
    assert runtime(sm, "falcon-7b")["CurrentCopyCount"] == 6


def test_empty_instances_are_released_after_cooldown_down_to_zero(aws: Harness) -> None:
    aws.settings(model_load_seconds=60, instance_scale_in_cooldown_seconds=600, copy_release_seconds=0)
    sm = aws.client("sagemaker")
    create_seed(sm, min_instances=0)
    aws.advance(60)
    for name in ("falcon-7b", "flan-t5-xxl"):
        sm.update_inference_component_runtime_config(InferenceComponentName=name, DesiredRuntimeConfig={"CopyCount": 0})
    aws.advance(599)
    assert instances(sm) == (1, 1)
    aws.advance(1)
    assert instances(sm) == (0, 0)
    # Scale from zero: a copy needs a new instance first.
    aws.settings(instance_provisioning_seconds=300)
    sm.update_inference_component_runtime_config(
        InferenceComponentName="falcon-7b", DesiredRuntimeConfig={"CopyCount": 1}
    )
    assert instances(sm) == (0, 1)
    aws.advance(300)
    assert runtime(sm, "falcon-7b")["CurrentCopyCount"] == 0
    aws.advance(60)
    assert runtime(sm, "falcon-7b")["status"] == "InService"


def test_a_copy_that_can_never_fit_fails_with_a_reason(aws: Harness) -> None:
    sm = aws.client("sagemaker")
    create_seed(sm)
    sm.create_inference_component(
        InferenceComponentName="llama-70b",
        EndpointName="llm-endpoint",
        Specification={
            "ModelName": "falcon-7b-model",
            "ComputeResourceRequirements": {"NumberOfAcceleratorDevicesRequired": 8, "MinMemoryRequiredInMb": 4096},
        },
        RuntimeConfig={"CopyCount": 1},
    )
    state = runtime(sm, "llama-70b")
    assert state["status"] == "Failed"
    assert "8 accelerator devices" in state["reason"] and "ml.g5.24xlarge" in state["reason"]


def test_clock_api(aws: Harness) -> None:
    before = aws.now()
    after = aws.advance(86_400)
    assert before.startswith("2026-11-23T06:00:00")
    assert after.startswith("2026-11-24T06:00:00")


def test_create_without_endpoint_scaling_keeps_initial_instances(aws: Harness) -> None:
    sm = aws.client("sagemaker")
    sm.create_endpoint_config(
        EndpointConfigName="fixed",
        ExecutionRoleArn=ROLE,
        ProductionVariants=[{"VariantName": "v", "InstanceType": "ml.g6.12xlarge", "InitialInstanceCount": 2}],
    )
    sm.create_endpoint(EndpointName="fixed", EndpointConfigName="fixed")
    aws.advance(7200)
    v = sm.describe_endpoint(EndpointName="fixed")["ProductionVariants"][0]
    assert v["CurrentInstanceCount"] == 2
