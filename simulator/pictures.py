"""Pictures for weeks, not minutes: what a person compares over a long backtest.

A month of per-minute lines on one axis is unreadable (the busiest strategy covers the rest), so a
run longer than ``LONG_RUN_DAYS`` is drawn as
- each strategy's cost per local day, instances and penalty stacked, one small panel per strategy
  on one scale, weekends shaded, a tick at every local midnight;
- a day-by-hour map of the copies the chosen strategy held beside the copies the demand needed,
  weekend rows marked, on the endpoint's wall clock (DST included).

The palette and the day axis are shared with ``icpilot report --day``'s picture.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

LONG_RUN_DAYS = 2
INSTANCE_COLOUR = "tab:blue"
PENALTY_COLOUR = "tab:red"
DELAYED_COLOUR = "tab:orange"
ALWAYS_ON_COLOUR = "0.85"
WEEKEND_SHADE = {"color": "0.5", "alpha": 0.12, "linewidth": 0}
HOLIDAY_SHADE = {"color": "tab:green", "alpha": 0.15, "linewidth": 0}


def run_start(report: dict[str, Any]) -> datetime:
    """The run's start as the engine held it: in its own zone when it had one, so that minute m is
    ``start + m minutes`` exactly as the engine and the demand generators counted it (Python adds
    to the wall clock of a zone-aware time: a run started in Europe/Berlin has a 24-hour
    day at the end of summer time, one started in UTC a 25-hour local day)."""
    start = datetime.fromisoformat(report["start"])
    zone = report.get("start_zone")
    return start.astimezone(ZoneInfo(zone)) if zone else start


def local_days(start: datetime, minutes: int, zone: str) -> list[tuple[date, list[int]]]:
    """The run's minutes grouped by local day in ``zone``, in order: (day, its minute indices)."""
    tz = ZoneInfo(zone)
    days: dict[date, list[int]] = defaultdict(list)
    for m in range(minutes):
        days[(start + timedelta(minutes=m)).astimezone(tz).date()].append(m)
    return sorted(days.items())


def hour_grid(values: list[float], start: datetime, zone: str) -> tuple[list[date], list[list[float]]]:
    """Per local day, per local hour (0..23), the mean of ``values`` (one per minute)."""
    tz = ZoneInfo(zone)
    sums: dict[tuple[date, int], float] = defaultdict(float)
    counts: dict[tuple[date, int], int] = defaultdict(int)
    for m, value in enumerate(values):
        local = (start + timedelta(minutes=m)).astimezone(tz)
        sums[local.date(), local.hour] += value
        counts[local.date(), local.hour] += 1
    days = sorted({d for d, _h in sums})
    grid = [[sums[d, h] / counts[d, h] if counts[d, h] else 0.0 for h in range(24)] for d in days]
    return days, grid


def daily_costs(
    instances: list[int], penalty: list[float], price_per_hour: float, groups: list[tuple[date, list[int]]]
) -> tuple[list[float], list[float]]:
    """Per local day: instance $ (instance-minutes at the price) and penalty $."""
    instance_usd = [sum(instances[m] for m in minutes) * price_per_hour / 60 for _d, minutes in groups]
    penalty_usd = [sum(penalty[m] for m in minutes) for _d, minutes in groups]
    return instance_usd, penalty_usd


def shade_weekends(ax: Any, days: list[date], holidays: Sequence[date] = (), vertical: bool = True) -> None:
    """Shade Saturdays and Sundays (grey) and ``holidays`` (green): columns (``vertical``) or rows
    at the days' indices."""
    span = ax.axvspan if vertical else ax.axhspan
    for i, day in enumerate(days):
        if day in holidays:
            span(i - 0.5, i + 0.5, **HOLIDAY_SHADE)
        elif day.weekday() >= 5:
            span(i - 0.5, i + 0.5, **WEEKEND_SHADE)


def day_labels(days: list[date]) -> list[str]:
    return [
        f"{d:%a}\n{d:%d %b}" if i == 0 or d.day == 1 or d.weekday() == 0 else f"{d:%a}\n{d:%d}"
        for i, d in enumerate(days)
    ]


def plot_weeks(
    report: dict[str, Any],
    series: dict[str, Any],
    path: Path,
    strategy: str = "icpilot",
    holidays: Sequence[date] = (),
) -> None:
    """The long-run picture (see the module docstring); ``holidays`` are shaded when known."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    start = run_start(report)
    zone = report.get("timezone", "UTC")
    minutes = report["minutes"]
    groups = local_days(start, minutes, zone)
    days = [d for d, _m in groups]
    scored = report.get("scored_from_minute", 0)
    price = report["cost_model"]["instance_price_per_hour"]
    names = [n for n in report["strategies"] if n in series.get("penalty", {})]
    fig = plt.figure(figsize=(14, 1.7 * len(names) + 6.0), layout="constrained")
    grid = fig.add_gridspec(len(names) + 1, 2, height_ratios=[1.0] * len(names) + [3.2])
    tallest = 0.0
    cost_axes: list[Any] = []
    for row, name in enumerate(names):
        ax = fig.add_subplot(grid[row, :], sharex=cost_axes[0] if cost_axes else None)
        cost_axes.append(ax)
        instances = [0 if m < scored else n for m, n in enumerate(series["instances"][name])]
        instance_usd, penalty_usd = daily_costs(instances, series["penalty"][name], price, groups)
        x = list(range(len(days)))
        ax.bar(x, instance_usd, color=INSTANCE_COLOUR, label="instances $")
        ax.bar(x, penalty_usd, bottom=instance_usd, color=PENALTY_COLOUR, label="refused + delayed $")
        tallest = max(tallest, *(a + b for a, b in zip(instance_usd, penalty_usd, strict=True)))
        shade_weekends(ax, days, holidays)
        s = report["strategies"][name]
        ratio = f", {s['ratio_to_bound']}x the optimum's bound" if s.get("ratio_to_bound") is not None else ""
        ax.set_title(f"{name}: ${s['total_usd']:,.0f} scored{ratio}", loc="left", fontsize=9)
        ax.set_ylabel("$ / day", fontsize=8)
        if row == 0:
            ax.legend(loc="upper right", fontsize=7, ncols=2)
    for ax in cost_axes:
        ax.set_ylim(0, tallest * 1.1 or 1)
        ax.set_xticks(range(len(days)), day_labels(days), fontsize=7)
        if scored:
            first_scored = next((i for i, (_d, ms) in enumerate(groups) if ms[-1] >= scored), 0)
            ax.axvline(first_scored - 0.5, color="0.3", linestyle=":", linewidth=0.8)
    held_total = [sum(c) for c in zip(*series["copies"][strategy].values(), strict=True)]
    needed_total = [sum(c) for c in zip(*series["needed"].values(), strict=True)]
    top = max(max(held_total, default=0), max(needed_total, default=0), 1)
    for col, (values, title) in enumerate(
        [
            (held_total, f"copies {strategy} held (all components, hourly mean)"),
            (needed_total, "copies the demand needed"),
        ]
    ):
        ax = fig.add_subplot(grid[len(names), col])
        grid_days, cells = hour_grid(values, start, zone)
        image = ax.imshow(cells, aspect="auto", cmap="viridis", vmin=0, vmax=top, interpolation="nearest")
        ax.set_title(title, loc="left", fontsize=9)
        ax.set_xticks(range(0, 24, 3), [f"{h:02d}:00" for h in range(0, 24, 3)], fontsize=7)
        ax.set_yticks(range(len(grid_days)), [f"{d:%a %d %b}" for d in grid_days], fontsize=6)
        for label, day in zip(ax.get_yticklabels(), grid_days, strict=True):
            if day in holidays:
                label.set_color("tab:green")
            elif day.weekday() >= 5:
                label.set_color(PENALTY_COLOUR)
        ax.set_xlabel(f"hour ({zone}); weekends in red, holidays in green", fontsize=8)
        fig.colorbar(image, ax=ax, fraction=0.04, pad=0.01, label="copies")
    fig.suptitle(
        f"Backtest on {report['endpoint']} ({report['instance_type']} x{report['max_instances']}), "
        f"{report['days']} days from {start.astimezone(ZoneInfo(zone)):%a %d %b %Y} ({zone}); "
        "weekends shaded grey, holidays green, dotted line: scoring starts",
        fontsize=10,
    )
    fig.savefig(path, dpi=100)
    plt.close(fig)
