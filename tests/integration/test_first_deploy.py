"""A first deploy that cannot spam: the bundled policy (which names the emulator's llm-endpoint) on
an account without that endpoint, for 24 emulated hours of the stack's own schedules."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from emulator import EMULATOR
from emulator.stack import Stack, deploy_stack
from tests.conftest import fresh_account

pytestmark = pytest.mark.real_clock  # the emulator, deployed here


@pytest.fixture
def empty_account_stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    with fresh_account(monkeypatch):
        yield deploy_stack()  # the bundled policy, as `sam deploy` ships it


def test_the_bundled_policy_on_an_account_without_its_endpoint_warns_once_and_never_errs(
    empty_account_stack: Stack,
) -> None:
    stack = empty_account_stack
    EMULATOR.alarm_evaluation_interval = 60
    events: list[dict[str, str]] = []
    for _hour in range(24):
        EMULATOR.advance(3600)
        events += stack.lifecycle_events()
    kinds = Counter((e["type"], e["severity"]) for e in events)
    configure_runs = sum(1 for i in EMULATOR.dispatcher.invocations if "configure" in i.function)
    assert configure_runs >= 24 * 4  # every 15 minutes
    assert not [e for e in events if e["severity"] == "error"], kinds
    assert kinds[("PolicyMismatch", "warning")] == 1  # one per episode, far under one per configure run
    mismatch = next(e for e in events if e["type"] == "PolicyMismatch")
    assert "falcon-7b" in mismatch["reason"] and "flan-t5-xxl" in mismatch["reason"]
    assert sum(n for (_t, severity), n in kinds.items() if severity == "warning") <= 3, kinds
    assert not [e for e in events if e["type"] == "AutoScalingConfigured"]  # nothing was created
    assert not [i for i in EMULATOR.dispatcher.invocations if i.error]
