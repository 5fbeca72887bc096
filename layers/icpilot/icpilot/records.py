"""A component's state item: one typed record (``StoredState``), and one codec between it and the
item's attributes (``FIELDS``).

The DynamoDB adapter decodes an item once when it reads it (``stored_from``: every attribute
validated; a corrupt one is a ``CorruptStateError`` naming it, which fails that component, never
the run) and encodes what the service writes (``encoded``). Its in-memory twin keeps the typed
values themselves and builds the same record from them (``record_of``): no strings in between.
What a decision decides is ``Decision.next_state`` and is written as it is (``decided_fields``).

The bookkeeping the adapter owns is not the service's to write: ``pk``, ``version`` (every write
names the version it read) and ``inflight`` ("1" while a transition is in flight: the key of the
sparse index the watcher queries; the service says ``inflight=True`` / ``None``).

Migration: items written before this record (schema 1) kept the lists (``ready_history``,
``met_at_cold_start``, ``transitions``, ``ready_log``) as JSON text; they are now DynamoDB lists.
Both read; the next write of a list writes the new form (``tests/unit/test_state_record.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from .domain.decision_types import ComponentState, LastAction, Refusal
from .domain.forecast import Forecast
from .domain.transitions import Availability, CopyChange, FlightKind, InFlight
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


class _Unreadable(ValueError):
    """A stored value of the wrong shape (why); the reader names the attribute."""


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Unreadable("expected a whole number")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _Unreadable("expected text")
    return value


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        when = value
    else:
        try:
            when = datetime.fromisoformat(_text(value))
        except ValueError:
            raise _Unreadable("expected an ISO-8601 time") from None
    if when.tzinfo is None:
        raise _Unreadable("expected a time with a zone offset")
    return when


def _choice(vocabulary: type[StrEnum]) -> Callable[[Any], Any]:
    def read(value: Any) -> Any:
        try:
            return vocabulary(value)
        except ValueError:
            raise _Unreadable(f"expected one of {', '.join(m.value for m in vocabulary)}") from None

    return read


def _refusal(value: Any) -> Refusal:
    if isinstance(value, Refusal):
        return value
    try:
        return Refusal.parse(_text(value))
    except ValueError as exc:
        raise _Unreadable(str(exc)) from None


def _list(value: Any) -> list[Any]:
    """A stored list: a DynamoDB list, or (schema 1) its JSON text."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise _Unreadable("expected a list (or its JSON text)") from None
    if not isinstance(value, list | tuple):
        raise _Unreadable("expected a list")
    return list(value)


def _numbers(value: Any) -> tuple[float, ...]:
    entries = _list(value)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in entries):
        raise _Unreadable("expected a list of numbers")
    return tuple(float(v) for v in entries)


def _changes(value: Any) -> tuple[CopyChange, ...]:
    try:
        return tuple(CopyChange(_instant(at), _whole(before), _whole(after)) for at, before, after in _list(value))
    except (TypeError, ValueError):
        raise _Unreadable("expected a list of [time, from, to]") from None


def _timed(value: Any) -> tuple[tuple[datetime, float], ...]:
    try:
        return tuple((_instant(at), float(seconds)) for at, seconds in _list(value))
    except (TypeError, ValueError):
        raise _Unreadable("expected a list of [time, seconds]") from None


def _forecast(value: Any) -> Forecast | None:
    """A forecast is advisory and rewritten every hour: an unreadable one is no forecast."""
    if isinstance(value, Forecast):
        return value
    try:
        return Forecast.from_item(json.loads(_text(value)))
    except (ValueError, TypeError):
        return None


def _flag(value: Any) -> bool:
    if value is True or value == "1":
        return True
    raise _Unreadable('expected "1" (the in-flight index key)')


@dataclass(frozen=True)
class _Field:
    """How one attribute reads (``read``: a stored or written value to its typed value, raising
    _Unreadable) and how it is written to DynamoDB (``store``: the typed value to a stored one)."""

    read: Callable[[Any], Any]
    store: Callable[[Any], Any] = lambda value: value


_TIME = _Field(_instant, lambda when: when.isoformat())
_WHOLE, _TEXT = _Field(_whole), _Field(_text)
_HISTORY = _Field(_numbers, list)

# Every attribute of a component's item but the adapter's ``pk`` and ``version``.
FIELDS: dict[str, _Field] = {
    # what decide() reads and decides (ComponentState), and the override's own notes
    "pending_target": _WHOLE,
    "pending_reason": _TEXT,
    "override_copies": _WHOLE,
    "override_until": _TIME,
    "override_reason": _TEXT,
    "override_set_at": _TIME,
    "last_action": _Field(_choice(LastAction), str),
    "warmup_started_at": _TIME,
    "last_refusal": _Field(_refusal, str),
    # the last outcome
    "last_reason": _TEXT,
    "last_trigger": _TEXT,
    "last_error": _TEXT,
    "last_action_at": _TIME,
    "pending_since": _TIME,  # with last_action "scaling": when the open claim was made
    "attempts": _WHOLE,  # failed writes in a row of the current intent
    "updated_at": _TIME,
    # the transition in flight the watcher follows, and what clients read
    "inflight": _Field(_flag, lambda _: "1"),
    "inflight_kind": _Field(_choice(FlightKind), str),
    "inflight_target": _WHOLE,
    "inflight_from": _WHOLE,
    "requested_at": _TIME,
    "accepted_at": _TIME,
    "expected_ready_at": _TIME,
    "availability": _Field(_choice(Availability), str),
    # what cold starts measured, and the copy-count history icpilot report integrates
    "ready_history": _HISTORY,
    "met_at_cold_start": _HISTORY,
    "transitions": _Field(_changes, lambda changes: [[c.at.isoformat(), c.from_copies, c.to_copies] for c in changes]),
    "ready_log": _Field(_timed, lambda log: [[at.isoformat(), seconds] for at, seconds in log]),
    "last_ready_at": _TIME,
    # learned demand, demand signals, presence, ownership, observe mode
    "forecast": _Field(_forecast, lambda forecast: json.dumps(forecast.to_item())),
    "forecast_at": _TIME,
    "last_demand_at": _TIME,
    "gone_since": _TIME,
    "owned_by": _TEXT,
    "would_scale": _TEXT,
}
_ADAPTERS = ("pk", "version")


def typed(fields: Mapping[str, Any]) -> dict[str, Any]:
    """What the service writes, checked against the record (an unknown attribute or a value of the
    wrong type is a programming error: ValueError). None removes the attribute."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        spec = FIELDS.get(name)
        if spec is None:
            raise ValueError(f"{name!r} is not an attribute of a component's state item")
        try:
            out[name] = None if value is None else spec.read(value)
        except _Unreadable as exc:
            raise ValueError(f"{name}={value!r}: {exc}") from None
    return out


def encoded(fields: Mapping[str, Any]) -> dict[str, Any]:
    """What the service writes, as the DynamoDB adapter stores it (None: remove)."""
    return {name: None if value is None else FIELDS[name].store(value) for name, value in typed(fields).items()}


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
    met_at_cold_start: tuple[float, ...] = ()  # requests a minute that found it cold, per scale-up from zero
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
    rest: dict[str, Any] = {name: get(name) for name in _RECORD_FIELDS if name in values}
    return StoredState(state, version, endpoint, component, flight, **rest)


_RECORD_FIELDS = [
    "availability",
    "expected_ready_at",
    "attempts",
    "pending_since",
    "last_action_at",
    "last_reason",
    "last_trigger",
    "last_error",
    "updated_at",
    "override_reason",
    "override_set_at",
    "ready_history",
    "met_at_cold_start",
    "transitions",
    "ready_log",
    "last_ready_at",
    "forecast",
    "forecast_at",
    "last_demand_at",
    "gone_since",
    "owned_by",
    "would_scale",
]


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
        except _Unreadable as exc:
            raise CorruptStateError(endpoint, component, name, raw, str(exc)) from None
    version = attrs.get("version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise CorruptStateError(endpoint, component, "version", version, "expected a whole number")
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
            version = attrs.get("version", 0)
            known = version if isinstance(version, int) and not isinstance(version, bool) else -1
            components.append(StoredState(version=known, endpoint=endpoint, component=component, unreadable=exc))
    return components, sorted(parked, key=lambda p: p["pk"])
