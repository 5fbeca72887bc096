"""Run the four strategies on traces for one endpoint; write a JSON report and a PNG timeline."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from icpilot.capacity import Reservation
from icpilot.instance_types import INSTANCE_TYPES
from icpilot.policy.model import Policy

from .engine import Result, SimComponent, run
from .oracle import slot_minutes
from .traces import Throughput, read_trace

STRATEGIES = ("icpilot", "aas-only", "always-on")


@dataclass(frozen=True)
class TraceSpec:
    path: str
    component: str
    offset_minutes: int = 0
    tile: bool = False


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
) -> dict[str, Any]:
    throughput = throughput or Throughput()
    ep = policy.endpoints[endpoint]
    components = []
    for spec in traces:
        if spec.component not in ep.components:
            raise ValueError(f"--map names {spec.component!r}, which is not a component of {endpoint}")
        demand = read_trace(spec.path, throughput, minutes, spec.offset_minutes, spec.tile)
        cp = ep.components[spec.component]
        load = (load_minutes or {}).get(spec.component) or max(1, round(cp.time_to_ready.total_seconds() / 60))
        components.append(SimComponent(spec.component, cp, reservations[spec.component], demand, throughput, load))
    results: dict[str, Result] = {
        s: run(s, components, instance_type, max_instances, start, minutes) for s in STRATEGIES
    }
    price_per_accel_hour = INSTANCE_TYPES[instance_type].price_per_hour / max(
        1, INSTANCE_TYPES[instance_type].accelerators
    )
    oracle_minutes = sum(
        slot_minutes(c.demand.copies_needed(throughput), c.load_minutes) * (c.reservation.accelerators or 1.0)
        for c in components
    )
    requests = {c.name: sum(c.demand.requests) for c in components}
    report: dict[str, Any] = {
        "endpoint": endpoint,
        "instance_type": instance_type,
        "max_instances": max_instances,
        "start": start.isoformat(),
        "minutes": minutes,
        "requests": requests,
        "load_minutes": {c.name: c.load_minutes for c in components},
        "oracle": {
            "accelerator_hours": round(oracle_minutes / 60, 2),
            "cost_usd": round(oracle_minutes / 60 * price_per_accel_hour, 2),
        },
        "strategies": {},
    }
    total_requests = sum(requests.values()) or 1
    for name, r in results.items():
        refused = sum(r.refused.values())
        report["strategies"][name] = {
            "accelerator_hours": round(r.accelerator_hours, 2),
            "cost_usd": round(r.accelerator_hours * price_per_accel_hour, 2),
            "served": sum(r.served.values()),
            "delayed": sum(r.delayed.values()),
            "refused": refused,
            "refused_pct": round(100 * refused / total_requests, 2),
            "cold_starts": r.cold_starts,
            "minutes_at_zero": r.minutes_at_zero,
            "ratio_to_oracle": round(r.accelerator_minutes / oracle_minutes, 2) if oracle_minutes else None,
        }
    report["_series"] = {
        "traffic": {c.name: c.demand.requests for c in components},
        "copies": {name: r.copies for name, r in results.items()},
        "needed": {c.name: c.demand.copies_needed(throughput) for c in components},
    }
    return report


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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    components = list(series["traffic"])
    fig, axes = plt.subplots(1 + len(components), 1, figsize=(12, 3 + 2.6 * len(components)), sharex=True)
    hours = [m / 60 for m in range(report["minutes"])]
    for name in components:
        axes[0].plot(hours, series["traffic"][name], label=f"{name} requests/min", linewidth=0.8)
    axes[0].set_ylabel("requests / min")
    axes[0].legend(loc="upper left", fontsize=8)
    axes[0].set_title(
        f"Backtest on {report['endpoint']} ({report['instance_type']} x{report['max_instances']}) from {report['start']}"
    )
    for ax, name in zip(axes[1:], components, strict=True):
        ax.step(
            hours, series["needed"][name], where="post", color="black", linewidth=0.8, label="needed (oracle demand)"
        )
        for strategy, copies in series["copies"].items():
            s = report["strategies"][strategy]
            ax.step(
                hours,
                copies[name],
                where="post",
                linewidth=1.2,
                label=f"{strategy}: {s['accelerator_hours']} acc-h, {s['refused_pct']}% refused",
            )
        ax.set_ylabel(f"{name}\ncopies")
        ax.legend(loc="upper left", fontsize=7)
    axes[-1].set_xlabel("hours since start")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
