"""Run every strategy and both exact optima on the same demand; a JSON report in dollars and a PNG timeline.

Each row is the bill AWS sends (instance-hours x the instance price, provisioning included) plus
the penalties (refused and delayed requests at the run's prices); per component, the instances are
attributed by the accelerators its copies reserve. The optimum rows are the exact optima's
schedules (``exact``) replayed through the engine, with the solver's proven bound and the gap
between them; every row states its ratio to each bound (no schedule costs less than a bound) and to
each optimum's replayed schedule. The run's rules (load time per component, patience, provisioning,
capacity) are the same for every row (``engine.RunRules``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from icpilot.domain.capacity import Reservation
from icpilot.domain.cost import CostModel
from icpilot.domain.instance_types import INSTANCE_TYPES, PRICE_SOURCE
from icpilot.policy.model import Policy

from . import exact
from .engine import STRATEGIES, Ledger, Result, RunRules, SimComponent, run
from .pictures import LONG_RUN_DAYS, plot_weeks
from .traces import MinuteDemand, Throughput, read_trace

DEFAULT_LOAD_MINUTES = 6  # the emulator's model-load time (360 s) unless the run says otherwise
OPTIMA = ("optimum", "reactive-optimum")  # the exact optima's schedules, replayed through the engine


@dataclass(frozen=True)
class TraceSpec:
    path: str
    component: str
    offset_minutes: int = 0  # absolute: a shift; relative: where the first request lands
    tile: bool = False  # back to back by the trace's span
    absolute: bool = True  # requests at their own timestamps (relative: from the first request)
    tile_days: int = 0  # repeat the trace this many times, a whole number of days apart


def _round(x: float, digits: int = 2) -> float:
    return round(x + 0.0, digits)


def _one(ledger: Ledger, cost: CostModel, total_requests: int) -> dict[str, Any]:
    """One component's columns: its share of the instances (attribution), requests and penalties."""
    penalty = ledger.penalty(cost)
    return {
        "accelerator_hours": _round(ledger.accelerator_minutes / 60),
        "accelerator_usd": _round(ledger.accelerator_usd),
        "refused": round(ledger.refused),
        "refused_pct": _round(100 * ledger.refused / total_requests if total_requests else 0.0),
        "delayed": round(ledger.delayed),
        "delayed_minutes": round(ledger.delayed_minutes),
        "penalty_usd": _round(penalty),
        "total_usd": _round(ledger.accelerator_usd + penalty),
        "cold_starts": ledger.cold_starts,
        "minutes_at_zero": ledger.minutes_at_zero,
        "first_failure_to_write_minutes": (
            _round(ledger.signal_minutes / ledger.signalled_starts) if ledger.signalled_starts else None
        ),
    }


def _row(result: Result, rules: RunRules, requests: dict[str, int]) -> dict[str, Any]:
    """A strategy's row: the bill (instance-hours x price, provisioning included) plus penalties;
    the per-component columns attribute the instances by the accelerators each copy reserves."""
    total = Ledger()
    for ledger in result.ledgers.values():
        for key, value in vars(ledger).items():
            setattr(total, key, getattr(total, key) + value)
    row = _one(total, rules.cost, sum(requests.values()))
    instance_usd = result.instance_minutes * rules.instance_per_minute
    row["instance_hours"] = _round(result.instance_minutes / 60)
    row["instance_usd"] = _round(instance_usd)
    row["_total"] = instance_usd + total.penalty(rules.cost)  # unrounded, for the ratios
    row["total_usd"] = _round(row["_total"])
    row["components"] = {name: _one(ledger, rules.cost, requests[name]) for name, ledger in result.ledgers.items()}
    return row


def _gap_pct(total: float, bound: float) -> float:
    """How far above the proven bound a replayed schedule's cost is, in % of that cost."""
    return _round(100 * max(0.0, total - bound) / total if total else 0.0)


def optimum_row(
    components: list[SimComponent],
    rules: RunRules,
    start: datetime,
    minutes: int,
    score_from: int,
    reactive: bool,
    optimum_seconds: float,
) -> tuple[dict[str, Any], Result, float]:
    """One exact optimum as a report's row: solved from the best simple schedule, the cheaper,
    replayed, of its schedule and that one (``exact.best_replay``), with the proven bound, the gap
    and the solve; returns the row, the replay and the bound."""
    requests = {c.name: sum(c.demand.requests[score_from:]) for c in components}
    simple, plain = exact.best_simple(components, rules, start, minutes, score_from, reactive)
    solved = exact.solve(components, rules, minutes, reactive, score_from, optimum_seconds, start=simple)
    replayed, schedule = exact.best_replay(solved, components, rules, start, minutes, score_from, plain)
    row = _row(replayed, rules, requests)
    row["schedule"] = schedule
    row["bound_usd"] = _round(solved.bound_usd)
    row["program_usd"] = _round(solved.incumbent_usd) if math.isfinite(solved.incumbent_usd) else None
    row["gap_pct"] = _gap_pct(row["_total"], solved.bound_usd)
    row["solve_seconds"] = _round(solved.seconds, 1)
    row["solver_status"] = solved.status
    return row, replayed, solved.bound_usd


def _foresight_at_most_reactive(
    rows: dict[str, dict[str, Any]],
    copies: dict[str, dict[str, list[int]]],
    replays: dict[str, Result],
    bound: float,
) -> None:
    """Every reactive schedule is also a foresight schedule (foresight only drops a constraint), so
    the foresight optimum's row is the reactive one's replay when that is cheaper: the solver, short
    of time, may not have found a schedule as good. The foresight row keeps its own bound and gap."""
    mine, reactive = rows["optimum"], rows["reactive-optimum"]
    if reactive["_total"] >= mine["_total"] - 0.005:
        return
    kept = {key: mine[key] for key in ("bound_usd", "program_usd", "solve_seconds", "solver_status")}
    rows["optimum"] = {**reactive, **kept}
    rows["optimum"]["schedule"] = "the reactive optimum's (also a foresight schedule; cheaper than the solver's)"
    rows["optimum"]["gap_pct"] = _gap_pct(reactive["_total"], bound)
    copies["optimum"], replays["optimum"] = copies["reactive-optimum"], replays["reactive-optimum"]


def backtest_components(
    components: list[SimComponent],
    rules: RunRules,
    start: datetime,
    minutes: int,
    endpoint: str = "sim",
    score_from: int = 0,
    optimum_seconds: float = 60.0,
    timezone: str | None = None,
) -> dict[str, Any]:
    """The report for demand already in minutes (the synthetic generator and the CLI both end here).
    ``timezone``: the endpoint's wall clock for the pictures' days (default: the policy's, else UTC).

    ``score_from``: count costs from this minute on (every strategy runs from the start; a learner's
    first weeks are its history). ``optimum_seconds`` bounds each exact optimum's solve; the report
    states the gap it reached."""
    for c in components:
        if c.accelerators > rules.accelerators_per_instance:
            raise ValueError(
                f"{c.name}: a copy reserves {c.accelerators:g} accelerators, one {rules.instance_type} has "
                f"{rules.accelerators_per_instance:g}: it could never be placed"
            )
        if len(c.demand.requests) != minutes:  # the optima would solve the whole series, the strategies part of it
            raise ValueError(f"{c.name}: {len(c.demand.requests)} minutes of demand for a run of {minutes} minutes")
    requests = {c.name: sum(c.demand.requests[score_from:]) for c in components}
    results: dict[str, Result] = {s: run(s, components, rules, start, minutes, score_from) for s in STRATEGIES}
    rows: dict[str, dict[str, Any]] = {name: _row(r, rules, requests) for name, r in results.items()}
    copies: dict[str, dict[str, list[int]]] = {name: r.copies for name, r in results.items()}
    replays: dict[str, Result] = dict(results)
    bounds: dict[str, float] = {}
    for name, reactive in (("optimum", False), ("reactive-optimum", True)):
        row, replayed, bounds[name] = optimum_row(
            components, rules, start, minutes, score_from, reactive, optimum_seconds
        )
        rows[name] = row
        copies[name] = replayed.copies
        replays[name] = replayed
    _foresight_at_most_reactive(rows, copies, replays, bounds["optimum"])
    for row in rows.values():
        for key, name in (("ratio_to_bound", "optimum"), ("ratio_to_reactive_bound", "reactive-optimum")):
            row[key] = _round(row["_total"] / bounds[name]) if bounds[name] else None
        for key, name in (("ratio_to_optimum", "optimum"), ("ratio_to_reactive_optimum", "reactive-optimum")):
            best = rows[name]["_total"]
            row[key] = _round(row["_total"] / best) if best else None
    for row in rows.values():
        del row["_total"]
    order = [*STRATEGIES, *OPTIMA]
    cost = rules.cost
    return {
        "endpoint": endpoint,
        "instance_type": rules.instance_type,
        "max_instances": rules.max_instances,
        "start": start.isoformat(),
        # the start's own zone: minute m is ``start + m minutes`` in it, as the engine counted
        # (Python adds minutes on the wall clock of a zone-aware time; see simulator.pictures)
        "start_zone": getattr(start.tzinfo, "key", None),
        "timezone": timezone or _zone_of(rules),
        "minutes": minutes,
        "days": _round(minutes / 1440, 2),
        "scored_from_minute": score_from,
        "requests": requests,
        "rules": {
            "load_minutes": {c.name: c.load_minutes for c in components},
            "patience_minutes": rules.patience,
            "provisioning_minutes": rules.provisioning_minutes,
            "min_instances": rules.min_instances,
        },
        "cost_model": {
            "instance_price_per_hour": cost.instance_price_per_hour,
            "price_source": (
                PRICE_SOURCE
                if cost.instance_price_per_hour == INSTANCE_TYPES[rules.instance_type].price_per_hour
                else "the policy's cost.price_per_hour"
            ),
            "billed": "per instance-minute while provisioning or in service",
            "refusal_cost": cost.refusal_cost,
            "delay_cost_per_minute": round(cost.delay_cost_per_minute, 6),
            "copy_share_per_hour": {c.name: _round(cost.copy_per_hour(c.reservation), 4) for c in components},
        },
        "strategies": {name: rows[name] for name in order},
        "_series": {
            "traffic": {c.name: c.demand.requests for c in components},
            "copies": {name: copies[name] for name in order},
            "instances": {name: replays[name].instances for name in order},
            "penalty": {name: replays[name].penalty_by_minute for name in order},
            "needed": {c.name: c.demand.copies_needed(c.throughput) for c in components},
        },
    }


def backtest(
    policy: Policy,
    endpoint: str,
    instance_type: str,
    max_instances: int,
    reservations: dict[str, Reservation],
    traces: list[TraceSpec],
    start: datetime,
    minutes: int = 1440,
    load_minutes: dict[str, int] | None = None,
    throughput: Throughput | None = None,
    patience: int = 1,
    provisioning_minutes: int = 6,
    min_instances: int = 0,
    optimum_seconds: float = 60.0,
    score_from: int = 0,
) -> dict[str, Any]:
    """Read the traces onto the components of ``endpoint`` and run ``backtest_components``.

    ``load_minutes`` is the run's (per component, default ``DEFAULT_LOAD_MINUTES``): never the
    policy's ``expected_time_to_ready``, so a policy cannot "load faster" by declaring it.
    """
    throughput = throughput or Throughput()
    if endpoint not in policy.endpoints:
        raise ValueError(f"endpoint {endpoint!r} is not in the policy (known: {', '.join(policy.endpoints)})")
    ep = policy.endpoints[endpoint]
    demands: dict[str, MinuteDemand] = {}
    for spec in traces:
        if spec.component not in ep.components:
            raise ValueError(f"--map names {spec.component!r}, which is not a component of {endpoint}")
        demand = read_trace(
            spec.path,
            throughput,
            minutes,
            spec.offset_minutes,
            spec.tile,
            start=start if spec.absolute else None,
            tile_days=spec.tile_days,
        )
        if spec.component in demands:  # several files for one component (one per day, say) add up
            prev = demands[spec.component]
            demand = MinuteDemand(
                [a + b for a, b in zip(prev.requests, demand.requests, strict=True)],
                [a + b for a, b in zip(prev.slot_seconds, demand.slot_seconds, strict=True)],
            )
        demands[spec.component] = demand
    components = [
        SimComponent(
            name,
            ep.components[name],
            reservations[name],
            demand,
            throughput,
            (load_minutes or {}).get(name, DEFAULT_LOAD_MINUTES),
        )
        for name, demand in demands.items()
    ]
    rules = RunRules(
        instance_type,
        max_instances,
        CostModel.for_endpoint(policy, endpoint, instance_type),
        min_instances=min_instances,
        provisioning_minutes=provisioning_minutes,
        patience=patience,
        policy=policy,
        endpoint=endpoint,
    )
    return backtest_components(
        components,
        rules,
        start,
        minutes,
        endpoint,
        score_from=score_from,
        optimum_seconds=optimum_seconds,
        timezone=ep.zone,
    )


def _zone_of(rules: RunRules) -> str:
    if rules.policy is not None and rules.endpoint in rules.policy.endpoints:
        return rules.policy.endpoints[rules.endpoint].zone
    return "UTC"


def write(report: dict[str, Any], out_dir: str | Path) -> tuple[Path, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    series = report.pop("_series")
    json_path = out / "backtest.json"
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    png_path = out / "backtest.png"
    if report["minutes"] > LONG_RUN_DAYS * 1440:
        plot_weeks(report, series, png_path)
    else:
        plot(report, series, png_path)
    report["_series"] = series
    return json_path, png_path


def plot(report: dict[str, Any], series: dict[str, Any], path: Path) -> None:
    """A short run minute by minute: traffic, then copies per component under every strategy,
    then each strategy's total cost (longer runs: ``pictures.plot_weeks``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    components = list(series["traffic"])
    start = datetime.fromisoformat(report["start"])
    times = [start + timedelta(minutes=m) for m in range(report["minutes"])]
    fig, axes = plt.subplots(2 + len(components), 1, figsize=(13, 4 + 2.6 * len(components)))
    for name in components:
        axes[0].plot(times, series["traffic"][name], label=f"{name} requests/min", linewidth=0.7)
    axes[0].set_ylabel("requests / min")
    axes[0].legend(loc="upper left", fontsize=8)
    axes[0].set_title(
        f"Backtest on {report['endpoint']} ({report['instance_type']} x{report['max_instances']}), "
        f"{report['days']} days from {start:%a %Y-%m-%d %H:%M %Z}"
    )
    for ax, name in zip(axes[1:-1], components, strict=True):
        ax.step(times, series["needed"][name], where="post", color="black", linewidth=0.8, label="copies needed")
        for strategy, copies in series["copies"].items():
            s = report["strategies"][strategy]["components"][name]
            ax.step(
                times,
                copies[name],
                where="post",
                linewidth=1.0,
                label=f"{strategy}: ${s['total_usd']:.0f} ({s['refused']} refused, {s['delayed']} delayed)",
            )
        ax.set_ylabel(f"{name}\ncopies")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.legend(loc="upper left", fontsize=7)
    for ax in axes[:-1]:
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%a %H:%M", tz=start.tzinfo))
    names = list(report["strategies"])
    accel = [report["strategies"][n]["instance_usd"] for n in names]
    penalty = [report["strategies"][n]["penalty_usd"] for n in names]
    bars = axes[-1].barh(names, accel, label="instances $")
    axes[-1].barh(names, penalty, left=accel, label="refused + delayed $")
    for bar, n in zip(bars, names, strict=True):
        s = report["strategies"][n]
        axes[-1].text(
            s["total_usd"],
            bar.get_y() + bar.get_height() / 2,
            f" ${s['total_usd']:.0f} ({s['ratio_to_bound']}x bound)",
            va="center",
            fontsize=8,
        )
    axes[-1].set_xlabel("total cost, USD: instances + refused + delayed (ratio to the exact optimum's bound)")
    axes[-1].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
