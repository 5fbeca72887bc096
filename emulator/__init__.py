"""icpilot's local stand-in for SageMaker inference components, built on moto.

Use it in-process::

    from emulator import emulated_aws
    with emulated_aws() as emu:
        ...boto3 calls...
        emu.advance(300)

or as a server: ``python -m emulator --port 5055``. See README, section "Emulator".
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from moto import mock_aws

from .clock import ClockMode
from .core import EMULATOR, Emulator
from .faults import FaultRule
from .world import ComponentSettings, EmulatorSettings

__all__ = [
    "EMULATOR",
    "ComponentSettings",
    "Emulator",
    "EmulatorSettings",
    "FaultRule",
    "emulated_aws",
    "evaluate_alarms",
    "install",
]

_installed = False

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def install() -> None:
    """Add the emulator's behaviour to moto (idempotent)."""
    global _installed
    if _installed:
        return
    from . import (
        aas_ext,
        alarms,
        appconfig_ext,
        cloudwatch_ext,
        dispatcher,
        dynamodb_ext,
        faults_ext,
        sagemaker_ext,
        sns_ext,
        ssm_ext,
    )

    sagemaker_ext.install()
    appconfig_ext.install()
    cloudwatch_ext.install()
    aas_ext.install()
    alarms.install()
    dispatcher.install(EMULATOR.dispatcher)
    ssm_ext.install()
    sns_ext.install()
    dynamodb_ext.install()
    faults_ext.install()
    _installed = True


def evaluate_alarms(now: datetime | None = None) -> list:  # type: ignore[type-arg]
    """Evaluate every CloudWatch alarm at the emulator clock; returns the state changes."""
    from .alarms import evaluate_alarms as _evaluate

    with EMULATOR.lock:
        return _evaluate(now)


@contextmanager
def emulated_aws(mode: ClockMode = "virtual", start: datetime | None = None) -> Iterator[Emulator]:
    """moto's ``mock_aws`` plus the emulator, with fake credentials; state is fresh inside.

    Inside, the process clock follows the emulator clock (see ``emulator.clock``).
    """
    install()
    saved = {k: os.environ.get(k) for k in FAKE_CREDENTIALS}
    os.environ.update(FAKE_CREDENTIALS)
    EMULATOR.reset(mode, start)
    EMULATOR.clock.follow_process()
    try:
        with mock_aws():
            yield EMULATOR
    finally:
        EMULATOR.clock.release_process()
        EMULATOR.reset()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
