"""The IC API is shaped like botocore's model and refuses what SageMaker refuses."""

from __future__ import annotations

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.harness import ROLE, Harness, create_seed

UNVALIDATED = Config(parameter_validation=False, retries={"total_max_attempts": 1, "mode": "standard"})


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def test_seed_scenario_reaches_in_service_and_answers(aws: Harness) -> None:
    sm = aws.client("sagemaker")
    create_seed(sm)
    assert sm.describe_inference_component(InferenceComponentName="falcon-7b")["InferenceComponentStatus"] == "Creating"
    aws.advance(600)
    for name in ("flan-t5-xxl", "falcon-7b"):
        described = sm.describe_inference_component(InferenceComponentName=name)
        assert described["InferenceComponentStatus"] == "InService"
        assert described["RuntimeConfig"]["DesiredCopyCount"] == 1
        assert described["RuntimeConfig"]["CurrentCopyCount"] == 1
        assert described["RuntimeConfig"]["PlacementStatus"] == [
            {"InstanceType": "ml.g5.24xlarge", "CurrentCopyCount": 1}
        ]
        assert described["EndpointName"] == "llm-endpoint"
        assert described["InferenceComponentArn"].endswith(f":inference-component/{name}")
    payload = b'{"inputs": "What is the capital of France?", "parameters": {"max_new_tokens": 64}}'
    answer = aws.client("sagemaker-runtime").invoke_endpoint(
        EndpointName="llm-endpoint", InferenceComponentName="flan-t5-xxl", Body=payload, ContentType="application/json"
    )
    assert b"generated_text" in answer["Body"].read()


def test_endpoint_config_keeps_ic_fields(aws: Harness) -> None:
    sm = aws.client("sagemaker")
    create_seed(sm)
    config = sm.describe_endpoint_config(EndpointConfigName="llm-config")
    assert config["ExecutionRoleArn"] == ROLE
    variant = config["ProductionVariants"][0]
    assert "ModelName" not in variant
    assert variant["ManagedInstanceScaling"] == {"Status": "ENABLED", "MinInstanceCount": 1, "MaxInstanceCount": 2}
    assert variant["RoutingConfig"] == {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}
    endpoint = sm.describe_endpoint(EndpointName="llm-endpoint")["ProductionVariants"][0]
    assert endpoint["CurrentInstanceCount"] == 1
    assert endpoint["ManagedInstanceScaling"]["MaxInstanceCount"] == 2


def test_ic_style_config_needs_execution_role(aws: Harness) -> None:
    sm = aws.client("sagemaker")
    with pytest.raises(ClientError) as exc:
        sm.create_endpoint_config(
            EndpointConfigName="no-role",
            ProductionVariants=[{"VariantName": "v", "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1}],
        )
    assert "ExecutionRoleArn" in error(exc)[1]


def test_list_filters_sort_and_paginates(aws: Harness) -> None:
    sm = aws.client("sagemaker")
    create_seed(sm)
    spec = {
        "Container": {"Image": "img"},
        "ComputeResourceRequirements": {"NumberOfCpuCoresRequired": 0.25, "MinMemoryRequiredInMb": 128},
    }
    for i in range(23):
        sm.create_inference_component(
            InferenceComponentName=f"small-{i:02d}",
            EndpointName="llm-endpoint",
            Specification=spec,
            RuntimeConfig={"CopyCount": 0},
        )
        aws.advance(1)
    names: list[str] = []
    for page in sm.get_paginator("list_inference_components").paginate(
        EndpointNameEquals="llm-endpoint",
        NameContains="small",
        SortBy="Name",
        SortOrder="Ascending",
        PaginationConfig={"PageSize": 10},
    ):
        assert len(page["InferenceComponents"]) <= 10
        names += [c["InferenceComponentName"] for c in page["InferenceComponents"]]
    assert names == [f"small-{i:02d}" for i in range(23)]
    newest = sm.list_inference_components(MaxResults=1)["InferenceComponents"][0]  # default: CreationTime, Descending
    assert newest["InferenceComponentName"] == "small-22"
    assert set(newest) >= {
        "InferenceComponentName",
        "InferenceComponentArn",
        "EndpointName",
        "VariantName",
        "InferenceComponentStatus",
        "CreationTime",
        "LastModifiedTime",
    }
    creating = sm.list_inference_components(StatusEquals="Creating", MaxResults=100)["InferenceComponents"]
    assert {c["InferenceComponentName"] for c in creating} == {"flan-t5-xxl", "falcon-7b"}
    assert sm.list_inference_components(EndpointNameEquals="other")["InferenceComponents"] == []
    assert (
        len(sm.list_inference_components(VariantNameEquals="AllTraffic", MaxResults=100)["InferenceComponents"]) == 25
    )


def test_second_runtime_write_while_updating_is_refused(aws: Harness) -> None:
    sm = aws.client("sagemaker")
    create_seed(sm)
    aws.advance(600)
    sm.update_inference_component_runtime_config(
        InferenceComponentName="falcon-7b", DesiredRuntimeConfig={"CopyCount": 2}
    )
    assert sm.describe_inference_component(InferenceComponentName="falcon-7b")["InferenceComponentStatus"] == "Updating"
    with pytest.raises(ClientError) as exc:
        sm.update_inference_component_runtime_config(
            InferenceComponentName="falcon-7b", DesiredRuntimeConfig={"CopyCount": 3}
        )
    code, message = error(exc)
    assert code == "ValidationException"
    assert "Cannot update inference component" in message and "while it is in state UPDATE_RC_IN_PROGRESS" in message


def test_unknown_component_gives_the_real_error(aws: Harness) -> None:
    sm = aws.client("sagemaker")
    for call in (
        lambda: sm.describe_inference_component(InferenceComponentName="nope"),
        lambda: sm.update_inference_component_runtime_config(
            InferenceComponentName="nope", DesiredRuntimeConfig={"CopyCount": 1}
        ),
        lambda: sm.delete_inference_component(InferenceComponentName="nope"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        code, message = error(exc)
        assert code == "ValidationException"
        assert message.startswith("Could not find inference component")


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("InferenceComponentName", "bad_name!", "regular expression"),
        ("RuntimeConfig", {"CopyCount": -1}, "greater than or equal to 0"),
        ("RuntimeConfig", {}, "must not be null"),
        (
            "Specification",
            {"ModelName": "m", "ComputeResourceRequirements": {"NumberOfAcceleratorDevicesRequired": 1}},
            "minMemoryRequiredInMb",
        ),
        (
            "Specification",
            {"ModelName": "m", "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 64}},
            "greater than or equal to 128",
        ),
        (
            "Specification",
            {
                "ModelName": "m",
                "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 256, "NumberOfCpuCoresRequired": 0.1},
            },
            "0.25",
        ),
        ("EndpointName", "missing-endpoint", "Could not find endpoint"),
    ],
)
def test_invalid_create_is_rejected(aws: Harness, field: str, value: object, expected: str) -> None:
    sm = aws.client("sagemaker", UNVALIDATED)
    create_seed(sm)
    params: dict[str, object] = {
        "InferenceComponentName": "new-ic",
        "EndpointName": "llm-endpoint",
        "Specification": {"ModelName": "m", "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024}},
        "RuntimeConfig": {"CopyCount": 1},
    }
    params[field] = value
    with pytest.raises(ClientError) as exc:
        sm.create_inference_component(**params)
    assert error(exc)[0] == "ValidationException"
    assert expected in error(exc)[1]


def test_negative_runtime_copy_count_is_rejected(aws: Harness) -> None:
    sm = aws.client("sagemaker", UNVALIDATED)
    create_seed(sm)
    aws.advance(600)
    with pytest.raises(ClientError) as exc:
        sm.update_inference_component_runtime_config(
            InferenceComponentName="falcon-7b", DesiredRuntimeConfig={"CopyCount": -2}
        )
    assert "greater than or equal to 0" in error(exc)[1]


def test_update_specification_reloads_copies_and_delete_frees_them(aws: Harness) -> None:
    sm = aws.client("sagemaker")
    create_seed(sm)
    aws.advance(600)
    sm.update_inference_component(
        InferenceComponentName="falcon-7b",
        Specification={
            "ModelName": "falcon-7b-model",
            "ComputeResourceRequirements": {"NumberOfAcceleratorDevicesRequired": 1, "MinMemoryRequiredInMb": 4096},
        },
        RuntimeConfig={"CopyCount": 1},
    )
    described = sm.describe_inference_component(InferenceComponentName="falcon-7b")
    assert described["InferenceComponentStatus"] == "Updating"
    assert described["RuntimeConfig"]["CurrentCopyCount"] == 1  # the old copy serves until the new one loads
    aws.advance(600)
    described = sm.describe_inference_component(InferenceComponentName="falcon-7b")
    assert described["InferenceComponentStatus"] == "InService"
    assert described["Specification"]["ComputeResourceRequirements"]["MinMemoryRequiredInMb"] == 4096
    sm.delete_inference_component(InferenceComponentName="falcon-7b")
    aws.advance(60)  # its copy leaves, and the component with it
    names = [c["InferenceComponentName"] for c in sm.list_inference_components()["InferenceComponents"]]
    assert names == ["flan-t5-xxl"]


def test_classic_endpoint_refuses_components(aws: Harness) -> None:
    sm = aws.client("sagemaker")
    sm.create_model(ModelName="classic", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img"})
    sm.create_endpoint_config(
        EndpointConfigName="classic",
        ProductionVariants=[
            {"VariantName": "v", "ModelName": "classic", "InstanceType": "ml.m5.xlarge", "InitialInstanceCount": 1}
        ],
    )
    sm.create_endpoint(EndpointName="classic", EndpointConfigName="classic")
    with pytest.raises(ClientError) as exc:
        sm.create_inference_component(
            InferenceComponentName="x",
            EndpointName="classic",
            Specification={"ModelName": "classic", "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 256}},
            RuntimeConfig={"CopyCount": 1},
        )
    assert "does not support inference components" in error(exc)[1]
