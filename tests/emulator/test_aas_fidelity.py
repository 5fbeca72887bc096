"""The emulator's Application Auto Scaling against AWS's documented behaviour (emulator/README.md),
in-process and through the server, with boto3 as a user would call it."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.harness import Harness, create_seed

IC_DIM = "sagemaker:inference-component:DesiredCopyCount"
RESOURCE = "inference-component/falcon-7b"


def desired(aws: Harness, name: str = "falcon-7b") -> int:
    described = aws.client("sagemaker").describe_inference_component(InferenceComponentName=name)
    return int(described["RuntimeConfig"]["DesiredCopyCount"])


def register(aws: Harness, lo: int, hi: int) -> None:
    aws.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=RESOURCE, ScalableDimension=IC_DIM, MinCapacity=lo, MaxCapacity=hi
    )


def activities(aws: Harness) -> list[dict[str, Any]]:
    return list(
        aws.client("application-autoscaling").describe_scaling_activities(
            ServiceNamespace="sagemaker", ResourceId=RESOURCE
        )["ScalingActivities"]
    )


def target_tracking(aws: Harness, target: float = 10.0) -> dict[str, Any]:
    return dict(
        aws.client("application-autoscaling").put_scaling_policy(
            PolicyName="tt",
            ServiceNamespace="sagemaker",
            ResourceId=RESOURCE,
            ScalableDimension=IC_DIM,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": target,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"
                },
                "ScaleInCooldown": 600,
                "ScaleOutCooldown": 120,
            },
        )
    )


def test_registering_bounds_that_exclude_the_count_moves_it(aws: Harness) -> None:
    create_seed(aws.client("sagemaker"), copies=1)
    aws.advance(600)
    register(aws, 2, 4)  # Min above the 1 copy: AAS writes 2 itself
    assert desired(aws) == 2
    [activity] = activities(aws)
    assert activity["StatusCode"] == "Successful" and "outside [2, 4]" in activity["Cause"]
    register(aws, 2, 4)  # while the copy loads (Updating) nothing more happens
    aws.advance(600)
    register(aws, 0, 1)  # Max below: in to 1
    assert desired(aws) == 1 and len(activities(aws)) == 2


def test_target_tracking_creates_its_alarms_and_scales_out(aws: Harness) -> None:
    create_seed(aws.client("sagemaker"), copies=1)
    aws.advance(600)
    register(aws, 0, 4)
    alarms = target_tracking(aws)["Alarms"]
    names = sorted(a["AlarmName"] for a in alarms)
    assert [n.rsplit("-", 5)[0] for n in names] == [
        f"TargetTracking-{RESOURCE}-AlarmHigh",
        f"TargetTracking-{RESOURCE}-AlarmLow",
    ]
    described = {a["AlarmName"]: a for a in aws.client("cloudwatch").describe_alarms(AlarmNames=names)["MetricAlarms"]}
    high, low = described[names[0]], described[names[1]]
    assert (high["EvaluationPeriods"], high["Threshold"], high["ComparisonOperator"]) == (
        3,
        10.0,
        "GreaterThanThreshold",
    )
    assert (low["EvaluationPeriods"], low["Threshold"], low["ComparisonOperator"]) == (15, 9.0, "LessThanThreshold")
    assert high["AlarmDescription"].startswith("DO NOT EDIT OR DELETE. For TargetTrackingScaling policy")
    assert high["StateValue"] == "INSUFFICIENT_DATA" and high["MetricName"] == "InvocationsPerCopy"
    for _ in range(4):  # 30 a minute on 1 copy against a target of 10: 3 copies
        aws.advance(60)
        aws.invoke_bulk("falcon-7b", 30)
        aws.evaluate_alarms()
    assert desired(aws) == 3
    cause = activities(aws)[0]["Cause"]
    assert cause.startswith(f"monitor alarm TargetTracking-{RESOURCE}-AlarmHigh-") and cause.endswith(
        "in state ALARM triggered policy tt"
    )


def test_deregistering_deletes_policies_and_their_alarms(aws: Harness) -> None:
    create_seed(aws.client("sagemaker"), copies=1)
    aws.advance(600)
    register(aws, 0, 4)
    target_tracking(aws)
    aws.client("application-autoscaling").deregister_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=RESOURCE, ScalableDimension=IC_DIM
    )
    policies = aws.client("application-autoscaling").describe_scaling_policies(ServiceNamespace="sagemaker")
    assert policies["ScalingPolicies"] == []
    assert aws.client("cloudwatch").describe_alarms(AlarmNamePrefix="TargetTracking-")["MetricAlarms"] == []


@pytest.mark.parametrize(
    ("breach", "adjustment"),
    [
        (0.0, 1),  # at the threshold: [0, 10)
        (9.99, 1),
        (10.0, 3),  # above the threshold the upper bound is exclusive: [10, inf)
        (-0.01, -1),  # just below: (-10, 0]
    ],
)
def test_step_intervals_follow_the_reference(breach: float, adjustment: int) -> None:
    from emulator.aas_ext import _step_adjustment

    config = {
        "StepAdjustments": [
            {"MetricIntervalUpperBound": -10.0, "ScalingAdjustment": -1},
            {"MetricIntervalLowerBound": -10.0, "MetricIntervalUpperBound": 0.0, "ScalingAdjustment": -1},
            {"MetricIntervalLowerBound": 0.0, "MetricIntervalUpperBound": 10.0, "ScalingAdjustment": 1},
            {"MetricIntervalLowerBound": 10.0, "ScalingAdjustment": 3},
        ]
    }
    assert _step_adjustment(config, breach) == adjustment


def test_a_breach_exactly_on_a_lower_bound_below_the_threshold_belongs_to_the_interval_under_it() -> None:
    from emulator.aas_ext import _step_adjustment

    config = {
        "StepAdjustments": [
            {"MetricIntervalUpperBound": -10.0, "ScalingAdjustment": -2},
            {"MetricIntervalLowerBound": -10.0, "MetricIntervalUpperBound": 0.0, "ScalingAdjustment": -1},
        ]
    }
    assert _step_adjustment(config, -10.0) == -2  # (-inf, -10] below the threshold, not (-10, 0]


def test_invoking_an_ic_endpoint_without_a_component_is_refused(aws: Harness) -> None:
    create_seed(aws.client("sagemaker"), copies=1)
    aws.advance(600)
    with pytest.raises(ClientError) as exc:
        aws.client("sagemaker-runtime").invoke_endpoint(EndpointName="llm-endpoint", Body=b"{}")
    assert exc.value.response["Error"]["Code"] == "ValidationError"
    assert "Inference Component Name header is required" in exc.value.response["Error"]["Message"]


def test_a_scheduled_action_runs_on_the_emulator_clock_and_clamps_the_count(aws: Harness) -> None:
    create_seed(aws.client("sagemaker"), copies=1)
    aws.advance(600)  # 06:10Z
    register(aws, 0, 4)
    aws.client("application-autoscaling").put_scheduled_action(
        ServiceNamespace="sagemaker",
        ScheduledActionName="morning",
        ResourceId=RESOURCE,
        ScalableDimension=IC_DIM,
        Schedule="cron(30 7 * * ? *)",
        Timezone="Europe/Berlin",
        ScalableTargetAction={"MinCapacity": 3, "MaxCapacity": 4},
    )
    aws.advance(60)  # seen at 06:11Z
    aws.advance(18 * 60)  # 06:29Z = 07:29 Berlin: not yet
    assert desired(aws) == 1
    aws.advance(2 * 60)  # 07:31 Berlin: Min 3 now, and the count follows
    assert desired(aws) == 3
    assert activities(aws)[0]["Cause"].startswith("scheduled action morning")


def test_registering_is_validated_as_aas_does(aws: Harness) -> None:
    create_seed(aws.client("sagemaker"), copies=1)
    aas = aws.client("application-autoscaling")
    with pytest.raises(ClientError) as exc:
        register(aws, 3, 2)
    assert exc.value.response["Error"]["Code"] == "ValidationException" and "greater than maximum" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        aas.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId="inference-component/no-such-ic",
            ScalableDimension=IC_DIM,
            MinCapacity=0,
            MaxCapacity=1,
        )
    assert "Unable to find the inference component no-such-ic" in str(exc.value)


def test_a_component_naming_an_unknown_model_is_refused(aws: Harness) -> None:
    create_seed(aws.client("sagemaker"), copies=0)
    with pytest.raises(ClientError) as exc:
        aws.client("sagemaker").create_inference_component(
            InferenceComponentName="ghost",
            EndpointName="llm-endpoint",
            Specification={
                "ModelName": "no-such-model",
                "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024},
            },
            RuntimeConfig={"CopyCount": 1},
        )
    assert 'Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/no-such-model"' in str(exc.value)


@pytest.mark.parametrize(
    ("aggregation", "values", "expected"),
    [
        (None, [12.0, None, 30.0], 21.0),  # Average when unset
        ("Average", [12.0, 30.0, 18.0], 20.0),
        ("Minimum", [12.0, 30.0, 18.0], 12.0),
        ("Maximum", [12.0, 30.0, 18.0], 30.0),
        ("Maximum", [None, None, None], 10.0),  # no datapoint (missing treated as breaching): the threshold
    ],
)
def test_a_step_policy_sizes_its_step_by_its_metric_aggregation_type(
    aggregation: str | None, values: list[float | None], expected: float
) -> None:
    from types import SimpleNamespace

    from emulator.alarms import step_metric_value

    config = {"StepAdjustments": [], **({"MetricAggregationType": aggregation} if aggregation else {})}
    policy = SimpleNamespace(step_scaling_policy_configuration=config)
    assert step_metric_value(policy, values, threshold=10.0) == expected
