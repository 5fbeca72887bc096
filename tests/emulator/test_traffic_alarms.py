"""Invocations, metrics, alarms that fire, AAS step policies and the AWS scale-to-zero recipe."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.harness import Harness, create_seed

IC_DIM = "sagemaker:inference-component:DesiredCopyCount"


def invoke(aws: Harness, name: str = "falcon-7b") -> Any:
    return aws.client("sagemaker-runtime").invoke_endpoint(
        EndpointName="llm-endpoint",
        InferenceComponentName=name,
        Body=b'{"inputs": "hello"}',
        ContentType="application/json",
    )


def metric_sum(aws: Harness, metric: str, name: str = "falcon-7b") -> float:
    now = datetime.fromisoformat(aws.now())
    stats = aws.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName=metric,
        Dimensions=[{"Name": "InferenceComponentName", "Value": name}],
        StartTime=now - timedelta(hours=2),
        EndTime=now + timedelta(minutes=1),
        Period=3600,
        Statistics=["Sum"],
    )
    return sum(p["Sum"] for p in stats["Datapoints"])


def test_invocations_record_metrics_and_no_capacity_fails(aws: Harness) -> None:
    sm = aws.client("sagemaker")
    create_seed(sm)
    with pytest.raises(ClientError) as exc:
        invoke(aws)  # still loading: no copy yet
    assert exc.value.response["Error"]["Code"] == "ValidationError"
    assert "no capacity" in exc.value.response["Error"]["Message"]
    aws.advance(600)
    for _ in range(3):
        invoke(aws)
    assert metric_sum(aws, "Invocations") == 3
    assert metric_sum(aws, "InvocationsPerCopy") == 3
    assert metric_sum(aws, "NoCapacityInvocationFailures") == 1
    assert metric_sum(aws, "ModelLatency") > 0


def test_bulk_invocations_and_concurrency_limit(aws: Harness) -> None:
    aws.settings(max_concurrency_per_copy=4)
    sm = aws.client("sagemaker")
    create_seed(sm)
    aws.advance(600)
    assert aws.invoke_bulk("falcon-7b", 10) == {"served": 4, "refused": 6}
    aws.advance(5)  # in-flight requests finish after the model latency
    assert aws.invoke_bulk("falcon-7b", 3) == {"served": 3, "refused": 0}
    assert metric_sum(aws, "Invocations") == 7
    assert metric_sum(aws, "NoCapacityInvocationFailures") == 6


def make_alarm(aws: Harness, name: str, actions: list[str] | None = None) -> None:
    aws.client("cloudwatch").put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/SageMaker",
        MetricName="NoCapacityInvocationFailures",
        Dimensions=[{"Name": "InferenceComponentName", "Value": "falcon-7b"}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="missing",
        AlarmActions=actions or [],
    )


def test_alarm_state_change_reaches_an_eventbridge_rule(aws: Harness) -> None:
    sm = aws.client("sagemaker")
    create_seed(sm, copies=0)
    sqs = aws.client("sqs")
    queue = sqs.create_queue(QueueName="alarm-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = aws.client("events")
    events.put_rule(
        Name="alarms",
        EventPattern=json.dumps({"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"]}),
    )
    events.put_targets(Rule="alarms", Targets=[{"Id": "q", "Arn": queue_arn}])
    make_alarm(aws, "falcon-no-capacity")
    aws.advance(60)
    with pytest.raises(ClientError):
        invoke(aws)
    # The failure's minute has not closed yet: no data, and a new alarm starts in INSUFFICIENT_DATA.
    assert aws.evaluate_alarms() == []
    aws.advance(60)
    changes = aws.evaluate_alarms()
    assert changes == [
        {"AlarmName": "falcon-no-capacity", "OldState": "INSUFFICIENT_DATA", "NewState": "ALARM", "Value": 1.0}
    ]
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    event = json.loads(messages[-1]["Body"])
    assert event["time"] == "2026-11-23T06:02:00Z"
    assert event["source"] == "aws.cloudwatch" and event["detail-type"] == "CloudWatch Alarm State Change"
    detail = event["detail"]
    assert detail["alarmName"] == "falcon-no-capacity"
    assert detail["state"]["value"] == "ALARM" and detail["previousState"]["value"] == "INSUFFICIENT_DATA"
    metric = detail["configuration"]["metrics"][0]["metricStat"]["metric"]
    assert metric == {
        "namespace": "AWS/SageMaker",
        "name": "NoCapacityInvocationFailures",
        "dimensions": {"InferenceComponentName": "falcon-7b"},
    }
    aws.advance(120)
    assert aws.evaluate_alarms()[0]["NewState"] == "INSUFFICIENT_DATA"  # missing data, treated as missing


def register_recipe(aws: Harness, *, min_capacity: int = 0, max_capacity: int = 4) -> str:
    """AWS's documented scale-to-zero recipe for an IC; returns the step policy ARN."""
    aas = aws.client("application-autoscaling")
    resource = "inference-component/falcon-7b"
    aas.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=IC_DIM,
        MinCapacity=min_capacity,
        MaxCapacity=max_capacity,
    )
    aas.put_scaling_policy(
        PolicyName="falcon-target-tracking",
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=IC_DIM,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 5.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"},
            "ScaleInCooldown": 300,
            "ScaleOutCooldown": 300,
        },
    )
    step = aas.put_scaling_policy(
        PolicyName="falcon-scale-from-zero",
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=IC_DIM,
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity",
            "MetricAggregationType": "Maximum",
            "Cooldown": 60,
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
        },
    )
    return str(step["PolicyARN"])


def test_scale_to_zero_recipe_end_to_end(aws: Harness) -> None:
    aws.settings(model_load_seconds=240)
    sm = aws.client("sagemaker")
    create_seed(sm, copies=0)
    policy_arn = register_recipe(aws)
    make_alarm(aws, "falcon-scale-from-zero", [policy_arn])
    aws.advance(60)
    with pytest.raises(ClientError):
        invoke(aws)
    aws.advance(60)
    assert aws.evaluate_alarms()[0]["NewState"] == "ALARM"
    described = sm.describe_inference_component(InferenceComponentName="falcon-7b")
    assert described["RuntimeConfig"]["DesiredCopyCount"] == 1
    assert described["InferenceComponentStatus"] == "Updating"
    aws.advance(240)
    assert b"generated_text" in invoke(aws)["Body"].read()


def test_aas_step_policy_fights_a_blind_write_while_the_alarm_stays_in_alarm(aws: Harness) -> None:
    """DESIGN §2: set 0 while the step alarm is in ALARM and a copy comes back."""
    aws.settings(model_load_seconds=60)
    sm = aws.client("sagemaker")
    create_seed(sm, copies=0)
    make_alarm(aws, "falcon-scale-from-zero", [register_recipe(aws)])
    aws.advance(60)
    with pytest.raises(ClientError):
        invoke(aws)
    aws.advance(60)
    aws.evaluate_alarms()
    aws.advance(60)
    # A blind write of 0 while requests keep failing: the alarm stays in ALARM...
    sm.update_inference_component_runtime_config(
        InferenceComponentName="falcon-7b", DesiredRuntimeConfig={"CopyCount": 0}
    )
    aws.advance(1)
    with pytest.raises(ClientError):
        invoke(aws)
    aws.advance(60)
    assert aws.evaluate_alarms() == []
    # ...so AAS runs the step policy again and the copy comes back.
    assert sm.describe_inference_component(InferenceComponentName="falcon-7b")["RuntimeConfig"]["DesiredCopyCount"] == 1


def test_suspended_state_is_kept_and_honoured(aws: Harness) -> None:
    sm = aws.client("sagemaker")
    create_seed(sm, copies=0)
    policy_arn = register_recipe(aws)
    aas = aws.client("application-autoscaling")
    suspended = {
        "DynamicScalingInSuspended": False,
        "DynamicScalingOutSuspended": True,
        "ScheduledScalingSuspended": False,
    }
    aas.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="inference-component/falcon-7b",
        ScalableDimension=IC_DIM,
        SuspendedState=suspended,
    )
    target = aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=["inference-component/falcon-7b"])[
        "ScalableTargets"
    ][0]
    assert target["SuspendedState"] == suspended and target["MinCapacity"] == 0 and target["MaxCapacity"] == 4
    make_alarm(aws, "falcon-scale-from-zero", [policy_arn])
    aws.advance(60)
    with pytest.raises(ClientError):
        invoke(aws)
    aws.advance(60)
    assert aws.evaluate_alarms()[0]["NewState"] == "ALARM"
    assert sm.describe_inference_component(InferenceComponentName="falcon-7b")["RuntimeConfig"]["DesiredCopyCount"] == 0


def test_step_policy_respects_max_capacity(aws: Harness) -> None:
    aws.settings(model_load_seconds=30)
    sm = aws.client("sagemaker")
    create_seed(sm, copies=0)
    make_alarm(aws, "falcon-scale-from-zero", [register_recipe(aws, max_capacity=1)])
    for _ in range(4):
        aws.advance(60)
        try:
            invoke(aws)
        except ClientError:
            aws.invoke_bulk("falcon-7b", 1)
        aws.advance(61)
        aws.evaluate_alarms()
    assert sm.describe_inference_component(InferenceComponentName="falcon-7b")["RuntimeConfig"]["DesiredCopyCount"] == 1


def test_scheduled_actions_keep_their_timezone(aws: Harness) -> None:
    sm = aws.client("sagemaker")
    create_seed(sm)
    register_recipe(aws)
    aas = aws.client("application-autoscaling")
    aas.put_scheduled_action(
        ServiceNamespace="sagemaker",
        ScheduledActionName="weekday-floor",
        ResourceId="inference-component/falcon-7b",
        ScalableDimension=IC_DIM,
        Schedule="cron(0 8 ? * MON-FRI *)",
        Timezone="Europe/Berlin",
        ScalableTargetAction={"MinCapacity": 2, "MaxCapacity": 4},
    )
    action = aas.describe_scheduled_actions(ServiceNamespace="sagemaker")["ScheduledActions"][0]
    assert action["Timezone"] == "Europe/Berlin" and action["ScalableDimension"] == IC_DIM


def test_target_tracking_with_high_resolution_metric_is_accepted(aws: Harness) -> None:
    sm = aws.client("sagemaker")
    create_seed(sm)
    register_recipe(aws)
    aas = aws.client("application-autoscaling")
    aas.put_scaling_policy(
        PolicyName="concurrency",
        ServiceNamespace="sagemaker",
        ResourceId="inference-component/falcon-7b",
        ScalableDimension=IC_DIM,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 4.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
            },
        },
    )
    names = {p["PolicyName"] for p in aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]}
    assert names == {"falcon-target-tracking", "falcon-scale-from-zero", "concurrency"}


def test_alarm_timestamps_follow_the_emulator_clock(aws: Harness) -> None:
    sm = aws.client("sagemaker")
    create_seed(sm, copies=0)
    make_alarm(aws, "falcon-no-capacity")
    aws.advance(60)
    aws.invoke_bulk("falcon-7b", 2)
    aws.advance(60)
    aws.evaluate_alarms()
    alarm = aws.client("cloudwatch").describe_alarms(AlarmNames=["falcon-no-capacity"])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM"
    assert alarm["StateUpdatedTimestamp"].astimezone(UTC) == datetime.fromisoformat(aws.now())
