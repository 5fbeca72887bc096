"""``icpilot validate``, ``schema`` and ``init``: the policy file, checked, described, or written from
what the account holds."""

from __future__ import annotations

import argparse
import json
from typing import Any

import yaml
from icpilot.adapters.autoscaling import AutoScalingAdapter
from icpilot.adapters.sagemaker import SageMakerAdapter
from icpilot.errors import NotAnInferenceComponentEndpointError, PolicyError
from icpilot.policy import load_policy, load_policy_text, policy_json_schema

from icpilot_cli.common import (
    _client,
    _output_path,
    console,
    errors,
)

INIT_HEADER = """\
# icpilot policy written by `icpilot init` from what {where} holds now.
# It keeps every component at the copies it runs today (min_copies is today's count, max_copies
# the same, at least 1), or, where a team's Application Auto Scaling target manages it, within that
# target's bounds with its target-tracking value; it never scales one to zero when idle. It starts in mode: observe: icpilot
# decides and announces what it would do (WouldScale) and writes nothing to SageMaker, AAS or
# CloudWatch alarms. Switch to mode: act (per policy, endpoint or component) when you agree.
# Next, per component:
#   - lower min_copies and set idle_scale_to_zero_after (e.g. auto) to let it go idle;
#   - add schedules: (windows with floors) and autoscaling: (target tracking);
#   - set expected_time_to_ready to how long a copy takes to load.
# Then: icpilot validate {file}; icpilot plan --policy {file}
"""


TRACKED = {
    "SageMakerInferenceComponentInvocationsPerCopy": "invocations_per_copy",
    "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution": "concurrent_requests_per_copy",
}


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.file)
    except PolicyError as exc:
        for problem in exc.problems:
            errors.print(f"[red]✗[/] {problem}", highlight=False, soft_wrap=True)
        errors.print(f"{len(exc.problems)} problem(s) in {args.file}", soft_wrap=True)
        return 1
    count = len(policy.components())
    console.print(
        f"[green]✓[/] {args.file}: valid ({len(policy.endpoints)} endpoint(s), {count} component(s))", soft_wrap=True
    )
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    text = json.dumps(policy_json_schema(), indent=2)
    if args.output:
        with open(_output_path(args.output), "w", encoding="utf-8") as f:
            f.write(text + "\n")
        console.print(f"JSON Schema written to {args.output}", soft_wrap=True)
    else:
        print(text)
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    """A first policy from the account: every inference-component endpoint (or ``--endpoint``) and
    its components, each held at today's copies. Validated before it is written; never overwrites."""
    out = _output_path(args.output)
    if out.exists() and not args.force:
        errors.print(f"[red]{out} exists: pass --force to replace it", soft_wrap=True)
        return 1
    sagemaker = SageMakerAdapter(_client(args, "sagemaker"))
    endpoints: dict[str, Any] = {}
    for name in args.endpoint or sagemaker.endpoint_names():
        try:
            observed = sagemaker.observe_endpoint(name)
        except NotAnInferenceComponentEndpointError:
            errors.print(f"skipped {name}: not an inference-component endpoint", soft_wrap=True)
            continue
        if not observed.components:
            errors.print(f"skipped {name}: it hosts no inference components yet", soft_wrap=True)
            continue
        autoscaling = AutoScalingAdapter(_client(args, "application-autoscaling"))
        targets = autoscaling.describe_targets([c.name for c in observed.components])
        endpoints[name] = {
            "components": {
                c.name: _adopted(c.name, c.desired, targets[c.name], autoscaling) for c in observed.components
            }
        }
    if not endpoints:
        errors.print("[red]no endpoint with inference components found: nothing to write", soft_wrap=True)
        return 1
    where = f"endpoint(s) {', '.join(endpoints)}"
    text = INIT_HEADER.format(where=where, file=out) + yaml.safe_dump(
        {"version": 1, "mode": "observe", "endpoints": endpoints}, sort_keys=False
    )
    policy = load_policy_text(text, str(out))  # what is written is a valid policy
    out.write_text(text, encoding="utf-8")
    console.print(
        f"[green]✓[/] {out}: {len(endpoints)} endpoint(s), {len(policy.components())} component(s), "
        "each held at today's copies; edit it, then `icpilot validate` and `icpilot plan --policy` it",
        soft_wrap=True,
    )
    return 0


def _adopted(component: str, copies: int, target: Any, autoscaling: AutoScalingAdapter) -> dict[str, Any]:
    """A component as ``init`` writes it: held at today's copies, or, when a team's AAS target
    manages it, within that target's bounds and with its target-tracking value, so adopting it
    keeps what the team set."""
    entry: dict[str, Any] = {"min_copies": copies, "max_copies": max(copies, 1)}
    if target is not None:
        entry = {"min_copies": target.min_capacity, "max_copies": max(target.max_capacity, 1)}
        for policy in autoscaling.policies(component).values():
            config = policy.get("TargetTrackingScalingPolicyConfiguration") or {}
            metric = (config.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType")
            if policy.get("PolicyType") == "TargetTrackingScaling" and metric in TRACKED:
                tracking: dict[str, Any] = {"metric": TRACKED[metric], "target": float(config["TargetValue"])}
                for key, field in (
                    ("ScaleInCooldown", "scale_in_cooldown"),
                    ("ScaleOutCooldown", "scale_out_cooldown"),
                ):
                    if key in config:
                        tracking[field] = int(min(config[key], 3600))
                entry["autoscaling"] = tracking
                break
    return {**entry, "warmup_copies": 1, "expected_time_to_ready": "10m"}
