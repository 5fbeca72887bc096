"""What a backtest recommends changing in the policy: components not worth serving.

A policy that never serves a component is a policy: where refusing every request costs less than
any copy (a trickle of requests at $0.10 a refusal against an instance at $10 an hour), the cheapest
schedules hold no copy of it, and icpilot warming it up for each lone request only pays for
instances that serve nobody in time. The rule: **neither exact optimum's schedule** (with
foresight, and reactive) **holds a copy of the component in the scored run, and icpilot under the
policy costs more for it than refusing**. The figures stand beside the optimum's proven bound in the
report, so "no schedule found serves it for less" is as strong as the gap says.

The change is expressible in the policy already: no windows, ``outside: {max_copies: 0}`` (a
ceiling of 0 everywhere, which the decision holds against alarms and demand and reports as
CeilingReached), no target tracking, high-load alarm or learned floors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from icpilot.policy.model import ComponentPolicy, Policy

DO_NOT_SERVE = "do not serve"
# The change, in the policy file's own terms: what ``follow`` applies and what ``simulate`` prints.
NOT_SERVED: dict[str, Any] = {
    "min_copies": 0,
    "schedules": [],
    "outside": {"min_copies": 0, "max_copies": 0},
    "autoscaling": None,
    "high_load": None,
    "predictive": {"mode": "off"},
}


@dataclass(frozen=True)
class Recommendation:
    """One change to one component, with the figures that justify it."""

    component: str
    action: str
    refusing_usd: float  # every scored request of the component refused (the optima's cost for it)
    policy_usd: float  # what icpilot under the policy costs for it (its share of instances + penalties)
    reason: str

    @property
    def policy_change(self) -> str:
        """``NOT_SERVED`` as the policy file says it (YAML, under the component)."""
        kept = {k: v for k, v in NOT_SERVED.items() if v is not None}
        dropped = [k for k, v in NOT_SERVED.items() if v is None]
        text = yaml.safe_dump(kept, default_flow_style=None, sort_keys=False)
        return text + f"# and no {' or '.join(dropped)} block"


def recommendations(report: dict[str, Any]) -> list[Recommendation]:
    """The components the report says are not worth serving (the module's rule)."""
    rows = report["strategies"]
    optima = [rows[name]["components"] for name in ("optimum", "reactive-optimum")]
    out = []
    for name, mine in rows["icpilot"]["components"].items():
        if any(optimum[name]["accelerator_hours"] > 0 for optimum in optima):
            continue
        refusing = max(optimum[name]["total_usd"] for optimum in optima)
        if mine["total_usd"] <= refusing:
            continue
        out.append(
            Recommendation(
                name,
                DO_NOT_SERVE,
                refusing,
                mine["total_usd"],
                f"neither optimum holds a copy of {name}: refusing its {report['requests'][name]:,} requests costs "
                f"${refusing:,.2f}, icpilot under this policy ${mine['total_usd']:,.2f} for it",
            )
        )
    return out


def follow(policy: Policy, endpoint: str, recommended: list[Recommendation]) -> Policy:
    """``policy`` with the recommendations applied to ``endpoint``'s components."""
    ep = policy.endpoints[endpoint]
    components = dict(ep.components)
    for rec in recommended:
        if rec.action != DO_NOT_SERVE:
            raise ValueError(f"unknown recommendation {rec.action!r}")
        fields = components[rec.component].model_dump(exclude_none=True)
        fields.update(NOT_SERVED, predictive={**fields["predictive"], **NOT_SERVED["predictive"]})
        components[rec.component] = ComponentPolicy.model_validate(  # validated as a policy file's would be
            {k: v for k, v in fields.items() if v is not None}
        )
    endpoints = {**policy.endpoints, endpoint: ep.model_copy(update={"components": components})}
    return policy.model_copy(update={"endpoints": endpoints})
