"""In-memory fakes of the AWS ports (``icpilot.ports``: CopyCounts, ScalableTargets, AlarmsAndMetrics)
for fast unit tests of the service layer: no moto, no emulator, no clock.

Each keeps only what the port promises, with AWS's documented behaviour where the service depends
on it: a copy-count write makes the component Updating and a write while it is Creating or
Updating (or its endpoint is not InService) is refused; registering bounds that exclude the copy
count moves the count into range; an alarm or a target that does not exist reads as None; periods
without data sum to 0. ``tests/adapters/test_aws_port_contracts.py`` runs the same checks against
these fakes and against the real adapters on the emulator, so the fakes stay honest.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from icpilot.adapters.autoscaling import suspended
from icpilot.adapters.sagemaker import LIST_ACCOUNT_FROM
from icpilot.domain.aws_views import AlarmState, ScalableTarget
from icpilot.domain.capacity import Reservation
from icpilot.domain.decision_types import ComponentObservation, EndpointObservation
from icpilot.domain.status import BUSY, ComponentStatus
from icpilot.errors import ComponentBusyError, UnknownComponentError, UnknownEndpointError

BUSY_STATUSES = BUSY  # Creating, Updating, Deleting: a copy-count write is refused


@dataclass
class FakeComponent:
    endpoint: str
    reservation: Reservation
    desired: int = 0
    current: int = 0
    status: str = ComponentStatus.IN_SERVICE
    failure_reason: str | None = None


@dataclass
class FakeEndpoint:
    instance_type: str = "ml.g5.24xlarge"
    max_instances: int = 2
    current_instances: int | None = 1
    status: str = "InService"


@dataclass
class FakeSageMaker:
    """SageMaker's inference components, as ``CopyCounts`` sees them."""

    endpoints: dict[str, FakeEndpoint] = field(default_factory=dict)
    components: dict[str, FakeComponent] = field(default_factory=dict)
    budget_free: bool = True
    paced_rate: float | None = None  # copy-count writes a second (None: not paced)
    writes: list[tuple[str, int]] = field(default_factory=list)  # accepted copy-count writes, in order
    refuse_next: dict[str, Exception] = field(default_factory=dict)  # the next write to a component fails so

    def add(self, endpoint: str, component: str, accelerators: float = 1, copies: int = 0) -> FakeComponent:
        """A loaded component of ``copies`` on ``endpoint`` (made if new)."""
        self.endpoints.setdefault(endpoint, FakeEndpoint())
        reservation = Reservation(accelerators=accelerators, cores=4, memory_mb=16_384)
        made = self.components[component] = FakeComponent(endpoint, reservation, copies, copies)
        return made

    def load(self, component: str) -> None:
        """The copies asked for are loaded: InService at the desired count."""
        c = self.components[component]
        c.current, c.status = c.desired, ComponentStatus.IN_SERVICE

    def describe_component(self, name: str) -> ComponentObservation:
        c = self.components.get(name)
        if c is None:
            raise UnknownComponentError(f"inference component {name!r} does not exist")
        return ComponentObservation(name, c.status, c.desired, c.current, c.reservation, c.failure_reason)

    def observe_endpoint(
        self, name: str, owned: Collection[str] | None = None, listed: list[str] | None = None
    ) -> EndpointObservation:
        ep = self.endpoints.get(name)
        if ep is None:
            raise UnknownEndpointError(f"endpoint {name!r} does not exist")
        names = listed if listed is not None else [n for n, c in self.components.items() if c.endpoint == name]
        return EndpointObservation(
            name=name,
            instance_type=ep.instance_type,
            max_instances=ep.max_instances,
            components=tuple(self.describe_component(n) for n in names if n in self.components),
            current_instances=ep.current_instances,
            status=ep.status,
        )

    def listing_for(self, endpoints: int) -> dict[str, list[str]] | None:
        if endpoints < LIST_ACCOUNT_FROM:
            return None
        found: dict[str, list[str]] = {}
        for name, c in self.components.items():
            found.setdefault(c.endpoint, []).append(name)
        return found

    def set_copy_count(self, name: str, copies: int) -> None:
        if name in self.refuse_next:
            raise self.refuse_next.pop(name)
        c = self.components.get(name)
        if c is None:
            raise UnknownComponentError(f"inference component {name!r} does not exist")
        if c.status in BUSY_STATUSES:
            raise ComponentBusyError(f"Cannot update inference component {name} while it is in state {c.status}")
        if self.endpoints[c.endpoint].status != "InService":
            raise ComponentBusyError(f"Cannot update inference component {name} while its endpoint is not InService")
        c.desired, c.status = copies, ComponentStatus.UPDATING
        self.writes.append((name, copies))

    def write_budget_free(self) -> bool:
        return self.budget_free

    def write_rate(self) -> float | None:
        return self.paced_rate


@dataclass
class FakeAutoScaling:
    """Application Auto Scaling's scalable targets, as ``ScalableTargets`` sees them. With
    ``sagemaker`` linked, bounds that exclude a component's count move it into range (AWS:
    RegisterScalableTarget "changes the resource's current capacity to a value that is inside of
    this range"), unless the component refuses writes for now."""

    sagemaker: FakeSageMaker | None = None
    targets: dict[str, ScalableTarget] = field(default_factory=dict)
    claimed: set[str] = field(default_factory=set)  # components whose target carries this stack's tag
    bound_writes: list[tuple[str, int, int, bool, bool]] = field(default_factory=list)

    def describe_target(self, component: str) -> ScalableTarget | None:
        return self.targets.get(component)

    def describe_targets(self, components: list[str]) -> dict[str, ScalableTarget | None]:
        return {c: self.targets.get(c) for c in components}

    def set_bounds(
        self, component: str, min_capacity: int, max_capacity: int, pin: bool, suspend_scale_out: bool = False
    ) -> None:
        if min_capacity > max_capacity:
            raise ValueError(f"MinCapacity {min_capacity} is above MaxCapacity {max_capacity}")
        arn = f"arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/{component}"
        old = self.targets.get(component)
        self.targets[component] = ScalableTarget(
            min_capacity, max_capacity, suspended(pin, suspend_scale_out), old.arn if old else arn
        )
        self.bound_writes.append((component, min_capacity, max_capacity, pin, suspend_scale_out))
        c = self.sagemaker.components.get(component) if self.sagemaker is not None else None
        if self.sagemaker is not None and c is not None and c.status not in BUSY_STATUSES:
            into_range = min(max(c.desired, min_capacity), max_capacity)
            if into_range != c.desired:
                self.sagemaker.set_copy_count(component, into_range)

    def claim(self, component: str) -> None:
        """Tag the component's target as this stack's (what configure does for a target it takes over)."""
        self.claimed.add(component)

    def manages(self, target: ScalableTarget) -> bool:
        """As the adapter: a target read without its ARN is taken as managed, else only one this stack tagged."""
        return not target.arn or any(target.arn.endswith(f"/{c}") for c in self.claimed)


@dataclass
class FakeCloudWatch:
    """CloudWatch alarms and per-component metrics, as ``AlarmsAndMetrics`` sees them."""

    alarms: dict[str, AlarmState] = field(default_factory=dict)
    others: dict[str, str] = field(default_factory=dict)  # another stack's alarms -> that stack
    datapoints: dict[tuple[str, str], list[tuple[datetime, float]]] = field(default_factory=dict)

    def put(self, metric: str, component: str, at: datetime, value: float) -> None:
        self.datapoints.setdefault((metric, component), []).append((at, value))

    def alarm_state(self, name: str) -> AlarmState | None:
        return self.alarms.get(name)

    def alarm_listing(self) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        own = {
            name: {"AlarmName": name, "StateValue": s.value, "StateUpdatedTimestamp": s.changed_at}
            for name, s in self.alarms.items()
        }
        return own, dict(self.others)

    def component_sums(
        self, metric: str, components: list[str], since: datetime, until: datetime, period: int = 3600
    ) -> dict[str, float]:
        series = self.component_series([metric], components, since, until, period)
        return {name: float(sum(values)) for name, values in series.items()}

    def component_series(
        self, metrics: list[str], components: list[str], since: datetime, until: datetime, period: int = 60
    ) -> dict[str, list[float]]:
        step = timedelta(seconds=period)
        count = max(0, int((until - since).total_seconds() // period))  # whole periods, as the adapter
        out: dict[str, list[float]] = {}
        for name in components:
            sums = [0.0] * count
            for metric in metrics:
                for at, value in self.datapoints.get((metric, name), []):
                    if since <= at < since + count * step:
                        sums[int((at - since) / step)] += value
            out[name] = sums
        return out


def linked() -> tuple[FakeSageMaker, FakeAutoScaling, FakeCloudWatch]:
    """The three fakes, AAS moving SageMaker's counts as AWS does."""
    sagemaker = FakeSageMaker()
    return sagemaker, FakeAutoScaling(sagemaker), FakeCloudWatch()


__all__ = ["FakeAutoScaling", "FakeCloudWatch", "FakeComponent", "FakeEndpoint", "FakeSageMaker", "linked"]
