"""Least privilege and encryption in template.yaml, read as CloudFormation reads it.

checkov (``make test``) covers the generic checks; these are icpilot's own rules: no ``*`` on a
SageMaker or AAS write action, ARN patterns from the template's parameters, encryption at rest
for every store of events and state.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

TEMPLATE, _ = decode(str(Path(__file__).resolve().parents[2] / "template.yaml"))
RESOURCES = TEMPLATE["Resources"]
FUNCTIONS = {name: r for name, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}
# Actions AWS authorizes only on "*" (no resource-level permissions), all read-only.
STAR_ONLY = {
    "sagemaker:ListInferenceComponents",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
    "application-autoscaling:DescribeScalingActivities",  # the daily report reads what AAS set
    "application-autoscaling:DescribeScheduledActions",  # a team's target, recorded before adoption
    "cloudwatch:DescribeAlarms",
    "scheduler:ListSchedules",
    "cloudwatch:GetMetricData",  # no resource-level permissions (the forecast reads traffic history)
}
WRITE_PREFIXES = ("Update", "Register", "Deregister", "Put", "Delete", "Invoke", "Create", "Tag", "Untag")


def statements() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for name, function in FUNCTIONS.items():
        for policy in function["Properties"]["Policies"]:
            out += [(name, s) for s in policy["Statement"]]
    return out


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_star_resources_carry_only_read_actions_that_need_them() -> None:
    for function, statement in statements():
        if "*" in as_list(statement["Resource"]):
            actions = set(as_list(statement["Action"]))
            assert actions <= STAR_ONLY, f"{function}/{statement.get('Sid')}: {sorted(actions - STAR_ONLY)} on *"


@pytest.mark.parametrize("service", ["sagemaker", "application-autoscaling"])
def test_write_actions_are_scoped_by_the_template_parameters(service: str) -> None:
    seen = 0
    for function, statement in statements():
        writes = [a for a in as_list(statement["Action"]) if a.split(":")[1].startswith(WRITE_PREFIXES)]
        if not any(a.startswith(f"{service}:") for a in writes):
            continue
        seen += 1
        for resource in as_list(statement["Resource"]):
            arn = resource["Fn::Sub"]
            if service == "sagemaker":
                assert arn.endswith(("${ComponentNamePattern}", "${EndpointNamePattern}")), (function, arn)
            else:  # scalable-target ARNs hold a random id: the stack's tag scopes them (ABAC)
                assert arn.endswith(":scalable-target/*"), (function, arn)
                condition = statement["Condition"]
                equals = condition["StringEquals"]
                stack = {"Ref": "AWS::StackName"}
                own = equals.get("aws:ResourceTag/icpilot:stack") == stack
                unmanaged = (
                    equals.get("aws:RequestTag/icpilot:stack") == stack
                    and condition.get("Null", {}).get("aws:ResourceTag/icpilot:stack") == "true"
                    and condition["ForAllValues:StringEquals"]["aws:TagKeys"] == ["icpilot:stack"]
                )
                assert own or unmanaged, (function, statement.get("Sid"))
                if any(a.endswith(("ScalableTarget", "ScalingPolicy")) for a in writes):
                    assert equals["application-autoscaling:service-namespace"] == "sagemaker"
                    assert equals["application-autoscaling:scalable-dimension"].startswith(
                        "sagemaker:inference-component"
                    )
    assert seen >= 4


def test_state_events_and_dead_letters_are_encrypted_with_the_stack_key() -> None:
    key = {"Ref": "DataKey"}
    assert RESOURCES["StateTable"]["Properties"]["SSESpecification"]["KMSMasterKeyId"] == key
    assert RESOURCES["IdempotencyTable"]["Properties"]["SSESpecification"]["KMSMasterKeyId"] == key
    assert RESOURCES["EventsTopic"]["Properties"]["KmsMasterKeyId"] == key
    assert RESOURCES["DeadLetterQueue"]["Properties"]["KmsMasterKeyId"] == key
    assert TEMPLATE["Globals"]["Function"]["KmsKeyArn"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
    assert RESOURCES["DataKey"]["Properties"]["EnableKeyRotation"] is True


def test_every_checkov_suppression_says_why() -> None:
    for name, resource in RESOURCES.items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert len(skip.get("comment", "")) > 40, f"{name}: suppression {skip['id']} needs a reason"


@pytest.mark.parametrize("parameter", ["EndpointNamePattern", "ComponentNamePattern"])
def test_name_patterns_have_no_wide_default(parameter: str) -> None:
    """Issue 14: defaulting to "*" let a stack write the copy count of every component in the account."""
    assert "Default" not in TEMPLATE["Parameters"][parameter]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_logs_to_its_own_encrypted_log_group_with_retention(name: str) -> None:
    group_ref = FUNCTIONS[name]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    group = RESOURCES[group_ref]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
    key_statements = RESOURCES["DataKey"]["Properties"]["KeyPolicy"]["Statement"]
    assert any("logs." in str(s["Principal"]) for s in key_statements), "CloudWatch Logs may not use the key"


def test_every_function_that_moves_bounds_can_read_which_stack_manages_the_target() -> None:
    """An evaluation moves only bounds of a target tagged as its stack's (ListTagsForResource first):
    without the read it would fail on AWS where the emulator, which enforces no IAM, passes."""
    granted: dict[str, set[str]] = {}
    for function, statement in statements():
        granted.setdefault(function, set()).update(as_list(statement["Action"]))
    movers = [f for f, actions in granted.items() if "application-autoscaling:RegisterScalableTarget" in actions]
    assert movers
    for function in movers:
        assert "application-autoscaling:ListTagsForResource" in granted[function], function


def test_the_state_statement_allows_every_item_call_the_state_store_makes() -> None:
    """Every function that evaluates shares the ``State`` statement: each DynamoDB call the state
    store makes on items is allowed by it (the batched read was not, and fell back to one read a
    component). Index reads (Query, Scan) have their own statements on the functions that make them."""
    source = (Path(__file__).resolve().parents[2] / "layers/icpilot/icpilot/adapters/state.py").read_text()
    calls = set(re.findall(r"self\.client\.([a-z_]+)\(", source)) - {"query", "get_paginator"}
    # A transaction is authorised as the actions it holds: the store's hold Update entries.
    iam = {"transact_write_items": "UpdateItem"}
    needed = {"dynamodb:" + iam.get(c, "".join(w.title() for w in c.split("_"))) for c in calls}
    state = next(s for _, s in statements() if s.get("Sid") == "State")
    assert "dynamodb:BatchGetItem" in needed and "dynamodb:UpdateItem" in needed
    assert needed <= set(as_list(state["Action"])), sorted(needed - set(as_list(state["Action"])))
