"""The evaluation and the watcher (``service/``) on the in-memory fakes of their ports: the real
service code, no moto, no emulator, no clock. What is claimed, written, recorded and said when a
scale goes through, when SageMaker refuses it, when the write fails, and whose bounds are moved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from icpilot.adapters.memory import InMemoryStateStore
from icpilot.adapters.sns import EventPublisher
from icpilot.domain.decision_types import AlarmKind, LastAction, Trigger, TriggerKind
from icpilot.domain.transitions import Availability, FlightKind, InFlight
from icpilot.errors import AwsCallError, ComponentBusyError
from icpilot.policy import load_policy
from icpilot.service.announce import Announcer
from icpilot.service.evaluate import Evaluation
from icpilot.service.outcomes import Outcome, RunSummary
from icpilot.service.watch import Watch

from tests.fakes import linked

POLICY = load_policy(Path(__file__).resolve().parents[1] / "policy.yaml")
SATURDAY_NOON = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)  # no window open: flan may rest at zero
NO_CAPACITY = Trigger(TriggerKind.ALARM, alarm=AlarmKind.NO_CAPACITY, failed_requests=4)


class World:
    """The seed endpoint on the fakes: flan-t5-xxl at ``flan`` copies, falcon-7b at zero."""

    def __init__(self, flan: int = 0) -> None:
        self.sagemaker, self.autoscaling, self.cloudwatch = linked()
        self.sagemaker.add("llm-endpoint", "flan-t5-xxl", accelerators=2, copies=flan)
        self.sagemaker.add("llm-endpoint", "falcon-7b", accelerators=1, copies=0)
        self.state = InMemoryStateStore()
        self.publisher = EventPublisher(None)
        self.announcer = Announcer(self.publisher, "test")

    def evaluate(self, trigger: Trigger, now: datetime, component: str = "flan-t5-xxl") -> RunSummary:
        summary = RunSummary(trigger=trigger.kind.value, correlation_id="test")
        evaluation = Evaluation(self.sagemaker, self.autoscaling, self.state, self.announcer)
        evaluation.components(POLICY, [("llm-endpoint", component)], trigger, now, summary)
        return summary

    def said(self) -> list[str]:
        return [str(e.type) for e in self.publisher.published]


def test_a_scale_from_zero_is_claimed_written_recorded_and_said() -> None:
    world = World()
    summary = world.evaluate(NO_CAPACITY, SATURDAY_NOON)
    assert [(o.result, o.from_copies, o.to_copies) for o in summary.outcomes] == [(Outcome.SCALED, 0, 1)]
    assert world.sagemaker.writes == [("flan-t5-xxl", 1)]
    stored = world.state.get("llm-endpoint", "flan-t5-xxl")
    assert stored.in_flight == InFlight(FlightKind.WARM_UP, 1, 0, SATURDAY_NOON, SATURDAY_NOON)
    assert stored.availability is Availability.WARMING and stored.attempts == 0
    assert stored.state.last_action is LastAction.SCALED and stored.state.warmup_started_at == SATURDAY_NOON
    assert world.said() == ["WarmUpStarted", "ScaleRequested", "Scaled"]


def test_a_write_sagemaker_refuses_is_deferred_and_kept_for_the_tick() -> None:
    world = World()
    world.sagemaker.refuse_next["flan-t5-xxl"] = ComponentBusyError("while it is in state Updating")
    summary = world.evaluate(NO_CAPACITY, SATURDAY_NOON)
    assert [o.result for o in summary.outcomes] == [Outcome.DEFERRED]
    stored = world.state.get("llm-endpoint", "flan-t5-xxl")
    assert stored.state.last_action is LastAction.DEFERRED and stored.state.pending_target == 1
    assert stored.in_flight is None and world.sagemaker.writes == []
    assert world.said()[-1] == "ScaleDeferred"
    # The next tick carries the kept intent out.
    tick = world.evaluate(Trigger(TriggerKind.TICK), SATURDAY_NOON + timedelta(minutes=1))
    assert [o.result for o in tick.outcomes] == [Outcome.SCALED] and world.sagemaker.writes == [("flan-t5-xxl", 1)]
    assert world.state.get("llm-endpoint", "flan-t5-xxl").state.pending_target is None


def test_a_failed_write_is_counted_said_and_retried() -> None:
    world = World()
    world.sagemaker.refuse_next["flan-t5-xxl"] = AwsCallError(
        "sagemaker", "UpdateInferenceComponentRuntimeConfig", "ThrottlingException", "slow down"
    )
    summary = world.evaluate(NO_CAPACITY, SATURDAY_NOON)
    assert [o.result for o in summary.outcomes] == [Outcome.FAILED]
    stored = world.state.get("llm-endpoint", "flan-t5-xxl")
    assert stored.state.last_action is LastAction.FAILED and stored.attempts == 1
    assert stored.last_error is not None and "ThrottlingException" in stored.last_error
    assert world.said()[-1] == "ActionFailed"
    tick = world.evaluate(Trigger(TriggerKind.TICK), SATURDAY_NOON + timedelta(minutes=1))
    assert [o.result for o in tick.outcomes] == [Outcome.SCALED]


def test_only_a_target_this_stack_manages_has_its_bounds_moved() -> None:
    world = World()
    world.autoscaling.set_bounds("flan-t5-xxl", 0, 2, pin=False)  # a team's target, not claimed
    world.autoscaling.bound_writes.clear()
    world.evaluate(NO_CAPACITY, SATURDAY_NOON)
    assert world.autoscaling.bound_writes == []  # left for configure to claim first
    claimed = World()
    claimed.autoscaling.set_bounds("flan-t5-xxl", 0, 2, pin=False)
    claimed.autoscaling.claim("flan-t5-xxl")
    claimed.autoscaling.bound_writes.clear()
    claimed.evaluate(NO_CAPACITY, SATURDAY_NOON)
    # While the warm-up loads, AAS holds the copy (min 1) and may not add copies (scale-out suspended).
    assert claimed.autoscaling.bound_writes == [("flan-t5-xxl", 1, 2, False, True)]
    assert claimed.sagemaker.writes == [("flan-t5-xxl", 1)]  # the count first, then the bounds


def test_the_watcher_says_the_warm_up_ready_once_loaded() -> None:
    world = World()
    world.evaluate(NO_CAPACITY, SATURDAY_NOON)
    watch = Watch(world.state, world.sagemaker, None, world.publisher, world.announcer, world.cloudwatch)
    later = SATURDAY_NOON + timedelta(minutes=7)
    summary = RunSummary(trigger="watch", correlation_id="test")
    watch.run(lambda: POLICY, summary, Trigger(TriggerKind.TICK, source="watch"), later)
    assert [o.result for o in summary.outcomes] == [Outcome.WAITING]  # still Updating
    world.sagemaker.load("flan-t5-xxl")
    summary = RunSummary(trigger="watch", correlation_id="test")
    watch.run(lambda: POLICY, summary, Trigger(TriggerKind.TICK, source="watch"), later)
    assert [o.result for o in summary.outcomes] == [Outcome.READY]
    stored = world.state.get("llm-endpoint", "flan-t5-xxl")
    assert stored.in_flight is None and stored.availability is Availability.READY
    assert stored.ready_history == (420.0,)
    assert world.said()[-1] == "WarmUpCompleted"
