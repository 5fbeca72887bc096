"""``icpilot plan`` and ``status``: what the controller would do now and why, and where each component
stands."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from icpilot.adapters.autoscaling import AutoScalingAdapter
from icpilot.adapters.sagemaker import SageMakerAdapter
from icpilot.adapters.state import StateStore, StoredState
from icpilot.domain.capacity import Reservation
from icpilot.domain.cost import CostModel, UnknownInstanceType
from icpilot.domain.decision_types import (
    ComponentObservation,
    ComponentState,
    Decision,
    EndpointObservation,
    Trigger,
    TriggerKind,
)
from icpilot.domain.inputs import DecisionInputs, build_inputs
from icpilot.domain.readiness import idle_delay_in_force
from icpilot.domain.status import ComponentStatus
from icpilot.domain.windows import edges
from icpilot.errors import IcpilotError
from icpilot.policy.cron import ScheduleExpression
from icpilot.policy.model import ComponentPolicy, Policy

from icpilot_cli.common import (
    _client,
    _controller,
    _emit,
    _load,
    _now,
    _reservations,
    _when,
    console,
    errors,
)


def _copy_price(policy: Policy, endpoint: str, instance_type: str, reservation: Reservation) -> float | None:
    try:
        return round(CostModel.for_endpoint(policy, endpoint, instance_type).copy_per_hour(reservation), 3)
    except UnknownInstanceType:
        return None


def _pending_reader(state: StateStore | None, endpoint: str) -> Callable[[str], int | None] | None:
    """Other components' pending intents from the state table (None without a table)."""
    if state is None:
        return None
    return lambda other: state.get(endpoint, other).state.pending_target


@dataclass(frozen=True)
class Planned:
    """What the next tick would decide for one component, with what it was decided from."""

    endpoint: str
    component: str
    policy: ComponentPolicy
    observed_endpoint: EndpointObservation
    observed: ComponentObservation
    stored: StoredState | None
    inputs: DecisionInputs
    decision: Decision


@dataclass(frozen=True)
class Unplanned:
    endpoint: str
    component: str
    why: str


def tick_decisions(
    policy: Policy,
    now: datetime,
    observe: Callable[[str, list[str]], EndpointObservation],
    state: StateStore | None,
) -> Iterator[Planned | Unplanned]:
    """Per policy component, what the next tick would decide: the inputs the Lambda builds (peers,
    lead time, forecast floor, the state table's pending intents) and a tick's trigger.
    ``observe(endpoint, its policy components)``: SageMaker's view, or an assumed one (``plan --offline``)."""
    for endpoint_name, ep_policy in policy.endpoints.items():
        try:
            endpoint = observe(endpoint_name, list(ep_policy.components))
        except IcpilotError as exc:
            yield from (Unplanned(endpoint_name, n, str(exc)) for n in ep_policy.components)
            continue
        for name, cp in ep_policy.components.items():
            component = next((c for c in endpoint.components if c.name == name), None)
            if component is None:
                yield Unplanned(endpoint_name, name, "not on the endpoint")
                continue
            stored = state.get(endpoint_name, name) if state else None
            inputs = build_inputs(
                policy,
                endpoint,
                component,
                stored.state if stored else ComponentState(),
                stored.ready_history if stored else [],
                stored.forecast if stored else None,
                now,
                _pending_reader(state, endpoint_name),
            )
            decision = inputs.decide(Trigger(TriggerKind.TICK, source="cli plan"), now)
            yield Planned(endpoint_name, name, cp, endpoint, component, stored, inputs, decision)


def _plan_row(policy: Policy, planned: Planned, now: datetime) -> dict[str, Any]:
    """``plan``'s row for one component: the decision, its lead, idle delay and prices."""
    cp, endpoint, component = planned.policy, planned.observed_endpoint, planned.observed
    stored, inputs, d = planned.stored, planned.inputs, planned.decision
    history = stored.ready_history if stored else []
    idle = idle_delay_in_force(
        cp,
        endpoint.instance_type,
        component.reservation,
        policy.cost_for(planned.endpoint),
        history,
        stored.state.met_at_cold_start if stored else [],
        stored.forecast if stored else None,
        now,
        endpoint.holding(component.name),
    )
    return {
        "endpoint": planned.endpoint,
        "component": planned.component,
        "status": component.status,
        "action": d.action.value,
        "from": d.from_copies,
        "to": d.target,
        "aas": f"{d.aas_min}..{d.aas_max}",
        "reason": d.reason,
        "events": [e.type.value for e in d.events],
        "lead": f"{inputs.lead.total_seconds() / 60:.0f} min"
        + (f" (p90 of {len(history)} measured)" if history else " (policy estimate)"),
        "idle": idle.explanation if idle else "never",
        "forecast_floor": inputs.forecast_floor,
        # what a copy serves (the autoscaling target: README, "Picking autoscaling targets")
        "per_copy_capacity": f"{cp.autoscaling.target:g} {cp.autoscaling.metric}" if cp.autoscaling else "-",
        "copy_per_hour_usd": _copy_price(policy, planned.endpoint, endpoint.instance_type, component.reservation),
    }


def _assumed_endpoint(args: argparse.Namespace, policy: Any, name: str, components: list[str]) -> EndpointObservation:
    """``plan --offline``: the endpoint as the options describe it, no AWS call. Every component is
    InService at its ``--copies`` (default 0) with its reservation (``_reservations``)."""
    reservations = _reservations(args, policy, name, components)
    counts: dict[str, int] = {}
    for item in args.copies or []:
        component, _, value = item.partition("=")
        if component not in components or not value.isdigit():
            raise ValueError(f"--copies {item!r}: expected COMPONENT=N with a component of {name}")
        counts[component] = int(value)
    return EndpointObservation(
        name,
        args.instance_type,
        args.max_instances,
        tuple(
            ComponentObservation(
                c,
                ComponentStatus.IN_SERVICE,
                counts.get(c, 0),
                counts.get(c, 0),
                reservations[c],
            )
            for c in components
        ),
    )


def cmd_plan(args: argparse.Namespace) -> int:
    policy = _load(args)
    if args.offline and args.autoscaling:
        raise ValueError("--autoscaling compares with AAS and needs AWS or --endpoint-url: drop --offline")
    if not args.offline and (args.copies or args.per_copy):
        raise ValueError("--copies and --per-copy describe an assumed endpoint: add --offline")
    now = _when(args.at, None if args.offline else args)
    sagemaker = None if args.offline else SageMakerAdapter(_client(args, "sagemaker"))
    state = StateStore(args.table, _client(args, "dynamodb")) if args.table and sagemaker else None
    rows: list[dict[str, Any]] = []

    def observe(name: str, names: list[str]) -> EndpointObservation:
        if sagemaker is None:
            return _assumed_endpoint(args, policy, name, names)
        return sagemaker.observe_endpoint(name, policy.component_names())

    for planned in tick_decisions(policy, now, observe, state):
        if isinstance(planned, Unplanned):
            rows.append(
                {"endpoint": planned.endpoint, "component": planned.component, "action": "error", "reason": planned.why}
            )
        else:
            rows.append(_plan_row(policy, planned, now))
    failed = any(r["action"] == "error" for r in rows)
    changes: list[dict[str, Any]] = []
    if args.autoscaling and sagemaker:
        planning = _controller(args, policy, table=args.table or "icpilot-state")
        changes = planning.configure(now, apply=False).autoscaling_changes
        failed = failed or any(ch["action"] == "failed" for ch in changes)
    if args.json:
        print(
            json.dumps(
                {"components": rows, "autoscaling": changes} if args.autoscaling else rows, default=str, indent=2
            )
        )
        return 1 if failed else 0
    for row in rows:
        row["copies"] = f"{row['from']} → {row['to']}" if "from" in row else "-"
        if policy.observes(row["component"]) and row["action"] != "error":
            row["action"] = f"{row['action']} (observe: not written)"
    columns = ["component", "action", "copies", "aas", "reason"]
    if len(policy.endpoints) > 1 or args.wide:
        columns.insert(0, "endpoint")
    if args.wide:
        columns[2:2] = ["status"]
    assumed = f" · offline: {args.max_instances} x {args.instance_type}, copies as given" if args.offline else ""
    _emit(args, rows, f"icpilot plan at {now.isoformat(timespec='seconds')} (nothing is changed){assumed}", columns)
    for row in rows:
        if "lead" in row:
            price = f" · a copy ${row['copy_per_hour_usd']}/h" if row.get("copy_per_hour_usd") is not None else ""
            console.print(f"{row['component']}: lead {row['lead']} · idle {row['idle']}{price}", soft_wrap=True)
    if args.autoscaling:
        shown = [{**ch, "fields": ", ".join(ch["fields"])} for ch in changes]
        _emit(
            args,
            shown,
            "autoscaling changes the configure function would make",
            ["endpoint", "component", "resource", "action", "fields"],
        )
    return 1 if failed else 0


def cmd_status(args: argparse.Namespace) -> int:
    policy = _load(args)
    now = _now(args)
    sagemaker = SageMakerAdapter(_client(args, "sagemaker"))
    aas = AutoScalingAdapter(_client(args, "application-autoscaling"))
    state = StateStore(args.table, _client(args, "dynamodb")) if args.table else None
    from icpilot.domain.windows import bounds_at

    if args.endpoint and args.endpoint not in policy.endpoints:
        raise IcpilotError(
            f"endpoint {args.endpoint!r} is not in the policy {args.policy} "
            f"(its endpoints: {', '.join(policy.endpoints) or 'none'})"
        )
    rows: list[dict[str, Any]] = []
    for endpoint_name, name, cp in policy.components():
        if args.endpoint and endpoint_name != args.endpoint:
            continue
        row: dict[str, Any] = {"endpoint": endpoint_name, "component": name}
        try:
            c = sagemaker.describe_component(name)
            row.update(status=c.status, desired=c.desired, current=c.current)
            target = aas.describe_target(name)
            row["aas"] = (
                f"{target.min_capacity}..{target.max_capacity}{' (suspended)' if target.dynamic_suspended else ''}"
                if target
                else "-"
            )
        except IcpilotError as exc:
            row.update(status="error", reason=str(exc))
        b = bounds_at(cp, now)
        row["window"] = ", ".join(b.active_rules) or "-"
        row["bounds"] = f"{b.floor}..{b.ceiling}"
        row["next_change"] = next_change(cp, now)
        if state:
            stored = state.get(endpoint_name, name)
            row["last_action"] = str(stored.state.last_action or "-")
            row["last_reason"] = stored.last_reason or "-"
            row["pending"] = stored.state.pending_target if stored.state.pending_target is not None else "-"
            learned = stored.forecast
            row["forecast_floor"] = (
                f"{learned.floor_at(now)} ({cp.predictive.mode})" if learned is not None else cp.predictive.mode
            )
            row["availability"] = str(stored.availability or "-")
            if stored.in_flight is not None and stored.expected_ready_at is not None:
                row["availability"] += f" (ETA {stored.expected_ready_at.isoformat()})"
            override = stored.state
            if override.override_copies is not None and override.override_until is not None:
                until = override.override_until.isoformat()
                row["override"] = f"{override.override_copies} until {until} ({stored.override_reason or ''})"
            else:
                row["override"] = "-"
        rows.append(row)
    for row in rows:
        row["copies"] = f"{row.get('desired', '?')}/{row.get('current', '?')}"
    columns = ["component", "status", "copies", "aas", "window", "availability", "last_action"]
    if args.wide:
        columns = ["endpoint", *columns, "bounds", "next_change", "override", "pending", "last_reason"]
    else:  # 80 columns: what an operator reads first; --wide or --json for the rest
        if len(policy.endpoints) > 1:
            columns.insert(0, "endpoint")
        if any(r.get("override", "-") != "-" for r in rows):
            columns.append("override")
    _emit(args, rows, f"icpilot status at {now:%Y-%m-%d %H:%M %Z} (copies: desired/current)", columns)
    for row in rows:
        if row.get("status") == "error" and not args.json:
            errors.print(f"[red]✗[/] {row['component']}: {row.get('reason', '')}", highlight=False, soft_wrap=True)
    return 1 if any(r.get("status") == "error" for r in rows) else 0


def next_change(cp: Any, now: datetime) -> str:
    """The next window edge after ``now``, in the rule's own time zone."""
    soonest: tuple[datetime, str] | None = None
    for rule in cp.schedules:
        for edge in edges(rule):
            when = ScheduleExpression.parse(edge.expression, edge.timezone).next_after(now)
            if when is not None and (soonest is None or when < soonest[0]):
                local = when.astimezone(ZoneInfo(edge.timezone))
                soonest = (when, f"{rule.name} {edge.edge}s {local:%a %H:%M} {edge.timezone}")
    return soonest[1] if soonest else "-"
