"""What every ``icpilot`` command shares: AWS clients, times and bounds, tables (rich), the policy with
the stack's default mode, and the controller the Lambdas run."""

from __future__ import annotations

import argparse
import json
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from icpilot.adapters.aws import retry_config
from icpilot.controller import Controller, RunSummary
from icpilot.domain.capacity import Reservation
from icpilot.policy import load_policy
from icpilot.policy.model import Policy
from icpilot.policy.source import with_default_mode
from icpilot.runtime import build_controller
from icpilot.settings import Settings
from rich.console import Console
from rich.table import Table

console = Console()
errors = Console(stderr=True, soft_wrap=True)  # one error, one line: terminals wrap, greps match


# Times a command accepts: wide enough for any plan or backtest, narrow enough that adding a day, a
# lead or a year of minutes to one never leaves what datetime can hold (year 9999 used to crash).
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)


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


def _load(args: argparse.Namespace) -> Policy:
    """The policy file, with the stack's DefaultMode where it sets no mode (``--stack``)."""
    return with_default_mode(load_policy(args.policy), getattr(args, "default_mode", None) or "act")


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
