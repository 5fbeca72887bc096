"""A simulated Monday on the emulator: the seed endpoint, two LLM components, the example policy.

Everything runs through the real wiring: ``deploy_stack`` creates what template.yaml creates, the
tick's deploy-time reconcile turns the policy into Scheduler schedules, and the emulator's clock
fires them into the real Lambda handlers. Each lifecycle event is printed as it is published (read
from an SQS subscription to the SNS topic), with the components' copy counts.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from zoneinfo import ZoneInfo

import boto3
from rich.console import Console
from rich.table import Table

from emulator import emulated_aws
from emulator.stack import deploy_stack
from tests.harness import create_seed

BERLIN = ZoneInfo("Europe/Berlin")
COMPONENTS = ("falcon-7b", "flan-t5-xxl")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours (default 24)")
    parser.add_argument("--step-minutes", type=float, default=5.0, help="clock step between looks (default 5)")
    args = parser.parse_args(argv)
    console = Console(width=160)
    with emulated_aws() as emu:
        emu.settings.model_load_seconds = 360
        emu.configure_component("flan-t5-xxl", model_load_seconds=480)
        sm = boto3.client("sagemaker", region_name="us-east-1")
        create_seed(sm, copies=0)
        emu.advance(90)  # deploy a little after the hour, as a person would: ticks fall at :x6:30
        stack = deploy_stack()
        console.rule("[bold]icpilot demo — a simulated Monday on the emulator")
        console.print(
            f"endpoint llm-endpoint (ml.g5.24xlarge, 1..2 instances), components {', '.join(COMPONENTS)}; clock starts {emu.now().astimezone(BERLIN):%a %H:%M %Z}"
        )
        summary = stack.invoke(
            "watch-tick", stack.handler_event("watch_tick_cfn_create.json") | {"ResponseURL": "local"}
        )
        if summary is None or (not summary.get("ok", False) and summary.get("policy_error")):
            console.print(f"[red]deploy-time reconcile failed: {summary}")
            return 1
        console.print(f"schedules reconciled on deploy: {summary['schedules']}")
        seen_events = 0
        end = emu.now() + timedelta(hours=args.hours)
        last_state: dict[str, tuple[str, int, int]] = {}
        while emu.now() < end:
            emu.advance(args.step_minutes * 60)
            local = emu.now().astimezone(BERLIN)
            for event in stack.lifecycle_events():
                seen_events += 1
                change = f"{event['from_copies']}→{event['to_copies']}" if event.get("to_copies") is not None else ""
                colour = {"info": "green", "warning": "yellow", "error": "red"}[event["severity"]]
                console.print(
                    f"{local:%H:%M} [{colour}]{event['type']:<15}[/] {event.get('component') or '-':<12} {change:<5} ({event['trigger']['kind']}) {event['reason']}"
                )
            for name in COMPONENTS:
                d = sm.describe_inference_component(InferenceComponentName=name)
                state = (
                    d["InferenceComponentStatus"],
                    d["RuntimeConfig"]["DesiredCopyCount"],
                    d["RuntimeConfig"]["CurrentCopyCount"],
                )
                if last_state.get(name) != state:
                    console.print(
                        f"{local:%H:%M} [cyan]{'SageMaker':<15}[/] {name:<12} {state[0]}, desired {state[1]}, current {state[2]}"
                    )
                    last_state[name] = state
        table = Table(title=f"End of the simulated day ({emu.now().astimezone(BERLIN):%a %H:%M %Z})")
        for col in ("component", "status", "desired", "current"):
            table.add_column(col)
        for name in COMPONENTS:
            status, desired, current = last_state[name]
            table.add_row(name, status, str(desired), str(current))
        console.print(table)
        invocations = emu.dispatcher.invocations
        failed = [i for i in invocations if i.error]
        console.print(
            f"handler invocations: {len(invocations)} ({len(failed)} failed); lifecycle events: {seen_events}"
        )
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
