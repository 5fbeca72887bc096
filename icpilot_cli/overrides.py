"""``icpilot scale`` and ``resume``: an operator's override, through the controller the Lambdas run."""

from __future__ import annotations

import argparse

from icpilot.policy.model import parse_duration

from icpilot_cli.common import (
    _controller,
    _load,
    _now,
    _summary,
    console,
)


def cmd_scale(args: argparse.Namespace) -> int:
    policy = _load(args)
    now = _now(args)
    until = now + parse_duration(args.duration)
    summary = _controller(args, policy).set_override(args.component, args.copies, until, args.reason, now)
    return _summary(
        args,
        summary,
        f"override {args.component} to {args.copies} copies until {until.isoformat()}",
        f"override of {args.component} NOT set",
    )


def cmd_resume(args: argparse.Namespace) -> int:
    policy = _load(args)
    controller = _controller(args, policy)
    found = policy.component(args.component)
    if found is not None and controller.state.get(found[0], args.component).state.override_copies is None:
        console.print(f"{args.component} has no override in force: nothing to resume", soft_wrap=True)
        return 0
    summary = controller.end_override(args.component, _now(args))
    return _summary(args, summary, f"{args.component}: automatic scaling resumed", f"{args.component}: resume NOT done")
