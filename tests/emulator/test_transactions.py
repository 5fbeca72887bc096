"""TransactWriteItems on the emulator (``emulator.dynamodb_ext``): moto's semantics, in both
harness modes, without moto's whole-table backups. A cancelled transaction leaves every item it
named as it was (an item it updated before the failing one, an item it would have created); a
taken one writes them all."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.process import create_state_table
from tests.harness import Harness


def _update(pk: str, value: int, expected: int | None) -> dict[str, Any]:
    condition = "attribute_not_exists(pk)" if expected is None else "v = :expected"
    values: dict[str, Any] = {":value": {"N": str(value)}}
    if expected is not None:
        values[":expected"] = {"N": str(expected)}
    return {
        "Update": {
            "TableName": "state",
            "Key": {"pk": {"S": pk}},
            "UpdateExpression": "SET v = :value",
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
    }


def _values(ddb: Any) -> dict[str, int]:
    items = ddb.scan(TableName="state")["Items"]
    return {i["pk"]["S"]: int(i["v"]["N"]) for i in items}


def test_a_cancelled_transaction_leaves_every_item_it_named_as_it_was(aws: Harness) -> None:
    ddb = aws.client("dynamodb")
    create_state_table(ddb, "state")
    for pk in ("a", "b", "untouched"):
        ddb.put_item(TableName="state", Item={"pk": {"S": pk}, "v": {"N": "1"}})
    with pytest.raises(ClientError) as cancelled:
        # "a" is updated before "b"'s condition fails; "c" would be created after it.
        ddb.transact_write_items(TransactItems=[_update("a", 5, 1), _update("b", 5, 0), _update("c", 5, None)])
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed", "None"]
    assert _values(ddb) == {"a": 1, "b": 1, "untouched": 1}

    ddb.transact_write_items(TransactItems=[_update("a", 5, 1), _update("b", 5, 1), _update("c", 5, None)])
    assert _values(ddb) == {"a": 5, "b": 5, "c": 5, "untouched": 1}
