"""``icpilot uninstall --plan``: what deleting the stack will give back, before ``sam delete`` does it.

The stack's configure custom resource does the work on Delete (``service.configure.unconfigure``);
this lists the same steps from the same records: icpilot's alarms and scaling policies removed, the
targets it registered deregistered, the teams' targets it adopted put back as recorded before its
first write, and the components it leaves at zero raised to their floor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from icpilot.adapters.autoscaling import AutoScalingAdapter
from icpilot.adapters.cloudwatch import CloudWatchAdapter
from icpilot.adapters.sagemaker import SageMakerAdapter
from icpilot.adapters.state import StateStore
from icpilot.errors import IcpilotError
from icpilot.plans.autoscaling import PREFIX, alarm_owner


def plan(client: Callable[[str], Any], table: str, owner: str, restore_copies: str) -> list[dict[str, str]]:
    """One row per step: the component, what happens to it, and how."""
    autoscaling = AutoScalingAdapter(client("application-autoscaling"), stack=owner)
    sagemaker = SageMakerAdapter(client("sagemaker"))
    alarms = sorted(CloudWatchAdapter(client("cloudwatch"), owner=owner).alarms(PREFIX))
    records = StateStore(table, client("dynamodb")).autoscaling_records()
    rows = [{"component": "-", "step": "delete alarms", "detail": f"{len(alarms)} icpilot alarms of this stack"}]
    for component in sorted({alarm_owner(a) for a in alarms} - {"-"} | set(records)):
        record = records.get(component)
        ours = [n for n in autoscaling.policies(component) if n.startswith(PREFIX)]
        if ours:
            rows.append({"component": component, "step": "delete scaling policies", "detail": ", ".join(ours)})
        if record is not None and record.created:
            rows.append({"component": component, "step": "deregister target", "detail": "icpilot registered it"})
        elif record is not None and record.adopted:
            was = record.adopted
            detail = (
                f"registration {was.get('MinCapacity')}..{was.get('MaxCapacity')}, "
                f"{len(was.get('Policies', []))} policies, {len(was.get('ScheduledActions', []))} scheduled actions, "
                "as recorded before icpilot's first write; untagged"
            )
            rows.append({"component": component, "step": "restore target", "detail": detail})
        else:
            rows.append({"component": component, "step": "untag target", "detail": "no record from before icpilot"})
        if record is None:
            continue
        floor = record.floor_on_delete(restore_copies)
        try:
            now = sagemaker.describe_component(component).desired
        except IcpilotError as exc:
            rows.append({"component": component, "step": "raise from zero", "detail": f"unknown: {exc}"})
            continue
        if floor and now == 0:
            rows.append({"component": component, "step": "raise from zero", "detail": f"0 → {floor} copies"})
    return rows
