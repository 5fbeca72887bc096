"""The component state record (``icpilot.records``): one typed record, one codec to and from
DynamoDB, read once and validated; what production persists reads back as ``Decision.next_state``;
items written before the record (schema 1) still read."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icpilot.adapters.autoscaling import AutoScalingAdapter
from icpilot.adapters.memory import InMemoryStateStore
from icpilot.adapters.sagemaker import SageMakerAdapter
from icpilot.adapters.sns import EventPublisher
from icpilot.adapters.state import StateStore
from icpilot.domain.decision_types import AlarmKind, ComponentState, LastAction, Refusal, Trigger, TriggerKind
from icpilot.domain.inputs import build_inputs
from icpilot.domain.transitions import Availability, CopyChange, FlightKind, InFlight
from icpilot.errors import CorruptStateError
from icpilot.policy import load_policy
from icpilot.records import FIELDS, record_of, stored_from, typed
from icpilot.service.announce import Announcer
from icpilot.service.evaluate import Evaluation
from icpilot.service.outcomes import RunSummary
from moto import mock_aws

from emulator import emulated_aws
from tests.harness import create_seed, create_state_table
from tests.strength import examples

pytestmark = pytest.mark.real_clock  # DynamoDB on moto; the emulator

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
POLICY = load_policy(Path(__file__).resolve().parents[1] / "policy.yaml")

_times = st.integers(-(10**6), 10**6).map(lambda s: NOW + timedelta(seconds=s))
_text = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=30)
_counts = st.integers(0, 64)
_seconds = st.floats(0, 10**4, allow_nan=False).map(lambda v: round(v, 1))
# Every attribute of the record but the forecast (its own round trip rounds; test_forecast_flow).
_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "pending_target": _counts,
    "pending_reason": _text,
    "override_copies": _counts,
    "override_until": _times,
    "override_reason": _text,
    "override_set_at": _times,
    "last_action": st.sampled_from(list(LastAction)),
    "warmup_started_at": _times,
    "last_refusal": st.builds(Refusal, st.sampled_from(["capacity", "policy"]), _counts),
    "last_reason": _text,
    "last_trigger": st.sampled_from([k.value for k in TriggerKind]),
    "last_error": _text,
    "last_action_at": _times,
    "pending_since": _times,
    "attempts": _counts,
    "updated_at": _times,
    "inflight": st.just(True),
    "inflight_kind": st.sampled_from(list(FlightKind)),
    "inflight_target": _counts,
    "inflight_from": _counts,
    "requested_at": _times,
    "accepted_at": _times,
    "expected_ready_at": _times,
    "availability": st.sampled_from(list(Availability)),
    "ready_history": st.lists(_seconds, max_size=10),
    "met_at_cold_start": st.lists(_seconds, max_size=10),
    "transitions": st.lists(st.builds(CopyChange, _times, _counts, _counts), max_size=8).map(tuple),
    "ready_log": st.lists(st.tuples(_times, _seconds), max_size=8).map(tuple),
    "last_ready_at": _times,
    "forecast_at": _times,
    "last_demand_at": _times,
    "gone_since": _times,
    "owned_by": _text,
    "would_scale": _text,
}


_SERIAL = itertools.count()


def test_the_strategies_cover_every_attribute_of_the_record() -> None:
    assert set(_VALUES) | {"forecast"} == set(FIELDS)


@pytest.fixture
def stores() -> Iterator[tuple[StateStore, InMemoryStateStore]]:
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        create_state_table(ddb, "state")
        yield StateStore("state", ddb), InMemoryStateStore()


@settings(max_examples=examples(80), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_record_reads_back_as_written_from_the_table_and_from_its_twin(
    stores: tuple[StateStore, InMemoryStateStore], data: st.DataObject
) -> None:
    """The codec is exact: whatever the service writes reads back as that record, from DynamoDB
    and from the in-memory twin alike (which keeps the typed values, not the codec's strings)."""
    names = data.draw(st.lists(st.sampled_from(sorted(_VALUES)), unique=True, min_size=1))
    fields = {name: data.draw(_VALUES[name], label=name) for name in names}
    component = f"c{next(_SERIAL)}"  # the stores outlive the examples: one item each
    expected = record_of("ep", component, 1, typed(fields))
    for store in stores:
        store.write("ep", component, 0, **fields)
        assert store.get("ep", component) == expected


def test_a_record_is_typed() -> None:
    stored = record_of(
        "ep",
        "a",
        3,
        typed(
            {
                "last_action": "scaling",
                "pending_since": NOW,
                "inflight": True,
                "inflight_kind": "warm-up",
                "inflight_target": 2,
                "last_refusal": "capacity:1",
            }
        ),
    )
    assert stored.state.last_action is LastAction.SCALING and stored.claimed_at == NOW
    assert stored.in_flight == InFlight(FlightKind.WARM_UP, 2, 0, None, None)
    assert stored.state.last_refusal == Refusal("capacity", 1)


# An item as the release before the typed record wrote it (schema 1): lists as JSON text.
SCHEMA_1_ITEM = {
    "pk": {"S": "component#llm-endpoint#falcon-7b"},
    "version": {"N": "12"},
    "last_action": {"S": "scaled"},
    "last_reason": {"S": "window business-hours opens at 08:00"},
    "last_trigger": {"S": "schedule"},
    "last_action_at": {"S": "2026-11-23T06:54:00+00:00"},
    "attempts": {"N": "0"},
    "warmup_started_at": {"S": "2026-11-23T06:54:00+00:00"},
    "last_refusal": {"S": "policy:4"},
    "inflight": {"S": "1"},
    "inflight_kind": {"S": "warm-up"},
    "inflight_target": {"N": "2"},
    "inflight_from": {"N": "0"},
    "requested_at": {"S": "2026-11-23T06:54:00+00:00"},
    "accepted_at": {"S": "2026-11-23T06:54:01+00:00"},
    "availability": {"S": "warming"},
    "ready_history": {"S": "[412.5, 398.0]"},
    "met_at_cold_start": {"S": "[3.0]"},
    "transitions": {"S": '[["2026-11-22T18:00:00+00:00", 2, 0], ["2026-11-23T06:54:01+00:00", 0, 2]]'},
    "ready_log": {"S": '[["2026-11-20T07:01:00+00:00", 412.5]]'},
    "updated_at": {"S": "2026-11-23T06:54:01+00:00"},
}


def test_an_item_written_before_the_record_reads_and_its_lists_move_to_dynamodb_lists(
    stores: tuple[StateStore, InMemoryStateStore],
) -> None:
    table, _ = stores
    table.client.put_item(TableName=table.table, Item=SCHEMA_1_ITEM)
    stored = table.get("llm-endpoint", "falcon-7b")
    at = datetime(2026, 11, 23, 6, 54, tzinfo=UTC)
    assert stored.version == 12
    assert stored.state.last_action is LastAction.SCALED and stored.state.last_refusal == Refusal("policy", 4)
    assert stored.state.warmup_started_at == at
    assert stored.in_flight == InFlight(FlightKind.WARM_UP, 2, 0, at, at + timedelta(seconds=1))
    assert stored.availability is Availability.WARMING
    assert stored.ready_history == (412.5, 398.0) and stored.state.met_at_cold_start == (3.0,)
    assert stored.transitions == (
        CopyChange(datetime(2026, 11, 22, 18, tzinfo=UTC), 2, 0),
        CopyChange(at + timedelta(seconds=1), 0, 2),
    )
    assert stored.ready_log == ((datetime(2026, 11, 20, 7, 1, tzinfo=UTC), 412.5),)
    # The next write of a list writes it as a DynamoDB list; the record reads the same.
    table.write("llm-endpoint", "falcon-7b", 12, ready_history=[*stored.ready_history, 401.0])
    raw = table.client.get_item(TableName=table.table, Key={"pk": SCHEMA_1_ITEM["pk"]})["Item"]
    assert raw["ready_history"] == {"L": [{"N": "412.5"}, {"N": "398.0"}, {"N": "401.0"}]}
    assert table.get("llm-endpoint", "falcon-7b").ready_history == (412.5, 398.0, 401.0)


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("last_action", "deferred"),
        ("inflight_kind", 7),
        ("availability", "busy"),
        ("last_refusal", "capacity"),
        ("transitions", '[["yesterday", 0, 1]]'),
        ("ready_log", [[1, 2, 3]]),
        ("met_at_cold_start", "[1, 2"),
        ("inflight", "yes"),
        ("version", "v7"),
    ],
)
def test_a_corrupt_attribute_is_named(name: str, raw: object) -> None:
    with pytest.raises(CorruptStateError, match=name):
        stored_from("ep", "a", {"pk": "component#ep#a", "version": 3, name: raw})


def test_an_attribute_a_newer_release_added_is_left_alone() -> None:
    stored = stored_from("ep", "a", {"pk": "component#ep#a", "version": 3, "from_the_future": "x"})
    assert stored == record_of("ep", "a", 3, {})


_TRIGGERS = st.sampled_from(
    [
        Trigger(TriggerKind.TICK),
        Trigger(TriggerKind.SCHEDULE, rule="falcon-7b/business-hours"),
        Trigger(TriggerKind.ALARM, alarm=AlarmKind.NO_CAPACITY, failed_requests=5),
        Trigger(TriggerKind.ALARM, alarm=AlarmKind.HIGH_LOAD, load_per_copy=90),
        Trigger(TriggerKind.ALARM, alarm=AlarmKind.IDLE),
        Trigger(TriggerKind.DEMAND, failed_requests=2),
    ]
)
_REMEMBERED = st.builds(
    ComponentState,
    pending_target=st.none() | st.integers(0, 4),
    pending_reason=st.none() | _text,
    last_action=st.none() | st.sampled_from([a for a in LastAction if a is not LastAction.SCALING]),
    warmup_started_at=st.none() | _times,
    last_refusal=st.none() | st.builds(Refusal, st.sampled_from(["capacity", "policy"]), st.integers(0, 4)),
)


@settings(max_examples=examples(25), deadline=None)
@given(
    copies=st.integers(0, 3),
    remembered=_REMEMBERED,
    trigger=_TRIGGERS,
    hours=st.integers(0, 7 * 24 - 1),
)
def test_what_production_persists_reads_back_as_the_decisions_next_state(
    copies: int, remembered: ComponentState, trigger: Trigger, hours: int
) -> None:
    """For random states, copies, triggers and times, the evaluation that ships (real adapters on
    the emulator, the DynamoDB table) persists what ``decide`` said the state becomes."""
    with emulated_aws() as emu:
        sm = boto3.client("sagemaker", region_name="us-east-1")
        create_seed(sm, copies=copies, max_instances=1)
        emu.advance(600 + hours * 3600)  # the copies loaded; the hour of the week
        now = emu.now()
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        create_state_table(ddb, "state")
        state = StateStore("state", ddb)
        state.write("llm-endpoint", "falcon-7b", 0, **_fields_of(remembered))
        sagemaker = SageMakerAdapter(sm)
        ep = sagemaker.observe_endpoint("llm-endpoint", POLICY.component_names())
        stored = state.get("llm-endpoint", "falcon-7b")
        falcon = next(c for c in ep.components if c.name == "falcon-7b")
        decided = build_inputs(POLICY, ep, falcon, stored.state, stored.ready_history, None, now).decide(trigger, now)
        publisher = EventPublisher(None)
        evaluation = Evaluation(sagemaker, AutoScalingAdapter(), state, Announcer(publisher, "test"))
        summary = RunSummary(trigger=trigger.kind.value, correlation_id="test")
        evaluation.components(POLICY, [("llm-endpoint", "falcon-7b")], trigger, now, summary)
        assert [o.to_copies for o in summary.outcomes if o.result == "scaled"] in ([], [decided.target])
        assert state.get("llm-endpoint", "falcon-7b").state == decided.next_state, summary.outcomes


def _fields_of(state: ComponentState) -> dict[str, Any]:
    return {
        "pending_target": state.pending_target,
        "pending_reason": state.pending_reason,
        "last_action": state.last_action,
        "warmup_started_at": state.warmup_started_at,
        "last_refusal": state.last_refusal,
        "attempts": 0,
    }
