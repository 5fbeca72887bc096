"""The SNS examples in events/ are real events: they parse, and every event type has one."""

from __future__ import annotations

import json
from pathlib import Path

from icpilot.events import EventType, LifecycleEvent

EVENTS = Path(__file__).resolve().parents[2] / "events"


def test_every_event_type_has_a_valid_example() -> None:
    seen = set()
    for path in sorted(EVENTS.glob("sns_*.json")):
        doc = json.loads(path.read_text())
        event = LifecycleEvent.model_validate(doc["Message"])
        assert doc["Subject"] == event.subject()
        assert doc["MessageAttributes"] == event.message_attributes()
        seen.add(event.type)
    assert seen == {t.value for t in EventType}
