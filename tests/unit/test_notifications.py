"""Each subscriber's form of one lifecycle event (domain.notifications), on every sample in events/.

The chat samples in events/chat/ are the chat form of the sns_*.json samples; after a deliberate
change to the format, rewrite them with ``ICPILOT_WRITE_SAMPLES=1 pytest tests/unit/test_notifications.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest
from icpilot.domain.events import EventType, LifecycleEvent, Severity
from icpilot.domain.notifications import (
    JSON_PROTOCOLS,
    NEXT_STEPS,
    chat_notification,
    email_text,
    headline,
    severity_at_least,
    sns_message,
)

EVENTS = Path(__file__).resolve().parents[2] / "events"
CHAT = EVENTS / "chat"
SCHEMA = json.loads((CHAT / "custom-notification.schema.json").read_text())
SAMPLES = sorted(EVENTS.glob("sns_*.json"))


def sample(path: Path) -> LifecycleEvent:
    return LifecycleEvent.model_validate(json.loads(path.read_text())["Message"])


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_queues_lambdas_and_webhooks_get_the_json_event_byte_for_byte(path: Path) -> None:
    event = sample(path)
    structured = json.loads(sns_message(event))
    assert set(structured) == {"default", "email", "sms"}  # SNS hands "default" to every protocol without a key
    assert len(structured["sms"]) <= 140 and structured["sms"].startswith(f"icpilot {headline(event)}")
    assert not set(JSON_PROTOCOLS) & set(structured)
    assert structured["default"] == event.model_dump_json()
    assert LifecycleEvent.model_validate_json(structured["default"]) == event


def test_the_largest_event_fits_snss_message_limit_in_both_forms() -> None:
    from datetime import UTC, datetime

    from icpilot.domain.events import EventDraft, TriggerInfo

    draft = EventDraft(
        type=EventType.POLICY_INVALID,
        reason="r" * 10_000,
        details={f"k{i}": "v" * 300 for i in range(50)},  # just under the details bound
    )
    event = LifecycleEvent.from_draft(
        draft,
        time=datetime(2026, 11, 23, tzinfo=UTC),
        endpoint="e" * 63,
        component="c" * 63,
        trigger=TriggerInfo(kind="tick", source="tick"),
        correlation_id="c",
    )
    assert len(sns_message(event).encode()) < 64 * 1024  # SNS takes 256 KB


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_email_is_a_short_text_that_says_what_where_why_and_what_to_do(path: Path) -> None:
    event = sample(path)
    text = json.loads(sns_message(event))["email"]
    assert text == email_text(event)
    assert text.splitlines()[0] == headline(event)
    assert f"What happened: {event.reason}" in text
    if event.component:
        assert f"Where: {event.component} on endpoint {event.endpoint}" in text
    steps = NEXT_STEPS.get(EventType(event.type), ())
    assert all(step in text for step in steps)
    assert ("Nothing: this is for the record." in text) == (not steps)
    assert "{" not in text.splitlines()[0]  # no JSON in the part a person reads first
    assert len(text.splitlines()) <= 40


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_the_chat_form_follows_amazon_q_developers_schema_and_matches_its_sample(path: Path) -> None:
    event = sample(path)
    chat = json.loads(chat_notification(event).to_json())
    jsonschema.validate(chat, SCHEMA)
    assert chat["id"] == event.id and chat["metadata"]["eventType"] == event.type
    assert event.reason in chat["content"]["description"]
    assert chat["content"]["nextSteps"] == list(NEXT_STEPS.get(EventType(event.type), ()))
    stored = CHAT / f"{path.stem.removeprefix('sns_')}.json"
    if os.environ.get("ICPILOT_WRITE_SAMPLES") == "1":
        stored.write_text(json.dumps(chat, indent=2, ensure_ascii=False) + "\n")
    assert json.loads(stored.read_text()) == chat, f"{stored.name} is stale; see this module's docstring"


def test_every_event_type_has_a_chat_sample() -> None:
    names = {p.stem for p in CHAT.glob("*.json") if not p.name.endswith(".schema.json")}
    assert names == {p.stem.removeprefix("sns_") for p in SAMPLES}
    assert len(names) == len(EventType)


def test_the_schema_refuses_what_the_channel_would_not_render() -> None:
    good = json.loads(chat_notification(sample(SAMPLES[0])).to_json())
    for broken in (
        {**good, "version": "2.0"},
        {**good, "source": "icpilot"},
        {**good, "content": {k: v for k, v in good["content"].items() if k != "description"}},
        {**good, "content": {**good["content"], "textType": "markdown"}},
        {**good, "content": {**good["content"], "next_steps": []}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, SCHEMA)


@pytest.mark.parametrize(
    ("event_severity", "floor", "posted"),
    [
        (Severity.INFO, Severity.INFO, True),
        (Severity.INFO, Severity.WARNING, False),
        (Severity.WARNING, Severity.WARNING, True),
        (Severity.ERROR, Severity.WARNING, True),
        (Severity.WARNING, Severity.ERROR, False),
        (Severity.ERROR, Severity.ERROR, True),
    ],
)
def test_the_chat_filter_posts_events_at_or_above_its_severity(
    event_severity: Severity, floor: Severity, posted: bool
) -> None:
    event = sample(SAMPLES[0]).model_copy(update={"severity": event_severity})
    assert severity_at_least(event, floor) is posted
