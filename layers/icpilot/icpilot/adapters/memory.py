"""In-memory twin of ``StateStore``: the same versions, conditions and records, no AWS.

For unit tests and local runs. A component's item is kept as its typed values (``records.typed``:
the same checks as a DynamoDB write, no codec strings) and read as the same record
(``records.record_of``); a write on a stale version loses with StateConflictError, as on the table.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from ..errors import StateConflictError
from ..records import (
    OWNERSHIP_KEY,
    PARKED_PREFIX,
    REJECTED_PREFIX,
    SCHEDULES_KEY,
    AutoScalingRecord,
    StateWrite,
    StoredState,
    record_of,
    split_key,
    typed,
)


class InMemoryStateStore:
    def __init__(self) -> None:
        # pk -> a component's typed values with its version, or another item's attributes
        self.items: dict[str, dict[str, Any]] = {}

    @staticmethod
    def _pk(endpoint: str, component: str) -> str:
        return f"component#{endpoint}#{component}"

    def get(self, endpoint: str, component: str) -> StoredState:
        values = dict(self.items.get(self._pk(endpoint, component), {}))
        return record_of(endpoint, component, values.pop("version", 0), values)

    def get_many(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], StoredState]:
        return {(e, c): self.get(e, c) for e, c in keys}

    def write(self, endpoint: str, component: str, expected_version: int, **fields: Any) -> int:
        pk = self._pk(endpoint, component)
        item = self.items.get(pk)
        current = item.get("version") if item is not None else None
        if (expected_version == 0 and item is not None) or (expected_version != 0 and current != expected_version):
            raise StateConflictError(f"{endpoint}/{component}: state changed since version {expected_version}")
        updated = dict(item or {})
        for name, value in typed(fields).items():
            if value is None:
                updated.pop(name, None)
            else:
                updated[name] = value
        updated["version"] = expected_version + 1
        self.items[pk] = updated
        return expected_version + 1

    def write_all(self, writes: list[StateWrite]) -> list[int]:
        """All or none, as the DynamoDB store's transaction."""
        lost = [
            f"{w.endpoint}/{w.component}"
            for w in writes
            if self.items.get(self._pk(w.endpoint, w.component), {}).get("version", 0) != w.expected_version
        ]
        if lost:
            raise StateConflictError(f"state changed or held since read: {', '.join(lost)}")
        return [self.write(w.endpoint, w.component, w.expected_version, **w.fields) for w in writes]

    def watch_items(self) -> tuple[list[StoredState], list[dict[str, str]]]:
        flights = [
            self.get(*split_key(pk))
            for pk, item in self.items.items()
            if pk.startswith("component#") and item.get("inflight")
        ]
        parked = [
            {"pk": pk, "body": str(item["body"])} for pk, item in self.items.items() if pk.startswith(PARKED_PREFIX)
        ]
        return flights, sorted(parked, key=lambda p: p["pk"])

    def park_event(self, event_id: str, body: str, time: datetime) -> None:
        pk = f"{PARKED_PREFIX}{time.isoformat()}#{event_id}"
        self.items[pk] = {"pk": pk, "inflight": "1", "body": body}

    def drop_parked(self, pk: str) -> None:
        self.items.pop(pk, None)

    def remember_status(self, problems: list[str], now: datetime, subject: str = "policy") -> bool:
        digest = hashlib.sha256("\n".join(problems).encode()).hexdigest()
        status = self.items.get(f"{subject}#status", {})
        if status.get("problems_digest") == digest:
            return False
        self.items[f"{subject}#status"] = {
            "pk": f"{subject}#status",
            "problems_digest": digest,
            "updated_at": now.isoformat(),
        }
        return True

    def count_rejection(self, cause: str, now: datetime, quiet: timedelta) -> int | None:
        pk = f"{REJECTED_PREFIX}{cause}"
        item = self.items.setdefault(pk, {"pk": pk})
        last = item.get("announced_at")
        if last is not None and datetime.fromisoformat(last) > now - quiet:
            item["unannounced"] = item.get("unannounced", 0) + 1
            return None
        unannounced = int(item.get("unannounced", 0))
        item.update(announced_at=now.isoformat(), unannounced=0)
        return unannounced

    def managed_elsewhere(self) -> dict[str, str]:
        return dict(self.items.get(OWNERSHIP_KEY, {}).get("components", {}))

    def remember_managed_elsewhere(self, components: dict[str, str]) -> None:
        self.items[OWNERSHIP_KEY] = {"pk": OWNERSHIP_KEY, "components": dict(components)}

    def schedules_fingerprint(self) -> str | None:
        return self.items.get(SCHEDULES_KEY, {}).get("fingerprint")

    def remember_schedules(self, fingerprint: str) -> None:
        self.items[SCHEDULES_KEY] = {"pk": SCHEDULES_KEY, "fingerprint": fingerprint}

    def remember_target(self, component: str, copies: int | None = None) -> None:
        item: dict[str, Any] = {"pk": f"autoscaling#{component}", "created_target": True}
        if copies is not None:
            item["copies_at_adoption"] = copies
        self.items[f"autoscaling#{component}"] = item

    def remember_adoption(self, component: str, record: dict[str, Any], copies: int) -> bool:
        item = self.items.get(f"autoscaling#{component}", {})
        if "adopted" in item:
            return False
        self.items[f"autoscaling#{component}"] = {
            "pk": f"autoscaling#{component}",
            "adopted": json.dumps(record, sort_keys=True),
            "copies_at_adoption": copies,
        }
        return True

    def autoscaling_records(self) -> dict[str, AutoScalingRecord]:
        return {
            pk.removeprefix("autoscaling#"): AutoScalingRecord.of(pk.removeprefix("autoscaling#"), item)
            for pk, item in sorted(self.items.items())
            if pk.startswith("autoscaling#")
        }

    def registered_targets(self, components: list[str]) -> set[str]:
        return {c for c in components if f"autoscaling#{c}" in self.items}

    def created_target(self, component: str) -> bool:
        return bool(self.items.get(f"autoscaling#{component}", {}).get("created_target"))

    def forget_target(self, component: str) -> None:
        self.items.pop(f"autoscaling#{component}", None)
