"""The emulator runs template.yaml itself (``emulator.template``): a change in the template changes
what runs. Each test deploys a copy of the template, changed in one place, and sees the behaviour
follow; the unchanged template is the control."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from icpilot.adapters.state import StateStore

from emulator import Emulator, emulated_aws
from emulator.alarms import evaluate_alarms
from emulator.sagemaker_ext import invoke_component
from emulator.stack import Stack, deploy_stack
from emulator.template import CustomResourceFailed, TemplateError, load_template
from tests.conftest import INTEGRATION_POLICY
from tests.harness import create_seed

pytestmark = pytest.mark.real_clock  # starts the emulator itself

REGION = "us-east-1"
ACCOUNT = "123456789012"


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No ICPILOT_ variables before; the process environment as it was after (deploys set it)."""
    for key in list(os.environ):
        if key.startswith("ICPILOT_"):
            monkeypatch.delenv(key)
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def world(environment: None) -> Iterator[Emulator]:
    """The seed endpoint (both components at zero copies), Monday 06:04Z, no stack yet."""
    with emulated_aws() as emu:
        emu.settings.model_load_seconds = 240
        create_seed(boto3.client("sagemaker", region_name=REGION), copies=0)
        emu.advance(240)
        yield emu


def template_with(change: Any) -> dict[str, Any]:
    """A copy of template.yaml with ``change(resources)`` applied."""
    document = copy.deepcopy(load_template())
    change(document["Resources"])
    return document


def deploy(template: dict[str, Any] | None = None, **kw: Any) -> Stack:
    kw.setdefault("run_custom_resources", False)
    if template is not None:
        kw["template"] = template
    return deploy_stack(policy_path=str(INTEGRATION_POLICY), **kw)


def invocations(emu: Emulator, function: str) -> int:
    return sum(1 for i in emu.dispatcher.invocations if i.function.endswith(f"-{function}"))


def desired(name: str) -> int:
    described = boto3.client("sagemaker", region_name=REGION).describe_inference_component(InferenceComponentName=name)
    return int(described["RuntimeConfig"]["DesiredCopyCount"])


@pytest.mark.parametrize(("expression", "expected"), [(None, 30), ("rate(10 minutes)", 3)])
def test_the_watchers_schedule_expression_is_the_templates(
    world: Emulator, expression: str | None, expected: int
) -> None:
    def slower(resources: dict[str, Any]) -> None:
        if expression:
            resources["WatchSchedule"]["Properties"]["ScheduleExpression"] = expression

    deploy(template_with(slower))
    world.advance(30 * 60)
    assert invocations(world, "watch-warmups") == expected


def test_a_template_parameter_reaches_its_schedule(world: Emulator) -> None:
    deploy(parameters={"TickRate": "rate(15 minutes)"})
    world.advance(60 * 60)
    assert invocations(world, "watch-tick") == 4


def test_the_alarm_rules_pattern_decides_which_alarms_reach_icpilot(environment: None) -> None:
    """Requests at zero copies -> NoCapacityInvocationFailures -> the no-capacity alarm -> the
    template's AlarmRule -> the alarm function, which announces the warm-up. With the rule's prefix
    changed, the same alarm never reaches the function (AAS's own step action still runs)."""
    for prefix in ("nobody-", "icpilot-"):

        def pattern(resources: dict[str, Any], prefix: str = prefix) -> None:
            resources["AlarmRule"]["Properties"]["EventPattern"]["detail"]["alarmName"] = [{"prefix": prefix}]

        with emulated_aws() as emu:
            emu.settings.model_load_seconds = 240
            create_seed(boto3.client("sagemaker", region_name=REGION), copies=0)
            emu.advance(240)
            stack = deploy(template_with(pattern))
            stack.pause_periodic_schedules()  # only the alarm path may act
            stack.invoke("configure-autoscaling", {"kind": "configure"})
            for _ in range(3):
                emu.advance(60)
                invoke_component(ACCOUNT, REGION, "flan-t5-xxl", 5)
                evaluate_alarms()
            reached = invocations(emu, "alarm-scale") > 0
            warmups = [
                e for e in stack.lifecycle_events() if e["type"] == "WarmUpStarted" and e["trigger"]["kind"] == "alarm"
            ]
            assert reached is (prefix == "icpilot-"), prefix
            assert bool(warmups) is (prefix == "icpilot-"), prefix


def test_each_function_gets_the_templates_environment_and_retry_settings(world: Emulator) -> None:
    def changed(resources: dict[str, Any]) -> None:
        resources["AlarmScaleFunction"]["Properties"]["EventInvokeConfig"]["MaximumRetryAttempts"] = 0
        del resources["WatchTickFunction"]["Properties"]["Environment"]["Variables"]["ICPILOT_SCHEDULE_DLQ_ARN"]

    control = deploy().deployment.functions
    assert control["alarm-scale"].async_config.retries == 1
    assert control["watch-tick"].environment["ICPILOT_SCHEDULE_DLQ_ARN"].endswith(":icpilot-DeadLetterQueue")
    assert "ICPILOT_SCHEDULE_DLQ_ARN" not in control["alarm-scale"].environment  # only the tick's own
    assert control["alarm-scale"].environment["ICPILOT_IDEMPOTENCY_TABLE"] == "icpilot-IdempotencyTable"
    functions = deploy(template_with(changed), name="other").deployment.functions
    assert functions["alarm-scale"].async_config.retries == 0
    assert "ICPILOT_SCHEDULE_DLQ_ARN" not in functions["watch-tick"].environment


def test_the_tables_keys_and_indexes_are_the_templates(world: Emulator) -> None:
    stack = deploy()
    table = boto3.client("dynamodb", region_name=REGION).describe_table(TableName=stack.table)["Table"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk"]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["inflight"]
    assert stack.outputs["StateTableName"] == stack.table == "icpilot-StateTable"


def test_the_deploy_runs_the_custom_resources_and_a_failing_one_fails_the_deploy(
    world: Emulator, tmp_path: Any
) -> None:
    stack = deploy(run_custom_resources=True)
    assert list(stack.deployment.custom_resource_results) == ["ReconcileOnDeploy", "ConfigureOnDeploy"]  # DependsOn
    targets = boto3.client("application-autoscaling", region_name=REGION).describe_scalable_targets(
        ServiceNamespace="sagemaker"
    )["ScalableTargets"]
    assert sorted(t["ResourceId"] for t in targets) == [
        "inference-component/falcon-7b",
        "inference-component/flan-t5-xxl",
    ]
    bad = tmp_path / "bad.yaml"
    bad.write_text("endpoints: {llm-endpoint: {components: {falcon-7b: {max_copies: -1}}}}\n")
    with pytest.raises(CustomResourceFailed, match="ReconcileOnDeploy"):
        deploy_stack(policy_path=str(bad), name="broken")


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"TickRate": "every minute"}, "is not one of"),
        ({"RestoreCopiesOnDelete": "some"}, "does not match"),
        ({"Environment": "staging"}, "is not one of"),
        ({"NoSuchParameter": "x"}, "unknown parameters"),
    ],
)
def test_parameters_are_checked_as_cloudformation_checks_them(
    world: Emulator, parameters: dict[str, str], message: str
) -> None:
    with pytest.raises(TemplateError, match=message):
        deploy(parameters=parameters)


def test_a_reference_to_nothing_is_an_error_not_a_guess(world: Emulator) -> None:
    def broken(resources: dict[str, Any]) -> None:
        resources["WatchSchedule"]["Properties"]["Target"]["Arn"] = {"Fn::GetAtt": ["NoSuchFunction", "Arn"]}

    with pytest.raises(TemplateError, match="NoSuchFunction"):
        deploy(template_with(broken))


def split_policy(tmp_path: Any) -> dict[str, str]:
    """tests/policy.yaml cut in two: team A runs falcon-7b, team B flan-t5-xxl, on one endpoint."""
    import yaml

    whole = yaml.safe_load(INTEGRATION_POLICY.read_text())
    paths = {}
    for team, component in (("team-a", "falcon-7b"), ("team-b", "flan-t5-xxl")):
        part = copy.deepcopy(whole)
        components = part["endpoints"]["llm-endpoint"]["components"]
        part["endpoints"]["llm-endpoint"]["components"] = {component: components[component]}
        part["endpoints"]["llm-endpoint"]["components"][component].pop("after", None)
        paths[team] = str(tmp_path / f"{team}.yaml")
        (tmp_path / f"{team}.yaml").write_text(yaml.safe_dump(part))
    return paths


def icpilot_alarms() -> dict[str, str]:
    alarms = boto3.client("cloudwatch", region_name=REGION).describe_alarms(AlarmNamePrefix="icpilot-")["MetricAlarms"]
    return {a["AlarmName"]: a["AlarmDescription"] for a in alarms}


def scalable_targets() -> list[str]:
    found = boto3.client("application-autoscaling", region_name=REGION).describe_scalable_targets(
        ServiceNamespace="sagemaker"
    )["ScalableTargets"]
    return sorted(t["ResourceId"] for t in found)


def test_two_stacks_side_by_side_and_one_deleted_leaves_the_other_untouched(world: Emulator, tmp_path: Any) -> None:
    policies = split_policy(tmp_path)
    a = deploy_stack(policy_path=policies["team-a"], name="team-a")
    b = deploy_stack(policy_path=policies["team-b"], name="team-b")
    alarms = icpilot_alarms()
    assert {n for n, d in alarms.items() if d.startswith("icpilot[team-a]: ")} == {
        "icpilot-falcon-7b-no-capacity",
        "icpilot-falcon-7b-idle",
        "icpilot-falcon-7b-high-load",
    }
    assert {n for n, d in alarms.items() if d.startswith("icpilot[team-b]: ")} == {
        "icpilot-flan-t5-xxl-no-capacity",
        "icpilot-flan-t5-xxl-idle",
    }
    assert scalable_targets() == ["inference-component/falcon-7b", "inference-component/flan-t5-xxl"]
    # Each stack's configure sees only its own alarms: neither deletes the other's as stale.
    for stack in (a, b, a):
        assert stack.invoke("configure-autoscaling", {"kind": "configure"})["ok"]
    assert icpilot_alarms() == alarms
    # flan's no-capacity alarm reaches team B's alarm function only (each AlarmRule matches its own marker).
    a.pause_periodic_schedules()
    b.pause_periodic_schedules()
    for _ in range(3):
        world.advance(60)
        invoke_component(ACCOUNT, REGION, "flan-t5-xxl", 5)
        evaluate_alarms()
    reached: dict[str, set[str]] = {}
    for i in world.dispatcher.invocations:
        if i.function.endswith("-alarm-scale"):
            reached.setdefault(i.function, set()).add(i.event["detail"]["alarmName"])
    assert "icpilot-flan-t5-xxl-no-capacity" in reached["team-b-alarm-scale"]
    assert all("falcon-7b" in alarm for alarm in reached.get("team-a-alarm-scale", set()))
    assert all("flan-t5-xxl" in alarm for alarm in reached["team-b-alarm-scale"])
    assert [e["type"] for e in a.lifecycle_events() if e["type"] == "WarmUpStarted"] == []
    assert [e["component"] for e in b.lifecycle_events() if e["type"] == "WarmUpStarted"] == ["flan-t5-xxl"]

    a.delete()
    # The deleted stack leaves nothing: its alarms, its scalable target, its tables, topic, queue,
    # schedules and rules are gone ...
    assert set(icpilot_alarms()) == {"icpilot-flan-t5-xxl-no-capacity", "icpilot-flan-t5-xxl-idle"}
    assert scalable_targets() == ["inference-component/flan-t5-xxl"]
    tables = boto3.client("dynamodb", region_name=REGION).list_tables()["TableNames"]
    assert not [t for t in tables if t.startswith("team-a-")]
    assert not [t for t in boto3.client("sns", region_name=REGION).list_topics()["Topics"] if "team-a" in t["TopicArn"]]
    queues = boto3.client("sqs", region_name=REGION).list_queues().get("QueueUrls", [])
    assert not [q for q in queues if "/team-a-" in q]
    groups = [g["Name"] for g in boto3.client("scheduler", region_name=REGION).list_schedule_groups()["ScheduleGroups"]]
    assert "team-a-windows" not in groups and "team-b-windows" in groups
    schedules = boto3.client("scheduler", region_name=REGION).list_schedules()["Schedules"]
    assert not [s for s in schedules if s["Name"].startswith("team-a-") or s["GroupName"] == "team-a-windows"]
    events = boto3.client("events", region_name=REGION)
    assert not [r for r in events.list_rules()["Rules"] if r["Name"].startswith("team-a-")]
    assert "team-a-demand" not in [bus["Name"] for bus in events.list_event_buses()["EventBuses"]]
    # ... and the other stack runs on as before.
    assert sorted(b.deployment.functions) == sorted(a.deployment.functions)
    assert b.invoke("watch-tick", {"kind": "tick"})["ok"]
    assert b.invoke("configure-autoscaling", {"kind": "configure"})["ok"]
    assert set(icpilot_alarms()) == {"icpilot-flan-t5-xxl-no-capacity", "icpilot-flan-t5-xxl-idle"}


def test_a_changed_policy_parameter_reaches_the_alarms_and_schedules_at_once(environment: None) -> None:
    """The policy in SSM changes -> Parameter Store Change -> PolicyChangeRule -> configure and the
    tick, in the same second (not at the next 15-minute configure run), reading the parameter past
    its 60 s cache. With the rule listening elsewhere (a copy of the template), nothing changes until a
    schedule runs."""
    import yaml
    from aws_lambda_powertools.utilities import parameters

    policy = yaml.safe_load(INTEGRATION_POLICY.read_text())

    def idle_minutes() -> int:
        cw = boto3.client("cloudwatch", region_name=REGION)  # inside the emulated world, with its credentials
        return int(cw.describe_alarms(AlarmNames=["icpilot-falcon-7b-idle"])["MetricAlarms"][0]["EvaluationPeriods"])

    def falcon_opens() -> str:
        name = "llm-endpoint.falcon-7b.business-hours.open"
        scheduler = boto3.client("scheduler", region_name=REGION)
        return str(scheduler.get_schedule(GroupName="icpilot-windows", Name=name)["ScheduleExpression"])

    for with_rule in (True, False):

        def without(resources: dict[str, Any], drop: bool = not with_rule) -> None:
            if drop:  # the rule now listens to another parameter
                resources["PolicyChangeRule"]["Properties"]["EventPattern"]["detail"]["name"] = ["/someone/else"]

        parameters.clear_caches()  # one process, two worlds: the first world's cached policy must not leak
        with emulated_aws() as emu:
            ssm = boto3.client("ssm", region_name=REGION)
            create_seed(boto3.client("sagemaker", region_name=REGION), copies=0)
            emu.advance(240)
            ssm.put_parameter(Name="/icpilot/policy", Value=yaml.safe_dump(policy), Type="String")
            stack = deploy_stack(policy_parameter="/icpilot/policy", template=template_with(without))
            stack.pause_periodic_schedules()
            assert (idle_minutes(), falcon_opens()) == (30, "cron(54 7 ? * MON,TUE,WED,THU,FRI *)")
            changed = copy.deepcopy(policy)
            falcon = changed["endpoints"]["llm-endpoint"]["components"]["falcon-7b"]
            falcon["idle_scale_to_zero_after"] = "10m"
            falcon["schedules"][0]["start"] = "07:30"
            emu.advance(5)  # well inside the 60 s the parameter is cached for
            ssm.put_parameter(Name="/icpilot/policy", Value=yaml.safe_dump(changed), Type="String", Overwrite=True)
            if with_rule:
                assert (idle_minutes(), falcon_opens()) == (10, "cron(24 7 ? * MON,TUE,WED,THU,FRI *)")
                kinds = [e["type"] for e in stack.lifecycle_events()]
                assert "AutoScalingConfigured" in kinds and "SchedulesReconciled" in kinds
            else:
                assert (idle_minutes(), falcon_opens()) == (30, "cron(54 7 ? * MON,TUE,WED,THU,FRI *)")


def test_the_cli_finds_a_stack_by_name(world: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    """``--stack NAME`` reads the stack's outputs once: its table for state, its topic for
    announcements, its marker for alarms; nothing else has to be passed."""
    import json

    from icpilot_cli.main import main

    stack = deploy_stack(policy_path=str(INTEGRATION_POLICY), name="team-x")
    for key in [k for k in os.environ if k.startswith("ICPILOT_")]:
        del os.environ[key]  # an operator's shell: no stack variables at all
    os.environ["ICPILOT_POLICY_PATH"] = str(INTEGRATION_POLICY)
    capsys.readouterr()
    assert main(["scale", "flan-t5-xxl", "--copies", "1", "--for", "30m", "--reason", "demo", "--stack", "team-x"]) == 0
    assert desired("flan-t5-xxl") == 1
    assert [e["type"] for e in stack.lifecycle_events() if e["type"] == "OverrideSet"] == ["OverrideSet"]
    capsys.readouterr()
    assert main(["status", "--stack", "team-x", "--json"]) == 0
    rows = {r["component"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["flan-t5-xxl"]["override"].startswith("1 until ")  # read from team-x's own state table
    assert main(["plan", "--stack", "team-x", "--autoscaling", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["autoscaling"] == []  # its own alarms, up to date
    assert main(["status", "--stack", "nobody"]) == 1
    assert "no stack 'nobody'" in capsys.readouterr().err


def test_a_second_stack_naming_anothers_component_takes_nothing_over(world: Emulator, tmp_path: Any) -> None:
    """Before: a second stack whose policy named falcon-7b (team A's) overwrote team A's alarms and
    re-marked them as its own, reporting only "create". Now it finds them marked by team A, changes
    nothing of falcon's (alarms, scaling policies, bounds, copies) and says OwnershipConflict once."""
    policies = split_policy(tmp_path)
    a = deploy_stack(policy_path=policies["team-a"], name="team-a")
    before = icpilot_alarms()
    aas = boto3.client("application-autoscaling", region_name=REGION)
    team_a_policies = aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]

    def falcon_target() -> list[Any]:
        found = aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
        return [t for t in found if t["ResourceId"] == "inference-component/falcon-7b"]

    target_before = falcon_target()
    b = deploy_stack(policy_path=str(INTEGRATION_POLICY), name="team-b")  # names falcon-7b and flan-t5-xxl
    for _ in range(2):
        assert b.invoke("configure-autoscaling", {"kind": "configure"})["ok"]
    after = icpilot_alarms()
    assert {n: d for n, d in after.items() if "falcon-7b" in n} == before  # untouched, still team A's
    assert falcon_target() == target_before
    assert {n for n, d in after.items() if d.startswith("icpilot[team-b]: ")} == {
        "icpilot-flan-t5-xxl-no-capacity",
        "icpilot-flan-t5-xxl-idle",
    }
    falcon_policies = [
        p
        for p in aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
        if p["ResourceId"] == "inference-component/falcon-7b"
    ]
    assert falcon_policies == [p for p in team_a_policies if p["ResourceId"] == "inference-component/falcon-7b"]
    conflicts = [e for e in b.lifecycle_events() if e["type"] == "OwnershipConflict"]
    assert [(e["component"], e["details"]["owner"]) for e in conflicts] == [("falcon-7b", "team-a")]
    # Team B's tick leaves falcon-7b to team A: at the window (08:00 Berlin) only team A writes it.
    a.pause_periodic_schedules()
    b.pause_periodic_schedules()
    world.advance(56 * 60)
    outcome = b.invoke("watch-tick", {"kind": "tick"})
    falcon = [o for o in outcome["outcomes"] if o["component"] == "falcon-7b"]
    assert falcon and falcon[0]["result"] == "unchanged" and "team-a" in falcon[0]["reason"]
    assert not [e for e in b.lifecycle_events() if e["component"] == "falcon-7b"]
    # Team A leaves: team B's next configure takes falcon-7b on, and its tick then scales it.
    a.delete()
    assert b.invoke("configure-autoscaling", {"kind": "configure"})["ok"]
    assert {d for n, d in icpilot_alarms().items() if "falcon-7b" in n} <= {
        d.replace("icpilot[team-a]: ", "icpilot[team-b]: ") for d in before.values()
    }
    taken = b.invoke("watch-tick", {"kind": "tick"})
    falcon = [o for o in taken["outcomes"] if o["component"] == "falcon-7b"]
    assert falcon and "OwnershipConflict" not in falcon[0]["reason"]  # decided by team B's policy now
    assert StateStore(b.table).managed_elsewhere() == {}


@pytest.mark.parametrize("operators", ["", "arn:aws:iam::123456789012:role/platform-oncall"])
def test_only_the_stacks_functions_and_named_operators_may_publish_lifecycle_events(
    world: Emulator, operators: str
) -> None:
    """Before: the topic had no topic policy, so any principal of the account with sns:Publish could
    forge lifecycle events that subscribers act on. Now a Deny covers everyone else."""
    stack = deploy(parameters={"OperatorPublisherArns": operators} if operators else {})
    topic = boto3.client("sns", region_name=REGION).get_topic_attributes(TopicArn=stack.topic_arn)
    (deny,) = json.loads(topic["Attributes"]["Policy"])["Statement"]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "sns:Publish")
    allowed = set(deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"])
    functions = {
        f"arn:aws:iam::{ACCOUNT}:role/{stack.name}-{logical}Role"
        for logical, resource in load_template()["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    assert allowed == functions | ({operators} if operators else set())


def test_scalable_targets_carry_the_stack_that_manages_them(world: Emulator) -> None:
    """The stack's IAM moves only targets tagged icpilot:stack=<its name> (ABAC: a target's ARN
    names no component). Configure tags what it creates and claims a team's untagged target; one
    tagged by another stack is that stack's (OwnershipConflict, nothing changed); on delete the
    claimed target keeps everything but the tag."""
    aas = boto3.client("application-autoscaling", region_name=REGION)
    dimension = "sagemaker:inference-component:DesiredCopyCount"
    for component, lo, hi, given in (("flan-t5-xxl", 0, 4, {}), ("falcon-7b", 1, 3, {"icpilot:stack": "other"})):
        aas.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=f"inference-component/{component}",
            ScalableDimension=dimension,
            MinCapacity=lo,
            MaxCapacity=hi,
            **({"Tags": given} if given else {}),
        )

    def tags(component: str) -> dict[str, str]:
        (target,) = aas.describe_scalable_targets(
            ServiceNamespace="sagemaker", ResourceIds=[f"inference-component/{component}"]
        )["ScalableTargets"]
        return dict(aas.list_tags_for_resource(ResourceARN=target["ScalableTargetARN"])["Tags"])

    def bounds(component: str) -> tuple[int, int]:
        (target,) = aas.describe_scalable_targets(
            ServiceNamespace="sagemaker", ResourceIds=[f"inference-component/{component}"]
        )["ScalableTargets"]
        return target["MinCapacity"], target["MaxCapacity"]

    stack = deploy_stack(policy_path=str(INTEGRATION_POLICY), name="team-b")
    assert tags("flan-t5-xxl") == {"icpilot:stack": "team-b"}  # claimed
    assert tags("falcon-7b") == {"icpilot:stack": "other"} and bounds("falcon-7b") == (1, 3)
    assert not [n for n in icpilot_alarms() if "falcon-7b" in n]
    events = stack.lifecycle_events()
    assert [(e["component"], e["details"]["owner"]) for e in events if e["type"] == "OwnershipConflict"] == [
        ("falcon-7b", "other")
    ]
    configured = [e for e in events if e["type"] == "AutoScalingConfigured"]
    assert any("claim scalable-target" in e["reason"] for e in configured)

    stack.delete()
    assert tags("flan-t5-xxl") == {}  # given back: the team's target stays, without icpilot's tag
    assert tags("falcon-7b") == {"icpilot:stack": "other"} and bounds("falcon-7b") == (1, 3)
