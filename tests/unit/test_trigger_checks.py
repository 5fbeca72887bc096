"""Whether a trigger is believed (``service/triggers.py``), on the in-memory fakes of CloudWatch and
the state table: an alarm's claim against CloudWatch's own state, a client's count of waiting
requests against CloudWatch's failed requests, and the demand rate limit. No moto, no emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from icpilot.adapters.memory import InMemoryStateStore
from icpilot.adapters.sns import EventPublisher
from icpilot.domain.aws_views import AlarmState
from icpilot.domain.decision_types import AlarmKind, Trigger, TriggerKind
from icpilot.plans.autoscaling import alarm_name
from icpilot.policy import load_policy
from icpilot.service.announce import Announcer
from icpilot.service.outcomes import Outcome, RunSummary
from icpilot.service.triggers import TriggerChecks

from tests.fakes import FakeCloudWatch

POLICY = load_policy(Path(__file__).resolve().parents[1] / "policy.yaml")
NOW = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
CHANGED = NOW - timedelta(seconds=20)
NO_CAPACITY = alarm_name("flan-t5-xxl", AlarmKind.NO_CAPACITY)


def checks(cloudwatch: FakeCloudWatch) -> tuple[TriggerChecks, EventPublisher]:
    publisher = EventPublisher(None)
    return TriggerChecks(InMemoryStateStore(), cloudwatch, Announcer(publisher, "test")), publisher


def alarm_event(state: str = "ALARM", changed: datetime | None = CHANGED) -> tuple[str, str, datetime | None]:
    return NO_CAPACITY, state, changed


@pytest.mark.parametrize(
    ("held", "event", "why"),
    [
        (None, alarm_event(), "does not exist in CloudWatch"),
        (AlarmState("OK", CHANGED), alarm_event(), "is OK in CloudWatch"),
        (AlarmState("ALARM", CHANGED - timedelta(hours=1)), alarm_event(), "a replayed or forged event"),
        (AlarmState("ALARM", CHANGED), alarm_event(changed=None), "carries no state timestamp"),
        (AlarmState("ALARM", CHANGED), ("icpilot-somebody-else-no-capacity", "ALARM", CHANGED), "not an icpilot alarm"),
    ],
)
def test_an_alarm_cloudwatch_does_not_confirm_is_rejected(
    held: AlarmState | None, event: tuple[str, str, datetime | None], why: str
) -> None:
    cloudwatch = FakeCloudWatch(alarms={NO_CAPACITY: held} if held else {})
    check, publisher = checks(cloudwatch)
    summary = RunSummary(trigger="alarm", correlation_id="test")
    name, state, changed = event
    assert check.alarm_trigger(POLICY, name, state, changed, Trigger(TriggerKind.ALARM), NOW, summary) is None
    assert [o.result for o in summary.outcomes] == [Outcome.REJECTED] and why in summary.outcomes[0].reason
    assert [e.type for e in publisher.published] == ["TriggerRejected"]


def test_a_confirmed_alarm_is_sized_by_cloudwatchs_datapoint_not_the_payload() -> None:
    cloudwatch = FakeCloudWatch(alarms={NO_CAPACITY: AlarmState("ALARM", CHANGED, latest=17.0)})
    check, publisher = checks(cloudwatch)
    summary = RunSummary(trigger="alarm", correlation_id="test")
    found = check.alarm_trigger(POLICY, NO_CAPACITY, "ALARM", CHANGED, Trigger(TriggerKind.ALARM), NOW, summary)
    assert found is not None
    endpoint, component, trigger = found
    assert (endpoint, component, trigger.alarm, trigger.failed_requests) == (
        "llm-endpoint",
        "flan-t5-xxl",
        AlarmKind.NO_CAPACITY,
        17.0,
    )
    assert summary.outcomes == [] and publisher.published == []


@pytest.mark.parametrize(
    ("claimed", "failed_per_minute", "believed"),
    [
        (1, [], None),  # one waiting request needs no evidence: the warm-up is warmup_copies
        (40, [], None),  # nothing measured backs the count
        (40, [3, 9, 5], 9),  # capped by the busiest minute CloudWatch measured
        (4, [3, 9, 5], 4),  # never more than the client says
    ],
)
def test_a_clients_waiting_count_is_capped_by_what_cloudwatch_measured(
    claimed: int, failed_per_minute: list[int], believed: int | None
) -> None:
    cloudwatch = FakeCloudWatch()
    minute = NOW.replace(second=0)
    for i, failed in enumerate(failed_per_minute):
        cloudwatch.put("NoCapacityInvocationFailures", "flan-t5-xxl", minute - timedelta(minutes=i), failed)
    check, _ = checks(cloudwatch)
    assert check.measured_waiting("flan-t5-xxl", claimed, NOW) == believed


def test_demand_signals_act_at_most_once_per_interval() -> None:
    check, _ = checks(FakeCloudWatch())
    trigger = Trigger(TriggerKind.DEMAND)
    summary = RunSummary(trigger="demand", correlation_id="test")
    assert check.claim_demand("llm-endpoint", "flan-t5-xxl", trigger, NOW, summary)
    assert not check.claim_demand("llm-endpoint", "flan-t5-xxl", trigger, NOW + timedelta(seconds=29), summary)
    assert "rate-limited" in summary.outcomes[-1].reason
    later = NOW + timedelta(seconds=check.DEMAND_INTERVAL_SECONDS)
    assert check.claim_demand("llm-endpoint", "flan-t5-xxl", trigger, later, summary)
