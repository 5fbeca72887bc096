"""``icpilot``: validate and inspect policies, see what the controller would do, and why.

Exit codes: 0 success; 1 the command ran and found a problem (invalid policy, AWS error);
2 wrong usage. Read commands accept ``--json`` for scripts. ``--endpoint-url`` points every AWS
client at the emulator (``python -m emulator``); otherwise the usual profile/region settings apply.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import yaml
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)
from icpilot.adapters.autoscaling import AutoScalingAdapter
from icpilot.adapters.aws import retry_config
from icpilot.adapters.cloudwatch import CloudWatchAdapter
from icpilot.adapters.sagemaker import SageMakerAdapter
from icpilot.adapters.state import StateStore
from icpilot.aws_cron import ScheduleExpression
from icpilot.controller import Controller, RunSummary
from icpilot.domain.capacity import Reservation
from icpilot.domain.cost import CostModel, UnknownInstanceType
from icpilot.domain.decision_types import (
    ComponentObservation,
    ComponentState,
    EndpointObservation,
    Trigger,
    TriggerKind,
)
from icpilot.domain.forecast import Forecast
from icpilot.domain.inputs import build_inputs, stored_forecast
from icpilot.domain.readiness import idle_delay_in_force
from icpilot.domain.status import ComponentStatus
from icpilot.domain.windows import edges
from icpilot.errors import IcpilotError, NotAnInferenceComponentEndpointError, PolicyError
from icpilot.lint import lint, lint_live
from icpilot.policy import load_policy, load_policy_text, policy_json_schema
from icpilot.policy.model import Policy, parse_duration
from icpilot.policy.source import with_default_mode
from icpilot.report import copy_hours, usage
from icpilot.runtime import build_controller
from icpilot.settings import DEFAULT_POLICY_PATH, Settings
from rich.console import Console
from rich.table import Table

from icpilot_cli import daily, policy_store, uninstall

console = Console()
errors = Console(stderr=True, soft_wrap=True)  # one error, one line: terminals wrap, greps match


def _client(args: argparse.Namespace, service: str) -> Any:
    kwargs: dict[str, Any] = {"config": retry_config()}
    if args.endpoint_url:
        kwargs["endpoint_url"] = args.endpoint_url
    if args.region:
        kwargs["region_name"] = args.region
    return boto3.client(service, **kwargs)


def _now(args: argparse.Namespace) -> datetime:
    """Now: the emulator's clock when ``--endpoint-url`` points at the emulator (its control API
    answers ``GET /_emulator/clock``), else the wall clock."""
    url = getattr(args, "endpoint_url", None)
    if not url:
        return datetime.now(UTC)
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/_emulator/clock", timeout=2) as answer:
            return datetime.fromisoformat(json.load(answer)["now"])
    except (OSError, ValueError, KeyError):  # not the emulator: an AWS-compatible endpoint
        return datetime.now(UTC)


# Times a command accepts: wide enough for any plan or backtest, narrow enough that adding a day, a
# lead or a year of minutes to one never leaves what datetime can hold (year 9999 used to crash).
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)
MAX_SIMULATED_DAYS = 92  # a quarter: minute-by-minute series of every strategy stay in memory


def _when(text: str | None, args: argparse.Namespace | None = None) -> datetime:
    if not text:
        return _now(args) if args is not None else datetime.now(UTC)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO-8601 time, e.g. 2026-11-23T08:00:00+01:00") from None
    if when.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text} needs a time zone offset, e.g. {text}+01:00")
    if not EARLIEST <= when < LATEST:
        raise argparse.ArgumentTypeError(f"{text} is outside {EARLIEST.year}..{LATEST.year - 1}")
    return when


def _bounded(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number in [low, high], else one line saying so (exit 2)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is outside {low}..{high}")
        return value

    return parse


def _output_path(text: str) -> Path:
    """Where a command writes a file: its directory is made when missing."""
    path = Path(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _fitting(columns: list[str], rows: list[dict[str, Any]], width: int, drop_order: list[str]) -> list[str]:
    """``columns`` less the first of ``drop_order`` until the table fits ``width`` characters (rich
    pads each cell by one each side and draws a border): the key columns stay readable, not folded."""

    def needed(shown: list[str]) -> int:
        return 1 + sum(max([len(c)] + [len(str(r.get(c, ""))) for r in rows]) + 3 for c in shown)

    shown = list(columns)
    for column in drop_order:
        if needed(shown) <= width:
            break
        if column in shown:
            shown.remove(column)
    return shown


def _emit(
    args: argparse.Namespace,
    rows: list[dict[str, Any]],
    title: str,
    columns: list[str],
    drop_order: list[str] | None = None,
) -> None:
    """Rows as JSON (``--json``) or a table; on a narrow terminal the columns in ``drop_order`` are
    left out first, and the title says how many (``--json`` has them all)."""
    if args.json:
        print(json.dumps(rows, default=str, indent=2))
        return
    shown = _fitting(columns, rows, console.width, drop_order or [])
    if len(shown) < len(columns):
        title += f" ({len(columns) - len(shown)} column(s) left out at this width: --json has them)"
        columns = shown
    table = Table(title=title)
    for c in columns:
        # names and reasons fold onto more lines rather than lose the part that identifies them
        table.add_column(c, overflow="fold", min_width=min(len(c), 12))
    for r in rows:
        table.add_row(*(str(r.get(c, "")) for c in columns))
    console.print(table)


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


TRACKED = {
    "SageMakerInferenceComponentInvocationsPerCopy": "invocations_per_copy",
    "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution": "concurrent_requests_per_copy",
}


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


def _load(args: argparse.Namespace) -> Policy:
    """The policy file, with the stack's DefaultMode where it sets no mode (``--stack``)."""
    return with_default_mode(load_policy(args.policy), getattr(args, "default_mode", None) or "act")


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
    for endpoint_name, ep_policy in policy.endpoints.items():
        try:
            endpoint = (
                sagemaker.observe_endpoint(endpoint_name, policy.component_names())
                if sagemaker
                else _assumed_endpoint(args, policy, endpoint_name, list(ep_policy.components))
            )
        except IcpilotError as exc:
            rows += [
                {"endpoint": endpoint_name, "component": n, "action": "error", "reason": str(exc)}
                for n in ep_policy.components
            ]
            continue
        for name, cp in ep_policy.components.items():
            component = next((c for c in endpoint.components if c.name == name), None)
            if component is None:
                rows.append(
                    {"endpoint": endpoint_name, "component": name, "action": "error", "reason": "not on the endpoint"}
                )
                continue
            stored = state.get(endpoint_name, name) if state else None
            history = stored.ready_history if stored else []
            # The same inputs the Lambda builds (peers, lead time, forecast floor), and a tick's trigger:
            # the plan says what the next tick would do.
            inputs = build_inputs(
                policy,
                endpoint,
                component,
                stored.state if stored else ComponentState(),
                history,
                stored_forecast(stored.attributes) if stored else None,
                now,
                _pending_reader(state, endpoint_name),
            )
            d = inputs.decide(Trigger(TriggerKind.TICK, source="cli plan"), now)
            lead = inputs.lead
            idle = idle_delay_in_force(
                cp,
                endpoint.instance_type,
                component.reservation,
                policy.cost_for(endpoint_name),
                history,
                stored.met_at_cold_start if stored else [],
                stored_forecast(stored.attributes) if stored else None,
                now,
            )
            rows.append(
                {
                    "endpoint": endpoint_name,
                    "component": name,
                    "status": component.status,
                    "action": d.action.value,
                    "from": d.from_copies,
                    "to": d.target,
                    "aas": f"{d.aas_min}..{d.aas_max}",
                    "reason": d.reason,
                    "events": [e.type.value for e in d.events],
                    "lead": f"{lead.total_seconds() / 60:.0f} min"
                    + (f" (p90 of {len(history)} measured)" if history else " (policy estimate)"),
                    "idle": idle.explanation if idle else "never",
                    "forecast_floor": inputs.forecast_floor,
                    # what a copy serves (the autoscaling target: README, "Picking autoscaling targets")
                    "per_copy_capacity": f"{cp.autoscaling.target:g} {cp.autoscaling.metric}"
                    if cp.autoscaling
                    else "-",
                    "copy_per_hour_usd": _copy_price(
                        policy, endpoint_name, endpoint.instance_type, component.reservation
                    ),
                }
            )
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
            row["last_action"] = stored.attributes.get("last_action", "-")
            row["last_reason"] = stored.attributes.get("last_reason", "-")
            row["pending"] = stored.state.pending_target if stored.state.pending_target is not None else "-"
            learned = stored_forecast(stored.attributes)
            row["forecast_floor"] = (
                f"{learned.floor_at(now)} ({cp.predictive.mode})" if learned is not None else cp.predictive.mode
            )
            attrs = stored.attributes
            row["availability"] = attrs.get("availability", "-")
            if attrs.get("inflight") and attrs.get("expected_ready_at"):
                row["availability"] += f" (ETA {attrs['expected_ready_at']})"
            if stored.state.override_copies is not None and stored.state.override_until is not None:
                row["override"] = (
                    f"{stored.state.override_copies} until {stored.state.override_until.isoformat()} ({attrs.get('override_reason', '')})"
                )
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


def _controller(args: argparse.Namespace, policy: Policy, table: str | None = None) -> Controller:
    """The Lambdas' controller (``runtime.build_controller``), on the CLI's clients and this policy;
    it announces on ``--topic-arn`` when one is given."""
    settings = Settings(
        policy_path=str(args.policy),
        state_table=table or args.table,
        topic_arn=getattr(args, "topic_arn", None),
        stack_name=args.owner,
    )
    return build_controller(settings, clients=lambda service: _client(args, service), policy_source=lambda: policy)


def _summary(args: argparse.Namespace, summary: RunSummary, title: str, refused_title: str) -> int:
    """The outcomes under ``title``, or ``refused_title`` (exit 1) when the command did not take."""
    rows = [
        {"component": o.component, "result": o.result, "from": o.from_copies, "to": o.to_copies, "reason": o.reason}
        for o in summary.outcomes
    ]
    refused = not summary.ok or any(o.result in ("rejected", "failed") for o in summary.outcomes)
    _emit(args, rows, refused_title if refused else title, ["component", "result", "from", "to", "reason"])
    for problem in summary.errors + (summary.policy_error or []):
        errors.print(f"[red]✗[/] {problem}", highlight=False, soft_wrap=True)
    if not args.json and not args.topic_arn:
        errors.print("not announced: no --topic-arn (or $ICPILOT_TOPIC_ARN) given", soft_wrap=True)
    return 1 if refused else 0


def cmd_scale(args: argparse.Namespace) -> int:
    policy = _load(args)
    now = _now(args)
    until = now + parse_duration(args.duration)
    summary = _controller(args, policy).set_override(args.component, args.copies, until, args.reason, now)
    return _summary(
        args,
        summary,
        f"override {args.component} to {args.copies} copies until {until.isoformat()}",
        f"override of {args.component} NOT set",
    )


def cmd_resume(args: argparse.Namespace) -> int:
    policy = _load(args)
    controller = _controller(args, policy)
    found = policy.component(args.component)
    if found is not None and controller.state.get(found[0], args.component).state.override_copies is None:
        console.print(f"{args.component} has no override in force: nothing to resume", soft_wrap=True)
        return 0
    summary = controller.end_override(args.component, _now(args))
    return _summary(args, summary, f"{args.component}: automatic scaling resumed", f"{args.component}: resume NOT done")


def cmd_lint(args: argparse.Namespace) -> int:
    policy = _load(args)
    findings = [f.__dict__ for f in lint(policy, _now(args))]
    if args.endpoint_url or args.live:
        aas = AutoScalingAdapter(_client(args, "application-autoscaling"))
        state = StateStore(args.table, _client(args, "dynamodb")) if args.table else None
        from icpilot.domain.windows import bounds_at

        now = _now(args)
        for endpoint, name, cp in policy.components():
            try:
                target = aas.describe_target(name)
                override = state.get(endpoint, name).state.override_until if state else None
            except IcpilotError as exc:
                findings.append({"severity": "error", "where": name, "message": str(exc)})
                continue
            b = bounds_at(cp, now)
            bounds = (target.min_capacity, target.max_capacity) if target else None
            findings += [f.__dict__ for f in lint_live(name, bounds, b.floor, b.ceiling, override, now)]
    _emit(args, findings, f"icpilot lint: {len(findings)} finding(s)", ["severity", "where", "message"])
    failing = [f for f in findings if f["severity"] == "error" or (args.strict and f["severity"] == "warning")]
    return 1 if failing else 0


def cmd_report(args: argparse.Namespace) -> int:
    policy = _load(args)
    if args.day:
        return daily.run(
            policy,
            lambda service: _client(args, service),
            args.table,
            daily.parse_day(args.day),
            _now(args),
            endpoint=args.endpoint,
            as_json=args.json,
            png=args.png,
            console=console,
        )
    if args.endpoint or args.png:
        raise ValueError("--endpoint and --png go with --day")
    until = _now(args)
    since = until - parse_duration(args.since)
    sagemaker = SageMakerAdapter(_client(args, "sagemaker"))
    state = StateStore(args.table, _client(args, "dynamodb"))
    refused = CloudWatchAdapter(_client(args, "cloudwatch")).component_sums(
        "NoCapacityInvocationFailures", [name for _e, name, _cp in policy.components()], since, until
    )
    instance_types: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    for endpoint, name, cp in policy.components():
        try:
            if endpoint not in instance_types:
                instance_types[endpoint] = sagemaker.observe_endpoint(endpoint, policy.component_names()).instance_type
            c = sagemaker.describe_component(name)
            transitions = state.get(endpoint, name).transitions
            prices = CostModel.for_endpoint(policy, endpoint, instance_types[endpoint])
        except (IcpilotError, UnknownInstanceType) as exc:
            rows.append({"component": name, "error": str(exc)})
            continue
        u = usage(name, transitions, since, until, c.desired, c.reservation.accelerators, cp.max_copies)
        per_copy = prices.copy_per_hour(c.reservation)
        accelerator_usd = u.copy_hours * per_copy
        penalty_usd = prices.penalty(refused[name], 0.0)
        rows.append(
            {
                "component": name,
                "copy_hours": u.copy_hours,
                "accelerator_hours": u.accelerator_hours,
                "accelerator_usd": round(accelerator_usd, 2),
                "refused": round(refused[name]),
                "penalty_usd": round(penalty_usd, 2),
                "total_usd": round(accelerator_usd + penalty_usd, 2),
                "always_on_usd": round(u.always_on_copy_hours * per_copy, 2),
                "always_on_accelerator_hours": u.always_on_accelerator_hours,
                "saved": f"{u.saved_fraction:.0%}",
                "changes": u.changes,
            }
        )
    _emit(
        args,
        rows,
        f"usage {since.isoformat()} .. {until.isoformat()} (refused: NoCapacityInvocationFailures)",
        ["component", "copy_hours", "accelerator_usd", "refused", "penalty_usd", "total_usd", "always_on_usd", "saved"],
        drop_order=["copy_hours", "penalty_usd", "always_on_usd", "refused"],
    )
    return 1 if any("error" in r for r in rows) else 0


def cmd_uninstall(args: argparse.Namespace) -> int:
    if not args.plan:
        raise ValueError(
            "uninstall happens with `sam delete` (the stack gives everything back); --plan shows what it will do"
        )
    if args.restore_copies != "adopted" and not args.restore_copies.isdigit():
        raise ValueError("--restore-copies takes 'adopted' or a number of copies")
    rows = uninstall.plan(lambda service: _client(args, service), args.table, args.owner, args.restore_copies)
    _emit(
        args,
        rows,
        "what `sam delete` of this stack will give back (nothing is changed now)",
        ["component", "step", "detail"],
    )
    return 0


def cmd_deploy_policy(args: argparse.Namespace) -> int:
    row = policy_store.deploy(lambda service: _client(args, service), args.stack, args.file, args.description)
    _emit(args, [row], f"policy {args.file} deployed to stack {args.stack}'s AppConfig profile", list(row))
    return 0


def cmd_forecast(args: argparse.Namespace) -> int:
    """Each predictive component's learned profile, the floor it implies over the next 48 hours, and
    (forecast-only) what icpilot would have held against what it ran over the last 48 hours."""
    policy = _load(args)
    now = _now(args)
    state = StateStore(args.table, _client(args, "dynamodb"))
    wanted = [(e, c, cp) for e, c, cp in policy.components() if not args.component or c == args.component]
    if args.component and not wanted:
        raise ValueError(f"{args.component!r} is not in the policy")
    rows: list[dict[str, Any]] = []
    learned: dict[str, Forecast] = {}
    for endpoint, name, cp in wanted:
        row: dict[str, Any] = {"component": name, "mode": cp.predictive.mode}
        stored = state.get(endpoint, name)
        forecast = stored_forecast(stored.attributes)
        if forecast is None:
            row["forecast"] = "none yet (mode off, or less than min_history of traffic)"
            rows.append(row)
            continue
        learned[name] = forecast
        hourly = [forecast.floor_at(now + timedelta(hours=h)) for h in range(48)]
        past = [forecast.floor_at(now - timedelta(hours=48) + timedelta(minutes=m)) for m in range(0, 48 * 60, 15)]
        ran, _ = copy_hours(stored.transitions, now - timedelta(hours=48), now, 0)
        row.update(
            learned_from_days=forecast.history_days,
            updated=forecast.generated_at.isoformat(timespec="minutes"),
            held_copy_hours_per_week=round(forecast.held_copy_hours_per_week(), 1),
            next_48h=" ".join("".join(str(min(f, 9)) for f in hourly[d : d + 24]) for d in (0, 24)),
            would_hold_last_48h=round(sum(past) * 15 / 60, 1),
            ran_last_48h=round(ran, 1),
        )
        rows.append(row)
    if args.png and learned:
        path = _plot_forecast(learned, now, Path(args.png))
        errors.print(f"forecast picture: {path}")
    _emit(
        args,
        rows,
        "learned demand (next_48h: the floor per hour from now, two days)",
        [
            "component",
            "mode",
            "learned_from_days",
            "held_copy_hours_per_week",
            "next_48h",
            "would_hold_last_48h",
            "ran_last_48h",
        ],
    )
    return 0


def _plot_forecast(learned: dict[str, Forecast], now: datetime, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(len(learned), 1, figsize=(12, 2.8 * len(learned)), squeeze=False)
    times = [now + timedelta(minutes=m) for m in range(0, 7 * 1440, 15)]
    for ax, (name, forecast) in zip(axes[:, 0], learned.items(), strict=True):
        zone = ZoneInfo(forecast.timezone)
        ax.plot(
            times, [forecast.expected_at(t) for t in times], linewidth=0.8, label="expected busiest minute (requests)"
        )
        twin = ax.twinx()
        twin.step(times, [forecast.floor_at(t) for t in times], where="post", color="tab:red", label="copies held")
        twin.yaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel(name)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%a %H:%M", tz=zone))
        ax.legend(loc="upper left", fontsize=7)
        twin.legend(loc="upper right", fontsize=7)
    axes[0, 0].set_title("icpilot forecast: the next 7 days")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _reservations(args: argparse.Namespace, policy: Any, endpoint: str, names: list[str]) -> dict[str, Reservation]:
    """What each copy reserves offline: ``--per-copy`` where given, else the policy's ``per_copy``;
    a component with neither is an error (guessing 1 GPU would price the wrong instances)."""
    unknown = sorted(set(args.per_copy) - set(names))
    if unknown:
        raise ValueError(f"--per-copy names {', '.join(unknown)}, not a component of {endpoint}")
    out = {}
    for name in names:
        declared = policy.endpoints[endpoint].components[name].per_copy
        if name in args.per_copy:
            out[name] = _reservation(args.per_copy[name])
        elif declared is not None:
            out[name] = Reservation(declared.accelerators, declared.cores, declared.memory_mb)
        else:
            raise ValueError(
                f"{endpoint}/{name}: what does a copy reserve? Set per_copy in the policy "
                f"(e.g. per_copy: {{accelerators: 1, cores: 2, memory_mb: 8192}}) or pass --per-copy {name}=1,2,8192"
            )
    return out


def _reservation(text: str) -> Reservation:
    """ACCELERATORS,CORES,MEMORY_MB per copy, e.g. 2,2,8192."""
    try:
        accelerators, cores, memory = text.split(",")
        return Reservation(float(accelerators), float(cores), int(memory))
    except ValueError:
        raise ValueError(f"--per-copy wants ACCELERATORS,CORES,MEMORY_MB such as 2,2,8192; got {text!r}") from None


def cmd_simulate(args: argparse.Namespace) -> int:
    from simulator.backtest import TraceSpec, backtest, write
    from simulator.traces import first_midnight

    policy = _load(args)
    endpoint = args.endpoint or next(iter(policy.endpoints))
    if endpoint not in policy.endpoints:
        raise ValueError(f"--endpoint {endpoint!r} is not in the policy")
    mapping = dict(m.split("=", 1) for m in args.map) if args.map else {}
    files = [f for f in args.trace.split(",") if f]
    names = list(policy.endpoints[endpoint].components)
    unknown = sorted(set(mapping) - {Path(f).name for f in files} - set(files))
    if unknown:
        raise ValueError(f"--map names trace(s) not given with --trace: {', '.join(unknown)}")
    if args.offset and args.shift:
        raise ValueError("--offset (place each trace's first request in the run) and --shift are exclusive")
    specs = []
    for i, path in enumerate(files):
        component = mapping.get(Path(path).name) or mapping.get(path) or (names[i] if i < len(names) else None)
        if component is None:
            raise ValueError(f"no component for trace {path}: add --map {Path(path).name}=COMPONENT")
        moves = args.offset or args.shift or []
        move = moves[i] if i < len(moves) else "0s"
        sign = -1 if move.startswith("-") else 1
        move_minutes = sign * int(parse_duration(move.lstrip("-")).total_seconds() // 60)
        specs.append(TraceSpec(path, component, move_minutes, False, not args.offset, args.tile_days))
    reservations = _reservations(args, policy, endpoint, names)
    loads = {}
    for item in args.load or []:
        name, _, value = item.partition("=")
        if name not in names or not value:
            raise ValueError(f"--load {item!r}: expected COMPONENT=DURATION with a component of {endpoint}")
        loads[name] = max(1, round(parse_duration(value).total_seconds() / 60))
    minutes = args.days * 1440 if args.days else args.minutes
    if not 0 < args.optimum_seconds <= 3600:
        raise ValueError(f"--optimum-seconds {args.optimum_seconds} is outside (0, 3600]")
    if args.score_from * 1440 >= minutes:
        raise ValueError(f"--score-from {args.score_from} leaves nothing to score in a run of {minutes / 1440:g} days")
    start = _when(args.start) if args.start else first_midnight(files[0])
    if args.score_from < 0 or args.score_from * 1440 >= minutes:
        raise ValueError(f"--score-from {args.score_from}: a day of the run, 0..{minutes // 1440 - 1}")
    report = backtest(
        policy,
        endpoint,
        args.instance_type,
        args.max_instances,
        reservations,
        specs,
        start,
        minutes,
        load_minutes=loads,
        patience=args.patience,
        provisioning_minutes=int(parse_duration(args.provisioning).total_seconds() // 60),
        min_instances=args.min_instances,
        optimum_seconds=args.optimum_seconds,
        score_from=args.score_from * 1440,
    )
    json_path, png_path = write(report, args.out)
    rows = [
        {"strategy": k, **{f: v for f, v in row.items() if f != "components"}}
        for k, row in report["strategies"].items()
    ]
    if args.json:
        print(json.dumps({"report": str(json_path), "png": str(png_path), "strategies": rows}, indent=2, default=str))
    else:
        _emit(
            args,
            rows,
            f"backtest ({report['days']} days) -> {json_path}, {png_path}",
            [
                "strategy",
                "instance_hours",
                "instance_usd",
                "refused",
                "delayed",
                "penalty_usd",
                "total_usd",
                "bound_usd",
                "gap_pct",
                "ratio_to_bound",
                "ratio_to_reactive_bound",
            ],
            drop_order=[
                "instance_hours",
                "bound_usd",
                "gap_pct",
                "ratio_to_reactive_bound",
                "delayed",
                "penalty_usd",
                "refused",
            ],
        )
    return 0


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


def _command(sub: Any, name: str, help: str) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` opens with the line ``icpilot --help`` shows for it."""
    return sub.add_parser(name, help=help, description=help)  # type: ignore[no-any-return]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="icpilot", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    default_policy = os.environ.get("ICPILOT_POLICY_PATH") or DEFAULT_POLICY_PATH

    v = _command(sub, "validate", help="validate a policy file; every problem with its path, value and allowed range")
    v.add_argument("file", help="the policy file (YAML or JSON)")
    v.set_defaults(func=cmd_validate)

    ini = _command(sub, "init", help="write a first policy from the endpoints and components the account holds")
    ini.add_argument("--output", "-o", default="policy.yaml", help="the policy file to write (default policy.yaml)")
    ini.add_argument("--endpoint", action="append", help="only this endpoint (repeatable; default: every one)")
    ini.add_argument("--force", action="store_true", help="replace the file if it exists")
    ini.add_argument("--endpoint-url", help="e.g. http://127.0.0.1:5055 for the emulator")
    ini.add_argument("--region", help="AWS region (default: the profile's or $AWS_DEFAULT_REGION)")
    ini.set_defaults(func=cmd_init)

    s = _command(sub, "schema", help="print the policy's JSON Schema (for editors)")
    s.add_argument("--output", "-o", help="write to this file instead of standard output")
    s.set_defaults(func=cmd_schema)

    def per_copy_options(cmd: argparse.ArgumentParser, offline: bool = False) -> None:
        """The endpoint a command assumes instead of observing it (simulate; plan --offline)."""
        also = "with --offline: " if offline else ""
        cmd.add_argument("--instance-type", default="ml.g5.24xlarge", help=f"{also}the endpoint's instance type")
        cmd.add_argument(
            "--max-instances", type=int, default=2, help=f"{also}ManagedInstanceScaling's maximum (default 2)"
        )
        cmd.add_argument(
            "--per-copy",
            type=lambda v: dict(x.split("=", 1) for x in v.split(";")),
            default={},
            help=f"{also}COMPONENT=ACCELERATORS,CORES,MEMORY_MB;... (default: the policy's per_copy)",
        )

    def aws_options(cmd: argparse.ArgumentParser) -> None:
        cmd.add_argument(
            "--policy", default=default_policy, help="policy file (default: $ICPILOT_POLICY_PATH or the bundled one)"
        )
        cmd.add_argument("--endpoint-url", help="e.g. http://127.0.0.1:5055 for the emulator")
        cmd.add_argument("--region", help="AWS region (default: the profile's or $AWS_DEFAULT_REGION)")
        cmd.add_argument(
            "--table",
            help="icpilot's state table (the stack's StateTable output; default $ICPILOT_STATE_TABLE)",
        )
        cmd.add_argument(
            "--stack",
            help="the icpilot stack to work with: its table, topic and alarms, read from its outputs once",
        )
        cmd.add_argument("--json", action="store_true", help="machine-readable output")

    dp = _command(
        sub, "deploy-policy", help="deploy a policy file to the stack's AppConfig profile (AppConfigPolicy=Enabled)"
    )
    dp.add_argument("file", help="the policy file (YAML or JSON); stored as JSON")
    dp.add_argument("--stack", required=True, help="the icpilot stack whose AppConfig profile receives it")
    dp.add_argument("--description", default="", help="kept with the hosted configuration version")
    dp.add_argument("--endpoint-url", help="e.g. http://127.0.0.1:5055 for the emulator")
    dp.add_argument("--region", help="AWS region (default: the profile's or $AWS_DEFAULT_REGION)")
    dp.add_argument("--json", action="store_true", help="machine-readable output")
    dp.set_defaults(func=cmd_deploy_policy)

    pl = _command(sub, "plan", help="what the controller would do now (or --at TIME) and why; changes nothing")
    aws_options(pl)
    pl.add_argument("--at", help="ISO-8601 time with offset, e.g. 2026-11-23T08:00:00+01:00")
    pl.add_argument("--autoscaling", action="store_true", help="also list the AAS/alarm changes configure would make")
    pl.add_argument("--wide", action="store_true", help="also the endpoint and SageMaker status columns")
    pl.add_argument(
        "--offline",
        action="store_true",
        help="no AWS: decide from the policy alone, every component InService at --copies (default 0)",
    )
    pl.add_argument("--copies", action="append", help="with --offline: COMPONENT=N, the current copies (repeatable)")
    per_copy_options(pl, offline=True)
    pl.set_defaults(func=cmd_plan)

    st = _command(sub, "status", help="per component: SageMaker status, copies, AAS bounds, window, last action")
    aws_options(st)
    st.add_argument("--endpoint", help="only this endpoint of the policy")
    st.add_argument("--wide", action="store_true", help="every column (bounds, next change, override, reason)")
    st.set_defaults(func=cmd_status)

    def writer_options(cmd: argparse.ArgumentParser) -> None:
        aws_options(cmd)
        cmd.set_defaults(table=os.environ.get("ICPILOT_STATE_TABLE", "icpilot-state"))
        cmd.add_argument("--topic-arn", default=os.environ.get("ICPILOT_TOPIC_ARN"), help="announce on this SNS topic")

    def reader_options(cmd: argparse.ArgumentParser) -> None:
        """For commands that read icpilot's state table and write nothing."""
        aws_options(cmd)
        cmd.set_defaults(table=os.environ.get("ICPILOT_STATE_TABLE", "icpilot-state"))

    sc = _command(sub, "scale", help="override: pin a component's copies for a while (automatic changes pause)")
    writer_options(sc)
    sc.add_argument("component", help="an inference component named in the policy")
    sc.add_argument("--copies", type=int, required=True, help="the copy count to hold (0 allowed)")
    sc.add_argument("--for", dest="duration", default="1h", help="how long, e.g. 30m, 2h (default 1h)")
    sc.add_argument("--reason", required=True, help="why (announced on SNS and kept in the state table)")
    sc.set_defaults(func=cmd_scale)

    rs = _command(sub, "resume", help="end a component's override now")
    writer_options(rs)
    rs.add_argument("component", help="an inference component named in the policy")
    rs.set_defaults(func=cmd_resume)

    li = _command(sub, "lint", help="conflicts between schedules, bounds, alarms and overrides")
    aws_options(li)
    li.add_argument(
        "--live", action="store_true", help="also compare with AAS and icpilot's state (needs AWS or --endpoint-url)"
    )
    li.add_argument("--strict", action="store_true", help="warnings fail too (exit 1)")
    li.set_defaults(func=cmd_lint)

    fc = _command(sub, "forecast", help="learned demand: the profile, the floor over the next 48 h, would vs did")
    reader_options(fc)
    fc.add_argument("component", nargs="?", help="one component (default: every one in the policy)")
    fc.add_argument("--png", help="also draw the next 7 days to this PNG file")
    fc.set_defaults(func=cmd_forecast)

    rp = _command(sub, "report", help="copy-hours and accelerator-hours per component, against always-on at max_copies")
    reader_options(rp)
    rp.add_argument("--since", default="24h", help="period to report, e.g. 24h or 7d (default 24h)")
    rp.add_argument(
        "--day",
        help="the daily report of this local day (YYYY-MM-DD), as the DailyReport event gave it: cost, saved, "
        "refused and delayed requests, cold starts, times to ready, forecast error, overrides",
    )
    rp.add_argument("--endpoint", help="with --day: only this endpoint of the policy")
    rp.add_argument("--png", help="with --day: also draw the report to this PNG file")
    rp.set_defaults(func=cmd_report)

    un = _command(sub, "uninstall", help="what deleting the stack gives back: --plan lists it, sam delete does it")
    reader_options(un)
    un.add_argument("--plan", action="store_true", help="list the steps (required: the stack's deletion does them)")
    un.add_argument(
        "--restore-copies",
        default="adopted",
        help="as the stack's RestoreCopiesOnDelete: 'adopted' (the copies at adoption) or a number",
    )
    un.set_defaults(func=cmd_uninstall)

    si = _command(
        sub,
        "simulate",
        help="backtest the policy on request traces: total cost of icpilot, AAS-only and always-on against both optima",
    )
    si.add_argument(
        "--policy", default=default_policy, help="policy file (default: $ICPILOT_POLICY_PATH or the bundled one)"
    )
    si.add_argument("--trace", required=True, help="trace file(s) in the Azure format, comma-separated")
    si.add_argument("--map", action="append", help="TRACE_FILE_NAME=COMPONENT (default: in policy order)")
    si.add_argument(
        "--shift",
        action="append",
        help="per trace (repeat in --trace order): move its requests by this much, e.g. 7d or -2h",
    )
    si.add_argument(
        "--offset",
        action="append",
        help="per trace: ignore its timestamps' date and place its first request this far into the run, e.g. 9h",
    )
    si.add_argument(
        "--tile-days",
        type=_bounded(0, MAX_SIMULATED_DAYS),
        default=0,
        help="repeat each trace N times, a whole number of days apart",
    )
    si.add_argument("--endpoint", help="the policy's endpoint to simulate (default: the first)")
    per_copy_options(si)
    si.add_argument(
        "--start",
        help="the run's start (ISO-8601 with offset; default: midnight UTC of the first trace's first request)",
    )
    si.add_argument(
        "--minutes", type=_bounded(1, MAX_SIMULATED_DAYS * 1440), default=1440, help="simulated minutes (default a day)"
    )
    si.add_argument(
        "--days",
        type=_bounded(1, MAX_SIMULATED_DAYS),
        help=f"simulated days (overrides --minutes; at most {MAX_SIMULATED_DAYS})",
    )
    si.add_argument(
        "--score-from",
        type=_bounded(0, MAX_SIMULATED_DAYS),
        default=0,
        metavar="DAY",
        help="count costs from this day of the run on (0 = the first; learned demand's history is not its score)",
    )
    si.add_argument(
        "--load",
        action="append",
        help="COMPONENT=DURATION: the run's model-load time (default 6m; same for every strategy)",
    )
    si.add_argument(
        "--patience",
        type=_bounded(1, 24 * 60),
        default=1,
        help="minutes a request may wait before it is refused (default 1)",
    )
    si.add_argument("--provisioning", default="6m", help="time to add an instance (default 6m)")
    si.add_argument(
        "--min-instances", type=_bounded(0, 100), default=0, help="instances kept running at zero copies (default 0)"
    )
    si.add_argument(
        "--optimum-seconds",
        type=float,
        default=60.0,
        help="time limit of each exact optimum's solve (default 60); the report states the gap reached",
    )
    si.add_argument("--out", default="out/backtest", help="directory for backtest.json and backtest.png")
    si.add_argument("--json", action="store_true", help="machine-readable output")
    si.set_defaults(func=cmd_simulate)
    return p


def _needs_aws(args: argparse.Namespace) -> bool:
    """Whether the command calls AWS (or the emulator): then it needs credentials before it starts."""
    if not hasattr(args, "endpoint_url") or getattr(args, "offline", False):
        return False
    return not (args.func is cmd_lint and not args.live)


def _use_stack(args: argparse.Namespace) -> None:
    """``--stack NAME``: the table, topic and alarm owner from the stack's outputs (one
    DescribeStacks), over ``--table``/``--topic-arn`` and their environment defaults."""
    args.owner = os.environ.get("ICPILOT_STACK_NAME") or "icpilot"
    if not getattr(args, "stack", None):
        return
    try:
        found = _client(args, "cloudformation").describe_stacks(StackName=args.stack)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            raise IcpilotError(f"no stack {args.stack!r} in this account and region (sam deploy makes it)") from None
        raise
    outputs = {o["OutputKey"]: o["OutputValue"] for o in found[0].get("Outputs", [])}
    if "StateTableName" not in outputs:
        raise IcpilotError(f"stack {args.stack!r} has no StateTableName output: is it an icpilot stack?")
    args.table = outputs["StateTableName"]
    if hasattr(args, "topic_arn"):
        args.topic_arn = outputs.get("EventsTopicArn", args.topic_arn)
    args.owner = args.stack
    args.default_mode = outputs.get("DefaultMode", "act")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # The controller logs structured JSON and EMF metrics for CloudWatch; on a terminal only
    # problems belong there.
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    for name in [n for n in logging.root.manager.loggerDict if n.startswith("icpilot")] + ["icpilot"]:
        logging.getLogger(name).setLevel(logging.WARNING)
    if _needs_aws(args) and boto3.Session().get_credentials() is None:
        errors.print(
            "[red]no AWS credentials: configure a profile, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
            "(testing/testing for the emulator)"
        )
        return 2
    try:
        _use_stack(args)
        return int(args.func(args))
    except BrokenPipeError:  # piped into head: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except NoRegionError:
        errors.print("[red]no AWS region: pass --region or set AWS_DEFAULT_REGION (or --endpoint-url for the emulator)")
        return 2
    except NoCredentialsError:
        errors.print("[red]no AWS credentials: configure a profile, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
        return 2
    except EndpointConnectionError as exc:
        errors.print(f"[red]cannot reach {exc.kwargs.get('endpoint_url', 'the AWS endpoint')}: is it running?")
        return 1
    except (BotoCoreError, ClientError) as exc:
        errors.print(f"[red]AWS call failed: {exc}")
        return 1
    except PolicyError as exc:
        for problem in exc.problems:
            errors.print(f"[red]✗[/] {problem}", highlight=False, soft_wrap=True)
        return 1
    except (argparse.ArgumentTypeError, ValueError) as exc:
        errors.print(f"[red]{exc}")
        return 2
    except IcpilotError as exc:
        errors.print(f"[red]{exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
