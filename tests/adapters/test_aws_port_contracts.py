"""The AWS ports' contracts (``icpilot.ports``), run against the real adapters on the emulator and
against the in-memory fakes (``tests/fakes.py``) alike: the fakes the service unit tests use
behave as the adapters the Lambdas use, where the service depends on it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from icpilot.adapters.autoscaling import AutoScalingAdapter
from icpilot.adapters.cloudwatch import CloudWatchAdapter
from icpilot.adapters.sagemaker import SageMakerAdapter
from icpilot.errors import ComponentBusyError, UnknownComponentError, UnknownEndpointError
from icpilot.ports import AlarmsAndMetrics, CopyCounts, ScalableTargets

from emulator import Emulator, emulated_aws
from tests.fakes import linked
from tests.harness import create_seed

pytestmark = pytest.mark.real_clock  # the emulator side starts the emulator


@dataclass
class Ports:
    sagemaker: CopyCounts
    autoscaling: ScalableTargets
    cloudwatch: AlarmsAndMetrics
    emulator: Emulator | None

    def load(self, component: str) -> None:
        """Let the copies asked for load (the emulator's clock; the fake's ``load``)."""
        if self.emulator is not None:
            self.emulator.advance(900)
        else:
            self.sagemaker.load(component)  # type: ignore[attr-defined]


@pytest.fixture(params=["emulator", "fakes"])
def ports(request: pytest.FixtureRequest) -> Iterator[Ports]:
    """The seed endpoint (flan-t5-xxl and falcon-7b, one copy each, loaded) behind each side."""
    if request.param == "fakes":
        sagemaker, autoscaling, cloudwatch = linked()
        sagemaker.add("llm-endpoint", "flan-t5-xxl", accelerators=2, copies=1)
        sagemaker.add("llm-endpoint", "falcon-7b", accelerators=1, copies=1)
        yield Ports(sagemaker, autoscaling, cloudwatch, None)
        return
    with emulated_aws() as emu:
        create_seed(boto3.client("sagemaker", region_name="us-east-1"), copies=1)
        emu.advance(900)
        yield Ports(SageMakerAdapter(), AutoScalingAdapter(), CloudWatchAdapter(), emu)


def test_an_unknown_component_or_endpoint_is_named(ports: Ports) -> None:
    with pytest.raises(UnknownComponentError):
        ports.sagemaker.describe_component("nope")
    with pytest.raises(UnknownComponentError):
        ports.sagemaker.set_copy_count("nope", 1)
    with pytest.raises(UnknownEndpointError):
        ports.sagemaker.observe_endpoint("nope")


def test_the_endpoint_shows_every_component_with_its_reservation(ports: Ports) -> None:
    ep = ports.sagemaker.observe_endpoint("llm-endpoint")
    seen = {c.name: (c.status, c.desired, c.current, c.reservation.accelerators) for c in ep.components}
    assert seen == {"flan-t5-xxl": ("InService", 1, 1, 2), "falcon-7b": ("InService", 1, 1, 1)}
    assert ep.instance_type == "ml.g5.24xlarge"


def test_a_write_makes_the_component_updating_and_a_second_is_refused_until_it_loads(ports: Ports) -> None:
    ports.sagemaker.set_copy_count("falcon-7b", 2)
    c = ports.sagemaker.describe_component("falcon-7b")
    assert (c.status, c.desired) == ("Updating", 2)
    with pytest.raises(ComponentBusyError):
        ports.sagemaker.set_copy_count("falcon-7b", 3)
    ports.load("falcon-7b")
    c = ports.sagemaker.describe_component("falcon-7b")
    assert (c.status, c.desired, c.current) == ("InService", 2, 2)


def test_bounds_read_back_and_a_count_outside_them_moves_into_range(ports: Ports) -> None:
    assert ports.autoscaling.describe_target("falcon-7b") is None
    ports.autoscaling.set_bounds("falcon-7b", 2, 4, pin=False, suspend_scale_out=True)
    target = ports.autoscaling.describe_target("falcon-7b")
    assert target is not None and (target.min_capacity, target.max_capacity) == (2, 4)
    assert target.scale_out_suspended and not target.dynamic_suspended
    assert not ports.autoscaling.manages(target)  # registered without the stack's tag: a team's target
    assert ports.sagemaker.describe_component("falcon-7b").desired == 2  # 1 was below the new minimum
    assert ports.autoscaling.describe_targets(["falcon-7b", "flan-t5-xxl"])["flan-t5-xxl"] is None
    ports.load("falcon-7b")
    ports.autoscaling.set_bounds("falcon-7b", 2, 4, pin=True)
    pinned = ports.autoscaling.describe_target("falcon-7b")
    assert pinned is not None and pinned.dynamic_suspended


def test_an_unknown_alarm_reads_as_none_and_quiet_periods_sum_to_zero(ports: Ports) -> None:
    assert ports.cloudwatch.alarm_state("icpilot-nope") is None
    now = ports.emulator.now() if ports.emulator is not None else datetime(2026, 11, 23, 7, tzinfo=UTC)
    since = now - timedelta(hours=1)
    until = since + timedelta(minutes=30)
    sums = ports.cloudwatch.component_sums("NoCapacityInvocationFailures", ["falcon-7b"], since, until, 60)
    assert sums == {"falcon-7b": 0.0}
    series = ports.cloudwatch.component_series(["Invocations"], ["falcon-7b"], since, until, 60)
    assert series == {"falcon-7b": [0.0] * 30}
