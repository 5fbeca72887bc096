"""A component's state item as icpilot reads it, shared by the DynamoDB adapter and its in-memory
twin (``adapters.state``, ``adapters.memory``) and by the service: ``StoredState`` with typed reads
of each attribute (a corrupt one is a ``CorruptStateError`` naming it), and the keys of the other
items the table holds. No AWS here: the DynamoDB codec is the adapter's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .domain.decision_types import ComponentState
from .domain.transitions import InFlight
from .errors import CorruptStateError

PARKED_PREFIX = "event#"  # events SNS did not take, waiting to be published again
OWNERSHIP_KEY = "ownership#elsewhere"  # the policy's components another stack manages
REJECTED_PREFIX = "rejected#"  # per cause of rejected triggers: when last announced, how many since


@dataclass(frozen=True)
class AutoScalingRecord:
    """What icpilot did to a component's scalable target: registered it (``created``), or adopted a
    team's (``adopted``: the target as it was, ``AutoScalingAdapter.snapshot``); the copies the
    component had then (the floor a stack delete brings it back to from zero)."""

    component: str
    created: bool = False
    adopted: dict[str, Any] | None = None
    copies_at_adoption: int | None = None

    def floor_on_delete(self, restore_copies: str) -> int | None:
        """The copies a stack delete raises the component to from zero: ``restore_copies`` is the
        stack's RestoreCopiesOnDelete, ``adopted`` (the copies it had then) or a number."""
        return self.copies_at_adoption if restore_copies == "adopted" else int(restore_copies)

    @classmethod
    def of(cls, component: str, item: dict[str, Any]) -> AutoScalingRecord:
        adopted = item.get("adopted")
        try:
            record = json.loads(str(adopted)) if adopted else None
        except ValueError as exc:
            raise CorruptStateError("-", component, "adopted", adopted, f"not JSON: {exc}") from exc
        copies = item.get("copies_at_adoption")
        return cls(component, bool(item.get("created_target")), record, int(copies) if copies is not None else None)


@dataclass(frozen=True)
class StoredState:
    """A component's item: the decision's ``state`` (read when the item is read), and typed reads
    of the rest. Each read checks its value (``CorruptStateError`` naming the attribute), so a
    corrupt attribute fails only the component and the step that needs it."""

    state: ComponentState
    version: int
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def endpoint_and_component(self) -> tuple[str, str]:
        _, endpoint, component = str(self.attributes["pk"]).split("#", 2)
        return endpoint, component

    def _read(self) -> _Reader:
        parts = str(self.attributes.get("pk", "component#?#?")).split("#", 2)
        endpoint, component = (parts[1], parts[2]) if len(parts) == 3 else ("?", "?")
        return _Reader(endpoint, component, self.attributes)

    @property
    def ready_history(self) -> list[float]:
        """Measured times to ready, seconds, the last ``readiness.HISTORY``."""
        return self._read().history("ready_history")

    @property
    def met_at_cold_start(self) -> list[float]:
        """Requests a minute that found the component cold, for its last scale-ups from zero."""
        return self._read().history("met_at_cold_start")

    @property
    def in_flight(self) -> InFlight:
        read = self._read()
        return InFlight(
            kind=read.text("inflight_kind") or "scale-out",
            target=read.integer("inflight_target") or 0,
            from_copies=read.integer("inflight_from") or 0,
            requested_at=read.instant("requested_at"),
            accepted_at=read.instant("accepted_at"),
        )

    @property
    def attempts(self) -> int:
        """Failed writes in a row of the current intent."""
        return self._read().integer("attempts") or 0

    @property
    def last_action_at(self) -> datetime | None:
        return self._read().instant("last_action_at")

    @property
    def claimed_at(self) -> datetime | None:
        """When an invocation claimed the component to scale it and has not yet recorded the outcome
        (``last_action`` "scaling"); None when no claim is open."""
        return self._read().instant("pending_since") if self.state.last_action == "scaling" else None

    @property
    def last_demand_at(self) -> datetime | None:
        return self._read().instant("last_demand_at")

    @property
    def transitions(self) -> list[list[Any]]:
        """The copy-count history ``[time, from, to]`` that ``icpilot report`` integrates."""
        return self._read().transitions("transitions")

    @property
    def ready_log(self) -> list[tuple[datetime, float]]:
        """Completed warm-ups ``(ready at, seconds to ready)``, oldest first: the daily report's
        times to ready (``ready_history`` keeps only the last few, without their times)."""
        return self._read().timed("ready_log")


class _Reader:
    """Typed reads of a state item: a value of the wrong shape is a CorruptStateError naming it,
    never a bare Python error that would stop a whole run."""

    def __init__(self, endpoint: str, component: str, attrs: dict[str, Any]) -> None:
        self.endpoint, self.component, self.attrs = endpoint, component, attrs

    def _bad(self, name: str, why: str) -> CorruptStateError:
        return CorruptStateError(self.endpoint, self.component, name, self.attrs.get(name), why)

    def integer(self, name: str) -> int | None:
        value = self.attrs.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(name, "expected a whole number")
        return value

    def text(self, name: str) -> str | None:
        value = self.attrs.get(name)
        if value is None or isinstance(value, str):
            return value
        raise self._bad(name, "expected text")

    def instant(self, name: str) -> datetime | None:
        value = self.attrs.get(name)
        if not value:
            return None
        try:
            when = datetime.fromisoformat(str(value))
        except ValueError:
            raise self._bad(name, "expected an ISO-8601 time") from None
        if when.tzinfo is None:
            raise self._bad(name, "expected a time with a zone offset")
        return when

    def history(self, name: str) -> list[float]:
        raw = self.attrs.get(name)
        if not raw:
            return []
        try:
            return [float(x) for x in json.loads(str(raw))]
        except (ValueError, TypeError):
            raise self._bad(name, "expected a JSON list of numbers") from None

    def timed(self, name: str) -> list[tuple[datetime, float]]:
        raw = self.attrs.get(name)
        if not raw:
            return []
        try:
            out = [(datetime.fromisoformat(str(when)), float(value)) for when, value in json.loads(str(raw))]
        except (ValueError, TypeError):
            raise self._bad(name, "expected a JSON list of [time, number]") from None
        if any(when.tzinfo is None for when, _ in out):
            raise self._bad(name, "expected times with a zone offset")
        return out

    def transitions(self, name: str) -> list[list[Any]]:
        raw = self.attrs.get(name)
        if not raw:
            return []
        try:
            entries = json.loads(str(raw))
            for when, before, after in entries:
                datetime.fromisoformat(str(when))
                int(before), int(after)
        except (ValueError, TypeError):
            raise self._bad(name, "expected a JSON list of [time, from, to]") from None
        return [list(e) for e in entries]


def decided_fields(state: ComponentState) -> dict[str, Any]:
    """The attributes that hold what a decision decides about a component's state (its
    ``Decision.next_state``): the one codec production writes with and ``stored_from`` reads back.
    Overrides (the operator's, written by the override path) and ``last_refusal`` (written beside
    the outcome) are not among them, so a record never undoes a racing override."""
    return {
        "pending_target": state.pending_target,
        "pending_reason": state.pending_reason,
        "last_action": state.last_action,
        "warmup_started_at": state.warmup_started_at,
    }


def stored_from(endpoint: str, component: str, attrs: dict[str, Any]) -> StoredState:
    """A component's item as the decision reads it (an empty one: nothing remembered yet)."""
    if not attrs:
        return StoredState(ComponentState(), 0)
    read = _Reader(endpoint, component, attrs)
    state = ComponentState(
        pending_target=read.integer("pending_target"),
        pending_reason=read.text("pending_reason"),
        override_copies=read.integer("override_copies"),
        override_until=read.instant("override_until"),
        last_action=read.text("last_action"),
        warmup_started_at=read.instant("warmup_started_at"),
        last_refusal=read.text("last_refusal"),
    )
    version = read.integer("version") or 0
    read.history("ready_history")
    return StoredState(state, version, attrs)


def valid_states(items: dict[tuple[str, str], dict[str, Any]]) -> dict[tuple[str, str], StoredState]:
    """``stored_from`` for each (endpoint, component)'s item; one that does not read back valid is
    left out, so that a batched read reports it for that component alone (its own read raises)."""
    states: dict[tuple[str, str], StoredState] = {}
    for (endpoint, component), attrs in items.items():
        try:
            states[(endpoint, component)] = stored_from(endpoint, component, attrs)
        except CorruptStateError:
            continue
    return states


def watched_from(items: list[dict[str, Any]]) -> tuple[list[StoredState], list[dict[str, str]]]:
    """The in-flight index's items: components with a transition in flight, and parked events."""
    components, parked = [], []
    for attrs in items:
        if str(attrs["pk"]).startswith(PARKED_PREFIX):
            parked.append({"pk": str(attrs["pk"]), "body": str(attrs.get("body", "{}"))})
            continue
        # Only the key and version are read here: one corrupt item must not stop the query's
        # other components; the watcher reads the rest per component (StoredState's reads).
        version = attrs.get("version", 0)
        components.append(StoredState(ComponentState(), version if isinstance(version, int) else -1, attrs))
    return components, sorted(parked, key=lambda p: p["pk"])
