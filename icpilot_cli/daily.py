"""``icpilot report --day DATE``: the daily report the stack publishes as ``DailyReport``, on demand.

The figures come from ``icpilot.service.reporting`` (the same code the Lambda runs), so the table,
``--json`` (the event's ``details``) and the PNG say what the topic said that morning.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from icpilot.adapters.autoscaling import AutoScalingAdapter
from icpilot.adapters.cloudwatch import CloudWatchAdapter
from icpilot.adapters.sagemaker import SageMakerAdapter
from icpilot.adapters.state import StateStore
from icpilot.domain.report import local_day
from icpilot.policy.model import Policy
from icpilot.service.reporting import DailyReporter, EndpointDay
from rich.console import Console
from rich.table import Table

from simulator.pictures import ALWAYS_ON_COLOUR, DELAYED_COLOUR, INSTANCE_COLOUR, PENALTY_COLOUR

# Columns in the order a reader drops them when the terminal is narrow: the first ones stay.
COLUMNS = (
    ("component", "component"),
    ("cost_usd", "$"),
    ("saved_usd", "saved $"),
    ("refused", "refused"),
    ("cold_starts", "cold"),
    ("requests", "requests"),
    ("delayed", "delayed"),
    ("accelerator_hours", "acc-h"),
    ("time_to_ready_p50_s", "ready p50 s"),
    ("time_to_ready_p90_s", "p90 s"),
    ("forecast_error", "fc err"),
    ("override", "override"),
    ("error", "error"),
)


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--day takes a date as YYYY-MM-DD, not {text!r}") from None


def run(
    policy: Policy,
    client: Callable[[str], Any],
    table: str,
    day: date,
    now: datetime,
    *,
    endpoint: str | None,
    as_json: bool,
    png: str | None,
    console: Console,
) -> int:
    """Print each endpoint's report for ``day`` (0), or 1 when a component could not be reported."""
    if endpoint is not None and endpoint not in policy.endpoints:
        raise ValueError(f"--endpoint {endpoint!r} is not in the policy (it has {', '.join(policy.endpoints)})")
    names = [name for name in policy.endpoints if endpoint in (None, name)]
    for name in names:
        if local_day(day, policy.endpoints[name].zone)[1] > now:
            raise ValueError(
                f"--day {day} has not ended yet in {policy.endpoints[name].zone}: a report covers a whole day"
            )
    reporter = DailyReporter(
        SageMakerAdapter(client("sagemaker")),
        AutoScalingAdapter(client("application-autoscaling")),
        StateStore(table, client("dynamodb")),
        CloudWatchAdapter(client("cloudwatch")),
    )
    reports = [reporter.endpoint_day(policy, name, day, now) for name in names]
    if as_json:
        print(json.dumps([{"endpoint": r.endpoint, **r.details()} for r in reports], indent=2, default=str))
    else:
        for report in reports:
            console.print(_table(report, console.width))
    if png:
        path = plot_day(reports, Path(png))
        if not as_json:
            console.print(f"picture: {path}")
    return 1 if any(c.error for r in reports for c in r.components) else 0


def _table(report: EndpointDay, width: int) -> Table:
    """The report as a table that fits ``width``: the least important columns go first."""
    rows = [{k: v for k, v in vars(c).items() if v is not None} for c in report.components]
    shown = [(key, title) for key, title in COLUMNS if any(key in r for r in rows)]
    while len(shown) > 3 and sum(max(len(title), 8) + 3 for _k, title in shown) > width:
        shown.pop()
    t = Table(title=report.summary(), title_justify="left")
    for _key, title in shown:
        t.add_column(title, overflow="fold")
    for r in rows:
        t.add_row(*(_cell(r.get(key)) for key, _title in shown))
    return t


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def plot_day(reports: list[EndpointDay], path: Path) -> Path:
    """Per endpoint, per component: what it cost against always-on (bars), and its refused and
    delayed requests beside the cold starts — what a person compares day to day (the palette of
    the backtest's month picture, ``simulator.pictures``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(
        len(reports), 2, figsize=(12, 1.5 + 0.6 * max(len(r.components) for r in reports) * len(reports)), squeeze=False
    )
    for (cost_ax, req_ax), report in zip(axes, reports, strict=True):
        rows = sorted((c for c in report.components if c.error is None), key=lambda c: c.always_on_usd)
        names = [c.component for c in rows]
        cost_ax.barh(names, [c.always_on_usd for c in rows], color=ALWAYS_ON_COLOUR, label="always-on at max_copies")
        cost_ax.barh(names, [c.cost_usd for c in rows], color=INSTANCE_COLOUR, label="icpilot")
        cost_ax.set_xlabel("$ (accelerator share of the instance)")
        cost_ax.set_title(f"{report.endpoint} · {report.day:%a %d %b %Y} ({report.timezone})", loc="left")
        cost_ax.legend(loc="lower right", fontsize=8)
        y = range(len(rows))
        req_ax.barh([i + 0.2 for i in y], [c.refused for c in rows], height=0.4, color=PENALTY_COLOUR, label="refused")
        req_ax.barh([i - 0.2 for i in y], [c.delayed for c in rows], height=0.4, color=DELAYED_COLOUR, label="delayed")
        req_ax.set_yticks(list(y), [f"{c.component} ({c.cold_starts} cold)" for c in rows])
        req_ax.set_xlabel("requests")
        req_ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
