"""``icpilot simulate``: a trace or scenario through the simulator under the policy, every strategy
beside the exact optimum."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from icpilot.policy.model import parse_duration

from icpilot_cli.common import (
    _emit,
    _load,
    _reservations,
    _when,
    console,
)


def cmd_simulate(args: argparse.Namespace) -> int:
    from simulator.backtest import TraceSpec, backtest, write
    from simulator.recommend import recommendations
    from simulator.traces import first_midnight

    policy = _load(args)
    endpoint = args.endpoint or next(iter(policy.endpoints))
    if endpoint not in policy.endpoints:
        raise ValueError(f"--endpoint {endpoint!r} is not in the policy")
    mapping = dict(m.split("=", 1) for m in args.map) if args.map else {}
    files = [f for f in args.trace.split(",") if f]
    names = list(policy.endpoints[endpoint].components)
    unknown = sorted(set(mapping) - {Path(f).name for f in files} - set(files))
    if unknown:
        raise ValueError(f"--map names trace(s) not given with --trace: {', '.join(unknown)}")
    if args.offset and args.shift:
        raise ValueError("--offset (place each trace's first request in the run) and --shift are exclusive")
    specs = []
    for i, path in enumerate(files):
        component = mapping.get(Path(path).name) or mapping.get(path) or (names[i] if i < len(names) else None)
        if component is None:
            raise ValueError(f"no component for trace {path}: add --map {Path(path).name}=COMPONENT")
        moves = args.offset or args.shift or []
        move = moves[i] if i < len(moves) else "0s"
        sign = -1 if move.startswith("-") else 1
        move_minutes = sign * int(parse_duration(move.lstrip("-")).total_seconds() // 60)
        specs.append(TraceSpec(path, component, move_minutes, False, not args.offset, args.tile_days))
    reservations = _reservations(args, policy, endpoint, names)
    loads = {}
    for item in args.load or []:
        name, _, value = item.partition("=")
        if name not in names or not value:
            raise ValueError(f"--load {item!r}: expected COMPONENT=DURATION with a component of {endpoint}")
        loads[name] = max(1, round(parse_duration(value).total_seconds() / 60))
    minutes = args.days * 1440 if args.days else args.minutes
    if not 0 < args.optimum_seconds <= 3600:
        raise ValueError(f"--optimum-seconds {args.optimum_seconds} is outside (0, 3600]")
    if args.score_from * 1440 >= minutes:
        raise ValueError(f"--score-from {args.score_from} leaves nothing to score in a run of {minutes / 1440:g} days")
    start = _when(args.start) if args.start else first_midnight(files[0])
    if args.score_from < 0 or args.score_from * 1440 >= minutes:
        raise ValueError(f"--score-from {args.score_from}: a day of the run, 0..{minutes // 1440 - 1}")
    report = backtest(
        policy,
        endpoint,
        args.instance_type,
        args.max_instances,
        reservations,
        specs,
        start,
        minutes,
        load_minutes=loads,
        patience=args.patience,
        provisioning_minutes=int(parse_duration(args.provisioning).total_seconds() // 60),
        min_instances=args.min_instances,
        optimum_seconds=args.optimum_seconds,
        score_from=args.score_from * 1440,
    )
    recommended = recommendations(report)
    report["recommendations"] = [{**asdict(r), "policy_change": r.policy_change} for r in recommended]
    json_path, png_path = write(report, args.out)
    rows = [
        {"strategy": k, **{f: v for f, v in row.items() if f != "components"}}
        for k, row in report["strategies"].items()
    ]
    if args.json:
        print(
            json.dumps(
                {
                    "report": str(json_path),
                    "png": str(png_path),
                    "strategies": rows,
                    "recommendations": report["recommendations"],
                },
                indent=2,
                default=str,
            )
        )
    else:
        _emit(
            args,
            rows,
            f"backtest ({report['days']} days) -> {json_path}, {png_path}",
            [
                "strategy",
                "instance_hours",
                "instance_usd",
                "refused",
                "delayed",
                "penalty_usd",
                "total_usd",
                "bound_usd",
                "gap_pct",
                "ratio_to_bound",
                "ratio_to_reactive_bound",
            ],
            drop_order=[
                "instance_hours",
                "bound_usd",
                "gap_pct",
                "ratio_to_reactive_bound",
                "delayed",
                "penalty_usd",
                "refused",
            ],
        )
        for r in recommended:
            console.print(f"[bold]Recommended: {r.action} {r.component}[/bold]: {r.reason}.")
            console.print(f"In the policy, under {r.component}:\n{r.policy_change}", markup=False)
    return 0
