"""The SNS examples in events/ are real events: they parse, and every event type has one."""

from __future__ import annotations

import json
from pathlib import Path

from icpilot.domain.events import EventType, LifecycleEvent

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


def test_events_are_bounded_and_the_full_one_is_logged(caplog) -> None:  # type: ignore[no-untyped-def]
    """Issue 14: a 272 KB PolicyInvalid was refused by SNS and re-published every minute forever."""
    import logging
    from datetime import UTC, datetime

    from icpilot.domain.events import MAX_DETAILS_BYTES, MAX_REASON, EventDraft, TriggerInfo

    draft = EventDraft(
        type=EventType.POLICY_INVALID,
        reason="x" * 300_000,
        details={"problems": ["p" * 1000] * 300},
    )
    with caplog.at_level(logging.WARNING, logger="icpilot.domain.events"):
        event = LifecycleEvent.from_draft(
            draft,
            time=datetime(2026, 11, 23, tzinfo=UTC),
            endpoint=None,
            component=None,
            trigger=TriggerInfo(kind="tick", source="tick"),
            correlation_id="c",
        )
    assert len(event.reason) == MAX_REASON and event.details["truncated"] is True
    assert event.details["keys"] == ["problems"] and event.details["size_bytes"] > MAX_DETAILS_BYTES
    assert len(event.model_dump_json().encode()) < 32 * 1024  # far inside SNS's 256 KB and DynamoDB's 400 KB
    assert any(r.getMessage() == "lifecycle event in full" for r in caplog.records)


def test_one_fact_announced_twice_carries_one_id() -> None:
    """Racing runs, or a retry, that announce the same fact give subscribers the same event id."""
    from datetime import UTC, datetime

    from icpilot.domain.events import EventDraft, EventType, LifecycleEvent, TriggerInfo

    def event(fact: str | None) -> LifecycleEvent:
        draft = EventDraft(type=EventType.WARM_UP_COMPLETED, reason="ready", fact=fact)
        return LifecycleEvent.from_draft(
            draft,
            time=datetime(2026, 11, 23, 8, tzinfo=UTC),
            endpoint="ep",
            component="m",
            trigger=TriggerInfo(kind="tick", source="watch", rule=None),
            correlation_id="c",
        )

    assert event("ready/ep/m/2026-11-23T07:52:00+00:00").id == event("ready/ep/m/2026-11-23T07:52:00+00:00").id
    assert event("ready/ep/m/2026-11-23T07:52:00+00:00").id != event("ready/ep/m/2026-11-24T07:52:00+00:00").id
    assert event(None).id != event(None).id  # without a fact, every event is its own
