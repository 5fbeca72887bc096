"""A simulated Monday on the emulator: the seed endpoint, two LLM components, the example policy,
and real traffic replayed from traces/ (conv trace -> falcon-7b at 09:00, code trace ->
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
import re
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import boto3
from icpilot.domain.windows import bounds_at
from icpilot.policy import load_policy
from icpilot.policy.model import Policy
from icpilot.settings import DEFAULT_POLICY_PATH
from rich.console import Console
from rich.table import Table

from emulator import emulated_aws
from emulator.aas_ext import scaling_activities
from emulator.sagemaker_ext import invoke_component
from emulator.seed import create_seed
from emulator.stack import ACCOUNT, REGION, deploy_stack
from emulator.template import CustomResourceFailed

BERLIN = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class Minute:
    """One component at the end of one demo minute."""

    at: datetime
    desired: int
    loaded: int
    requests: int  # sent in that minute


COMPONENTS = ("falcon-7b", "flan-t5-xxl")
TRACES = Path(__file__).resolve().parents[1] / "traces"  # shipped in the repository (traces/README.md)
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
    parser.add_argument(
        "--hours", type=float, default=25.0, help="simulated hours (default 25: to Tuesday's 08:00 daily report)"
    )
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
        timeline: dict[str, list[Minute]] = {n: [] for n in COMPONENTS}
        marks: list[tuple[datetime, str, str]] = []
        served = Counter[str]()
        refused = Counter[str]()
        events = 0
        aas_seen = 0
        reports: list[dict[str, Any]] = []
        while emu.now() < end:
            local = emu.now().astimezone(BERLIN)
            sent = dict.fromkeys(COMPONENTS, 0)
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
                    sent[name] = count
            if night_request is not None and emu.now() >= night_request:
                night_request = None
                waited = night_client(emu, stack, console, marks)
                served["flan-t5-xxl"] += 1
                console.print(
                    f"{emu.now().astimezone(BERLIN):%H:%M} [cyan]client[/]  served after waiting {waited:.0f} s"
                )
            emu.advance(60)
            local = emu.now().astimezone(BERLIN)
            events += print_events(stack, console, local, marks, reports)
            aas_seen = print_aas_activities(emu, console, local, aas_seen)
            for name in COMPONENTS:
                rc = sm.describe_inference_component(InferenceComponentName=name)["RuntimeConfig"]
                timeline[name].append(Minute(local, rc["DesiredCopyCount"], rc["CurrentCopyCount"], sent[name]))
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
            copy_hours = sum(m.desired for m in timeline[name]) / 60
            limit = 4 if name == "falcon-7b" else 2
            table.add_row(
                name,
                str(served[name]),
                str(refused[name]),
                f"{copy_hours:.1f}",
                f"{limit * args.hours:.0f}",
                aas_counts(emu, name),
                str(timeline[name][-1].desired),
            )
        console.print(table)
        for report in reports[-1:]:
            print_daily_report(console, report, served, refused)
        policy = load_policy(Path(DEFAULT_POLICY_PATH))
        print_idle_above_floor(console, timeline, policy)
        png = plot(timeline, marks, policy, Path(args.out))
        invocations = emu.dispatcher.invocations
        failed = [i for i in invocations if i.error]
        console.print(
            f"handler invocations: {len(invocations)} ({len(failed)} failed); lifecycle events: {events}; timeline: {png}"
        )
        return 1 if failed else 0


UTC_INSTANT = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:\+00:00|Z)")


def in_local_time(text: str, local: datetime) -> str:
    """``text`` with the UTC instants icpilot writes in reasons (ETAs, guards) on the log's clock,
    so the whole log reads in one time zone: 2026-11-23T21:07:00+00:00 -> 22:07 in Berlin."""

    def local_clock(match: re.Match[str]) -> str:
        when = datetime.fromisoformat(match.group(0).replace("Z", "+00:00")).astimezone(local.tzinfo)
        return f"{when:%H:%M}" if when.date() == local.date() else f"{when:%a %H:%M}"

    return UTC_INSTANT.sub(local_clock, text)


def print_aas_activities(emu: Any, console: Console, local: datetime, seen: int) -> int:
    """Print what Application Auto Scaling itself did since the last call (its scaling activities:
    target tracking, the scale-from-zero step policy, bounds that clamped a count); the new total."""
    activities = scaling_activities()
    for a in activities[seen:]:
        console.print(
            f"{local:%H:%M} [blue]{'AAS scaling activity':<21}[/] {a.component:<12} {a.old}→{a.new:<3} {in_local_time(a.cause, local)}"
        )
    return len(activities)


def aas_counts(emu: Any, name: str) -> str:
    """How many times AAS scaled a component out and in during the run."""
    mine = [a for a in scaling_activities() if a.component == name]
    return f"{sum(a.new > a.old for a in mine)} / {sum(a.new < a.old for a in mine)}"


# The lifecycle events the PNG marks on each component's panel.
MARKED = {
    "WarmUpStarted": "warm-up",
    "WarmUpCompleted": "ready",
    "ScaledToZero": "to zero",
    "CapacityRefused": "capped",
    "CeilingReached": "ceiling",
}


def print_events(
    stack: Any,
    console: Console,
    local: datetime,
    marks: list[tuple[datetime, str, str]],
    reports: list[dict[str, Any]] | None = None,
) -> int:
    """Print the lifecycle events published since the last call, stamped ``local``; how many.
    The ones worth a mark on the PNG are added to ``marks`` as (time, component, label), daily
    reports to ``reports``."""
    count = 0
    for event in stack.lifecycle_events():
        count += 1
        if event["type"] == "DailyReport" and reports is not None:
            reports.append(event)
        if event["type"] in MARKED and event.get("component"):
            marks.append((local, event["component"], MARKED[event["type"]]))
        change = (
            f"{event['from_copies']}→{event['to_copies']}"
            if event.get("to_copies") is not None and event.get("from_copies") is not None
            else ""
        )
        colour = {"info": "green", "warning": "yellow", "error": "red"}[event["severity"]]
        console.print(
            f"{local:%H:%M} [{colour}]{event['type']:<21}[/] {event.get('component') or '-':<12} {change:<5} ({event['trigger']['kind']}) {in_local_time(event['reason'], local)}"
        )
    return count


def print_daily_report(console: Console, report: dict[str, Any], served: Counter[str], refused: Counter[str]) -> None:
    """The last DailyReport icpilot published, per component, beside what the demo itself sent:
    the report reads CloudWatch and the state table, the demo counted its own requests."""
    details = report["details"]
    table = Table(
        title=f"icpilot's daily report for {details['day']} ({details['timezone']}), published {report['time']}"
    )
    for col in (
        "component",
        "copy-hours",
        "$",
        "saved $",
        "requests (demo counted)",
        "refused (demo bulk traffic)",
        "delayed",
        "cold starts",
        "ready p50 s",
    ):
        table.add_column(col)
    for row in details["components"]:
        name = row["component"]
        table.add_row(
            name,
            f"{row.get('copy_hours', 0):.1f}",
            f"{row.get('cost_usd', 0):,.2f}",
            f"{row.get('saved_usd', 0):,.2f}",
            f"{row.get('requests', 0)} ({served[name]})",
            f"{row.get('refused', 0)} ({refused[name]})",
            str(row.get("delayed", 0)),
            str(row.get("cold_starts", 0)),
            str(row.get("time_to_ready_p50_s", "-")),
        )
    console.print(table)


def night_client(emu: Any, stack: Any, console: Console, marks: list[tuple[datetime, str, str]]) -> float:
    """22:00: an application asks flan-t5-xxl (at zero copies) through icpilot_client and waits
    through the cold start instead of failing; its log lines are printed on the emulator clock."""
    import logging
    import threading

    from icpilot_client import WarmAwareClient

    lock = threading.Lock()

    def virtual_sleep(seconds: float) -> None:  # the client's sleep moves the emulator clock
        with lock:
            print_events(stack, console, emu.now().astimezone(BERLIN), marks)  # what the demand signal set off
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
    print_events(stack, console, emu.now().astimezone(BERLIN), marks)
    return (emu.now() - began).total_seconds()


def print_idle_above_floor(console: Console, timeline: dict[str, list[Minute]], policy: Policy) -> None:
    """For each component, the longest it held copies above its floor after its traffic stopped,
    beside its idle delay (issue 33: an idle component comes down to its window's floor)."""
    for name, minutes in timeline.items():
        found = policy.component(name)
        if found is None or not minutes:
            continue
        cp = found[1]
        stretches = held_above_floor(minutes, [bounds_at(cp, m.at).floor for m in minutes])
        if not stretches:
            continue
        when, held = max(stretches, key=lambda s: s[1])
        delay = cp.idle_delay
        said = f"idle delay {int(delay.total_seconds() // 60)} min" if delay else f"idle {cp.idle_scale_to_zero_after}"
        console.print(
            f"{name}: after its traffic stopped, above its floor for {held} min at most "
            f"(from {when:%H:%M}; {said}; {len(stretches)} times traffic stopped)"
        )


def held_above_floor(minutes: list[Minute], floors: list[int]) -> list[tuple[datetime, int]]:
    """Each time a component's traffic stopped (a minute with requests, then one without): when,
    and for how many minutes after it the component still held more copies than the floor in
    force (until its copies came down to the floor, or its traffic came back). What the idle rule
    must keep short: the idle delay, and the step down to the floor after it."""
    stretches: list[tuple[datetime, int]] = []
    for i in range(1, len(minutes)):
        if minutes[i - 1].requests == 0 or minutes[i].requests > 0:
            continue  # not the first quiet minute after traffic
        held = 0
        for m, floor in zip(minutes[i:], floors[i:], strict=True):
            if m.requests > 0 or m.desired <= floor:
                break
            held += 1
        stretches.append((minutes[i].at, held))
    return stretches


def plot(timeline: dict[str, list[Minute]], marks: list[tuple[datetime, str, str]], policy: Policy, out: Path) -> Path:
    """One panel per component on the Berlin clock: desired and loaded copies (whole numbers), the
    requests sent each minute (right axis), the policy's windows shaded, and the lifecycle events
    that matter to a reader marked where they happened."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(len(timeline), 1, figsize=(13, 7), sharex=True)
    policies = {c: cp for _, c, cp in policy.components()}
    for ax, (name, minutes) in zip(axes, timeline.items(), strict=True):
        times = [m.at for m in minutes]
        traffic = ax.twinx()
        traffic.fill_between(times, [m.requests for m in minutes], step="post", color="0.85", label="requests/min")
        traffic.set_ylabel("requests/min", color="0.45")
        traffic.set_ylim(bottom=0)
        traffic.tick_params(axis="y", colors="0.45")
        ax.set_zorder(traffic.get_zorder() + 1)
        ax.patch.set_visible(False)
        cp = policies.get(name)
        if cp is not None:  # the policy's windows: where a floor above zero holds
            floors = [bounds_at(cp, t).floor for t in times]
            ax.fill_between(
                times,
                0,
                1,
                where=[f > 0 for f in floors],
                step="post",
                transform=ax.get_xaxis_transform(),
                color="tab:green",
                alpha=0.08,
                label="window (floor > 0)",
            )
        ax.step(times, [m.desired for m in minutes], where="post", label="desired copies", color="tab:blue")
        ax.step(times, [m.loaded for m in minutes], where="post", label="loaded copies", color="tab:orange")
        for at, component, label in marks:
            if component == name:
                ax.axvline(at, color="0.3", linestyle=":", linewidth=0.8)
                ax.annotate(
                    label,
                    (at, 1.0),
                    xycoords=("data", "axes fraction"),
                    rotation=90,
                    fontsize=7,
                    va="top",
                    ha="right",
                    color="0.3",
                )
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(bottom=0)
        ax.set_ylabel(f"{name}\ncopies")
        ax.legend(loc="upper right", fontsize=8)
    axes[0].set_title("icpilot demo: a simulated Monday (Europe/Berlin)")
    axes[-1].xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=BERLIN))
    axes[-1].set_xlabel("time (Europe/Berlin)")
    fig.tight_layout()
    path = out / "demo-timeline.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


if __name__ == "__main__":
    sys.exit(main())
