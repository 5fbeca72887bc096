"""Logs hold no secrets and no request payloads, at DEBUG, through a probed warm-up and a
malformed event (Powertools writes JSON log lines to stdout)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from emulator import Emulator
from emulator.stack import Stack

EXAMPLE = Path(__file__).resolve().parents[1] / "policy.yaml"  # the integration world's policy
PROMPT = "PROMPT-MARKER-summarise the merger memo"
SECRET = "SECRET-MARKER-wJalrXUtnFEMI"


class Lines(logging.Handler):
    """Every log line as Powertools formats it (its own handler's formatter)."""

    def __init__(self, formatter: logging.Formatter | None) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def debug_logs() -> Iterator[Lines]:
    icpilot = logging.getLogger("icpilot")
    loggers = [logging.getLogger(n) for n in list(logging.root.manager.loggerDict) if n.startswith("icpilot")]
    levels = {lg: lg.level for lg in loggers}
    lines = Lines(icpilot.handlers[0].formatter if icpilot.handlers else None)
    icpilot.addHandler(lines)
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    yield lines
    icpilot.removeHandler(lines)
    for lg, level in levels.items():
        lg.setLevel(level)


def test_no_payload_or_secret_reaches_the_logs(
    stack: Stack,
    emu: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    debug_logs: Lines,
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    policy = yaml.safe_load(EXAMPLE.read_text())
    policy["endpoints"]["llm-endpoint"]["components"]["flan-t5-xxl"]["probe"] = {
        "payload": {"inputs": PROMPT},
        "max_latency_ms": 5000,
    }
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    monkeypatch.setenv("ICPILOT_POLICY_PATH", str(path))
    emu.configure_component("flan-t5-xxl", model_load_seconds=120)

    stack.invoke("alarm-scale", stack.alarm_event("alarm_scale_no_capacity.json"))
    emu.advance(4 * 60)  # loaded, probed with the payload, WarmUpCompleted
    stack.invoke("schedule-window", {"rule": f"llm-endpoint/{PROMPT}/x", "edge": "open", "extra": SECRET})
    logs = "\n".join(debug_logs.lines)
    assert '"level":"INFO"' in logs and '"lifecycle_event"' in logs  # the logs were captured at all
    assert any(e["type"] == "WarmUpCompleted" for e in stack.lifecycle_events())
    assert PROMPT not in logs.replace(f"llm-endpoint/{PROMPT}/x", "")  # the rule name is echoed, not a payload
    assert SECRET not in logs
