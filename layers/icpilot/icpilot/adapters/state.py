"""Per-component state in DynamoDB, written with conditions so racing invocations serialize.

A component's item (pk ``component#<endpoint>#<component>``) holds the attributes of
``records.FIELDS`` and ``version`` (incremented by every write; a write names the version it read
and loses with StateConflictError if another landed first). It is read as one typed record
(``records.stored_from``) and written through the same codec (``records.encoded``). Other items:
parked events (``event#``), rejection counts (``rejected#``), the registry of targets icpilot
created (``autoscaling#``), the policy's problems and the components another stack manages.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from ..errors import AwsCallError, CorruptStateError, StateConflictError
from ..records import (
    OWNERSHIP_KEY,
    PARKED_PREFIX,
    REJECTED_PREFIX,
    SCHEDULES_KEY,
    WRITE_ALL_LIMIT,
    AutoScalingRecord,
    StateWrite,
    StoredState,
    encoded,
    stored_from,
    valid_states,
    watched_from,
)
from .aws import aws_call, error_code, make_client

INFLIGHT_INDEX = "inflight"
BATCH_KEYS = 100  # BatchGetItem's limit per call
BATCH_ATTEMPTS = 5  # reads of keys DynamoDB left unprocessed, with backoff


def _utc_text(moment: datetime) -> str:
    """ISO-8601 in UTC, so that stored times compare as text in a condition expression."""
    return moment.astimezone(UTC).isoformat()


def key(endpoint: str, component: str) -> dict[str, Any]:
    return {"pk": {"S": f"component#{endpoint}#{component}"}}


def _to_attr(value: Any) -> dict[str, Any]:
    """A value ``records.encoded`` gives, as a DynamoDB attribute value."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    if isinstance(value, list | tuple):
        return {"L": [_to_attr(v) for v in value]}
    return {"S": str(value)}


def _from_attr(attr: dict[str, Any]) -> Any:
    if "S" in attr:
        return attr["S"]
    if "N" in attr:
        n = attr["N"]
        return int(n) if n.lstrip("-").isdigit() else float(n)
    if "BOOL" in attr:
        return attr["BOOL"]
    if "L" in attr:
        return [_from_attr(v) for v in attr["L"]]
    return None


def _condition_failed(exc: ClientError) -> bool:
    return error_code(exc) == "ConditionalCheckFailedException"


class StateStore:
    def __init__(self, table: str, client: Any | None = None) -> None:
        self.table = table
        self.client = make_client("dynamodb", client)

    def _call(
        self, operation: str, known: Callable[[ClientError], Exception | None] | None = None
    ) -> AbstractContextManager[None]:
        """``aws_call`` for this table: a missing table is named, not "Requested resource not found"."""

        def mapped(exc: ClientError) -> Exception | None:
            if error_code(exc) == "ResourceNotFoundException":
                why = f"table {self.table!r} does not exist (--table / ICPILOT_STATE_TABLE: the stack's StateTable output)"
                return AwsCallError("dynamodb", operation, "ResourceNotFoundException", why)
            return known(exc) if known is not None else None

        return aws_call("dynamodb", operation, mapped)

    def get(self, endpoint: str, component: str) -> StoredState:
        with self._call("GetItem"):
            item = self.client.get_item(TableName=self.table, Key=key(endpoint, component), ConsistentRead=True).get(
                "Item"
            )
        return stored_from(endpoint, component, {k: _from_attr(v) for k, v in item.items()} if item else {})

    def get_many(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], StoredState]:
        """Each (endpoint, component)'s item (version 0 where none is stored), in batched strongly
        consistent reads. One whose item does not read back valid is left out: ``get`` reads it
        alone and raises CorruptStateError for it, so it fails alone."""
        items = self._batch_get([key(e, c) for e, c in keys])
        found = {str(i["pk"]["S"]): {k: _from_attr(v) for k, v in i.items()} for i in items}
        return valid_states({(e, c): found.get(key(e, c)["pk"]["S"], {}) for e, c in keys})

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """BatchGetItem, 100 keys a call (the API's limit); keys DynamoDB leaves unprocessed (its
        throughput) are asked again with backoff, and a read that still leaves some fails."""
        items: list[dict[str, Any]] = []
        for i in range(0, len(keys), BATCH_KEYS):
            wanted: dict[str, Any] = {self.table: {"Keys": keys[i : i + BATCH_KEYS], "ConsistentRead": True}}
            for attempt in range(BATCH_ATTEMPTS):
                if attempt:
                    time.sleep(min(1.0, 0.05 * 2**attempt))
                with self._call("BatchGetItem"):
                    page = self.client.batch_get_item(RequestItems=wanted)
                items += page.get("Responses", {}).get(self.table, [])
                wanted = page.get("UnprocessedKeys") or {}
                if not wanted:
                    break
            else:
                left = len(wanted[self.table]["Keys"])
                raise AwsCallError("dynamodb", "BatchGetItem", "UnprocessedKeys", f"{left} keys left unread")
        return items

    def write(self, endpoint: str, component: str, expected_version: int, **fields: Any) -> int:
        """Set ``fields`` (typed values of ``records.FIELDS``; None removes one) if the item is still
        at ``expected_version``; returns the new version."""
        lost = StateConflictError(f"{endpoint}/{component}: state changed since version {expected_version}")
        with self._call("UpdateItem", lambda exc: lost if _condition_failed(exc) else None):
            self.client.update_item(**self._update(endpoint, component, expected_version, fields))
        return expected_version + 1

    def write_all(self, writes: list[StateWrite]) -> list[int]:
        """Each write as ``write`` makes it, all or none (one TransactWriteItems, at most
        ``WRITE_ALL_LIMIT``); the new versions in order. StateConflictError names the components
        whose version moved (or that another transaction held): then nothing was written."""
        if not writes:
            return []
        if len(writes) > WRITE_ALL_LIMIT:
            raise ValueError(f"{len(writes)} writes: one transaction takes at most {WRITE_ALL_LIMIT}")

        def cancelled(exc: ClientError) -> Exception | None:
            if error_code(exc) != "TransactionCanceledException":
                return None
            reasons = exc.response.get("CancellationReasons") or []
            lost = [
                f"{w.endpoint}/{w.component}"
                for w, r in zip(writes, reasons, strict=False)
                if r.get("Code") not in (None, "None")
            ]
            return StateConflictError(
                f"state changed or held since read: {', '.join(lost) or 'the transaction was cancelled'}"
            )

        items = [{"Update": self._update(w.endpoint, w.component, w.expected_version, w.fields)} for w in writes]
        with self._call("TransactWriteItems", cancelled):
            self.client.transact_write_items(TransactItems=items)
        return [w.expected_version + 1 for w in writes]

    def _update(self, endpoint: str, component: str, expected_version: int, fields: dict[str, Any]) -> dict[str, Any]:
        """The conditional update of one component's item: ``fields`` set (None: removed) and the
        version moved on, on condition that it is still ``expected_version`` (0: no item yet)."""
        fields = encoded(fields)
        sets = {k: v for k, v in fields.items() if v is not None}
        removes = [k for k, v in fields.items() if v is None]
        names = {f"#f{i}": name for i, name in enumerate([*sets, *removes])}
        by_name = {name: alias for alias, name in names.items()}
        values = {f":v{i}": _to_attr(value) for i, value in enumerate(sets.values())}
        assignments = [f"{by_name[k]} = :v{i}" for i, k in enumerate(sets)]
        names["#version"] = "version"
        values[":next"] = {"N": str(expected_version + 1)}
        expression = "SET " + ", ".join([*assignments, "#version = :next"])
        if removes:
            expression += " REMOVE " + ", ".join(by_name[k] for k in removes)
        if expected_version == 0:
            condition = "attribute_not_exists(pk)"
        else:
            condition = "#version = :expected"
            values[":expected"] = {"N": str(expected_version)}
        return {
            "TableName": self.table,
            "Key": key(endpoint, component),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def watch_items(self) -> tuple[list[StoredState], list[dict[str, str]]]:
        """Everything the watcher follows, in one query of the sparse ``inflight`` index:
        components with a transition in flight, and parked events (pk, body) SNS did not take."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": INFLIGHT_INDEX,
            "KeyConditionExpression": "inflight = :yes",
            "ExpressionAttributeValues": {":yes": {"S": "1"}},
        }
        with self._call("Query"):
            while True:
                page = self.client.query(**kwargs)
                items += page.get("Items", [])
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return watched_from([{k: _from_attr(v) for k, v in item.items()} for item in items])

    def park_event(self, event_id: str, body: str, time: datetime) -> None:
        """Keep an event SNS did not take; it rides the sparse index, so the watcher finds it."""
        self._put(
            {
                "pk": {"S": f"{PARKED_PREFIX}{time.isoformat()}#{event_id}"},
                "inflight": {"S": "1"},
                "body": {"S": body},
            }
        )

    def drop_parked(self, pk: str) -> None:
        with self._call("DeleteItem"):
            self.client.delete_item(TableName=self.table, Key={"pk": {"S": pk}})

    def remember_status(self, problems: list[str], now: datetime, subject: str = "policy") -> bool:
        """Record the current status of ``subject`` (a digest); True when it differs from the last recorded."""
        digest = hashlib.sha256("\n".join(problems).encode()).hexdigest()
        same = StateConflictError(f"this {subject} status was recorded already")
        try:
            with self._call("PutItem", lambda exc: same if _condition_failed(exc) else None):
                self.client.put_item(
                    TableName=self.table,
                    Item={
                        "pk": {"S": f"{subject}#status"},
                        "problems_digest": {"S": digest},
                        "updated_at": {"S": now.isoformat()},
                    },
                    ConditionExpression="attribute_not_exists(problems_digest) OR problems_digest <> :d",
                    ExpressionAttributeValues={":d": {"S": digest}},
                )
        except StateConflictError:
            return False
        return True

    def count_rejection(self, cause: str, now: datetime, quiet: timedelta) -> int | None:
        """Claim the announcement of a ``cause`` not announced in the last ``quiet`` (a conditional
        update returning how many went unannounced meanwhile), or count this one for the next."""
        pk = {"pk": {"S": f"{REJECTED_PREFIX}{cause}"}}
        announced = StateConflictError(f"a {cause} rejection was announced in the last {quiet}")
        try:
            with self._call("UpdateItem", lambda exc: announced if _condition_failed(exc) else None):
                old = self.client.update_item(
                    TableName=self.table,
                    Key=pk,
                    UpdateExpression="SET announced_at = :now, unannounced = :zero",
                    ConditionExpression="attribute_not_exists(announced_at) OR announced_at <= :cutoff",
                    ExpressionAttributeValues={
                        ":now": {"S": _utc_text(now)},
                        ":cutoff": {"S": _utc_text(now - quiet)},
                        ":zero": {"N": "0"},
                    },
                    ReturnValues="UPDATED_OLD",
                )
        except StateConflictError:
            with self._call("UpdateItem"):
                self.client.update_item(
                    TableName=self.table,
                    Key=pk,
                    UpdateExpression="ADD unannounced :one",
                    ExpressionAttributeValues={":one": {"N": "1"}},
                )
            return None
        return int(old.get("Attributes", {}).get("unannounced", {}).get("N", "0"))

    def managed_elsewhere(self) -> dict[str, str]:
        """The policy's components another stack manages, with that stack (configure's last finding)."""
        with self._call("GetItem"):
            item = self.client.get_item(
                TableName=self.table, Key={"pk": {"S": OWNERSHIP_KEY}}, ConsistentRead=True
            ).get("Item")
        try:
            found = json.loads(item["components"]["S"]) if item else {}
        except (KeyError, ValueError) as exc:
            raise CorruptStateError("-", "-", "components", item, f"not a JSON object: {exc}") from exc
        return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}

    def remember_managed_elsewhere(self, components: dict[str, str]) -> None:
        self._put({"pk": {"S": OWNERSHIP_KEY}, "components": {"S": json.dumps(components, sort_keys=True)}})

    def schedules_fingerprint(self) -> str | None:
        with self._call("GetItem"):
            item = self.client.get_item(TableName=self.table, Key={"pk": {"S": SCHEDULES_KEY}}, ConsistentRead=True)
        return str(item["Item"]["fingerprint"]["S"]) if "fingerprint" in item.get("Item", {}) else None

    def remember_schedules(self, fingerprint: str) -> None:
        self._put({"pk": {"S": SCHEDULES_KEY}, "fingerprint": {"S": fingerprint}})

    # Which scalable targets icpilot registered itself (only those are ever deregistered), and the
    # ones it adopted, as they were (put back when the stack is deleted); the copies each had then.
    def remember_target(self, component: str, copies: int | None = None) -> None:
        item: dict[str, Any] = {"pk": {"S": f"autoscaling#{component}"}, "created_target": {"BOOL": True}}
        if copies is not None:
            item["copies_at_adoption"] = {"N": str(copies)}
        self._put(item)

    def remember_adoption(self, component: str, record: dict[str, Any], copies: int) -> bool:
        """Keep a team's target as it was before icpilot's first write; the first record wins (a
        later one would hold icpilot's own changes). True when this call recorded it."""
        try:
            with self._call(
                "PutItem", lambda exc: StateConflictError("adopted already") if _condition_failed(exc) else None
            ):
                self.client.put_item(
                    TableName=self.table,
                    Item={
                        "pk": {"S": f"autoscaling#{component}"},
                        "adopted": {"S": json.dumps(record, sort_keys=True)},
                        "copies_at_adoption": {"N": str(copies)},
                    },
                    ConditionExpression="attribute_not_exists(adopted)",
                )
        except StateConflictError:
            return False
        return True

    def autoscaling_records(self) -> dict[str, AutoScalingRecord]:
        """Every component whose target icpilot registered or adopted (a Scan: stack delete, uninstall --plan)."""
        out: dict[str, AutoScalingRecord] = {}
        with self._call("Scan"):
            for page in self.client.get_paginator("scan").paginate(
                TableName=self.table,
                FilterExpression="begins_with(pk, :p)",
                ExpressionAttributeValues={":p": {"S": "autoscaling#"}},
                ConsistentRead=True,
            ):
                for item in page.get("Items", []):
                    component = item["pk"]["S"].removeprefix("autoscaling#")
                    out[component] = AutoScalingRecord.of(component, {k: _from_attr(v) for k, v in item.items()})
        return dict(sorted(out.items()))

    def registered_targets(self, components: list[str]) -> set[str]:
        """Which of these components' targets icpilot registered or adopted (batched reads)."""
        items = self._batch_get([{"pk": {"S": f"autoscaling#{c}"}} for c in components])
        return {i["pk"]["S"].removeprefix("autoscaling#") for i in items}

    def created_target(self, component: str) -> bool:
        with self._call("GetItem"):
            item = self.client.get_item(
                TableName=self.table, Key={"pk": {"S": f"autoscaling#{component}"}}, ConsistentRead=True
            ).get("Item")
        return bool(item and item.get("created_target", {}).get("BOOL"))

    def forget_target(self, component: str) -> None:
        with self._call("DeleteItem"):
            self.client.delete_item(TableName=self.table, Key={"pk": {"S": f"autoscaling#{component}"}})

    def _put(self, item: dict[str, Any]) -> None:
        with self._call("PutItem"):
            self.client.put_item(TableName=self.table, Item=item)
