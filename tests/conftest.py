from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest
from hypothesis import settings

from emulator import Emulator, emulated_aws
from emulator.stack import Stack, deploy_stack
from tests import real_clock
from tests.harness import Harness, ServerProcess, create_seed
from tests.strength import CI_STRENGTH

# Hypothesis strength per profile (``pytest --hypothesis-profile=dev``). Tests state their example
# counts at ``ci`` strength through ``tests.strength.examples`` and scale with the profile: ``ci``
# (the default, what ``make test`` runs) is today's full strength, ``dev`` (``make check``) a tenth.
settings.register_profile("ci", max_examples=CI_STRENGTH)
settings.register_profile("dev", max_examples=CI_STRENGTH // 10)
settings.load_profile("ci")

# Fixtures that bring up the emulator, and with it the libraries that read the real clock (moto's
# SQS retention and visibility, Powertools' idempotency expiry and parameter cache, botocore's
# signing and retry bucket): a test using one is marked ``real_clock`` and runs again in the
# moved-clock passes (``make clock-guard``). Modules that start the emulator themselves carry the mark.
CLOCK_FIXTURES = frozenset({"emulator", "aws", "stack", "chat_stack", "emu", "emulator_server", "world"})

# The policy every deployed test stack runs (see its header); the CLI follows it through ICPILOT_POLICY_PATH.
INTEGRATION_POLICY = Path(__file__).resolve().parent / "policy.yaml"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--real-clock-shift",
        default=None,
        help="move the real clock by this much for the session (e.g. +365d, -365d): proves no test depends on the date",
    )


def pytest_configure(config: pytest.Config) -> None:
    shift = config.getoption("--real-clock-shift")
    if shift:
        try:
            delta = real_clock.parse_shift(shift)
        except ValueError as exc:
            raise pytest.UsageError(f"--real-clock-shift: {exc}") from None
        real_clock.start_shift(delta)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if CLOCK_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.real_clock)


def pytest_report_header(config: pytest.Config) -> str | None:
    shift = config.getoption("--real-clock-shift")
    return f"real clock shifted by {shift}" if shift else None


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[ServerProcess]:
    server = ServerProcess()
    yield server
    server.stop()


@pytest.fixture(params=["inprocess", "server"])
def aws(request: pytest.FixtureRequest) -> Iterator[Harness]:
    """The emulator in both modes: each test using it runs twice."""
    if request.param == "inprocess":
        with emulated_aws():
            yield Harness("inprocess")
    else:
        server: ServerProcess = request.getfixturevalue("emulator_server")
        harness = Harness("server", server.url)
        harness.reset()
        yield harness
        harness.reset()


@contextmanager
def fresh_account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """An emulated account with no icpilot variables in the environment; the environment as it
    was afterwards (deploy_stack sets the functions' variables in it)."""
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.startswith("ICPILOT_"):
            monkeypatch.delenv(key)
    try:
        with emulated_aws() as emu:
            yield emu
    finally:
        # The test's own setenv calls first: undone after this restore, monkeypatch would put back
        # the stack's values it saw (ICPILOT_POLICY_PATH leaked into later tests that way).
        monkeypatch.undo()
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def deployed_stack(
    monkeypatch: pytest.MonkeyPatch, parameters: dict[str, str] | None = None, min_instances: int = 1
) -> Iterator[Stack]:
    """The seed endpoint with both components InService and icpilot's stack deployed (with these
    template parameters), Monday 06:00Z; the endpoint keeps ``min_instances`` instances."""
    with fresh_account(monkeypatch) as emu:
        emu.settings.model_load_seconds = 240
        create_seed(boto3.client("sagemaker", region_name="us-east-1"), copies=0, min_instances=min_instances)
        emu.advance(240)
        # The moment after the deploy created the resources and before its custom resources
        # (reconcile, configure) ran: each test runs them when its story needs them.
        deployed = deploy_stack(policy_path=str(INTEGRATION_POLICY), parameters=parameters, run_custom_resources=False)
        emu.dispatcher.raise_errors = True  # a handler crash fails the test
        yield deployed


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """The seed endpoint with both components InService and icpilot's stack deployed, Monday 06:00Z."""
    with deployed_stack(monkeypatch) as deployed:
        yield deployed


@pytest.fixture
def chat_stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """``stack`` with chat notifications on, every severity posted."""
    with deployed_stack(monkeypatch, {"ChatNotifications": "Enabled", "ChatSeverity": "info"}) as deployed:
        yield deployed


@pytest.fixture
def emu(stack: Stack) -> Emulator:
    from emulator import EMULATOR

    return EMULATOR
