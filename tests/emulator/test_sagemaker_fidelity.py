"""The emulator's SageMaker against AWS's documented behaviour (emulator/README.md): copies leave one
by one, Deleting, rolling and blue/green specification updates, tags on components, UpdateEndpoint
and the streaming invoke, in-process and through the server, with boto3 as a user would call it."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.harness import Harness, create_seed

FALCON = "falcon-7b"
NEW_SPEC = {
    "ModelName": "falcon-7b-model",
    "ComputeResourceRequirements": {
        "NumberOfAcceleratorDevicesRequired": 1,
        "NumberOfCpuCoresRequired": 2,
        "MinMemoryRequiredInMb": 4096,
    },
}


def described(aws: Harness, name: str = FALCON) -> dict[str, Any]:
    return dict(aws.client("sagemaker").describe_inference_component(InferenceComponentName=name))


def status_and_current(aws: Harness, name: str = FALCON) -> tuple[str, int]:
    d = described(aws, name)
    return d["InferenceComponentStatus"], int(d["RuntimeConfig"]["CurrentCopyCount"])


def falcon_at(aws: Harness, copies: int) -> None:
    """The seed with falcon at ``copies`` loaded copies, InService."""
    sm = aws.client("sagemaker")
    create_seed(sm, max_instances=3)
    aws.advance(600)
    sm.update_inference_component_runtime_config(
        InferenceComponentName=FALCON, DesiredRuntimeConfig={"CopyCount": copies}
    )
    aws.advance(900)
    assert status_and_current(aws) == ("InService", copies)


def refused_while(aws: Harness, state: str) -> None:
    with pytest.raises(ClientError) as exc:
        aws.client("sagemaker").update_inference_component_runtime_config(
            InferenceComponentName=FALCON, DesiredRuntimeConfig={"CopyCount": 1}
        )
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert f"while it is in state {state}" in exc.value.response["Error"]["Message"]


def test_copies_leave_one_by_one_and_the_component_is_updating_until_the_last_is_gone(aws: Harness) -> None:
    falcon_at(aws, 3)
    aws.settings(copy_release_seconds=30)
    aws.client("sagemaker").update_inference_component_runtime_config(
        InferenceComponentName=FALCON, DesiredRuntimeConfig={"CopyCount": 1}
    )
    # The leaving copies take no more traffic at once ...
    assert status_and_current(aws) == ("Updating", 1)
    refused_while(aws, "UPDATE_RC_IN_PROGRESS")
    aws.advance(31)
    assert status_and_current(aws) == ("Updating", 1)  # one has gone, one is still leaving
    aws.advance(30)
    assert status_and_current(aws) == ("InService", 1)


def test_deleting_takes_the_copies_away_then_the_component(aws: Harness) -> None:
    falcon_at(aws, 2)
    aws.settings(copy_release_seconds=30)
    sm = aws.client("sagemaker")
    sm.delete_inference_component(InferenceComponentName=FALCON)
    assert status_and_current(aws) == ("Deleting", 0)
    listed = {
        c["InferenceComponentName"]: c["InferenceComponentStatus"]
        for c in sm.list_inference_components()["InferenceComponents"]
    }
    assert listed[FALCON] == "Deleting"
    refused_while(aws, "DELETE_IN_PROGRESS")
    with pytest.raises(ClientError) as exc:
        aws.client("sagemaker-runtime").invoke_endpoint(
            EndpointName="llm-endpoint", InferenceComponentName=FALCON, Body=b"{}"
        )
    assert "no capacity" in exc.value.response["Error"]["Message"]
    aws.advance(61)
    with pytest.raises(ClientError) as exc:
        described(aws)
    assert "Could not find inference component" in exc.value.response["Error"]["Message"]


def test_a_new_specification_without_deployment_config_is_blue_green(aws: Harness) -> None:
    falcon_at(aws, 1)
    sm = aws.client("sagemaker")
    sm.update_inference_component(InferenceComponentName=FALCON, Specification=NEW_SPEC, RuntimeConfig={"CopyCount": 1})
    # The old copy serves while the new one loads.
    assert status_and_current(aws) == ("Updating", 1)
    aws.client("sagemaker-runtime").invoke_endpoint(
        EndpointName="llm-endpoint", InferenceComponentName=FALCON, Body=b"{}"
    )
    aws.advance(600)
    d = described(aws)
    assert (d["InferenceComponentStatus"], d["RuntimeConfig"]["CurrentCopyCount"]) == ("InService", 1)
    assert d["Specification"]["ComputeResourceRequirements"]["MinMemoryRequiredInMb"] == 4096


def test_a_rolling_update_replaces_one_batch_at_a_time_and_never_drops_below_the_count(aws: Harness) -> None:
    falcon_at(aws, 3)
    aws.settings(copy_release_seconds=10)
    aws.client("sagemaker").update_inference_component(
        InferenceComponentName=FALCON,
        Specification=NEW_SPEC,
        DeploymentConfig={
            "RollingUpdatePolicy": {
                "MaximumBatchSize": {"Type": "COPY_COUNT", "Value": 1},
                "WaitIntervalInSeconds": 120,
            }
        },
    )
    seen: list[tuple[str, int]] = []
    for _ in range(2400 // 30):
        seen.append(status_and_current(aws))
        aws.advance(30)
    serving = [n for status, n in seen if status == "Updating"]
    # A batch takes traffic as an old copy leaves: three serve throughout.
    assert set(serving) == {3}
    # Three batches, each loading (240 s) and baking (120 s): the update takes more than 18 minutes.
    assert len(serving) * 30 >= 3 * 360
    assert status_and_current(aws) == ("InService", 3)
    assert described(aws)["LastDeploymentConfig"]["RollingUpdatePolicy"]["WaitIntervalInSeconds"] == 120


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"MaximumBatchSize": {"Type": "COPIES", "Value": 1}, "WaitIntervalInSeconds": 0}, "enum value set"),
        ({"MaximumBatchSize": {"Type": "COPY_COUNT", "Value": 1}, "WaitIntervalInSeconds": 3601}, "between 0 and 3600"),
    ],
)
def test_a_rolling_policy_out_of_bounds_is_refused(aws: Harness, policy: dict[str, Any], message: str) -> None:
    falcon_at(aws, 1)
    with pytest.raises(ClientError) as exc:
        aws.client("sagemaker").update_inference_component(
            InferenceComponentName=FALCON, Specification=NEW_SPEC, DeploymentConfig={"RollingUpdatePolicy": policy}
        )
    assert message in exc.value.response["Error"]["Message"]
    assert status_and_current(aws) == ("InService", 1)  # nothing changed


def test_components_carry_tags(aws: Harness) -> None:
    sm = aws.client("sagemaker")
    create_seed(sm)
    arn = described(aws)["InferenceComponentArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "search"}, {"Key": "tier", "Value": "gold"}])
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "tier", "Value": "silver"}])
    assert {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn)["Tags"]} == {"team": "search", "tier": "silver"}
    sm.delete_tags(ResourceArn=arn, TagKeys=["team"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "tier", "Value": "silver"}]
    with pytest.raises(ClientError) as exc:
        sm.list_tags(ResourceArn=arn.replace(FALCON, "nope"))
    assert "Could not find inference component" in exc.value.response["Error"]["Message"]


def test_update_endpoint_changes_managed_instance_scaling(aws: Harness) -> None:
    sm = aws.client("sagemaker")
    create_seed(sm, min_instances=1, max_instances=1)
    aws.advance(600)
    config = sm.describe_endpoint_config(EndpointConfigName="llm-config")
    variant = dict(config["ProductionVariants"][0])
    variant["ManagedInstanceScaling"] = {"Status": "ENABLED", "MinInstanceCount": 2, "MaxInstanceCount": 3}
    sm.create_endpoint_config(
        EndpointConfigName="llm-config-2", ExecutionRoleArn=config["ExecutionRoleArn"], ProductionVariants=[variant]
    )
    sm.update_endpoint(EndpointName="llm-endpoint", EndpointConfigName="llm-config-2")
    endpoint = sm.describe_endpoint(EndpointName="llm-endpoint")
    assert endpoint["EndpointStatus"] == "Updating"
    assert endpoint["EndpointConfigName"] == "llm-config-2"
    assert endpoint["ProductionVariants"][0]["ManagedInstanceScaling"]["MaxInstanceCount"] == 3
    with pytest.raises(ClientError) as exc:
        sm.update_endpoint(EndpointName="llm-endpoint", EndpointConfigName="llm-config")
    assert "Cannot update in-progress endpoint" in exc.value.response["Error"]["Message"]
    aws.advance(600)
    endpoint = sm.describe_endpoint(EndpointName="llm-endpoint")
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["ProductionVariants"][0]["CurrentInstanceCount"] == 2  # the raised minimum was provisioned


def test_update_endpoint_to_another_instance_type_is_refused(aws: Harness) -> None:
    sm = aws.client("sagemaker")
    create_seed(sm)
    config = sm.describe_endpoint_config(EndpointConfigName="llm-config")
    variant = {**config["ProductionVariants"][0], "InstanceType": "ml.g5.48xlarge"}
    sm.create_endpoint_config(
        EndpointConfigName="bigger", ExecutionRoleArn=config["ExecutionRoleArn"], ProductionVariants=[variant]
    )
    with pytest.raises(ClientError) as exc:
        sm.update_endpoint(EndpointName="llm-endpoint", EndpointConfigName="bigger")
    assert "does not change the instance type" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        sm.update_endpoint(EndpointName="llm-endpoint", EndpointConfigName="missing")
    assert "Could not find endpoint configuration" in exc.value.response["Error"]["Message"]


def test_the_streaming_invoke_answers_in_payload_parts_and_refuses_as_invoke_does(aws: Harness) -> None:
    create_seed(aws.client("sagemaker"), copies=1)
    runtime = aws.client("sagemaker-runtime")
    with pytest.raises(ClientError) as exc:  # no copy loaded yet
        runtime.invoke_endpoint_with_response_stream(
            EndpointName="llm-endpoint", InferenceComponentName=FALCON, Body=b'{"inputs": "hi"}'
        )
    assert "no capacity" in exc.value.response["Error"]["Message"]
    aws.advance(600)
    response = runtime.invoke_endpoint_with_response_stream(
        EndpointName="llm-endpoint", InferenceComponentName=FALCON, Body=b'{"inputs": "tell me a story"}'
    )
    parts = [event["PayloadPart"]["Bytes"] for event in response["Body"]]
    assert len(parts) > 1
    assert b"".join(parts).decode().startswith('{"generated_text": "[falcon-7b] tell me a story"')
    assert response["ContentType"] == "application/json"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    with pytest.raises(ClientError) as exc:
        runtime.invoke_endpoint_with_response_stream(EndpointName="llm-endpoint", Body=b"{}")
    assert "Inference Component Name header is required" in exc.value.response["Error"]["Message"]


def test_an_endpoint_that_is_updating_failed_or_deleting_refuses_changes_to_its_components(aws: Harness) -> None:
    sm = aws.client("sagemaker")
    create_seed(sm, min_instances=1, max_instances=2)
    aws.advance(600)
    config = sm.describe_endpoint_config(EndpointConfigName="llm-config")
    variant = dict(config["ProductionVariants"][0])
    sm.create_endpoint_config(
        EndpointConfigName="llm-config-2", ExecutionRoleArn=config["ExecutionRoleArn"], ProductionVariants=[variant]
    )
    sm.update_endpoint(EndpointName="llm-endpoint", EndpointConfigName="llm-config-2")

    def write() -> str:
        try:
            sm.update_inference_component_runtime_config(
                InferenceComponentName=FALCON, DesiredRuntimeConfig={"CopyCount": 1}
            )
        except ClientError as exc:
            return str(exc.response["Error"]["Message"])
        return "accepted"

    assert "while its endpoint" in write() and "Updating" in write()
    aws.advance(600)
    assert write() == "accepted"
    aws.advance(600)
    assert aws.fail_endpoint("llm-endpoint", "an instance could not be recovered") == "Failed"
    described = sm.describe_endpoint(EndpointName="llm-endpoint")
    assert (described["EndpointStatus"], described["FailureReason"]) == ("Failed", "an instance could not be recovered")
    assert "Failed" in write()
    assert aws.fail_endpoint("llm-endpoint", None) == "InService"
    aws.settings(endpoint_delete_seconds=300)
    sm.delete_endpoint(EndpointName="llm-endpoint")
    assert sm.describe_endpoint(EndpointName="llm-endpoint")["EndpointStatus"] == "Deleting"
    assert "Deleting" in write()
    aws.advance(301)
    with pytest.raises(ClientError) as exc:
        sm.describe_endpoint(EndpointName="llm-endpoint")
    assert "Could not find endpoint" in exc.value.response["Error"]["Message"]
