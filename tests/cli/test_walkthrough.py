"""The README's operator walkthrough, run as written: ``python -m emulator --seed 1 --stack`` in one
process, each command of the walkthrough block in another (the emulator's URL put in for :5055)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import ServerProcess

pytestmark = pytest.mark.real_clock  # an emulator server in a subprocess

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED_URL = "http://127.0.0.1:5055"


def walkthrough() -> list[str]:
    """The commands of the README's walkthrough block, comments dropped."""
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- walkthrough -->", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.split("    #")[0].strip() for line in block.splitlines() if line.strip()]


def test_the_readme_starts_the_emulator_with_the_stack() -> None:
    assert ".venv/bin/python -m emulator --seed 1 --stack" in (ROOT / "README.md").read_text()


def test_the_readme_walkthrough_runs_as_written() -> None:
    server = ServerProcess("--seed", "1", "--stack")
    try:
        commands = walkthrough()
        assert commands[0].startswith("export ") and len(commands) >= 9
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "icpilot")])}
        for pair in re.findall(r"(\w+)=(\S+)", commands[0]):
            env[pair[0]] = pair[1]
        for command in commands[1:]:
            argv = shlex.split(command.replace(DOCUMENTED_URL, server.url))
            if argv[0] == ".venv/bin/icpilot":  # this interpreter's icpilot, whichever venv runs the tests
                argv = [sys.executable, "-m", "icpilot_cli.main", *argv[1:]]
            done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
            assert "Traceback" not in done.stderr, command
            if "report --day" in command:
                assert "2026-11-23 on llm-endpoint" in done.stdout
    finally:
        server.stop()
