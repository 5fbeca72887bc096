"""The performance tables of the documentation (docs/performance.md, and the headline figures
on the README's front page), rendered from bench/results.json (``python -m bench.tables``; the
operational limits' fleet tables: ``python -m bench.tables --fleet``).

Figures in the docs are pasted from this output, never typed: rerun ``make bench`` (or
``python -m bench --only SECTION``) and then this.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from simulator.recommend import DO_NOT_SERVE

RESULTS = Path(__file__).resolve().parent / "results.json"
COLUMNS = (
    ("instance $", "instance_usd"),
    ("refused", "refused"),
    ("delayed", "delayed"),
    ("penalty $", "penalty_usd"),
    ("total $", "total_usd"),
    ("x bound", "ratio_to_bound"),
    ("x reactive bound", "ratio_to_reactive_bound"),
)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _optimum_note(row: dict[str, Any]) -> str:
    """What the solver proved: its bound, the gap of the replayed schedule to it, the solve time."""
    if "bound_usd" not in row:
        return ""
    return f"bound ${row['bound_usd']:,.2f}, gap {row['gap_pct']}%, {row['solve_seconds']} s"


def table(title: str, rows: dict[str, dict[str, Any]]) -> str:
    head = f"| {title} | " + " | ".join(name for name, _ in COLUMNS) + " | exact optimum |"
    rule = "|---|" + "---:|" * len(COLUMNS) + "---|"
    body = [
        f"| {name} | " + " | ".join(_cell(row.get(key)) for _, key in COLUMNS) + f" | {_optimum_note(row)} |"
        for name, row in rows.items()
    ]
    return "\n".join([head, rule, *body])


PASSES = (
    ("configure", "configure (first run)"),
    ("tick_window_opens", "tick, window opens (all 0→1)"),
    ("tick_steady", "tick, steady"),
    ("watch_all_in_flight", "watcher, all in flight"),
    ("forecast", "forecast"),
    ("schedules_first", "tick's schedule reconcile, first"),
    ("schedules_unchanged", "tick's schedule reconcile, unchanged"),
)


def fleet_table(run: dict[str, Any]) -> str:
    """One fleet run (bench.fleet.fleet_pass): per pass, wall time against its Lambda timeout,
    calls per component, retries after throttling, the pacer's waits and what was postponed."""
    head = (
        "| pass | wall s | fits timeout | calls / component | retries | pacer wait s | postponed "
        "| last copy-count write s |"
    )
    rule = "|---|---:|---|---:|---:|---:|---:|---:|"
    body = []
    for key, label in PASSES:
        p = run["passes"].get(key)
        if p is None:
            continue
        body.append(
            f"| {label} | {_cell(p['seconds'])} | {'yes' if p['fits_lambda_timeout'] else '**no**'} "
            f"| {_cell(p['calls_per_component'])} | {_cell(p.get('retries'))} | {_cell(p.get('pacer_wait_s'))} "
            f"| {_cell(p['postponed'])} | {_cell(p['last_copy_count_write_s'])} |"
        )
    return "\n".join([head, rule, *body])


def fleet_render(results: dict[str, Any]) -> str:
    """The operational-limits tables (docs/concepts/reliability.md) from the fleet sections."""
    parts = []
    for run in results.get("fleet_realism", {}).values():
        parts.append(
            f"**{run['components']:,} components on {run['endpoints']} endpoints** ({run['workers']} workers; "
            f"the emulator's assumed AWS rates and the default WriteRates x{run['rates_scale']:g})\n"
        )
        parts.append(fleet_table(run))
    for label, run in results.get("fleet_faults", {}).items():
        ticks = ", ".join(f"{t['seconds']} s {t['outcomes']}" for t in run["ticks"])
        parts.append(
            f"**fault run, {label}**: {run['ticks_to_converge']} ticks to converge ({ticks}); "
            f"{run['writes_refused']} copy-count writes throttled past the SDK's attempts; worker crashed: "
            f"{', '.join(run['worker_crashed']) or 'none'}; written twice: {len(run['written_twice'])}; "
            f"left behind: {run['left_behind']}"
        )
    bursts = results.get("opening_burst", {})
    if bursts:
        parts.append(opening_burst_table(bursts))
    return "\n\n".join(parts) + "\n"


def opening_burst_table(runs: dict[str, dict[str, Any]]) -> str:
    """Windows opening together, fired as the schedules fire (bench.fleet.opening_burst)."""
    head = (
        "| fleet | opening schedules | spread s | writes due by s | written | latest write after due s | late | "
        "invocation s, median / max (timeout) | calls / component | retries | errors |"
    )
    rule = "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|"
    body = []
    for label, r in runs.items():
        inv = r["invocation_s"]
        body.append(
            f"| {label} | {r['invocations']} | {_cell(r['spread_s'])} | {_cell(r.get('due_s'))} "
            f"| {r['written']:,} of {r['components']:,} "
            f"| {_cell(r['latest_write_after_due_s'])} | {r['late_writes']} "
            f"| {_cell(inv['median'])} / {_cell(inv['max'])} ({inv['timeout']}) | {_cell(r['calls_per_component'])} "
            f"| {r['retries']:,} | {r['errors']} |"
        )
    return "**windows opening together**, fired as the stack's schedules fire them\n\n" + "\n".join([head, rule, *body])


def render(results: dict[str, Any]) -> str:
    parts = []
    scenarios = {**results.get("backtest", {}), **results.get("single_component", {})}
    for scenario, figures in scenarios.items():
        parts.append(f"**{scenario}** ({figures['days']} d, {figures['wall_seconds']} s)\n")
        parts.append(table("strategy", figures["strategies"]))
        for reason in figures.get("recommendations", []):
            parts.append(f"Recommended ({DO_NOT_SERVE}): {reason}.")
    for month, figures in results.get("honest_month", {}).items():
        parts.append(f"**{month}**, weeks 2-4 ({figures['wall_seconds']} s)\n")
        parts.append(table("strategy", figures["rows"]))
    for scenario, figures in results.get("learned_demand", {}).items():
        parts.append(f"**learned demand, {scenario}** (scored from day {figures['scored_from_day']})\n")
        parts.append(table("strategy", figures["rows"]))
    depth = results.get("optimum_depth", {})
    if depth:
        parts.append("**the exact optimum with more time**, two components sharing instances, one day\n")
        lines = [
            "| day, optimum, time a day | optimum $ | bound $ | gap | seconds | schedule |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for key, row in depth.items():
            lines.append(
                f"| {key} | {_cell(row['total_usd'])} | {_cell(row['bound_usd'])} | {row['gap_pct']}% "
                f"| {row['seconds']} | {row['schedule']} |"
            )
        parts.append("\n".join(lines))
    for patience, rows in results.get("activator", {}).items():
        parts.append(f"**activator, bursty week, {patience}**\n")
        parts.append(table("strategy", rows))
    return "\n\n".join(parts) + "\n"


def main() -> int:
    if not RESULTS.exists():
        print(f"{RESULTS} does not exist: run make bench first", file=sys.stderr)
        return 1
    results = json.loads(RESULTS.read_text())
    print(fleet_render(results) if sys.argv[1:] == ["--fleet"] else render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
