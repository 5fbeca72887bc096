"""Run every strategy and both optima on the same demand; a JSON report in dollars and a PNG timeline.

Each strategy's row: accelerator-hours, accelerator $, refused, delayed (requests and
request-minutes), penalty $, total $, and the ratio of its total to the penalty-aware optimum's,
to the reactive optimum's and to the reactive optimum's schedule replayed under the simulator's
rules (the ``-replayed`` rows; see ``optimum``, "A yardstick, not a bound"), plus a per-component
ledger. The run's rules (load time per component, patience, provisioning, capacity) are the same
for every row (``engine.RunRules``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from icpilot.domain.capacity import Reservation
from icpilot.domain.cost import CostModel
from icpilot.policy.model import Policy

from .engine import REPLAY, STRATEGIES, Ledger, Result, RunRules, SimComponent, run
from .optimum import ComponentOptimum, SlotCosts, fits_together, optimum
from .traces import MinuteDemand, Throughput, read_trace

DEFAULT_LOAD_MINUTES = 6  # the emulator's model-load time (360 s) unless the run says otherwise
OPTIMA = ("optimum", "reactive-optimum")
REPLAYED = tuple(f"{name}-replayed" for name in OPTIMA)  # each optimum's schedule under the run's rules


@dataclass(frozen=True)
class TraceSpec:
    path: str
    component: str
    offset_minutes: int = 0
    tile: bool = False
    absolute: bool = False  # place requests by their own timestamps (multi-day traces)


def _round(x: float, digits: int = 2) -> float:
    return round(x + 0.0, digits)


def _row(ledgers: dict[str, Ledger], cost: CostModel, requests: dict[str, int]) -> dict[str, Any]:
    def one(ledger: Ledger, total_requests: int) -> dict[str, Any]:
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

    total = Ledger()
    for ledger in ledgers.values():
        for key, value in vars(ledger).items():
            setattr(total, key, getattr(total, key) + value)
    row = one(total, sum(requests.values()))
    row["components"] = {name: one(ledger, requests[name]) for name, ledger in ledgers.items()}
    return row


def _optimum_ledger(o: ComponentOptimum, c: SimComponent, cost: CostModel) -> Ledger:
    minutes = o.copy_minutes
    copies = o.copies
    return Ledger(
        copy_minutes=minutes,
        accelerator_minutes=minutes * c.accelerators,
        accelerator_usd=minutes * cost.copy_per_minute(c.reservation),
        served=sum(c.demand.requests) - o.refused,
        delayed_minutes=o.delayed_minutes,
        refused=o.refused,
        cold_starts=sum(1 for t, n in enumerate(copies) if n and (t == 0 or copies[t - 1] == 0)),
        minutes_at_zero=sum(1 for n in copies if n == 0),
    )


def backtest_components(
    components: list[SimComponent],
    rules: RunRules,
    start: datetime,
    minutes: int,
    endpoint: str = "sim",
    score_from: int = 0,
) -> dict[str, Any]:
    """The report for demand already in minutes (the synthetic generator and the CLI both end here).

    ``score_from``: count costs from this minute on (every strategy runs from the start; a learner's
    first weeks are its history)."""
    for c in components:
        if len(c.demand.requests) != minutes:  # the optima would solve the whole series, the strategies part of it
            raise ValueError(f"{c.name}: {len(c.demand.requests)} minutes of demand for a run of {minutes} minutes")
    cost = rules.cost
    requests = {c.name: sum(c.demand.requests[score_from:]) for c in components}
    results: dict[str, Result] = {s: run(s, components, rules, start, minutes, score_from) for s in STRATEGIES}
    rows: dict[str, dict[str, Any]] = {}
    copies: dict[str, dict[str, list[int]]] = {}
    capacity_bound: dict[str, bool] = {}
    for name, reactive in (("optimum", False), ("reactive-optimum", True)):
        optima = []
        schedule: dict[str, list[int]] = {}
        always_running = rules.min_instances * rules.accelerators_per_instance
        for c in components:
            slots = min(c.policy.max_copies, int(rules.total_accelerators // c.accelerators))
            costs = [
                SlotCosts(
                    cost.copy_per_minute(c.reservation),
                    cost.refusal_cost,
                    cost.delay_cost_per_minute,
                    c.load_minutes + (rules.provisioning_minutes if k * c.accelerators > always_running else 0),
                    rules.patience,
                )
                for k in range(1, slots + 1)
            ]
            solved = optimum(c.name, c.demand, c.throughput, slots, costs, c.accelerators, reactive)
            schedule[c.name] = solved.copies
            if score_from:
                scored = [o.scored_from(score_from, rules.patience) for o in solved.slots]
                solved = ComponentOptimum(solved.name, scored, solved.accelerators_per_copy)
            optima.append(solved)
        capacity_bound[name] = not fits_together(optima, rules.total_accelerators)
        rows[name] = _row(
            {c.name: _optimum_ledger(o, c, cost) for o, c in zip(optima, components, strict=True)}, cost, requests
        )
        copies[name] = {o.name: o.copies for o in optima}
        # its copies are the optimum's (capped to what fits), so the timeline does not draw them twice
        replayed = run(REPLAY, components, rules, start, minutes, score_from, schedule)
        rows[f"{name}-replayed"] = _row(replayed.ledgers, cost, requests)
    for name, r in results.items():
        rows[name] = _row(r.ledgers, cost, requests)
        copies[name] = r.copies
    best, reactive_best = rows["optimum"]["total_usd"], rows["reactive-optimum"]["total_usd"]
    reactive_replayed = rows["reactive-optimum-replayed"]["total_usd"]
    for row in rows.values():
        row["ratio_to_optimum"] = _round(row["total_usd"] / best) if best else None
        row["ratio_to_reactive_optimum"] = _round(row["total_usd"] / reactive_best) if reactive_best else None
        row["ratio_to_reactive_optimum_replayed"] = (
            _round(row["total_usd"] / reactive_replayed) if reactive_replayed else None
        )
    order = [*STRATEGIES, *OPTIMA, *REPLAYED]
    return {
        "endpoint": endpoint,
        "instance_type": rules.instance_type,
        "max_instances": rules.max_instances,
        "start": start.isoformat(),
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
            "refusal_cost": cost.refusal_cost,
            "delay_cost_per_minute": cost.delay_cost_per_minute,
            "copy_per_hour": {c.name: _round(cost.copy_per_hour(c.reservation), 4) for c in components},
        },
        "capacity_bound": capacity_bound,
        "strategies": {name: rows[name] for name in order},
        "_series": {
            "traffic": {c.name: c.demand.requests for c in components},
            "copies": {name: copies[name] for name in (*STRATEGIES, *OPTIMA)},
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
            spec.path, throughput, minutes, spec.offset_minutes, spec.tile, start=start if spec.absolute else None
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
    )
    return backtest_components(components, rules, start, minutes, endpoint)


def write(report: dict[str, Any], out_dir: str | Path) -> tuple[Path, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    series = report.pop("_series")
    json_path = out / "backtest.json"
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    png_path = out / "backtest.png"
    plot(report, series, png_path)
    report["_series"] = series
    return json_path, png_path


def plot(report: dict[str, Any], series: dict[str, Any], path: Path) -> None:
    """Traffic, then copies per component under every strategy, then each strategy's total cost."""
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
    accel = [report["strategies"][n]["accelerator_usd"] for n in names]
    penalty = [report["strategies"][n]["penalty_usd"] for n in names]
    bars = axes[-1].barh(names, accel, label="accelerators $")
    axes[-1].barh(names, penalty, left=accel, label="refused + delayed $")
    for bar, n in zip(bars, names, strict=True):
        s = report["strategies"][n]
        axes[-1].text(
            s["total_usd"],
            bar.get_y() + bar.get_height() / 2,
            f" ${s['total_usd']:.0f} ({s['ratio_to_optimum']}x)",
            va="center",
            fontsize=8,
        )
    axes[-1].set_xlabel("total cost, USD (ratio to the penalty-aware optimum)")
    axes[-1].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
