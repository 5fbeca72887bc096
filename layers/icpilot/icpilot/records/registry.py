"""The state table's other items: their keys, and the registry of scalable targets icpilot
registered or adopted (``AutoScalingRecord``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..errors import CorruptStateError

PARKED_PREFIX = "event#"  # events SNS did not take, waiting to be published again
OWNERSHIP_KEY = "ownership#elsewhere"  # the policy's components another stack manages
SCHEDULES_KEY = "schedules#reconciled"  # what the schedule group held when it last matched the policy
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
