"""DynamoDB's TransactWriteItems at fleet scale.

To roll back a cancelled transaction, moto deep-copies every table the transaction names, whole,
once per item of the transaction: with a few thousand items in the state table each transaction
costs seconds and a fleet's tick never ends. Here moto's own code runs (its conditions, its
cancellation reasons), with the whole-table backup switched off for the call, and only the items
the transaction names are kept and put back when it is cancelled. Nothing else in moto changes.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

_original_transact = dynamodb_models.DynamoDBBackend.transact_write_items
_in_transaction = threading.local()


class _CopyWithoutTableBackup:
    """``copy`` as moto's DynamoDB models see it: a Table is not copied inside a transaction here."""

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        if isinstance(value, Table) and getattr(_in_transaction, "active", False):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _touched(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Table, Any, Any]]:
    """(table, hash key, a copy of its items under that key or None) for each item named."""
    kept: list[tuple[Table, Any, Any]] = []
    for entry in transact_items:
        op = next(iter(entry.values()), None)
        if not isinstance(op, dict) or (table := backend.tables.get(op.get("TableName"))) is None:
            continue
        attrs = op.get("Key") or op.get("Item") or {}
        if table.hash_key_attr not in attrs:
            continue  # moto refuses it as invalid: nothing is written
        hash_key = DynamoType(attrs[table.hash_key_attr])
        kept.append((table, hash_key, copy.deepcopy(table.items.get(hash_key))))
    return kept


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    kept = _touched(self, transact_items)
    _in_transaction.active = True
    try:
        _original_transact(self, transact_items)
    except Exception:
        for table, hash_key, items in kept:
            if items is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = items
        raise
    finally:
        _in_transaction.active = False


def install() -> None:
    dynamodb_models.copy = _CopyWithoutTableBackup()  # type: ignore[assignment]
    dynamodb_models.DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
