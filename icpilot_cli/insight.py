"""``icpilot lint``, ``report`` and ``forecast``: conflicts in the policy, what the components cost,
and what learned demand expects."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from icpilot.adapters.autoscaling import AutoScalingAdapter
from icpilot.adapters.cloudwatch import CloudWatchAdapter
from icpilot.adapters.sagemaker import SageMakerAdapter
from icpilot.adapters.state import StateStore
from icpilot.domain.cost import CostModel, UnknownInstanceType
from icpilot.domain.forecast import Forecast
from icpilot.domain.report import copy_hours, usage
from icpilot.errors import IcpilotError
from icpilot.policy.lint import lint, lint_endpoint, lint_live
from icpilot.policy.model import parse_duration

from icpilot_cli import daily
from icpilot_cli.common import (
    _client,
    _emit,
    _load,
    _now,
    console,
    errors,
)
from icpilot_cli.observe import Unplanned, tick_decisions


def cmd_lint(args: argparse.Namespace) -> int:
    policy = _load(args)
    findings = [f.__dict__ for f in lint(policy, _now(args))]
    if args.endpoint_url or args.live:
        aas = AutoScalingAdapter(_client(args, "application-autoscaling"))
        sagemaker = SageMakerAdapter(_client(args, "sagemaker"))
        state = StateStore(args.table, _client(args, "dynamodb")) if args.table else None
        now = _now(args)
        try:
            owned = policy.component_names()
            observed = tick_decisions(policy, now, lambda name, _: sagemaker.observe_endpoint(name, owned), state)
            targets = aas.describe_targets(sorted(owned))  # 50 a call, not one per component
            endpoints: set[str] = set()
            for planned in observed:
                if isinstance(planned, Unplanned):
                    findings.append({"severity": "error", "where": planned.component, "message": planned.why})
                    continue
                ep = planned.observed_endpoint
                if ep.name not in endpoints:
                    endpoints.add(ep.name)
                    findings += [f.__dict__ for f in lint_endpoint(ep.name, ep.scale_in_strategy, ep.max_instances)]
                name, d = planned.component, planned.decision
                target = targets.get(name)
                override = planned.stored.state.override_until if planned.stored else None
                bounds = (target.min_capacity, target.max_capacity) if target else None
                findings += [f.__dict__ for f in lint_live(name, bounds, (d.aas_min, d.aas_max), override, now)]
        except IcpilotError as exc:
            findings.append({"severity": "error", "where": "live", "message": str(exc)})
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
        forecast = stored.forecast
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
