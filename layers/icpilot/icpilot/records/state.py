"""A component's state item as one typed record (``StoredState``), read once and validated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from ..domain.decision_types import ComponentState, LastAction
from ..domain.forecast import Forecast
from ..domain.transitions import Availability, CopyChange, FlightKind, InFlight
from ..errors import CorruptStateError
from .codec import FIELDS, Unreadable
from .registry import PARKED_PREFIX


@dataclass(frozen=True)
class StoredState:
    """A component's item, read once and validated: what ``decide`` reads (``state``), the version
    every write is conditioned on, and the rest of what icpilot keeps about the component."""

    state: ComponentState = field(default_factory=ComponentState)
    version: int = 0
    endpoint: str = "?"
    component: str = "?"
    in_flight: InFlight | None = None  # a transition the watcher follows
    availability: Availability | None = None
    expected_ready_at: datetime | None = None
    attempts: int = 0
    pending_since: datetime | None = None
    last_action_at: datetime | None = None
    last_reason: str | None = None
    last_trigger: str | None = None
    last_error: str | None = None
    updated_at: datetime | None = None
    override_reason: str | None = None
    override_set_at: datetime | None = None
    ready_history: tuple[float, ...] = ()  # measured times to ready, seconds, the last readiness.HISTORY
    transitions: tuple[CopyChange, ...] = ()
    ready_log: tuple[tuple[datetime, float], ...] = ()  # completed warm-ups (ready at, seconds), oldest first
    last_ready_at: datetime | None = None
    forecast: Forecast | None = None
    forecast_at: datetime | None = None
    last_demand_at: datetime | None = None
    gone_since: datetime | None = None
    owned_by: str | None = None
    would_scale: str | None = None  # observe mode: the intent last announced as WouldScale
    unreadable: CorruptStateError | None = None  # only in the watcher's query: this item did not read

    @property
    def endpoint_and_component(self) -> tuple[str, str]:
        return self.endpoint, self.component

    @property
    def claimed_at(self) -> datetime | None:
        """When an invocation claimed the component to scale it and has not yet recorded the outcome
        (``last_action`` "scaling"); None when no claim is open."""
        return self.pending_since if self.state.last_action == LastAction.SCALING else None


WRITE_ALL_LIMIT = 100  # writes in one ``write_all`` (DynamoDB's TransactWriteItems takes 100)


@dataclass(frozen=True)
class StateWrite:
    """One conditional write of a component's item, for a store's ``write_all`` (all or none)."""

    endpoint: str
    component: str
    expected_version: int
    fields: dict[str, Any]


def record_of(endpoint: str, component: str, version: int, values: Mapping[str, Any]) -> StoredState:
    """The record of typed attribute values (as ``typed`` or a decode gives them)."""
    get = values.get
    state = ComponentState(
        pending_target=get("pending_target"),
        pending_reason=get("pending_reason"),
        override_copies=get("override_copies"),
        override_until=get("override_until"),
        last_action=get("last_action"),
        warmup_started_at=get("warmup_started_at"),
        last_refusal=get("last_refusal"),
        met_at_cold_start=tuple(get("met_at_cold_start") or ()),
    )
    flight = None
    if get("inflight"):
        flight = InFlight(
            kind=get("inflight_kind") or FlightKind.SCALE_OUT,
            target=get("inflight_target") or 0,
            from_copies=get("inflight_from") or 0,
            requested_at=get("requested_at"),
            accepted_at=get("accepted_at"),
        )
    rest: dict[str, Any] = {name: values[name] for name in _RECORD_FIELDS if name in values}
    return StoredState(state, version, endpoint, component, flight, **rest)


# The record's own fields that hold one attribute each, as it is (the others are built above).
_RECORD_FIELDS = tuple(f.name for f in fields(StoredState) if f.name in FIELDS)


def _version(attrs: Mapping[str, Any]) -> int | None:
    """The item's version; None when it is not a whole number."""
    version = attrs.get("version", 0)
    return None if isinstance(version, bool) or not isinstance(version, int) else version


def stored_from(endpoint: str, component: str, attrs: Mapping[str, Any]) -> StoredState:
    """A component's item as DynamoDB gives it back, decoded and validated (an empty one: nothing
    remembered yet). A value of the wrong shape is a CorruptStateError naming its attribute;
    attributes the record does not know (a newer version's) are left alone."""
    values: dict[str, Any] = {}
    for name, raw in attrs.items():
        spec = FIELDS.get(name)
        if spec is None or raw is None:
            continue
        try:
            values[name] = spec.read(raw)
        except Unreadable as exc:
            raise CorruptStateError(endpoint, component, name, raw, str(exc)) from None
    version = _version(attrs)
    if version is None:
        raise CorruptStateError(endpoint, component, "version", attrs.get("version"), "expected a whole number")
    return record_of(endpoint, component, version, values)


def decided_fields(state: ComponentState) -> dict[str, Any]:
    """The attributes that hold what a decision decides about a component's state (its
    ``Decision.next_state``), written as they are. Overrides (the operator's, written by the
    override path) and ``last_refusal`` (written beside the outcome) are not among them, so a
    record never undoes a racing override."""
    return {
        "pending_target": state.pending_target,
        "pending_reason": state.pending_reason,
        "last_action": state.last_action,
        "warmup_started_at": state.warmup_started_at,
    }


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


def split_key(pk: str) -> tuple[str, str]:
    """``component#<endpoint>#<component>`` -> (endpoint, component)."""
    _, endpoint, component = pk.split("#", 2)
    return endpoint, component


def watched_from(items: list[dict[str, Any]]) -> tuple[list[StoredState], list[dict[str, str]]]:
    """The in-flight index's items, as DynamoDB gives them back: components with a transition in
    flight, and parked events. One that does not read is kept with its key, its version and why
    (``unreadable``), so the watcher says it once and stops following it, and the others go on."""
    components, parked = [], []
    for attrs in items:
        pk = str(attrs["pk"])
        if pk.startswith(PARKED_PREFIX):
            parked.append({"pk": pk, "body": str(attrs.get("body", "{}"))})
            continue
        endpoint, component = split_key(pk)
        try:
            components.append(stored_from(endpoint, component, attrs))
        except CorruptStateError as exc:
            known = _version(attrs)
            components.append(
                StoredState(
                    version=-1 if known is None else known, endpoint=endpoint, component=component, unreadable=exc
                )
            )
    return components, sorted(parked, key=lambda p: p["pk"])
