"""``python -m emulator``: serve moto plus the IC emulator until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from datetime import datetime

from moto import mock_aws

from . import FAKE_CREDENTIALS
from .core import EMULATOR
from .server import EmulatorServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1 only)")
    parser.add_argument("--port", type=int, default=5055, help="port (default 5055; 0 picks a free one)")
    parser.add_argument(
        "--clock", choices=["virtual", "wall"], default="virtual", help="virtual: advanced via POST /_emulator/clock"
    )
    parser.add_argument("--start", help="virtual clock start, ISO-8601 with offset (default 2026-11-23T06:00Z)")
    parser.add_argument("--model-load-seconds", type=float, help="default model-load time per copy")
    parser.add_argument(
        "--seed",
        type=int,
        metavar="COPIES",
        help="create the seed endpoint llm-endpoint (flan-t5-xxl, falcon-7b) with this many copies each, "
        "so the operator CLI has something to show",
    )
    parser.add_argument(
        "--stack",
        nargs="?",
        const="icpilot",
        metavar="NAME",
        help="also deploy template.yaml as stack NAME (default icpilot) into the server, as sam deploy would: "
        "its functions run on the emulator clock and every operator command works with --stack NAME",
    )
    args = parser.parse_args(argv)
    start = datetime.fromisoformat(args.start) if args.start else None
    if start is not None and start.tzinfo is None:
        parser.error("--start needs a time zone offset, e.g. 2026-11-23T06:00:00+00:00")
    EMULATOR.reset(args.clock, start)
    EMULATOR.clock.follow_process()  # moto's own timestamps and expiries run on the emulator clock
    if args.model_load_seconds is not None:
        EMULATOR.settings.model_load_seconds = args.model_load_seconds
    # Handlers first: a signal that arrives right after the URL is printed must still stop cleanly.
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    # With a stack, the functions it hosts call AWS from this process: moto's in-process mock routes
    # them to the same backends the server serves (an HTTP call back into the server would wait on
    # the emulator's lock the calling handler holds).
    mock = mock_aws() if args.stack else None
    if mock is not None:
        mock.start()
        os.environ.update(FAKE_CREDENTIALS)
    server = EmulatorServer(args.host, args.port).start()
    if args.seed is not None:
        _seed(server.url, args.seed)
    if args.stack:
        _deploy(args.stack)
    print(
        f"icpilot emulator listening on {server.url} (clock: {args.clock}, now {EMULATOR.now().isoformat()})",
        flush=True,
    )
    if args.seed is not None:
        print(
            f"seeded llm-endpoint; try: AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "
            f".venv/bin/icpilot status --endpoint-url {server.url} --region us-east-1",
            flush=True,
        )
    if args.stack:
        print(
            f"deployed stack {args.stack!r}; try: .venv/bin/icpilot status --endpoint-url {server.url} --stack {args.stack}",
            flush=True,
        )
    stop.wait()
    server.stop()
    if mock is not None:
        mock.stop()
    print("icpilot emulator stopped", flush=True)
    return 0


def _deploy(name: str) -> None:
    """template.yaml as ``sam deploy`` would make it (``emulator.stack``), custom resources included."""
    from .stack import deploy_stack

    with EMULATOR.lock:
        deploy_stack(name=name)


def _seed(url: str, copies: int) -> None:
    """The seed scenario through the server's own API, then the clock past the copies' load."""
    import boto3

    from .seed import create_seed

    sm = boto3.client(
        "sagemaker",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    create_seed(sm, copies=copies)
    if EMULATOR.clock.mode == "virtual":
        EMULATOR.advance(EMULATOR.settings.model_load_seconds + 60)


if __name__ == "__main__":
    sys.exit(main())
