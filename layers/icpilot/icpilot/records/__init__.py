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

Modules: ``state`` (the record), ``codec`` (the attributes, and the migration of schema-1
items), ``registry`` (the table's other items).
"""

from .codec import FIELDS, encoded, typed
from .registry import OWNERSHIP_KEY, PARKED_PREFIX, REJECTED_PREFIX, SCHEDULES_KEY, AutoScalingRecord
from .state import (
    WRITE_ALL_LIMIT,
    StateWrite,
    StoredState,
    decided_fields,
    record_of,
    split_key,
    stored_from,
    valid_states,
    watched_from,
)

__all__ = [
    "FIELDS",
    "OWNERSHIP_KEY",
    "PARKED_PREFIX",
    "REJECTED_PREFIX",
    "SCHEDULES_KEY",
    "WRITE_ALL_LIMIT",
    "AutoScalingRecord",
    "StateWrite",
    "StoredState",
    "decided_fields",
    "encoded",
    "record_of",
    "split_key",
    "stored_from",
    "typed",
    "valid_states",
    "watched_from",
]
