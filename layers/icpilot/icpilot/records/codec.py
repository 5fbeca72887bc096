"""The one codec between a component's state item and its typed values: ``FIELDS`` says how each
attribute reads (from DynamoDB, or from what the service writes) and how it is stored. A value of
the wrong shape is ``Unreadable`` (the reader names the attribute).

Migration: items written before the typed record (schema 1) kept the lists (``ready_history``,
``met_at_cold_start``, ``transitions``, ``ready_log``) as JSON text; they are now DynamoDB lists.
Both read; the next write of a list writes the new form (``tests/unit/test_state_record.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ..domain.decision_types import LastAction, Refusal
from ..domain.forecast import Forecast
from ..domain.transitions import Availability, CopyChange, FlightKind


class Unreadable(ValueError):
    """A stored value of the wrong shape (why); the reader names the attribute."""


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Unreadable("expected a whole number")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise Unreadable("expected text")
    return value


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        when = value
    else:
        try:
            when = datetime.fromisoformat(_text(value))
        except ValueError:
            raise Unreadable("expected an ISO-8601 time") from None
    if when.tzinfo is None:
        raise Unreadable("expected a time with a zone offset")
    return when


def _choice(vocabulary: type[StrEnum]) -> Callable[[Any], Any]:
    def read(value: Any) -> Any:
        try:
            return vocabulary(value)
        except ValueError:
            raise Unreadable(f"expected one of {', '.join(m.value for m in vocabulary)}") from None

    return read


def _refusal(value: Any) -> Refusal:
    if isinstance(value, Refusal):
        return value
    try:
        return Refusal.parse(_text(value))
    except ValueError as exc:
        raise Unreadable(str(exc)) from None


def _list(value: Any) -> list[Any]:
    """A stored list: a DynamoDB list, or (schema 1) its JSON text."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise Unreadable("expected a list (or its JSON text)") from None
    if not isinstance(value, list | tuple):
        raise Unreadable("expected a list")
    return list(value)


def _numbers(value: Any) -> tuple[float, ...]:
    entries = _list(value)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in entries):
        raise Unreadable("expected a list of numbers")
    return tuple(float(v) for v in entries)


def _changes(value: Any) -> tuple[CopyChange, ...]:
    try:
        return tuple(CopyChange(_instant(at), _whole(before), _whole(after)) for at, before, after in _list(value))
    except (TypeError, ValueError):
        raise Unreadable("expected a list of [time, from, to]") from None


def _timed(value: Any) -> tuple[tuple[datetime, float], ...]:
    try:
        return tuple((_instant(at), float(seconds)) for at, seconds in _list(value))
    except (TypeError, ValueError):
        raise Unreadable("expected a list of [time, seconds]") from None


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
    raise Unreadable('expected "1" (the in-flight index key)')


@dataclass(frozen=True)
class _Field:
    """How one attribute reads (``read``: a stored or written value to its typed value, raising
    Unreadable) and how it is written to DynamoDB (``store``: the typed value to a stored one)."""

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
        except Unreadable as exc:
            raise ValueError(f"{name}={value!r}: {exc}") from None
    return out


def encoded(fields: Mapping[str, Any]) -> dict[str, Any]:
    """What the service writes, as the DynamoDB adapter stores it (None: remove)."""
    return {name: None if value is None else FIELDS[name].store(value) for name, value in typed(fields).items()}
