"""pytest fixtures: ``emulator`` gives a fresh in-process emulated AWS for one test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from . import emulated_aws
from .core import Emulator


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with emulated_aws() as emu:
        yield emu
