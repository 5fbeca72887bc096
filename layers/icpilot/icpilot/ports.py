"""What the service layer needs from AWS and from icpilot's own storage, as protocols.

Storage: ``adapters.state.StateStore`` (DynamoDB, conditional writes) is the production
implementation; ``adapters.memory.InMemoryStateStore`` is its twin for unit tests and local runs.
Both pass the same contract (``tests/adapters/test_state_contract.py``). One table holds all four
concerns, so one object implements them, but each is named here so a reader sees what depends on what.

AWS: ``CopyCounts`` (SageMaker), ``ScalableTargets`` (Application Auto Scaling) and ``AlarmsAndMetrics``
(CloudWatch) are what the per-run services (evaluate, watch, triggers, forecast) use. The adapters
in ``adapters/`` implement them; ``tests/fakes.py`` holds in-memory fakes that pass the same
contracts as the adapters on the emulator (``tests/adapters/test_aws_port_contracts.py``), so the
service layer has unit tests that need neither moto nor the emulator. Configure and unconfigure,
which also manage scaling policies and alarms, take the adapters themselves.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, Protocol

from .domain.aws_views import AlarmState, ScalableTarget
from .domain.decision_types import ComponentObservation, EndpointObservation
from .records import AutoScalingRecord, StateWrite, StoredState


class CopyCounts(Protocol):
    """SageMaker, as the per-run services read endpoints and write copy counts."""

    def describe_component(self, name: str) -> ComponentObservation:
        """The component now; UnknownComponentError when it does not exist."""

    def observe_endpoint(
        self, name: str, owned: Collection[str] | None = None, listed: list[str] | None = None
    ) -> EndpointObservation:
        """The endpoint and every component on it (UnknownEndpointError, NotAnInferenceComponentEndpointError)."""

    def listing_for(self, endpoints: int) -> dict[str, list[str]] | None:
        """The account's components by endpoint when one listing is cheaper for ``endpoints``; else None."""

    def set_copy_count(self, name: str, copies: int) -> None:
        """Write the desired copy count: ComponentBusyError while the component or its endpoint
        refuses writes, UnknownComponentError when it does not exist."""

    def write_budget_free(self) -> bool:
        """Whether copy-count writes have at least half their paced budget."""

    def write_rate(self) -> float | None:
        """Copy-count writes a second the pacer allows (None: not paced)."""


class ScalableTargets(Protocol):
    """Application Auto Scaling, as the evaluation reads and moves a component's target."""

    def describe_target(self, component: str) -> ScalableTarget | None:
        """The component's scalable target (None: it has none)."""

    def describe_targets(self, components: list[str]) -> dict[str, ScalableTarget | None]:
        """Each component's scalable target, in as few calls as the API allows."""

    def set_bounds(
        self, component: str, min_capacity: int, max_capacity: int, pin: bool, suspend_scale_out: bool = False
    ) -> None:
        """Move the bounds (AAS writes a count outside them into range); ``pin`` suspends dynamic
        scaling, ``suspend_scale_out`` only scale-out."""

    def manages(self, target: ScalableTarget) -> bool:
        """Whether this stack manages the target (only then are its bounds moved)."""


class AlarmsAndMetrics(Protocol):
    """CloudWatch, as triggers confirm alarms and the watcher and forecast read metrics."""

    def alarm_state(self, name: str) -> AlarmState | None:
        """The alarm's state now (None: no such alarm)."""

    def alarm_listing(self) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """This stack's icpilot alarms by name, and other stacks' icpilot alarms with their stack."""

    def component_sums(
        self, metric: str, components: list[str], since: datetime, until: datetime, period: int = 3600
    ) -> dict[str, float]:
        """The Sum of a per-component AWS/SageMaker metric over [since, until]."""

    def component_series(
        self, metrics: list[str], components: list[str], since: datetime, until: datetime, period: int = 60
    ) -> dict[str, list[float]]:
        """Per component, the Sum of ``metrics`` in each ``period`` from ``since`` (0 without data)."""


class ComponentStore(Protocol):
    """Per-component state, written only on the version it was read at."""

    def get(self, endpoint: str, component: str) -> StoredState:
        """The component's item at its current version (version 0: nothing stored yet)."""

    def get_many(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], StoredState]:
        """Each (endpoint, component)'s item as ``get`` reads it, in as few reads as the store
        allows; one that does not read back valid is left out (``get`` reports it)."""

    def write(self, endpoint: str, component: str, expected_version: int, **fields: Any) -> int:
        """Set ``fields`` (None removes one) if still at ``expected_version``; the new version, or
        StateConflictError when another write landed first."""

    def write_all(self, writes: list[StateWrite]) -> list[int]:
        """Each write as ``write`` makes it, all or none (at most 100); the new versions, or
        StateConflictError naming the components whose version moved, with nothing written."""

    def watch_items(self) -> tuple[list[StoredState], list[dict[str, str]]]:
        """Components with a transition in flight, and parked events (pk, body), in one read."""


class Outbox(Protocol):
    """Lifecycle events SNS did not take, kept until they are published again."""

    def park_event(self, event_id: str, body: str, time: datetime) -> None:
        """Keep an event SNS did not take, where ``watch_items`` finds it."""

    def drop_parked(self, pk: str) -> None:
        """Forget a parked event once it is published or dead-lettered."""


class PolicyStatus(Protocol):
    def remember_status(self, problems: list[str], now: datetime, subject: str = "policy") -> bool:
        """Record the current status of ``subject`` (``policy``: its problems; ``mismatch``: what it
        names that the account lacks; ``health:<check>``: healthy or not); True when it differs from
        the last recorded: what lets each be announced once per episode."""


class RejectionLog(Protocol):
    """Rejected triggers, counted per cause so that a flood is announced once, not once per event."""

    def count_rejection(self, cause: str, now: datetime, quiet: timedelta) -> int | None:
        """Count one rejection of ``cause``. When none of that cause was announced in the last
        ``quiet``, claim the announcement and return how many went unannounced since the last one;
        otherwise None (counted, to be reported with the next announcement)."""


class Ownership(Protocol):
    """Components of the policy that another stack manages (found by configure from their alarms)."""

    def managed_elsewhere(self) -> dict[str, str]:
        """Component -> the stack that manages it, as configure last found."""

    def remember_managed_elsewhere(self, components: dict[str, str]) -> None:
        """Replace configure's finding."""


class ScheduleLedger(Protocol):
    """A fingerprint of the schedule group as it last matched the policy, so a reconcile that finds
    it unchanged need not read every schedule."""

    def schedules_fingerprint(self) -> str | None:
        """The fingerprint the last reconcile left (None: none yet)."""

    def remember_schedules(self, fingerprint: str) -> None:
        """Replace it."""


class TargetRegistry(Protocol):
    """Which AAS scalable targets icpilot registered itself (only those are ever deregistered), and
    the teams' targets it adopted, as they were (put back when the stack is deleted)."""

    def remember_target(self, component: str, copies: int | None = None) -> None:
        """icpilot registered this component's scalable target (when it had ``copies``)."""

    def remember_adoption(self, component: str, record: dict[str, Any], copies: int) -> bool:
        """A team's target as it was before icpilot's first write; the first record wins."""

    def autoscaling_records(self) -> dict[str, AutoScalingRecord]:
        """Every target icpilot registered or adopted, by component."""

    def registered_targets(self, components: list[str]) -> set[str]:
        """Which of these components' targets icpilot registered or adopted (so this stack manages them)."""

    def created_target(self, component: str) -> bool:
        """Whether icpilot registered it (only then may icpilot deregister it)."""

    def forget_target(self, component: str) -> None:
        """The target was deregistered."""


class State(ComponentStore, Outbox, Ownership, PolicyStatus, RejectionLog, ScheduleLedger, TargetRegistry, Protocol):
    """Everything the controller keeps, in one table."""
