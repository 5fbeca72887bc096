"""Deploy template.yaml itself on the emulator: the local stand-in for ``sam deploy``.

Every resource the functions meet at run time is created from the template's own properties, so a
change in template.yaml changes what the tests and ``make demo`` run: tables with their keys and
indexes, the topic, the queue, the schedule group, the Scheduler schedules (expression, time zone,
input, target), the EventBridge bus and rules (pattern, targets), the dashboard body, and each
function's environment (Globals merged with the function's own) and EventInvokeConfig. Custom
resources are invoked with a CloudFormation Create request, as a deploy would.

Not emulated, and why: IAM roles and policies (the emulator enforces no IAM; checkov and
``test_template_security`` read them), the KMS key and encryption settings (moto stores plain
data), log groups and Lambda permissions (no effect on behaviour). Names CloudFormation would
generate (``<stack>-<LogicalId>-<random>``) are ``<stack>-<LogicalId>`` here, and a function is
``<stack>-<code directory in kebab case>`` (``icpilot-watch-tick``), so logs and tests stay readable.

The intrinsic functions the template uses are resolved here (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``,
``Fn::If``, ``Fn::Equals``, ``Fn::Not``, ``Fn::And``, ``Fn::Or``, ``Fn::Join``, ``Fn::Select``);
the SAM translator would need the SAM CLI's own virtual environment in the test process, and it
expands to the same resources. An unknown intrinsic or resource property is an error, not a guess.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.exceptions import ClientError

from .core import EMULATOR
from .dispatcher import AsyncConfig, variables_set

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
ACCOUNT = "123456789012"
REGION = "us-east-1"
LAYER_MOUNT = "/opt/python/"  # where Lambda puts a Python layer's files (BuildMethod python3.x)

# The parameters a test deploy gives when the template has no default (samconfig.toml's dev values).
# What the emulator's deploys (tests, the demo, `python -m emulator --stack`) set where the template
# has no default, and DefaultMode=act: their policies say nothing of a mode and must act.
# The emulator's stacks act (DefaultMode), and their writes are not paced: the pacer waits in real
# time, and unit-test runs have no rate limits to keep under (emulator.realism is off).
TEST_PARAMETERS = {
    "EndpointNamePattern": "llm-*",
    "ComponentNamePattern": "*",
    "DefaultMode": "act",
    "WriteRates": "none",
}


class TemplateError(ValueError):
    """template.yaml uses something this deployer cannot emulate, or a value is missing."""


class CustomResourceFailed(RuntimeError):
    """A custom resource answered FAILED (or crashed): CloudFormation would roll the deploy back."""


# ----------------------------------------------------------------------------- reading the template
class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (``!Ref X`` -> ``{"Ref": "X"}``)."""


def _tag(name: str) -> Callable[[yaml.SafeLoader, yaml.Node], Any]:
    key = "Ref" if name == "Ref" else f"Fn::{name}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if name == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {key: value}

    return construct


for _name in ("Ref", "GetAtt", "Sub", "If", "Equals", "Not", "And", "Or", "Join", "Select", "Split", "Condition"):
    _CfnLoader.add_constructor(f"!{_name}", _tag(_name))


def load_template(path: Path | str = TEMPLATE) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        document = yaml.load(f, Loader=_CfnLoader)  # a SafeLoader subclass: no arbitrary objects
    if not isinstance(document, dict) or "Resources" not in document:
        raise TemplateError(f"{path} is not a CloudFormation template (no Resources)")
    return document


def _depends_on(resource: dict[str, Any]) -> list[str]:
    needed = resource.get("DependsOn", [])
    return [needed] if isinstance(needed, str) else list(needed)


def _kebab(code_uri: str) -> str:
    return Path(code_uri.rstrip("/")).name.replace("_", "-")


# ----------------------------------------------------------------------------- the deployment
@dataclass
class Function:
    """A deployed Lambda function: its handler, environment and async-invocation settings."""

    logical_id: str
    name: str
    arn: str
    handler: Callable[[Any, Any], Any]
    environment: dict[str, str]
    async_config: AsyncConfig


@dataclass
class Deployment:
    """template.yaml deployed as one named stack on the emulator."""

    stack_name: str
    template: dict[str, Any]
    parameters: dict[str, str]
    environment_overrides: dict[str, str] = field(default_factory=dict)
    physical: dict[str, str] = field(default_factory=dict)  # logical id -> what Ref answers
    arns: dict[str, str] = field(default_factory=dict)  # logical id -> its ARN (Fn::GetAtt X.Arn)
    functions: dict[str, Function] = field(default_factory=dict)  # short name -> function
    custom_resource_results: dict[str, Any] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)  # logical ids, in the order they were created

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self.template["Resources"])

    # ------------------------------------------------------------------ intrinsics
    def condition(self, name: str) -> bool:
        conditions = self.template.get("Conditions", {})
        if name not in conditions:
            raise TemplateError(f"unknown condition {name!r}")
        return bool(self.resolve(conditions[name]))

    def resolve(self, value: Any) -> Any:
        """The value with every intrinsic function resolved."""
        if isinstance(value, list):  # an item that resolves to AWS::NoValue is left out, as CloudFormation does
            return [r for r in (self.resolve(v) for v in value) if r is not None]
        if not isinstance(value, dict):
            return value
        if len(value) != 1 or not next(iter(value)).startswith(("Ref", "Fn::", "Condition")):
            return {k: self.resolve(v) for k, v in value.items()}
        ((key, arg),) = value.items()
        if key == "Ref":
            return self._ref(arg)
        if key == "Fn::GetAtt":
            logical, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
            return self._attribute(logical, attribute)
        if key == "Fn::Sub":
            text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
            return re.sub(r"\$\{([^}!]+)\}", lambda m: str(extra.get(m[1]) or self._sub_name(m[1])), text)
        if key == "Fn::If":
            name, when_true, when_false = arg
            return self.resolve(when_true if self.condition(name) else when_false)
        if key == "Fn::Equals":
            left, right = self.resolve(arg)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not self.resolve(arg[0])
        if key == "Fn::And":
            return all(self.resolve(a) for a in arg)
        if key == "Fn::Or":
            return any(self.resolve(a) for a in arg)
        if key == "Condition":
            return self.condition(arg)
        if key == "Fn::Join":
            separator, items = arg
            return str(separator).join(str(i) for i in self.resolve(items))
        if key == "Fn::Select":
            index, items = self.resolve(arg)
            return items[int(index)]
        if key == "Fn::Split":
            separator, text = self.resolve(arg)
            return str(text).split(separator)
        raise TemplateError(f"intrinsic {key} is not emulated")

    def _sub_name(self, name: str) -> str:
        if "." in name:
            logical, attribute = name.split(".", 1)
            return str(self._attribute(logical, attribute))
        return str(self._ref(name))

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::StackName": self.stack_name,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": self.stack_id,
            "AWS::NoValue": None,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.template.get("Parameters", {}):
            if self.template["Parameters"][name].get("Type") == "CommaDelimitedList":
                return str(self.parameters[name]).split(",")  # as CloudFormation: "" is [""]
            return self.parameters[name]
        if name not in self.template["Resources"]:
            raise TemplateError(f"Ref to unknown name {name!r}")
        self.create(name)
        return self.physical[name]

    def _attribute(self, logical: str, attribute: str) -> Any:
        function = self.template["Resources"].get(logical.removesuffix("Role"), {})
        if logical not in self.template["Resources"] and function.get("Type") == "AWS::Serverless::Function":
            # SAM's implicit execution role of a function without ``Role`` (IAM is not emulated).
            return f"arn:aws:iam::{ACCOUNT}:role/{self.stack_name}-{logical}"
        if logical not in self.template["Resources"]:
            raise TemplateError(f"Fn::GetAtt of unknown resource {logical!r}")
        self.create(logical)
        if attribute == "QueueName" and self.template["Resources"][logical]["Type"] == "AWS::SQS::Queue":
            return self.physical[logical].rstrip("/").rsplit("/", 1)[-1]
        if attribute != "Arn":
            raise TemplateError(
                f"Fn::GetAtt {logical}.{attribute} is not emulated (only .Arn and a queue's .QueueName)"
            )
        return self.arns[logical]

    @property
    def stack_id(self) -> str:
        return f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{self.stack_name}/emulated"

    def _properties(self, logical: str) -> dict[str, Any]:
        return dict(self.resolve(self.template["Resources"][logical].get("Properties", {})))

    # ------------------------------------------------------------------ resources
    def create(self, logical: str) -> None:
        """Create one resource (and, through its Refs, what it needs first). Idempotent."""
        if logical in self.physical:
            return
        resource = self.template["Resources"][logical]
        if "Condition" in resource and not self.condition(resource["Condition"]):
            self.physical[logical] = ""
            return
        kind = resource["Type"]
        creator = _CREATORS.get(kind)
        if creator is None:
            raise TemplateError(f"{logical}: resource type {kind} is not emulated")
        self.physical[logical] = "(creating)"  # a Ref cycle would otherwise recurse forever
        for needed in _depends_on(resource):
            self.create(needed)
        creator(self, logical)
        self.created.append(logical)

    def default_name(self, logical: str) -> str:
        return f"{self.stack_name}-{logical}"

    def deploy(self) -> None:
        """Create every resource but the custom resources (``create_custom_resources`` runs those,
        once the functions' environment is in place)."""
        for logical in self.template["Resources"]:
            if not self.template["Resources"][logical]["Type"].startswith("Custom::"):
                self.create(logical)

    def create_custom_resources(self) -> None:
        """Each custom resource's Create request, in DependsOn order, as a deploy sends them."""
        for logical in self.custom_resources():
            self.run_custom_resource(logical, "Create")

    def custom_resources(self) -> Iterator[str]:
        """The custom resources in the order CloudFormation may run them: after their DependsOn."""
        resources = self.template["Resources"]
        done: set[str] = set()

        def visit(logical: str) -> Iterator[str]:
            if logical in done:
                return
            done.add(logical)
            for needed in _depends_on(resources[logical]):
                yield from visit(needed)
            if resources[logical]["Type"].startswith("Custom::"):
                yield logical

        for logical in resources:
            yield from visit(logical)

    def run_custom_resource(self, logical: str, request_type: str) -> Any:
        """Invoke a custom resource's function as CloudFormation would; FAILED raises."""
        resource = self.template["Resources"][logical]
        properties = self._properties(logical)
        event = {
            "RequestType": request_type,
            "ServiceToken": properties["ServiceToken"],
            "ResponseURL": "emulator:cloudformation",  # not https: the handler answers nobody
            "StackId": self.stack_id,
            "RequestId": str(uuid.uuid4()),
            "ResourceType": resource["Type"],
            "LogicalResourceId": logical,
            "ResourceProperties": properties,
        }
        if request_type != "Create":
            event["PhysicalResourceId"] = f"icpilot-{logical}"
        record = EMULATOR.dispatcher.invoke_recorded(
            properties["ServiceToken"], event, source=f"cloudformation {request_type}"
        )
        result = record.result
        answered_failed = isinstance(result, dict) and (
            (result.get("policy_error") and not result.get("policy_pending")) or result.get("rejected")
        )  # as icpilot.adapters.cfn answers CloudFormation
        if record.error or answered_failed:
            raise CustomResourceFailed(f"{logical} ({request_type}) failed: {record.error or result}")
        self.custom_resource_results[logical] = result
        return result

    def delete(self) -> None:
        """``sam delete``: the custom resources' Delete (reverse order), then every resource the
        deploy created, newest first. Deleting a schedule group deletes its schedules (AWS)."""
        for logical in reversed(list(self.custom_resources())):
            if logical in self.custom_resource_results:
                self.run_custom_resource(logical, "Delete")
        for logical in reversed(self.created):
            kind = self.template["Resources"][logical]["Type"]
            deleter = _DELETERS.get(kind)
            if deleter is None or not self.physical.get(logical):
                continue
            try:
                deleter(self, logical)
            except ClientError as exc:  # deleted already (by a test, or with its group): as CloudFormation, go on
                if (
                    "NotFound" not in exc.response["Error"]["Code"]
                    and "NonExistent" not in exc.response["Error"]["Code"]
                ):
                    raise
        self.created.clear()

    def outputs(self) -> dict[str, str]:
        """The stack's outputs; one whose ``Condition`` is false is absent, as in CloudFormation."""
        return {
            name: str(self.resolve(o["Value"]))
            for name, o in self.template.get("Outputs", {}).items()
            if "Condition" not in o or self.condition(o["Condition"])
        }


def _table(d: Deployment, logical: str) -> None:
    p = d._properties(logical)
    name = p.get("TableName") or d.default_name(logical)
    args: dict[str, Any] = {
        "TableName": name,
        "KeySchema": p["KeySchema"],
        "AttributeDefinitions": p["AttributeDefinitions"],
        "BillingMode": p.get("BillingMode", "PROVISIONED"),
    }
    if p.get("GlobalSecondaryIndexes"):
        args["GlobalSecondaryIndexes"] = p["GlobalSecondaryIndexes"]
    if args["BillingMode"] == "PROVISIONED":
        args["ProvisionedThroughput"] = p["ProvisionedThroughput"]
    ddb = boto3.client("dynamodb", region_name=REGION)
    ddb.create_table(**args)
    if (ttl := p.get("TimeToLiveSpecification")) is not None:
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    d.physical[logical] = name
    d.arns[logical] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def _topic(d: Deployment, logical: str) -> None:
    p = d._properties(logical)
    attributes = {"DisplayName": p["DisplayName"]} if p.get("DisplayName") else {}
    arn = boto3.client("sns", region_name=REGION).create_topic(
        Name=p.get("TopicName") or d.default_name(logical), Attributes=attributes
    )["TopicArn"]
    d.physical[logical] = d.arns[logical] = arn


def _subscription(d: Deployment, logical: str) -> None:
    p = d._properties(logical)
    arn = boto3.client("sns", region_name=REGION).subscribe(
        TopicArn=p["TopicArn"], Protocol=p["Protocol"], Endpoint=p["Endpoint"], ReturnSubscriptionArn=True
    )["SubscriptionArn"]
    d.physical[logical] = d.arns[logical] = arn


def _queue(d: Deployment, logical: str) -> None:
    p = d._properties(logical)
    sqs = boto3.client("sqs", region_name=REGION)
    attributes = {k: str(p[k]) for k in ("MessageRetentionPeriod", "VisibilityTimeout") if k in p}
    url = sqs.create_queue(QueueName=p.get("QueueName") or d.default_name(logical), Attributes=attributes)["QueueUrl"]
    d.physical[logical] = url
    d.arns[logical] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _queue_policy(d: Deployment, logical: str) -> None:
    p = d._properties(logical)
    sqs = boto3.client("sqs", region_name=REGION)
    for url in p["Queues"]:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(p["PolicyDocument"])})
    d.physical[logical] = logical


def _topic_policy(d: Deployment, logical: str) -> None:
    p = d._properties(logical)
    sns = boto3.client("sns", region_name=REGION)
    for arn in p["Topics"]:
        sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=json.dumps(p["PolicyDocument"]))
    d.physical[logical] = logical


def _schedule_group(d: Deployment, logical: str) -> None:
    name = d._properties(logical).get("Name") or d.default_name(logical)
    arn = boto3.client("scheduler", region_name=REGION).create_schedule_group(Name=name)["ScheduleGroupArn"]
    d.physical[logical], d.arns[logical] = name, arn


def _schedule(d: Deployment, logical: str) -> None:
    p = d._properties(logical)
    args = {k: p[k] for k in ("GroupName", "ScheduleExpressionTimezone", "State", "Description") if p.get(k)}
    target = {k: v for k, v in p["Target"].items() if v is not None}
    arn = boto3.client("scheduler", region_name=REGION).create_schedule(
        Name=p.get("Name") or d.default_name(logical),
        ScheduleExpression=p["ScheduleExpression"],
        FlexibleTimeWindow=p["FlexibleTimeWindow"],
        Target=target,
        **args,
    )["ScheduleArn"]
    d.physical[logical] = p.get("Name") or d.default_name(logical)
    d.arns[logical] = arn


def _event_bus(d: Deployment, logical: str) -> None:
    name = d._properties(logical)["Name"]
    arn = boto3.client("events", region_name=REGION).create_event_bus(Name=name)["EventBusArn"]
    d.physical[logical], d.arns[logical] = name, arn


def _rule(d: Deployment, logical: str) -> None:
    p = d._properties(logical)
    events = boto3.client("events", region_name=REGION)
    name = p.get("Name") or d.default_name(logical)
    bus = {"EventBusName": p["EventBusName"]} if p.get("EventBusName") else {}
    args: dict[str, Any] = {"Name": name, "State": p.get("State", "ENABLED"), **bus}
    if "EventPattern" in p:
        args["EventPattern"] = json.dumps(p["EventPattern"])
    if "ScheduleExpression" in p:
        args["ScheduleExpression"] = p["ScheduleExpression"]
    arn = events.put_rule(**args)["RuleArn"]
    if p.get("Targets"):
        events.put_targets(Rule=name, Targets=p["Targets"], **bus)
    d.physical[logical], d.arns[logical] = name, arn


def _dashboard(d: Deployment, logical: str) -> None:
    p = d._properties(logical)
    json.loads(p["DashboardBody"])  # a body CloudWatch would refuse fails the deploy here too
    boto3.client("cloudwatch", region_name=REGION).put_dashboard(
        DashboardName=p["DashboardName"], DashboardBody=p["DashboardBody"]
    )
    d.physical[logical] = p["DashboardName"]


# PutMetricAlarm's parameters that AWS::CloudWatch::Alarm spells the same way.
_ALARM_FIELDS = (
    "AlarmName", "AlarmDescription", "ActionsEnabled", "AlarmActions", "OKActions", "InsufficientDataActions",
    "Namespace", "MetricName", "Dimensions", "Statistic", "ExtendedStatistic", "Period", "EvaluationPeriods",
    "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData", "Unit", "Metrics",
)  # fmt: skip


def _alarm(d: Deployment, logical: str) -> None:
    p = d._properties(logical)
    args = {k: p[k] for k in _ALARM_FIELDS if k in p}
    args.setdefault("AlarmName", d.default_name(logical))
    for number in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
        if number in args:
            args[number] = int(args[number])
    args["Threshold"] = float(args["Threshold"])
    for query in args.get("Metrics", []):
        if "MetricStat" in query:
            query["MetricStat"]["Period"] = int(query["MetricStat"]["Period"])
    boto3.client("cloudwatch", region_name=REGION).put_metric_alarm(**args)
    d.physical[logical] = args["AlarmName"]
    d.arns[logical] = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{args['AlarmName']}"


def _appconfig(d: Deployment, logical: str) -> None:
    """AWS::AppConfig::Application, Environment, ConfigurationProfile, DeploymentStrategy: Ref is the id."""
    p = d._properties(logical)
    kind = d.template["Resources"][logical]["Type"].rsplit("::", 1)[-1]
    client = boto3.client("appconfig", region_name=REGION)
    if kind == "Application":
        made = client.create_application(Name=p["Name"], Description=p.get("Description", ""))
    elif kind == "Environment":
        made = client.create_environment(ApplicationId=p["ApplicationId"], Name=p["Name"])
    elif kind == "ConfigurationProfile":
        profile = ("ApplicationId", "Name", "LocationUri", "Type", "Validators", "Description")
        made = client.create_configuration_profile(**{k: p[k] for k in profile if k in p})
    else:
        fields = ("Name", "Description", "DeploymentDurationInMinutes", "GrowthFactor", "FinalBakeTimeInMinutes")
        args = {k: p[k] for k in fields if k in p}
        for number in ("DeploymentDurationInMinutes", "FinalBakeTimeInMinutes"):
            if number in args:
                args[number] = int(args[number])
        args["GrowthFactor"] = float(args["GrowthFactor"])
        made = client.create_deployment_strategy(ReplicateTo=p.get("ReplicateTo", "NONE"), **args)
    d.physical[logical] = made["Id"]
    d.arns[logical] = made["Id"]


def _function(d: Deployment, logical: str) -> None:
    resource = d.template["Resources"][logical]
    merged = {**d.template.get("Globals", {}).get("Function", {}), **resource.get("Properties", {})}
    global_env = d.template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    own_env = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
    name = merged.get("FunctionName") or f"{d.stack_name}-{_kebab(merged['CodeUri'])}"
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    # Registered before the environment is resolved: a function's own variables may Ref another function.
    d.physical[logical], d.arns[logical] = name, arn
    environment = {k: str(v) for k, v in d.resolve({**global_env, **own_env}).items() if v is not None}
    for key, value in environment.items():
        if value.startswith(LAYER_MOUNT):
            environment[key] = str(_layer_path(d, merged) / value[len(LAYER_MOUNT) :])
    environment.update(d.environment_overrides)
    module_name, _, attribute = merged["Handler"].rpartition(".")
    package = ".".join(Path(merged["CodeUri"].rstrip("/")).parts)
    with variables_set(environment):  # Lambda sets the variables before the module's init code runs
        handler = getattr(import_module(f"{package}.{module_name}"), attribute)
    invoke_config = d.resolve(merged.get("EventInvokeConfig", {}))
    on_failure = invoke_config.get("DestinationConfig", {}).get("OnFailure", {})
    config = AsyncConfig(int(invoke_config.get("MaximumRetryAttempts", 2)), on_failure.get("Destination"))
    short = _kebab(merged["CodeUri"])
    d.functions[short] = Function(logical, name, arn, handler, environment, config)
    EMULATOR.dispatcher.register(arn, handler, config, environment)


def _layer_path(d: Deployment, function: dict[str, Any]) -> Path:
    """The directory a function's first layer comes from (what Lambda mounts at /opt/python)."""
    for layer in function.get("Layers", []):
        logical = layer.get("Ref") if isinstance(layer, dict) else None
        if logical and d.template["Resources"][logical]["Type"] == "AWS::Serverless::LayerVersion":
            return ROOT / d.template["Resources"][logical]["Properties"]["ContentUri"]
    raise TemplateError(f"a function reads {LAYER_MOUNT} but has no layer from this template")


def _layer(d: Deployment, logical: str) -> None:
    name = d._properties(logical).get("LayerName") or d.default_name(logical)
    d.physical[logical] = d.arns[logical] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:{name}:1"


def _not_emulated(arn_kind: str) -> Callable[[Deployment, str], None]:
    """Resources with no behaviour in the emulator: only their name and ARN, for Refs."""

    def create(d: Deployment, logical: str) -> None:
        p = d.template["Resources"][logical].get("Properties", {})
        name = p.get("RoleName") or p.get("ManagedPolicyName") or d.default_name(logical)
        d.physical[logical] = name if arn_kind in ("role", "kms") else f"arn:aws:iam::{ACCOUNT}:policy/{name}"
        d.arns[logical] = {
            "role": f"arn:aws:iam::{ACCOUNT}:role/{name}",
            "policy": f"arn:aws:iam::{ACCOUNT}:policy/{name}",
            "kms": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{name}",
            "logs": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}",
            "permission": name,
        }[arn_kind]
        if arn_kind == "logs":
            d.physical[logical] = str(d.resolve(p.get("LogGroupName", name)))

    return create


_CREATORS: dict[str, Callable[[Deployment, str], None]] = {
    "AWS::DynamoDB::Table": _table,
    "AWS::SNS::Topic": _topic,
    "AWS::SNS::Subscription": _subscription,
    "AWS::SQS::Queue": _queue,
    "AWS::SQS::QueuePolicy": _queue_policy,
    "AWS::SNS::TopicPolicy": _topic_policy,
    "AWS::Scheduler::ScheduleGroup": _schedule_group,
    "AWS::Scheduler::Schedule": _schedule,
    "AWS::Events::EventBus": _event_bus,
    "AWS::Events::Rule": _rule,
    "AWS::CloudWatch::Dashboard": _dashboard,
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::AppConfig::Application": _appconfig,
    "AWS::AppConfig::Environment": _appconfig,
    "AWS::AppConfig::ConfigurationProfile": _appconfig,
    "AWS::AppConfig::DeploymentStrategy": _appconfig,
    "AWS::Serverless::Function": _function,
    "AWS::Serverless::LayerVersion": _layer,
    "AWS::IAM::Role": _not_emulated("role"),
    "AWS::IAM::ManagedPolicy": _not_emulated("policy"),
    "AWS::KMS::Key": _not_emulated("kms"),
    "AWS::Logs::LogGroup": _not_emulated("logs"),
    "AWS::Lambda::Permission": _not_emulated("permission"),
}


def _delete_table(d: Deployment, logical: str) -> None:
    boto3.client("dynamodb", region_name=REGION).delete_table(TableName=d.physical[logical])


def _delete_schedule_group(d: Deployment, logical: str) -> None:
    scheduler = boto3.client("scheduler", region_name=REGION)
    group = d.physical[logical]
    for page in scheduler.get_paginator("list_schedules").paginate(GroupName=group):
        for schedule in page["Schedules"]:
            scheduler.delete_schedule(Name=schedule["Name"], GroupName=group)
    scheduler.delete_schedule_group(Name=group)


def _delete_schedule(d: Deployment, logical: str) -> None:
    group = d._properties(logical).get("GroupName") or "default"
    boto3.client("scheduler", region_name=REGION).delete_schedule(Name=d.physical[logical], GroupName=group)


def _delete_rule(d: Deployment, logical: str) -> None:
    events = boto3.client("events", region_name=REGION)
    p = d._properties(logical)
    bus = {"EventBusName": p["EventBusName"]} if p.get("EventBusName") else {}
    ids = [t["Id"] for t in p.get("Targets", [])]
    if ids:
        events.remove_targets(Rule=d.physical[logical], Ids=ids, **bus)
    events.delete_rule(Name=d.physical[logical], **bus)


def _delete_function(d: Deployment, logical: str) -> None:
    EMULATOR.dispatcher.unregister(d.arns[logical])


_DELETERS: dict[str, Callable[[Deployment, str], None]] = {
    "AWS::DynamoDB::Table": _delete_table,
    "AWS::SNS::Topic": lambda d, lg: boto3.client("sns", region_name=REGION).delete_topic(TopicArn=d.physical[lg]),
    "AWS::SNS::Subscription": lambda d, lg: boto3.client("sns", region_name=REGION).unsubscribe(
        SubscriptionArn=d.physical[lg]
    ),
    "AWS::SQS::Queue": lambda d, lg: boto3.client("sqs", region_name=REGION).delete_queue(QueueUrl=d.physical[lg]),
    "AWS::Scheduler::ScheduleGroup": _delete_schedule_group,
    "AWS::Scheduler::Schedule": _delete_schedule,
    "AWS::Events::EventBus": lambda d, lg: boto3.client("events", region_name=REGION).delete_event_bus(
        Name=d.physical[lg]
    ),
    "AWS::Events::Rule": _delete_rule,
    "AWS::CloudWatch::Dashboard": lambda d, lg: boto3.client("cloudwatch", region_name=REGION).delete_dashboards(
        DashboardNames=[d.physical[lg]]
    ),
    "AWS::CloudWatch::Alarm": lambda d, lg: boto3.client("cloudwatch", region_name=REGION).delete_alarms(
        AlarmNames=[d.physical[lg]]
    ),
    "AWS::AppConfig::Application": lambda d, lg: boto3.client("appconfig", region_name=REGION).delete_application(
        ApplicationId=d.physical[lg]
    ),
    "AWS::Serverless::Function": _delete_function,
}


def deploy_template(
    stack_name: str,
    parameters: dict[str, str] | None = None,
    template: Path | str | dict[str, Any] = TEMPLATE,
    environment_overrides: dict[str, str] | None = None,
) -> Deployment:
    """Deploy ``template`` as ``stack_name``: parameters are checked as CloudFormation checks them
    (unknown names, missing values, AllowedValues, AllowedPattern)."""
    document = template if isinstance(template, dict) else load_template(template)
    declared = document.get("Parameters", {})
    given = dict(parameters or {})
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise TemplateError(f"unknown parameters: {', '.join(unknown)}")
    values: dict[str, str] = {}
    for name, spec in declared.items():
        if name in given:
            value = str(given[name])
        elif "Default" in spec:
            value = str(spec["Default"])
        else:
            raise TemplateError(f"parameter {name} has no default and no value was given")
        if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
            raise TemplateError(f"parameter {name}={value!r} is not one of {spec['AllowedValues']}")
        if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
            raise TemplateError(f"parameter {name}={value!r} does not match {spec['AllowedPattern']}")
        values[name] = value
    deployment = Deployment(stack_name, document, values, dict(environment_overrides or {}))
    for rule, body in document.get("Rules", {}).items():  # CloudFormation checks them before creating anything
        for assertion in body.get("Assertions", []):
            if not deployment.resolve(assertion["Assert"]):
                raise TemplateError(f"rule {rule}: {assertion.get('AssertDescription', 'assertion failed')}")
    deployment.deploy()
    return deployment
