from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest

from emulator import Emulator, emulated_aws
from emulator.stack import Stack, deploy_stack
from tests.harness import Harness, ServerProcess, create_seed


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


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """The seed endpoint with both components InService and icpilot's stack deployed, Monday 06:00Z."""
    for key in list(os.environ):
        if key.startswith("ICPILOT_"):
            monkeypatch.delenv(key)
    with emulated_aws() as emu:
        emu.settings.model_load_seconds = 240
        create_seed(boto3.client("sagemaker", region_name="us-east-1"), copies=0)
        emu.advance(240)
        deployed = deploy_stack()
        for key in deployed.env:
            monkeypatch.setenv(key, deployed.env[key])
        emu.dispatcher.raise_errors = True  # a handler crash fails the test
        yield deployed


@pytest.fixture
def emu(stack: Stack) -> Emulator:
    from emulator import EMULATOR

    return EMULATOR
