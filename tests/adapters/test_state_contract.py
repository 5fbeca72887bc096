"""The state store's contract, run against DynamoDB (moto) and the in-memory twin alike: the twin
the unit tests use behaves as the table the Lambdas use (versions, conditions, read-back values)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icpilot.adapters.memory import InMemoryStateStore
from icpilot.adapters.state import StateStore
from icpilot.domain.decision_types import ComponentState, LastAction
from icpilot.domain.transitions import FlightKind
from icpilot.errors import StateConflictError
from icpilot.ports import State
from icpilot.records import StateWrite, decided_fields
from moto import mock_aws

from tests.harness import create_state_table
from tests.strength import examples

pytestmark = pytest.mark.real_clock  # DynamoDB on moto

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


@pytest.fixture(params=["dynamodb", "memory"])
def store(request: pytest.FixtureRequest) -> Iterator[State]:
    if request.param == "memory":
        yield InMemoryStateStore()
        return
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        create_state_table(ddb, "state")
        yield StateStore("state", ddb)


def test_an_unknown_component_is_empty_at_version_zero(store: State) -> None:
    stored = store.get("ep", "a")
    assert stored.version == 0 and stored.state.pending_target is None and stored.ready_history == ()


def test_writes_go_on_the_version_read_and_a_stale_one_loses(store: State) -> None:
    assert store.write("ep", "a", 0, pending_target=2, pending_reason="alarm", override_until=NOW) == 1
    with pytest.raises(StateConflictError):
        store.write("ep", "a", 0, pending_target=3)  # created already
    assert store.write("ep", "a", 1, pending_target=3) == 2
    with pytest.raises(StateConflictError):
        store.write("ep", "a", 1, pending_target=4)  # another write landed first
    stored = store.get("ep", "a")
    assert (stored.version, stored.state.pending_target, stored.state.override_until) == (2, 3, NOW)
    assert isinstance(stored.state.override_until, datetime)  # a time reads back as a time, on both


def test_none_removes_a_field(store: State) -> None:
    store.write("ep", "a", 0, pending_target=2, pending_reason="alarm")
    store.write("ep", "a", 1, pending_target=None, pending_reason=None, last_action=LastAction.SETTLED)
    stored = store.get("ep", "a")
    assert stored.state.pending_target is None and stored.state.pending_reason is None
    assert stored.state.last_action is LastAction.SETTLED


def test_the_watcher_sees_what_is_in_flight_and_the_parked_events(store: State) -> None:
    store.write("ep", "a", 0, inflight=True, inflight_kind=FlightKind.WARM_UP, inflight_target=1, accepted_at=NOW)
    store.write("ep", "b", 0, last_action=LastAction.SCALED)
    store.park_event("e2", '{"n": 2}', NOW + timedelta(seconds=1))
    store.park_event("e1", '{"n": 1}', NOW)
    flights, parked = store.watch_items()
    assert [f.endpoint_and_component for f in flights] == [("ep", "a")]
    flight = flights[0].in_flight
    assert flight is not None and flight.kind is FlightKind.WARM_UP and flight.accepted_at == NOW
    assert [p["body"] for p in parked] == ['{"n": 1}', '{"n": 2}']  # oldest first
    store.drop_parked(parked[0]["pk"])
    store.write("ep", "a", 1, inflight=None)
    flights, parked = store.watch_items()
    assert flights == [] and [p["body"] for p in parked] == ['{"n": 2}']


def test_policy_problems_are_new_only_when_they_change(store: State) -> None:
    assert store.remember_status(["a: bad"], NOW)
    assert not store.remember_status(["a: bad"], NOW + timedelta(minutes=1))
    assert store.remember_status(["a: bad", "b: worse"], NOW)


def test_rejections_are_announced_once_per_quiet_period_with_the_count_left_unannounced(store: State) -> None:
    hour = timedelta(hours=1)
    assert store.count_rejection("demand:unknown-component", NOW, hour) == 0  # the first is announced
    for minute in range(1, 6):
        assert store.count_rejection("demand:unknown-component", NOW + timedelta(minutes=minute), hour) is None
    assert store.count_rejection("alarm:unconfirmed", NOW, hour) == 0  # causes are counted apart
    assert store.count_rejection("demand:unknown-component", NOW + hour, hour) == 5
    assert store.count_rejection("demand:unknown-component", NOW + hour, hour) is None


def test_the_components_another_stack_manages(store: State) -> None:
    assert store.managed_elsewhere() == {}
    store.remember_managed_elsewhere({"falcon-7b": "team-a"})
    assert store.managed_elsewhere() == {"falcon-7b": "team-a"}
    store.remember_managed_elsewhere({})
    assert store.managed_elsewhere() == {}


def created(store: State) -> list[str]:
    return [c for c, r in store.autoscaling_records().items() if r.created]


def test_the_registry_of_created_targets(store: State) -> None:
    assert not store.created_target("a") and created(store) == []
    store.remember_target("b")
    store.remember_target("a", copies=2)
    assert store.created_target("a") and created(store) == ["a", "b"]
    assert store.autoscaling_records()["a"].copies_at_adoption == 2
    store.forget_target("a")
    assert not store.created_target("a") and created(store) == ["b"]


def test_an_adoption_is_recorded_once_and_read_back(store: State) -> None:
    """The first record of a team's target wins: a later one would hold icpilot's own changes."""
    original = {"MinCapacity": 1, "MaxCapacity": 4, "Policies": [], "ScheduledActions": []}
    assert store.remember_adoption("m", original, 1)
    assert not store.remember_adoption("m", {**original, "MinCapacity": 2}, 3)
    record = store.autoscaling_records()["m"]
    assert (record.created, record.adopted, record.copies_at_adoption) == (False, original, 1)


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pending=st.none() | st.integers(0, 50),
    reason=st.none() | st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40),
    action=st.none() | st.sampled_from(list(LastAction)),
    warmed=st.none() | st.integers(0, 10**6),
)
def test_what_a_decision_says_reads_back_as_it_said(
    store: State, pending: int | None, reason: str | None, action: LastAction | None, warmed: int | None
) -> None:
    """Production persists ``decided_fields(Decision.next_state)``; read back, it is that state."""
    said = ComponentState(
        pending_target=pending,
        pending_reason=reason,
        last_action=action,
        warmup_started_at=None if warmed is None else NOW + timedelta(seconds=warmed),
    )
    version = store.get("ep", "roundtrip").version
    store.write("ep", "roundtrip", version, **decided_fields(said))
    back = store.get("ep", "roundtrip").state
    assert (back.pending_target, back.pending_reason, back.last_action, back.warmup_started_at) == (
        said.pending_target,
        said.pending_reason,
        said.last_action,
        said.warmup_started_at,
    )


def test_a_batched_read_equals_the_reads_one_by_one_past_one_call(store: State) -> None:
    """More components than one BatchGetItem takes (100 keys): each reads as ``get`` reads it,
    unknown ones at version 0, a corrupt one left out (its own ``get`` reports it)."""
    names = [f"m{i:03d}" for i in range(130)]
    for i, name in enumerate(names[:120]):
        store.write("ep", name, 0, pending_target=i, last_action=LastAction.SETTLED)
    corrupt = set()
    if isinstance(store, StateStore):  # the twin keeps typed values: it holds nothing corrupt
        store.client.update_item(
            TableName=store.table,
            Key={"pk": {"S": "component#ep#m007"}},
            UpdateExpression="SET override_until = :bad",
            ExpressionAttributeValues={":bad": {"S": "not a time"}},
        )
        corrupt = {"m007"}
    batch = store.get_many([("ep", n) for n in names] + [("other", "m001")])
    assert set(batch) == {("ep", n) for n in names if n not in corrupt} | {("other", "m001")}
    for name in set(names) - corrupt:
        read = batch[("ep", name)]
        assert (read.version, read.state) == (store.get("ep", name).version, store.get("ep", name).state)
    assert batch[("ep", "m125")].version == 0
    assert batch[("other", "m001")].version == 0  # another endpoint's key


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"override_until": "not a time"}, "override_until"),
        ({"override_until": datetime(2026, 11, 23, 8)}, "override_until"),  # no zone
        ({"pending_target": "two"}, "pending_target"),
        ({"last_action": "scaledd"}, "last_action"),
        ({"inflight_kind": "warmup"}, "inflight_kind"),
        ({"last_refusal": "capacity"}, "last_refusal"),
        ({"ready_history": ["fast"]}, "ready_history"),
        ({"no_such_attribute": 1}, "no_such_attribute"),
    ],
)
def test_a_write_of_the_wrong_type_is_refused_alike(store: State, fields: dict[str, object], named: str) -> None:
    """Both stores check a write against the record before anything is stored."""
    with pytest.raises(ValueError, match=named):
        store.write("ep", "a", 0, **fields)
    assert store.get("ep", "a").version == 0


def test_the_registered_targets_are_read_in_one_batch(store: State) -> None:
    store.remember_target("a", copies=1)
    store.remember_adoption("b", {"MinCapacity": 0}, 2)
    assert store.registered_targets(["a", "b", "c"]) == {"a", "b"}
    assert store.registered_targets([]) == set()


def test_writes_together_land_all_or_none(store: State) -> None:
    """``write_all``: every write on its version, or none of them, the stale one named."""
    store.write("ep", "a", 0, pending_target=1)
    store.write("ep", "b", 0, pending_target=1)
    stale = [
        StateWrite("ep", "a", 1, {"pending_target": 5}),
        StateWrite("ep", "b", 0, {"pending_target": 5}),  # b is at version 1
        StateWrite("ep", "c", 0, {"pending_target": 5}),
    ]
    with pytest.raises(StateConflictError, match="ep/b"):
        store.write_all(stale)
    assert [(store.get("ep", n).version, store.get("ep", n).state.pending_target) for n in "abc"] == [
        (1, 1),
        (1, 1),
        (0, None),
    ]
    fresh = [
        StateWrite("ep", n, v, {"pending_target": 5, "last_action": LastAction.SCALING})
        for n, v in zip("abc", (1, 1, 0), strict=True)
    ]
    assert store.write_all(fresh) == [2, 2, 1]
    assert {store.get("ep", n).state.pending_target for n in "abc"} == {5}
    assert store.write_all([]) == []
