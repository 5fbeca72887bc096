"""``icpilot``: validate and inspect policies, see what the controller would do, and why.

Exit codes: 0 success; 1 the command ran and found a problem (invalid policy, AWS error);
2 wrong usage. Read commands accept ``--json`` for scripts. ``--endpoint-url`` points every AWS
client at the emulator (``python -m emulator``); otherwise the usual profile/region settings apply.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

import boto3
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)
from icpilot.errors import IcpilotError, PolicyError
from icpilot.settings import DEFAULT_POLICY_PATH

from icpilot_cli import policy_store, uninstall
from icpilot_cli.common import (
    _bounded,
    _client,
    _emit,
    errors,
)
from icpilot_cli.insight import cmd_forecast, cmd_lint, cmd_report
from icpilot_cli.observe import cmd_plan, cmd_status
from icpilot_cli.overrides import cmd_resume, cmd_scale
from icpilot_cli.policy_commands import cmd_init, cmd_schema, cmd_validate
from icpilot_cli.simulate import cmd_simulate

MAX_SIMULATED_DAYS = 92  # a quarter: minute-by-minute series of every strategy stay in memory


def cmd_uninstall(args: argparse.Namespace) -> int:
    if not args.plan:
        raise ValueError(
            "uninstall happens with `sam delete` (the stack gives everything back); --plan shows what it will do"
        )
    if args.restore_copies != "adopted" and not args.restore_copies.isdigit():
        raise ValueError("--restore-copies takes 'adopted' or a number of copies")
    rows = uninstall.plan(lambda service: _client(args, service), args.table, args.owner, args.restore_copies)
    _emit(
        args,
        rows,
        "what `sam delete` of this stack will give back (nothing is changed now)",
        ["component", "step", "detail"],
    )
    return 0


def cmd_deploy_policy(args: argparse.Namespace) -> int:
    row = policy_store.deploy(
        lambda service: _client(args, service), args.stack, args.stack_outputs, args.file, args.description
    )
    _emit(args, [row], f"policy {args.file} deployed to stack {args.stack}'s AppConfig profile", list(row))
    return 0


def _command(sub: Any, name: str, help: str) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` opens with the line ``icpilot --help`` shows for it."""
    return sub.add_parser(name, help=help, description=help)  # type: ignore[no-any-return]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="icpilot", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    default_policy = os.environ.get("ICPILOT_POLICY_PATH") or DEFAULT_POLICY_PATH

    v = _command(sub, "validate", help="validate a policy file; every problem with its path, value and allowed range")
    v.add_argument("file", help="the policy file (YAML or JSON)")
    v.set_defaults(func=cmd_validate)

    ini = _command(sub, "init", help="write a first policy from the endpoints and components the account holds")
    ini.add_argument("--output", "-o", default="policy.yaml", help="the policy file to write (default policy.yaml)")
    ini.add_argument("--endpoint", action="append", help="only this endpoint (repeatable; default: every one)")
    ini.add_argument("--force", action="store_true", help="replace the file if it exists")
    ini.add_argument("--endpoint-url", help="e.g. http://127.0.0.1:5055 for the emulator")
    ini.add_argument("--region", help="AWS region (default: the profile's or $AWS_DEFAULT_REGION)")
    ini.set_defaults(func=cmd_init)

    s = _command(sub, "schema", help="print the policy's JSON Schema (for editors)")
    s.add_argument("--output", "-o", help="write to this file instead of standard output")
    s.set_defaults(func=cmd_schema)

    def per_copy_options(cmd: argparse.ArgumentParser, offline: bool = False) -> None:
        """The endpoint a command assumes instead of observing it (simulate; plan --offline)."""
        also = "with --offline: " if offline else ""
        cmd.add_argument("--instance-type", default="ml.g5.24xlarge", help=f"{also}the endpoint's instance type")
        cmd.add_argument(
            "--max-instances", type=int, default=2, help=f"{also}ManagedInstanceScaling's maximum (default 2)"
        )
        cmd.add_argument(
            "--per-copy",
            type=lambda v: dict(x.split("=", 1) for x in v.split(";")),
            default={},
            help=f"{also}COMPONENT=ACCELERATORS,CORES,MEMORY_MB;... (default: the policy's per_copy)",
        )

    def aws_options(cmd: argparse.ArgumentParser) -> None:
        cmd.add_argument(
            "--policy", default=default_policy, help="policy file (default: $ICPILOT_POLICY_PATH or the bundled one)"
        )
        cmd.add_argument("--endpoint-url", help="e.g. http://127.0.0.1:5055 for the emulator")
        cmd.add_argument("--region", help="AWS region (default: the profile's or $AWS_DEFAULT_REGION)")
        cmd.add_argument(
            "--table",
            help="icpilot's state table (the stack's StateTable output; default $ICPILOT_STATE_TABLE)",
        )
        cmd.add_argument(
            "--stack",
            help="the icpilot stack to work with: its table, topic and alarms, read from its outputs once",
        )
        cmd.add_argument("--json", action="store_true", help="machine-readable output")

    dp = _command(
        sub, "deploy-policy", help="deploy a policy file to the stack's AppConfig profile (AppConfigPolicy=Enabled)"
    )
    dp.add_argument("file", help="the policy file (YAML or JSON); stored as JSON")
    dp.add_argument("--stack", required=True, help="the icpilot stack whose AppConfig profile receives it")
    dp.add_argument("--description", default="", help="kept with the hosted configuration version")
    dp.add_argument("--endpoint-url", help="e.g. http://127.0.0.1:5055 for the emulator")
    dp.add_argument("--region", help="AWS region (default: the profile's or $AWS_DEFAULT_REGION)")
    dp.add_argument("--json", action="store_true", help="machine-readable output")
    dp.set_defaults(func=cmd_deploy_policy)

    pl = _command(sub, "plan", help="what the controller would do now (or --at TIME) and why; changes nothing")
    aws_options(pl)
    pl.add_argument("--at", help="ISO-8601 time with offset, e.g. 2026-11-23T08:00:00+01:00")
    pl.add_argument("--autoscaling", action="store_true", help="also list the AAS/alarm changes configure would make")
    pl.add_argument("--wide", action="store_true", help="also the endpoint and SageMaker status columns")
    pl.add_argument(
        "--offline",
        action="store_true",
        help="no AWS: decide from the policy alone, every component InService at --copies (default 0)",
    )
    pl.add_argument("--copies", action="append", help="with --offline: COMPONENT=N, the current copies (repeatable)")
    per_copy_options(pl, offline=True)
    pl.set_defaults(func=cmd_plan)

    st = _command(sub, "status", help="per component: SageMaker status, copies, AAS bounds, window, last action")
    aws_options(st)
    st.add_argument("--endpoint", help="only this endpoint of the policy")
    st.add_argument("--wide", action="store_true", help="every column (bounds, next change, override, reason)")
    st.set_defaults(func=cmd_status)

    def writer_options(cmd: argparse.ArgumentParser) -> None:
        aws_options(cmd)
        cmd.set_defaults(table=os.environ.get("ICPILOT_STATE_TABLE", "icpilot-state"))
        cmd.add_argument("--topic-arn", default=os.environ.get("ICPILOT_TOPIC_ARN"), help="announce on this SNS topic")

    def reader_options(cmd: argparse.ArgumentParser) -> None:
        """For commands that read icpilot's state table and write nothing."""
        aws_options(cmd)
        cmd.set_defaults(table=os.environ.get("ICPILOT_STATE_TABLE", "icpilot-state"))

    sc = _command(sub, "scale", help="override: pin a component's copies for a while (automatic changes pause)")
    writer_options(sc)
    sc.add_argument("component", help="an inference component named in the policy")
    sc.add_argument("--copies", type=int, required=True, help="the copy count to hold (0 allowed)")
    sc.add_argument("--for", dest="duration", default="1h", help="how long, e.g. 30m, 2h (default 1h)")
    sc.add_argument("--reason", required=True, help="why (announced on SNS and kept in the state table)")
    sc.set_defaults(func=cmd_scale)

    rs = _command(sub, "resume", help="end a component's override now")
    writer_options(rs)
    rs.add_argument("component", help="an inference component named in the policy")
    rs.set_defaults(func=cmd_resume)

    li = _command(sub, "lint", help="conflicts between schedules, bounds, alarms and overrides")
    aws_options(li)
    li.add_argument(
        "--live", action="store_true", help="also compare with AAS and icpilot's state (needs AWS or --endpoint-url)"
    )
    li.add_argument("--strict", action="store_true", help="warnings fail too (exit 1)")
    li.set_defaults(func=cmd_lint)

    fc = _command(sub, "forecast", help="learned demand: the profile, the floor over the next 48 h, would vs did")
    reader_options(fc)
    fc.add_argument("component", nargs="?", help="one component (default: every one in the policy)")
    fc.add_argument("--png", help="also draw the next 7 days to this PNG file")
    fc.set_defaults(func=cmd_forecast)

    rp = _command(sub, "report", help="copy-hours and accelerator-hours per component, against always-on at max_copies")
    reader_options(rp)
    rp.add_argument("--since", default="24h", help="period to report, e.g. 24h or 7d (default 24h)")
    rp.add_argument(
        "--day",
        help="the daily report of this local day (YYYY-MM-DD), as the DailyReport event gave it: cost, saved, "
        "refused and delayed requests, cold starts, times to ready, forecast error, overrides",
    )
    rp.add_argument("--endpoint", help="with --day: only this endpoint of the policy")
    rp.add_argument("--png", help="with --day: also draw the report to this PNG file")
    rp.set_defaults(func=cmd_report)

    un = _command(sub, "uninstall", help="what deleting the stack gives back: --plan lists it, sam delete does it")
    reader_options(un)
    un.add_argument("--plan", action="store_true", help="list the steps (required: the stack's deletion does them)")
    un.add_argument(
        "--restore-copies",
        default="adopted",
        help="as the stack's RestoreCopiesOnDelete: 'adopted' (the copies at adoption) or a number",
    )
    un.set_defaults(func=cmd_uninstall)

    si = _command(
        sub,
        "simulate",
        help="backtest the policy on request traces: total cost of icpilot, AAS-only and always-on against both optima",
    )
    si.add_argument(
        "--policy", default=default_policy, help="policy file (default: $ICPILOT_POLICY_PATH or the bundled one)"
    )
    si.add_argument("--trace", required=True, help="trace file(s) in the Azure format, comma-separated")
    si.add_argument("--map", action="append", help="TRACE_FILE_NAME=COMPONENT (default: in policy order)")
    si.add_argument(
        "--shift",
        action="append",
        help="per trace (repeat in --trace order): move its requests by this much, e.g. 7d or -2h",
    )
    si.add_argument(
        "--offset",
        action="append",
        help="per trace: ignore its timestamps' date and place its first request this far into the run, e.g. 9h",
    )
    si.add_argument(
        "--tile-days",
        type=_bounded(0, MAX_SIMULATED_DAYS),
        default=0,
        help="repeat each trace N times, a whole number of days apart",
    )
    si.add_argument("--endpoint", help="the policy's endpoint to simulate (default: the first)")
    per_copy_options(si)
    si.add_argument(
        "--start",
        help="the run's start (ISO-8601 with offset; default: midnight UTC of the first trace's first request)",
    )
    si.add_argument(
        "--minutes", type=_bounded(1, MAX_SIMULATED_DAYS * 1440), default=1440, help="simulated minutes (default a day)"
    )
    si.add_argument(
        "--days",
        type=_bounded(1, MAX_SIMULATED_DAYS),
        help=f"simulated days (overrides --minutes; at most {MAX_SIMULATED_DAYS})",
    )
    si.add_argument(
        "--score-from",
        type=_bounded(0, MAX_SIMULATED_DAYS),
        default=0,
        metavar="DAY",
        help="count costs from this day of the run on (0 = the first; learned demand's history is not its score)",
    )
    si.add_argument(
        "--load",
        action="append",
        help="COMPONENT=DURATION: the run's model-load time (default 6m; same for every strategy)",
    )
    si.add_argument(
        "--patience",
        type=_bounded(1, 24 * 60),
        default=1,
        help="minutes a request may wait before it is refused (default 1)",
    )
    si.add_argument("--provisioning", default="6m", help="time to add an instance (default 6m)")
    si.add_argument(
        "--min-instances", type=_bounded(0, 100), default=0, help="instances kept running at zero copies (default 0)"
    )
    si.add_argument(
        "--optimum-seconds",
        type=float,
        default=60.0,
        help="time limit of each exact optimum's solve (default 60); the report states the gap reached",
    )
    si.add_argument("--out", default="out/backtest", help="directory for backtest.json and backtest.png")
    si.add_argument("--json", action="store_true", help="machine-readable output")
    si.set_defaults(func=cmd_simulate)
    return p


def _needs_aws(args: argparse.Namespace) -> bool:
    """Whether the command calls AWS (or the emulator): then it needs credentials before it starts."""
    if not hasattr(args, "endpoint_url") or getattr(args, "offline", False):
        return False
    return not (args.func is cmd_lint and not args.live)


def _use_stack(args: argparse.Namespace) -> None:
    """``--stack NAME``: the table, topic and alarm owner from the stack's outputs (one
    DescribeStacks), over ``--table``/``--topic-arn`` and their environment defaults."""
    args.owner = os.environ.get("ICPILOT_STACK_NAME") or "icpilot"
    if not getattr(args, "stack", None):
        return
    try:
        found = _client(args, "cloudformation").describe_stacks(StackName=args.stack)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            raise IcpilotError(f"no stack {args.stack!r} in this account and region (sam deploy makes it)") from None
        raise
    outputs = {o["OutputKey"]: o["OutputValue"] for o in found[0].get("Outputs", [])}
    if "StateTableName" not in outputs:
        raise IcpilotError(f"stack {args.stack!r} has no StateTableName output: is it an icpilot stack?")
    args.table = outputs["StateTableName"]
    if hasattr(args, "topic_arn"):
        args.topic_arn = outputs.get("EventsTopicArn", args.topic_arn)
    args.owner = args.stack
    args.stack_outputs = outputs
    args.default_mode = outputs.get("DefaultMode", "act")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # The controller logs structured JSON and EMF metrics for CloudWatch; on a terminal only
    # problems belong there.
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    for name in [n for n in logging.root.manager.loggerDict if n.startswith("icpilot")] + ["icpilot"]:
        logging.getLogger(name).setLevel(logging.WARNING)
    if _needs_aws(args) and boto3.Session().get_credentials() is None:
        errors.print(
            "[red]no AWS credentials: configure a profile, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
            "(testing/testing for the emulator)"
        )
        return 2
    try:
        _use_stack(args)
        return int(args.func(args))
    except BrokenPipeError:  # piped into head: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except NoRegionError:
        errors.print("[red]no AWS region: pass --region or set AWS_DEFAULT_REGION (or --endpoint-url for the emulator)")
        return 2
    except NoCredentialsError:
        errors.print("[red]no AWS credentials: configure a profile, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
        return 2
    except EndpointConnectionError as exc:
        errors.print(f"[red]cannot reach {exc.kwargs.get('endpoint_url', 'the AWS endpoint')}: is it running?")
        return 1
    except (BotoCoreError, ClientError) as exc:
        errors.print(f"[red]AWS call failed: {exc}")
        return 1
    except PolicyError as exc:
        for problem in exc.problems:
            errors.print(f"[red]✗[/] {problem}", highlight=False, soft_wrap=True)
        return 1
    except (argparse.ArgumentTypeError, ValueError) as exc:
        errors.print(f"[red]{exc}")
        return 2
    except IcpilotError as exc:
        errors.print(f"[red]{exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
