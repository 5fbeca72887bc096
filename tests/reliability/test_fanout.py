"""A pass fanned out over endpoints (``Evaluation.workers``): the fleet's fault run at small scale.

Six endpoints of four components each open a window together while 30 % of SageMaker's
copy-count writes are throttled and one endpoint's worker crashes once (a bug outside any one
component's evaluation). Ticks until the fleet converges: every component reaches its floor,
each copy count is written once, and the crashed endpoint is run again on its own in the same
pass, not left to the next one.

An endpoint's scales are claimed together and recorded together (one TransactWriteItems each);
a racing write on one of them makes that endpoint claim one by one, and nothing is written twice.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
import yaml
from icpilot.adapters.sagemaker import SageMakerAdapter
from icpilot.controller import Outcome, RunSummary
from icpilot.policy import load_policy_text
from icpilot.runtime import build_controller
from icpilot.settings import Settings

from emulator import Emulator, FaultRule, emulated_aws
from emulator.process import create_state_table
from emulator.seed import create_endpoint

START = datetime(2026, 11, 23, 6, 58, tzinfo=UTC)  # the window opens at 07:00Z
ENDPOINTS = [f"llm-{e}" for e in range(6)]
WRITE = "UpdateInferenceComponentRuntimeConfig"


def fleet_policy() -> str:
    endpoints: dict[str, Any] = {}
    for e, endpoint in enumerate(ENDPOINTS):
        endpoints[endpoint] = {
            "components": {
                f"m{e}{c}": {
                    "max_copies": 2,
                    "schedules": [
                        {"name": "day", "timezone": "UTC", "start": "07:00", "end": "19:00", "min_copies": 1}
                    ],
                }
                for c in range(4)
            }
        }
    return yaml.safe_dump({"version": 1, "endpoints": endpoints})


@pytest.fixture
def fleet(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """The fleet at 0 copies; few SDK attempts (the faults reach the controller) and no real backoff."""
    import botocore.endpoint

    monkeypatch.setenv("ICPILOT_AWS_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("ICPILOT_AWS_RETRY_MODE", "standard")
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=lambda _: None, time=time.time))
    with emulated_aws(start=START) as emu:
        sm = boto3.client("sagemaker", region_name="us-east-1")
        for e, endpoint in enumerate(ENDPOINTS):
            components = {f"m{e}{c}": (f"org/model-{e}{c}", 1) for c in range(4)}
            create_endpoint(sm, endpoint, components, copies=0, max_instances=2)
        create_state_table(boto3.client("dynamodb", region_name="us-east-1"), "state")
        yield emu


def copy_count_writes() -> tuple[Counter[str], Any]:
    """Successful copy-count writes per component, counted on a client the controller uses."""
    written: Counter[str] = Counter()
    client = boto3.client("sagemaker", region_name="us-east-1")

    def count(http_response: Any, parsed: Any, model: Any, **kwargs: Any) -> None:
        if model.name == WRITE and http_response.status_code == 200:
            written[kwargs["context"]["component"]] += 1

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["component"] = params.get("InferenceComponentName")

    client.meta.events.register(f"before-parameter-build.sagemaker.{WRITE}", remember)
    client.meta.events.register(f"after-call.sagemaker.{WRITE}", count)
    return written, client


def test_throttled_writes_and_a_crashed_worker_converge_with_no_write_done_twice(
    fleet: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    written, sagemaker = copy_count_writes()
    policy = load_policy_text(fleet_policy())
    settings = Settings(policy_path="-", state_table="state", workers=4)
    clients = {"sagemaker": sagemaker}
    crashed: list[str] = []
    observe = SageMakerAdapter.observe_endpoint

    def crash_once(self: SageMakerAdapter, name: str, owned: Any = None, listed: Any = None) -> Any:
        if name == "llm-2" and not crashed:
            crashed.append(name)
            raise RuntimeError("a worker's bug")
        return observe(self, name, owned, listed)

    monkeypatch.setattr(SageMakerAdapter, "observe_endpoint", crash_once)
    fleet.faults.configure([FaultRule("sagemaker", WRITE, 0.3, "throttle")], seed=5)
    fleet.advance(120)  # 07:00Z
    summaries = []
    for minute in range(6):
        now = START + timedelta(minutes=2 + minute)
        controller = build_controller(settings, clients=lambda s: clients.get(s), policy_source=lambda: policy)
        summaries.append(controller.on_tick(now, reconcile=False))
        fleet.advance(60)
    components = [f"m{e}{c}" for e in range(6) for c in range(4)]
    desired = {
        c: sagemaker.describe_inference_component(InferenceComponentName=c)["RuntimeConfig"]["DesiredCopyCount"]
        for c in components
    }
    assert desired == dict.fromkeys(components, 1)  # nobody left behind
    assert written == Counter(dict.fromkeys(components, 1))  # each written once, throttling and crash included
    assert crashed == ["llm-2"]
    first = summaries[0]
    assert {o.component for o in first.outcomes} == set(components)  # the crashed endpoint ran again in the pass
    again = {o.component: o.result for o in first.outcomes if o.endpoint == "llm-2"}
    assert set(again) == {"m20", "m21", "m22", "m23"}  # run again in the same pass, on fresh reads:
    assert set(again.values()) <= {Outcome.SCALED, Outcome.FAILED}  # scaled (or a throttled write)
    throttled = fleet.faults.injected
    assert sum(throttled.values()) > 0  # the faults met the pass
    failed_first = [o for o in first.outcomes if o.result == Outcome.FAILED]
    assert all(o.result in (Outcome.UNCHANGED, Outcome.SCALED) for s in summaries[3:] for o in s.outcomes)
    print(f"{sum(throttled.values())} writes throttled; {len(failed_first)} components failed in the first pass")


def test_one_worker_and_four_decide_the_same(fleet: Emulator) -> None:
    """The fan-out changes when endpoints are worked on, not what is decided for them (observe
    mode: each run decides and writes nothing but its own state table)."""
    policy = load_policy_text(fleet_policy().replace("version: 1", "version: 1\nmode: observe"))
    fleet.advance(120)
    outcomes = {}
    for workers in (1, 4):
        create_state_table(boto3.client("dynamodb", region_name="us-east-1"), f"state-{workers}")
        settings = Settings(policy_path="-", state_table=f"state-{workers}", workers=workers)
        summary = build_controller(settings, policy_source=lambda: policy).on_tick(START + timedelta(minutes=2), False)
        outcomes[workers] = sorted((o.endpoint, o.component, o.result, o.reason) for o in summary.outcomes)
    assert len(outcomes[1]) == 24 and {o[2] for o in outcomes[1]} == {Outcome.OBSERVED}
    assert outcomes[1] == outcomes[4]


# An endpoint's scales claimed and recorded together: one TransactWriteItems for the claims and one
# for the records, not two UpdateItems a component.
COMPONENTS = [f"m{e}{c}" for e in range(6) for c in range(4)]


def state_calls(client: Any) -> Counter[str]:
    """The state table's calls by API, counted on the client the controller uses."""
    calls: Counter[str] = Counter()
    client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.update([model.name]))
    return calls


def tick(fleet: Emulator, clients: dict[str, Any]) -> list[Any]:
    policy = load_policy_text(fleet_policy())
    settings = Settings(policy_path="-", state_table="state", workers=4)
    fleet.advance(120)  # 07:00Z: every component's window opens
    controller = build_controller(settings, clients=lambda s: clients.get(s), policy_source=lambda: policy)
    return list(controller.on_tick(START + timedelta(minutes=2), reconcile=False).outcomes)


def records(ddb: Any) -> dict[str, dict[str, Any]]:
    items = ddb.scan(TableName="state")["Items"]
    return {i["pk"]["S"].split("#")[2]: i for i in items if i["pk"]["S"].startswith("component#")}


def test_each_endpoints_scales_are_claimed_in_one_call_and_recorded_in_one(fleet: Emulator) -> None:
    written, sagemaker = copy_count_writes()
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    calls = state_calls(ddb)
    outcomes = tick(fleet, {"sagemaker": sagemaker, "dynamodb": ddb})
    assert {o.component: o.result for o in outcomes} == dict.fromkeys(COMPONENTS, Outcome.SCALED)
    assert written == Counter(dict.fromkeys(COMPONENTS, 1))
    assert calls["TransactWriteItems"] == 2 * 6  # a claim and a record per endpoint
    assert calls["UpdateItem"] == 0
    for name, item in records(ddb).items():  # the claims are settled: the watcher follows each
        assert item["inflight"]["S"] == "1", name
        assert item["last_action"]["S"] != "scaling", name


def test_a_racing_write_on_one_makes_its_endpoint_claim_one_by_one_and_nothing_is_written_twice(
    fleet: Emulator,
) -> None:
    written, sagemaker = copy_count_writes()
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    calls = state_calls(ddb)
    raced: list[str] = []

    def race(params: dict[str, Any], **_: Any) -> None:
        """Before the first claim goes out, another invocation writes one of its components."""
        if raced:
            return
        key = params["TransactItems"][1]["Update"]["Key"]
        raced.append(key["pk"]["S"].split("#")[2])
        other = boto3.client("dynamodb", region_name="us-east-1")
        other.update_item(
            TableName="state",
            Key=key,
            UpdateExpression="SET #v = if_not_exists(#v, :zero) + :one",
            ExpressionAttributeNames={"#v": "version"},
            ExpressionAttributeValues={":zero": {"N": "0"}, ":one": {"N": "1"}},
        )

    ddb.meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", race)
    outcomes = tick(fleet, {"sagemaker": sagemaker, "dynamodb": ddb})
    assert len(raced) == 1
    assert {o.component: o.result for o in outcomes} == dict.fromkeys(COMPONENTS, Outcome.SCALED)
    assert written == Counter(dict.fromkeys(COMPONENTS, 1))  # the raced one too, once, after deciding again
    # That endpoint claimed one by one after its claim together lost (the raced one twice: it lost
    # its own claim too, and decided again); the others claimed and recorded together.
    assert calls["UpdateItem"] == 5
    assert calls["TransactWriteItems"] == 2 * 6  # its lost claim together, and its records together
    assert records(ddb)[raced[0]]["inflight"]["S"] == "1"


# The watcher follows the fleet's warm-ups endpoint by endpoint, up to ``workers`` at once.


@dataclass
class RunningOut:
    """A Lambda context with time for ``looks`` looks, then 10 s left (under the watcher's margin)."""

    looks: int
    seen: int = 0

    def get_remaining_time_in_millis(self) -> int:
        self.seen += 1
        return 100_000 if self.seen <= self.looks else 10_000


def watch_run(fleet: Emulator, context: Any = None) -> RunSummary:
    policy = load_policy_text(fleet_policy())
    settings = Settings(policy_path="-", state_table="state", workers=4)
    controller = build_controller(settings, context=context, policy_source=lambda: policy)
    return controller.on_watch(fleet.now())


def watch(fleet: Emulator, context: Any = None) -> dict[str, str]:
    return {o.component: o.result for o in watch_run(fleet, context).outcomes}


def test_the_watcher_follows_every_endpoints_warm_ups_at_once_and_each_once(fleet: Emulator) -> None:
    tick(fleet, {})
    fleet.advance(30 * 60)  # every copy loaded
    assert watch(fleet) == dict.fromkeys(COMPONENTS, Outcome.READY)
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    assert all("inflight" not in item for item in records(ddb).values())
    assert watch(fleet) == {}  # nothing left in flight: followed once


def test_a_watcher_out_of_time_leaves_the_rest_in_flight_for_the_next_minute(fleet: Emulator) -> None:
    tick(fleet, {})
    fleet.advance(30 * 60)
    run = watch_run(fleet, RunningOut(looks=5))
    first = {o.component: o.result for o in run.outcomes}
    followed = {c for c, result in first.items() if result == Outcome.READY}
    postponed = {c for c, result in first.items() if result == Outcome.POSTPONED}
    assert followed and postponed and followed | postponed == set(COMPONENTS)
    # said once for the run (an ActionFailed operators see), not once per component
    assert run.errors == [
        f"out of time after following {len(followed)} of {len(COMPONENTS)} transitions in flight; the other "
        f"{len(postponed)} are followed by the next minute's run (see README, operational limits)"
    ]
    fleet.advance(60)
    again = watch_run(fleet)
    assert {o.component: o.result for o in again.outcomes} == dict.fromkeys(postponed, Outcome.READY)
    assert again.errors == []  # the next run, the rest only


# A burst of openings: at a paced write rate the fleet's 24 openings take 4 minutes to write
# (24 at 0.1 a second), so every component's window is due 4 minutes earlier than unpaced.


def first_due_minute(fleet: Emulator, rates: str, monkeypatch: pytest.MonkeyPatch) -> datetime:
    """The first tick (minute by minute from 06:40Z, observe mode) that would warm the fleet up."""
    monkeypatch.setenv("ICPILOT_WRITE_RATES", rates)
    policy = load_policy_text(fleet_policy().replace("version: 1", "version: 1\nmode: observe"))
    table = f"state-{len(rates)}"
    create_state_table(boto3.client("dynamodb", region_name="us-east-1"), table)
    settings = Settings(policy_path="-", state_table=table, workers=4)
    for minute in range(20):
        now = datetime(2026, 11, 23, 6, 40, tzinfo=UTC) + timedelta(minutes=minute)
        summary = build_controller(settings, policy_source=lambda: policy).on_tick(now, reconcile=False)
        results = {o.component: o.result for o in summary.outcomes}
        if Outcome.OBSERVED in results.values():
            assert results == dict.fromkeys(COMPONENTS, Outcome.OBSERVED)  # the whole burst at once
            return now
    raise AssertionError("the window never became due")


def test_a_burst_of_openings_is_warmed_earlier_by_the_time_its_writes_take(
    fleet: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    unpaced = first_due_minute(fleet, "none", monkeypatch)
    paced = first_due_minute(fleet, "sagemaker:UpdateInferenceComponentRuntimeConfig=0.1", monkeypatch)
    assert unpaced - paced == timedelta(minutes=5)  # 240 s of writes, and the last invocation's minute
    fast = first_due_minute(fleet, "sagemaker:UpdateInferenceComponentRuntimeConfig=4", monkeypatch)
    assert fast == unpaced  # 6 s of writes: inside the lead's own minute


def opening_of(schedules: dict[str, Any], endpoint: str) -> dict[str, Any]:
    """The schedule that opens ``endpoint``'s windows (one for all of them: they open together)."""
    (found,) = [
        s
        for s in schedules.values()
        if json.loads(s["Target"]["Input"]).get("edge") == "open"
        and all(r.startswith(f"{endpoint}/") for r in json.loads(s["Target"]["Input"]).get("rules", ["-"]))
    ]
    return found


def test_a_fleets_opening_schedules_lead_by_its_burst_and_are_read_only_when_changed(fleet: Emulator) -> None:
    """The schedule reconcile (every tick) at fleet size: the times to ready in batched reads; an
    endpoint's four windows, opening and closing together, share one schedule an edge; the 24
    openings at 0.1 writes a second (4 minutes) fire 5 minutes early (a minute for the last invocation), spread over 4; a group
    unchanged since the last reconcile is listed, not read schedule by schedule; a schedule
    changed by hand is found and put back."""
    from icpilot.adapters.scheduler import SchedulerAdapter, ScheduleTarget
    from icpilot.adapters.state import StateStore
    from icpilot.service.schedules import reconcile_schedules

    ddb, scheduler = (
        boto3.client("dynamodb", region_name="us-east-1"),
        boto3.client("scheduler", region_name="us-east-1"),
    )
    calls, gets = state_calls(ddb), Counter[str]()
    scheduler.meta.events.register("before-call.scheduler", lambda model, **_: gets.update([model.name]))
    scheduler.create_schedule_group(Name="icpilot")
    target = ScheduleTarget("arn:aws:lambda:us-east-1:123456789012:function:s", "arn:aws:iam::123456789012:role/r")
    adapter = SchedulerAdapter("icpilot", target, scheduler, workers=4)
    state, policy = StateStore("state", ddb), load_policy_text(fleet_policy())
    every = 6 * 2 + 6  # an endpoint's openings in one schedule, its closings in one; a daily report each

    assert reconcile_schedules(adapter, state, policy, None, fleet.now())["created"] == every
    unpaced = opening_of(adapter.current(), "llm-0")
    assert json.loads(unpaced["Target"]["Input"]) == {"rules": [f"llm-0/m0{c}/day" for c in range(4)], "edge": "open"}
    assert reconcile_schedules(adapter, state, policy, 0.1, fleet.now())["updated"] == 6  # every opening, no closing
    paced = opening_of(adapter.current(), "llm-0")
    assert (unpaced["ScheduleExpression"], paced["ScheduleExpression"]) == ("cron(52 6 * * ? *)", "cron(47 6 * * ? *)")
    assert paced["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 4}
    assert (calls["BatchGetItem"], calls["GetItem"]) == (2, 2)  # a reconcile: one batch, the fingerprint

    gets.clear()
    assert reconcile_schedules(adapter, state, policy, 0.1, fleet.now()) == {
        "created": 0,
        "updated": 0,
        "deleted": 0,
        "unchanged": every,
    }
    assert set(gets) == {"ListSchedules"}  # nothing changed: listed, not read one by one

    fleet.advance(60)
    moved = opening_of(adapter.current(), "llm-3")["Name"]
    scheduler.update_schedule(  # a minute later an operator moves one by hand
        Name=moved,
        GroupName="icpilot",
        ScheduleExpression="cron(0 9 * * ? *)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target=paced["Target"],
    )
    gets.clear()
    assert reconcile_schedules(adapter, state, policy, 0.1, fleet.now())["updated"] == 1
    assert gets["GetSchedule"] == every  # changed since: every schedule read
    assert adapter.current()[moved]["ScheduleExpression"] == "cron(47 6 * * ? *)"
    fleet.advance(3600)
    gets.clear()
    assert reconcile_schedules(adapter, state, policy, 0.1, fleet.now())["unchanged"] == every
    assert gets["GetSchedule"] == every  # an hour later all are read again, changed or not
