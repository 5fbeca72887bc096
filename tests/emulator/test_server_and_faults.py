"""Server mode as a process, moto's other services through it, resets, and injected faults."""

from __future__ import annotations

import json
import signal
import urllib.error
import urllib.request

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator import FaultRule
from tests.harness import Harness, ServerProcess, create_seed

pytestmark = pytest.mark.real_clock  # emulator servers in subprocesses


def test_server_starts_on_loopback_and_stops_cleanly_on_sigterm_and_sigint() -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        server = ServerProcess()
        assert server.url.startswith("http://127.0.0.1:")
        server.proc.send_signal(sig)
        assert server.proc.wait(timeout=15) == 0


def test_server_control_api_rejects_bad_requests(emulator_server: ServerProcess) -> None:
    for body in ({"advance": -5}, {"advance": "soon"}, {"nothing": 1}):
        request = urllib.request.Request(
            emulator_server.url + "/_emulator/clock", data=json.dumps(body).encode(), method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(request, timeout=10)
        assert exc.value.code == 400
        assert "error" in json.loads(exc.value.read())


def test_every_service_icpilot_uses_answers(aws: Harness) -> None:
    aws.client("sqs").create_queue(QueueName="q")
    aws.client("sns").create_topic(Name="t")
    aws.client("dynamodb").create_table(
        TableName="state",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    aws.client("ssm").put_parameter(Name="/icpilot/policy", Value="{}", Type="String")
    aws.client("events").put_rule(Name="r", ScheduleExpression="rate(5 minutes)")
    aws.client("scheduler").create_schedule_group(Name="icpilot")
    aws.client("cloudwatch").put_metric_data(Namespace="x", MetricData=[{"MetricName": "m", "Value": 1}])
    aws.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")
    aws.client("sagemaker").list_inference_components()
    assert aws.client("ssm").get_parameter(Name="/icpilot/policy")["Parameter"]["Value"] == "{}"


def test_email_subscriptions_get_their_own_form_after_the_filter_policy(aws: Harness) -> None:
    """SNS hands ``email`` its key of a ``MessageStructure=json`` message (else ``default``), and
    ``email-json`` the notification document; a filter policy applies to e-mail as to queues."""
    sns = aws.client("sns")
    topic = sns.create_topic(Name="events")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")
    sns.subscribe(TopicArn=topic, Protocol="email-json", Endpoint="robot@example.com")
    sns.subscribe(
        TopicArn=topic,
        Protocol="email",
        Endpoint="oncall@example.com",
        Attributes={"FilterPolicy": json.dumps({"severity": ["error"]})},
    )
    structured = json.dumps({"default": '{"type": "Scaled"}', "email": "Copy count changed: m 0 -> 1"})
    attributes = {"severity": {"DataType": "String", "StringValue": "info"}}
    sns.publish(
        TopicArn=topic,
        Subject="[icpilot] Scaled",
        Message=structured,
        MessageStructure="json",
        MessageAttributes=attributes,
    )
    mail = {m["to"]: m for m in aws.mail()}
    assert set(mail) == {"ops@example.com", "robot@example.com"}  # on-call filters on errors only
    assert mail["ops@example.com"]["body"] == "Copy count changed: m 0 -> 1"
    assert mail["ops@example.com"]["subject"] == "[icpilot] Scaled"
    assert json.loads(mail["robot@example.com"]["body"])["Message"] == '{"type": "Scaled"}'
    aws.reset()
    assert aws.mail() == []


def test_reset_forgets_everything(aws: Harness) -> None:
    sm = aws.client("sagemaker")
    create_seed(sm)
    aws.reset()
    assert sm.list_inference_components()["InferenceComponents"] == []
    assert sm.list_endpoints()["Endpoints"] == []


def test_faults_throttle_a_seeded_fraction_of_one_operation(aws: Harness) -> None:
    sm = aws.client("sagemaker")
    create_seed(sm)
    aws.faults([FaultRule("sagemaker", "DescribeInferenceComponent", 0.3, "throttle")], seed=7)
    outcomes = []
    for _ in range(100):
        try:
            sm.describe_inference_component(InferenceComponentName="falcon-7b")
            outcomes.append("ok")
        except ClientError as exc:
            outcomes.append(exc.response["Error"]["Code"])
    throttled = outcomes.count("ThrottlingException")
    assert 15 <= throttled <= 45 and outcomes.count("ok") == 100 - throttled
    sm.list_inference_components()  # other operations are untouched
    aws.faults([FaultRule("sagemaker", "DescribeInferenceComponent", 0.3, "throttle")], seed=7)
    again = []
    for _ in range(100):
        try:
            sm.describe_inference_component(InferenceComponentName="falcon-7b")
            again.append("ok")
        except ClientError as exc:
            again.append(exc.response["Error"]["Code"])
    assert again == outcomes  # same seed, same faults


def test_server_errors_are_retried_by_boto3(aws: Harness) -> None:
    sm = aws.client("sagemaker")
    create_seed(sm)
    aws.faults([FaultRule("sagemaker", "*", 1.0, "5xx")])
    with pytest.raises(ClientError) as exc:
        sm.list_inference_components()
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    aws.faults([FaultRule("sagemaker", "*", 0.3, "5xx")], seed=3)  # longest run of faults: 5
    retrying = aws.client("sagemaker", Config(retries={"max_attempts": 10, "mode": "adaptive"}))
    for _ in range(20):
        retrying.list_inference_components()  # adaptive retries absorb the injected 5xx
    aws.faults([])
