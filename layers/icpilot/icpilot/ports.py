"""What the service layer needs from icpilot's own storage, as protocols.

``adapters.state.StateStore`` (DynamoDB, conditional writes) is the production implementation;
``adapters.memory.InMemoryStateStore`` is its twin for unit tests and local runs. Both pass the
same contract (``tests/adapters/test_state_contract.py``). One table holds all four concerns, so
one object implements them, but each is named here so a reader sees what depends on what.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from .records import AutoScalingRecord, StoredState


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


class State(ComponentStore, Outbox, Ownership, PolicyStatus, RejectionLog, TargetRegistry, Protocol):
    """Everything the controller keeps: one table, four concerns."""
