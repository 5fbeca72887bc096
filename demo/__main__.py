"""A simulated Monday on the emulator: the seed endpoint, two LLM components, the example policy,
and real traffic replayed from ../shared/traces (conv trace -> falcon-7b at 09:00, code trace ->
flan-t5-xxl at 14:00, Berlin time; quiet nights).

Everything runs through the real wiring: ``deploy_stack`` creates what template.yaml creates, the
deploy-time custom resources reconcile schedules and configure AAS and icpilot's alarms, the
emulator's clock fires schedules into the real Lambda handlers, CloudWatch alarms are evaluated
every minute and their state changes reach the alarm function through the EventBridge rule, and
the watcher follows warm-ups. Every lifecycle event is printed as it is published (read from an
SQS subscription to the SNS topic). At the end: a summary table and a PNG timeline.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import boto3
from rich.console import Console
from rich.table import Table

from emulator import emulated_aws
from emulator.aas_ext import scaling_activities
from emulator.sagemaker_ext import invoke_component
from emulator.seed import create_seed
from emulator.stack import ACCOUNT, REGION, deploy_stack
from emulator.template import CustomResourceFailed

BERLIN = ZoneInfo("Europe/Berlin")
COMPONENTS = ("falcon-7b", "flan-t5-xxl")
TRACES = Path(__file__).resolve().parents[2] / "shared" / "traces"
REPLAY = {"falcon-7b": ("AzureLLMInferenceTrace_conv.csv", 9), "flan-t5-xxl": ("AzureLLMInferenceTrace_code.csv", 14)}
# After falcon's morning burst, the office's background chatter until 18:00 Berlin: light enough
# (a few requests per copy a minute) that AAS target tracking takes falcon back toward its floor.
BACKGROUND = {"falcon-7b": (18, 12)}  # until this hour, requests a minute


def per_minute(path: Path) -> list[int]:
    """Requests per minute of a trace, from its first request."""
    stamps = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            stamps.append(datetime.fromisoformat(row["TIMESTAMP"][:26]))
    counts = Counter(int((t - stamps[0]).total_seconds() // 60) for t in stamps)
    return [counts.get(m, 0) for m in range(max(counts) + 1)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours (default 24)")
    parser.add_argument("--out", default="out/demo", help="where the PNG timeline goes")
    args = parser.parse_args(argv)
    console = Console(width=170)
    traffic: dict[str, list[int]] = {}
    for name, (file, _hour) in REPLAY.items():
        if (TRACES / file).exists():
            traffic[name] = per_minute(TRACES / file)
        else:
            console.print(f"[yellow]{TRACES / file} not found: {name} gets no traffic")
    with emulated_aws() as emu:
        emu.settings.model_load_seconds = 360
        emu.configure_component("flan-t5-xxl", model_load_seconds=480)
        emu.alarm_evaluation_interval = 60
        sm = boto3.client("sagemaker", region_name=REGION)
        create_seed(sm, copies=0)
        emu.advance(90)  # deploy a little after the hour, as a person would
        try:
            stack = deploy_stack()  # template.yaml, with its deploy-time custom resources (reconcile, configure)
        except CustomResourceFailed as exc:
            console.print(f"[red]the deploy failed: {exc}")
            return 1
        console.rule("[bold]icpilot demo — a simulated Monday on the emulator")
        console.print(
            f"endpoint llm-endpoint (ml.g5.24xlarge, 1..2 instances); clock starts {emu.now().astimezone(BERLIN):%a %H:%M %Z}"
        )
        start = emu.now()
        end = start + timedelta(hours=args.hours)
        night_request = start.astimezone(BERLIN).replace(hour=22, minute=0) if args.hours >= 15.5 else None
        timeline: dict[str, list[tuple[float, int, int]]] = {n: [] for n in COMPONENTS}
        served = Counter[str]()
        refused = Counter[str]()
        events = 0
        aas_seen = 0
        while emu.now() < end:
            local = emu.now().astimezone(BERLIN)
            for name, (_file, hour) in REPLAY.items():
                minute = int(
                    (local - local.replace(hour=hour, minute=0, second=0, microsecond=0)).total_seconds() // 60
                )
                series = traffic.get(name, [])
                count = series[minute] if 0 <= minute < len(series) else 0
                until, background = BACKGROUND.get(name, (0, 0))
                if series and minute >= len(series) and local.hour < until:
                    count = background
                if count:
                    ok, no = invoke_component(ACCOUNT, REGION, name, count)
                    served[name] += ok
                    refused[name] += no
            if night_request is not None and emu.now() >= night_request:
                night_request = None
                waited = night_client(emu, stack, console)
                served["flan-t5-xxl"] += 1
                console.print(
                    f"{emu.now().astimezone(BERLIN):%H:%M} [cyan]client[/]  served after waiting {waited:.0f} s"
                )
            emu.advance(60)
            local = emu.now().astimezone(BERLIN)
            events += print_events(stack, console, local)
            aas_seen = print_aas_activities(emu, console, local, aas_seen)
            hours = (emu.now() - start).total_seconds() / 3600
            for name in COMPONENTS:
                rc = sm.describe_inference_component(InferenceComponentName=name)["RuntimeConfig"]
                timeline[name].append((hours, rc["DesiredCopyCount"], rc["CurrentCopyCount"]))
        table = Table(
            title=f"The simulated day ({start.astimezone(BERLIN):%a %H:%M} to {emu.now().astimezone(BERLIN):%a %H:%M %Z})"
        )
        for col in (
            "component",
            "requests served",
            "refused (cold)",
            "copy-hours",
            "always-on copy-hours",
            "AAS out / in",
            "final copies",
        ):
            table.add_column(col)
        for name in COMPONENTS:
            copy_hours = sum(d for _, d, _ in timeline[name]) / 60
            limit = 4 if name == "falcon-7b" else 2
            table.add_row(
                name,
                str(served[name]),
                str(refused[name]),
                f"{copy_hours:.1f}",
                f"{limit * args.hours:.0f}",
                aas_counts(emu, name),
                str(timeline[name][-1][1]),
            )
        console.print(table)
        png = plot(timeline, traffic, Path(args.out))
        invocations = emu.dispatcher.invocations
        failed = [i for i in invocations if i.error]
        console.print(
            f"handler invocations: {len(invocations)} ({len(failed)} failed); lifecycle events: {events}; timeline: {png}"
        )
        return 1 if failed else 0


def print_aas_activities(emu: Any, console: Console, local: datetime, seen: int) -> int:
    """Print what Application Auto Scaling itself did since the last call (its scaling activities:
    target tracking, the scale-from-zero step policy, bounds that clamped a count); the new total."""
    activities = scaling_activities()
    for a in activities[seen:]:
        console.print(
            f"{local:%H:%M} [blue]{'AAS scaling activity':<21}[/] {a.component:<12} {a.old}→{a.new:<3} {a.cause[:110]}"
        )
    return len(activities)


def aas_counts(emu: Any, name: str) -> str:
    """How many times AAS scaled a component out and in during the run."""
    mine = [a for a in scaling_activities() if a.component == name]
    return f"{sum(a.new > a.old for a in mine)} / {sum(a.new < a.old for a in mine)}"


def print_events(stack: Any, console: Console, local: datetime) -> int:
    """Print the lifecycle events published since the last call, stamped ``local``; how many."""
    count = 0
    for event in stack.lifecycle_events():
        count += 1
        change = (
            f"{event['from_copies']}→{event['to_copies']}"
            if event.get("to_copies") is not None and event.get("from_copies") is not None
            else ""
        )
        colour = {"info": "green", "warning": "yellow", "error": "red"}[event["severity"]]
        console.print(
            f"{local:%H:%M} [{colour}]{event['type']:<21}[/] {event.get('component') or '-':<12} {change:<5} ({event['trigger']['kind']}) {event['reason'][:110]}"
        )
    return count


def night_client(emu: Any, stack: Any, console: Console) -> float:
    """22:00: an application asks flan-t5-xxl (at zero copies) through icpilot_client and waits
    through the cold start instead of failing; its log lines are printed on the emulator clock."""
    import logging
    import threading

    from icpilot_client import WarmAwareClient

    lock = threading.Lock()

    def virtual_sleep(seconds: float) -> None:  # the client's sleep moves the emulator clock
        with lock:
            print_events(stack, console, emu.now().astimezone(BERLIN))  # what the demand signal set off
            emu.advance(seconds)

    class ToConsole(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            console.print(f"{emu.now().astimezone(BERLIN):%H:%M} [cyan]client[/]  {record.getMessage()}")

    log = logging.getLogger("icpilot_client")
    handler = ToConsole()
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    client = WarmAwareClient(
        event_bus=stack.demand_bus,
        state_table=stack.table,
        runtime=boto3.client("sagemaker-runtime", region_name=REGION),
        events=boto3.client("events", region_name=REGION),
        dynamodb=boto3.client("dynamodb", region_name=REGION),
        sleep=virtual_sleep,
        clock=lambda: emu.now().timestamp(),
    )
    began = emu.now()
    console.print(f"{began.astimezone(BERLIN):%H:%M} [cyan]client[/]  a night request to flan-t5-xxl (0 copies)")
    try:
        client.invoke(EndpointName="llm-endpoint", InferenceComponentName="flan-t5-xxl", Body=b'{"inputs": "hi"}')
    finally:
        log.removeHandler(handler)
    print_events(stack, console, emu.now().astimezone(BERLIN))
    return (emu.now() - began).total_seconds()


def plot(timeline: dict[str, list[tuple[float, int, int]]], traffic: dict[str, list[int]], out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(len(timeline), 1, figsize=(12, 6), sharex=True)
    for ax, (name, points) in zip(axes, timeline.items(), strict=True):
        hours = [h for h, _, _ in points]
        ax.step(hours, [d for _, d, _ in points], where="post", label="desired copies")
        ax.step(hours, [c for _, _, c in points], where="post", label="loaded copies")
        ax.set_ylabel(name)
        ax.legend(loc="upper right", fontsize=8)
    axes[0].set_title("icpilot demo: copies over the simulated day (hours from deploy)")
    axes[-1].set_xlabel("hours")
    fig.tight_layout()
    path = out / "demo-timeline.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


if __name__ == "__main__":
    sys.exit(main())
