from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator import emulated_aws
from tests.harness import Harness, ServerProcess


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
