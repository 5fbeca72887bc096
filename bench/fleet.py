"""Operational limits: icpilot's passes over a large fleet on the emulator server.

``fleet_pass(components, endpoints)`` builds ``endpoints`` endpoints (ml.m5.4xlarge, managed
instance scaling 0..10) with ``components`` CPU inference components spread evenly, a policy
whose window holds every component at one copy now (learned demand in ``forecast-only``), and
times five passes through the real controller: configure (AAS targets, policies, alarms), the
tick that opens the window (every component scales 0 -> 1), a steady tick (nothing to do), the
watcher with every component in flight, and the forecast. For each pass: wall seconds on the
emulator, AWS calls in all, per component and per API, and the outcomes.

``realism=True`` turns on the emulator's AWS-like latency and rate limits (``emulator.realism``):
then each pass also reports the HTTP attempts (retries after throttling included). Each pass runs
as its Lambda would: ``workers`` endpoints at once, writes paced at ``write_rates`` (the stack's
WriteRates), and a deadline at its function's timeout (components left when it nears are
postponed, as in the Lambda). ``scale`` multiplies the emulator's assumed AWS rates and the
pacer's rates alike: what a raised quota buys.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import threading
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import yaml

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
# template.yaml's timeouts of the functions that run each pass (configure, tick, watcher).
TIMEOUTS = {
    "configure": 300,
    "tick_window_opens": 300,
    "tick_steady": 300,
    "watch_all_in_flight": 120,
    "forecast": 300,
    "schedules_first": 300,  # the tick's schedule reconcile
    "schedules_unchanged": 300,
    "schedule_window": 120,  # the schedule function (the template's global timeout)
}
# template.yaml's WriteRates default and Workers default.
WRITE_RATES = {
    "sagemaker:UpdateInferenceComponentRuntimeConfig": 4.0,
    "application-autoscaling:RegisterScalableTarget": 4.0,
    "application-autoscaling:PutScalingPolicy": 4.0,
    "application-autoscaling:DeleteScalingPolicy": 4.0,
    "cloudwatch:PutMetricAlarm": 2.5,
    "cloudwatch:DeleteAlarms": 2.5,
}
WORKERS = 8


@dataclass
class Deadline:
    """A Lambda context's remaining time, from when the pass started."""

    seconds: float
    started: float = field(default_factory=time.perf_counter)

    def get_remaining_time_in_millis(self) -> int:
        return int((self.seconds - (time.perf_counter() - self.started)) * 1000)


def _build_fleet(client: Any, components: int, endpoints: int) -> dict[str, Any]:
    """``endpoints`` ml.m5.4xlarge endpoints with ``components`` CPU components at 0 copies, spread
    evenly; the policy's endpoints for them (a window holding one copy now, learned demand advising)."""
    from emulator.seed import ROLE

    sm = client("sagemaker")
    policy_endpoints: dict[str, Any] = {}
    for e in range(endpoints):
        endpoint = f"ep-{e:02d}"
        sm.create_endpoint_config(
            EndpointConfigName=f"{endpoint}-config",
            ExecutionRoleArn=ROLE,
            ProductionVariants=[
                {
                    "VariantName": "v",
                    "InstanceType": "ml.m5.4xlarge",
                    "InitialInstanceCount": 1,
                    "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 10},
                }
            ],
        )
        sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=f"{endpoint}-config")
        policy_endpoints[endpoint] = {"components": {}}
    for i in range(components):
        name, endpoint = f"model-{i:03d}", f"ep-{i % endpoints:02d}"
        sm.create_inference_component(
            InferenceComponentName=name,
            EndpointName=endpoint,
            Specification={
                "Container": {"Image": "img"},
                "ComputeResourceRequirements": {"NumberOfCpuCoresRequired": 1, "MinMemoryRequiredInMb": 1024},
            },
            RuntimeConfig={"CopyCount": 0},
        )
        policy_endpoints[endpoint]["components"][name] = {
            "max_copies": 2,
            "idle_scale_to_zero_after": "30m",
            "autoscaling": {"target": 10},
            "schedules": [{"name": "day", "timezone": "UTC", "start": "06:00", "end": "20:00", "min_copies": 1}],
            "predictive": {"mode": "forecast-only"},
        }
    return policy_endpoints


def fleet_pass(
    components: int, endpoints: int, realism: bool = False, workers: int = WORKERS, scale: float = 1.0
) -> dict[str, Any]:
    from icpilot.adapters.aws import retry_config
    from icpilot.adapters.pacing import pacer
    from icpilot.policy import load_policy_text
    from icpilot.runtime import build_controller
    from icpilot.settings import Settings

    from emulator.process import ServerProcess, create_state_table

    server = ServerProcess()
    calls: list[str] = []
    attempts: list[int] = []
    writes: list[float] = []  # when each copy-count write was answered
    try:
        session = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1")
        session.events.register("before-call", lambda model, **_: calls.append(model.name))
        session.events.register("before-send", lambda **_: attempts.append(1))
        session.events.register(
            "after-call.sagemaker.UpdateInferenceComponentRuntimeConfig", lambda **_: writes.append(time.perf_counter())
        )

        # The Lambdas' retry settings (adaptive mode) meet the throttling.
        client = _clients(session, server.url, retry_config())
        policy_endpoints = _build_fleet(client, components, endpoints)
        create_state_table(client("dynamodb"), "state")
        rates = _paced_rates(scale)
        if realism:  # the fleet is built; the passes meet AWS-like latency and rate limits
            _realism_on(server.url, scale)
        os.environ["ICPILOT_WRITE_RATES"] = rates if realism else "none"
        policy = load_policy_text(yaml.safe_dump({"version": 1, "endpoints": policy_endpoints}))
        client("scheduler").create_schedule_group(Name="icpilot")
        settings = Settings(
            policy_path="-",
            state_table="state",
            workers=workers,
            schedule_function_arn="arn:aws:lambda:us-east-1:123456789012:function:icpilot-schedule",
            scheduler_role_arn="arn:aws:iam::123456789012:role/icpilot-scheduler",
        )
        passes: dict[str, Any] = {}
        for label, run in (
            ("configure", lambda c: c.configure(NOW)),
            ("tick_window_opens", lambda c: c.on_tick(NOW, reconcile=False)),
            ("tick_steady", lambda c: c.on_tick(NOW, reconcile=False)),
            ("watch_all_in_flight", lambda c: c.on_watch(NOW)),
            ("forecast", lambda c: c.on_forecast(NOW)),
            ("schedules_first", lambda c: _reconcile(c, policy)),
            ("schedules_unchanged", lambda c: _reconcile(c, policy)),
        ):
            deadline = Deadline(TIMEOUTS[label])
            controller = build_controller(settings, context=deadline, clients=client, policy_source=lambda: policy)
            calls.clear()
            attempts.clear()
            writes.clear()
            waited = pacer().waited
            summary = run(controller)
            seconds = time.perf_counter() - deadline.started
            outcomes = Counter(o.result for o in summary.outcomes)
            per_api = Counter(calls)
            passes[label] = {
                "seconds": round(seconds, 2),
                "calls": len(calls),
                "calls_per_component": round(len(calls) / components, 2),
                "busiest_api": dict(per_api.most_common(3)),
                "per_api": dict(per_api.most_common()),
                "outcomes": dict(outcomes),
                "lambda_seconds": round(seconds, 2),  # one invocation: its workers are threads
                "fits_lambda_timeout": seconds <= TIMEOUTS[label],
                "postponed": outcomes.get("postponed", 0) + sum("out of time" in e for e in summary.errors),
                "last_copy_count_write_s": round(max(writes) - deadline.started, 2) if writes else None,
            }
            if realism:
                passes[label].update(
                    http_attempts=len(attempts),
                    retries=len(attempts) - len(calls),
                    pacer_wait_s=round(pacer().waited - waited, 2),
                )
    finally:
        os.environ.pop("ICPILOT_WRITE_RATES", None)
        server.stop()
    return {
        "components": components,
        "endpoints": endpoints,
        "realism": realism,
        "workers": workers,
        "rates_scale": scale,
        "write_rates": rates if realism else "none",
        "passes": passes,
    }


def _reconcile(controller: Any, policy: Any) -> Any:
    """The tick's schedule reconcile on its own: two edges a window, a daily report an endpoint."""
    from icpilot.domain.decision_types import Trigger, TriggerKind
    from icpilot.service.outcomes import RunSummary
    from icpilot.service.schedules import reconcile_and_announce

    summary = RunSummary(trigger="schedules", correlation_id="bench")
    trigger = Trigger(TriggerKind.TICK, source="tick")
    rate = controller.sagemaker.write_rate()
    reconcile_and_announce(
        controller.scheduler, controller.state, controller.announcer, policy, summary, trigger, NOW, rate
    )
    return summary


def _clients(session: Any, url: str, config: Any) -> Any:
    """One client per service for every pass, as a warm Lambda keeps its clients."""
    made: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in made:
            made[service] = session.client(service, endpoint_url=url, config=config)
        return made[service]

    return client


def _realism_on(url: str, scale: float) -> None:
    """The emulator's AWS-like latency and rate limits, its assumed rates times ``scale``."""
    from emulator.realism import DEFAULT_LIMITS

    limits = {
        api: {"median_ms": a.median_ms, "p99_ms": a.p99_ms, "rate": a.rate * scale, "burst": a.burst * scale}
        for api, a in DEFAULT_LIMITS.items()
        if a.rate is not None and a.burst is not None
    }
    _control(url, "/_emulator/realism", {"enabled": True, "limits": limits})


def _paced_rates(scale: float) -> str:
    """The stack's default WriteRates times ``scale`` (a raised quota raises both)."""
    return ",".join(f"{api}={rate * scale:g}" for api, rate in WRITE_RATES.items())


def _control(url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url + path, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return dict(json.loads(response.read()))


def fleet_fault_run(components: int, endpoints: int, scale: float = 10.0, seed: int = 1) -> dict[str, Any]:
    """The fleet's fault run: 30 % of copy-count writes throttled (past two SDK attempts, so the
    controller meets them) and one endpoint's worker crashing once, with realism on at ``scale``
    times the assumed rates. Ticks every 5 minutes from the window's opening until every component
    holds its copy: how many ticks, how long each took, whether any count was written twice and
    whether any component was left behind."""
    from botocore.config import Config
    from icpilot.adapters.sagemaker import SageMakerAdapter
    from icpilot.policy import load_policy_text
    from icpilot.runtime import build_controller
    from icpilot.settings import Settings

    from emulator.process import ServerProcess, create_state_table

    server = ServerProcess()
    written: Counter[str] = Counter()
    refused: list[str] = []
    observe = SageMakerAdapter.observe_endpoint
    crashed: list[str] = []

    def crash_once(self: SageMakerAdapter, name: str, owned: Any = None, listed: Any = None) -> Any:
        if name == "ep-07" and not crashed:
            crashed.append(name)
            raise RuntimeError("a worker's bug (injected by the bench)")
        return observe(self, name, owned, listed)

    try:
        session = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1")

        def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            context["component"] = params.get("InferenceComponentName")

        def count(http_response: Any, context: dict[str, Any], **_: Any) -> None:
            if http_response.status_code == 200:
                written[context["component"]] += 1
            else:
                refused.append(context["component"])

        session.events.register("before-parameter-build.sagemaker.UpdateInferenceComponentRuntimeConfig", remember)
        session.events.register("after-call.sagemaker.UpdateInferenceComponentRuntimeConfig", count)
        # Two attempts: a throttled write reaches the controller (adaptive mode stays on).
        config = Config(retries={"mode": "adaptive", "total_max_attempts": 2}, connect_timeout=5, read_timeout=20)
        client = _clients(session, server.url, config)
        policy_endpoints = _build_fleet(client, components, endpoints)
        create_state_table(client("dynamodb"), "state")
        _realism_on(server.url, scale)
        os.environ["ICPILOT_WRITE_RATES"] = _paced_rates(scale)
        policy = load_policy_text(yaml.safe_dump({"version": 1, "endpoints": policy_endpoints}))
        settings = Settings(policy_path="-", state_table="state", workers=WORKERS)
        build_controller(settings, clients=client, policy_source=lambda: policy).configure(NOW)
        rule = {"service": "sagemaker", "operation": "UpdateInferenceComponentRuntimeConfig", "rate": 0.3}
        _control(server.url, "/_emulator/faults", {"rules": [{**rule, "kind": "throttle"}], "seed": seed})
        SageMakerAdapter.observe_endpoint = crash_once  # type: ignore[method-assign]
        ticks: list[dict[str, Any]] = []
        everyone = {f"model-{i:03d}" for i in range(components)}
        for n in range(12):
            now = NOW + timedelta(minutes=5 * n)
            deadline = Deadline(TIMEOUTS["tick_window_opens"])
            controller = build_controller(settings, context=deadline, clients=client, policy_source=lambda: policy)
            summary = controller.on_tick(now, reconcile=False)
            outcomes = Counter(o.result for o in summary.outcomes)
            ticks.append({"seconds": round(time.perf_counter() - deadline.started, 2), "outcomes": dict(outcomes)})
            if set(written) == everyone:
                break
            _control(server.url, "/_emulator/clock", {"advance": 300})
    finally:
        SageMakerAdapter.observe_endpoint = observe  # type: ignore[method-assign]
        os.environ.pop("ICPILOT_WRITE_RATES", None)
        server.stop()
    return {
        "components": components,
        "endpoints": endpoints,
        "rates_scale": scale,
        "ticks_to_converge": len(ticks),
        "ticks": ticks,
        "writes_refused": len(refused),
        "worker_crashed": crashed,
        "written_twice": sorted(c for c, n in written.items() if n > 1),
        "left_behind": len(everyone - set(written)),
    }


class _Environments:
    """Lambda execution environments of one function: an invocation takes a free one (its boto3
    clients made once, at its cold start, as a Lambda's module-level clients are) or starts a new
    one. Clients are never shared between environments: adaptive retry's client-side rate and the
    endpoint-config cache are per environment, as in Lambda."""

    def __init__(self, session: Any, url: str, config: Any) -> None:
        self.session, self.url, self.config = session, url, config
        self.free: list[Any] = []
        self.started = 0
        self._lock = threading.Lock()

    def take(self) -> Any:
        with self._lock:
            if self.free:
                return self.free.pop()
            self.started += 1
        return _clients(self.session, self.url, self.config)

    def give_back(self, client: Any) -> None:
        with self._lock:
            self.free.append(client)


def opening_burst(components: int, endpoints: int, scale: float = 1.0, seed: int = 1) -> dict[str, Any]:
    """Windows that open together, as the stack fires them (issue 32: every warm-up due at an
    opening written before the window's lead runs out). The opening schedules are the ones the
    tick's reconcile makes (``plans.schedules.desired_schedules``: an endpoint's windows opening
    together share one); they fire the lead early, and EventBridge Scheduler spreads the burst over
    their flexible time window (the burst's write time at the paced rate,
    ``domain.bursts.burst_lead``): each invocation of the schedule function lands at a uniformly
    random instant of that window, in an execution environment of its own (its own clients and
    pacer). Every write is due by the end of the burst's part of the lead (the spread and the
    minute after it, ``burst_lead``): the opening less the time to ready. Without a burst lead
    (writes that fit in a minute) it is due as the schedule fires, and the lead's whole minutes
    (the time to ready rounded up) are its only slack.
    Realism on at ``scale`` times the assumed rates, the stack's retry settings.

    Measures, per write, when it landed against that deadline: the latest, how many were late,
    invocation durations (against the function's timeout), calls per component and throttles."""
    from icpilot.adapters.aws import retry_config
    from icpilot.domain.bursts import burst_leads
    from icpilot.plans.schedules import desired_schedules
    from icpilot.policy import load_policy_text
    from icpilot.runtime import build_controller
    from icpilot.settings import Settings

    from emulator.process import ServerProcess, create_state_table

    rng = random.Random(seed)
    server = ServerProcess()
    landed: dict[str, float] = {}  # component -> when its copy-count write was answered (bench clock)
    calls: Counter[str] = Counter()
    attempts: list[int] = []
    durations: list[float] = []
    failures: list[str] = []
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    try:
        session = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1")

        def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            context["component"] = params.get("InferenceComponentName")

        def count_call(model: Any, **_: Any) -> None:
            with lock:
                calls[model.name] += 1

        def write_landed(context: dict[str, Any], **_: Any) -> None:
            with lock:
                landed.setdefault(context["component"], time.perf_counter())

        session.events.register("before-parameter-build.sagemaker.UpdateInferenceComponentRuntimeConfig", remember)
        session.events.register("after-call.sagemaker.UpdateInferenceComponentRuntimeConfig", write_landed)
        session.events.register("before-call", count_call)
        session.events.register("before-send", lambda **_: attempts.append(1))
        setup = _clients(session, server.url, retry_config())
        policy_endpoints = _build_fleet(setup, components, endpoints)
        create_state_table(setup("dynamodb"), "state")
        policy = load_policy_text(yaml.safe_dump({"version": 1, "endpoints": policy_endpoints}))
        # Unpaced: each Lambda's pacer is its own, and this process's one pacer shared by every
        # invocation would pace them together, which separate Lambdas do not. Unpaced, each
        # invocation's writes (its endpoint's ten) leave at once: the AWS side's limits, not a
        # kinder client, decide what is throttled.
        os.environ["ICPILOT_WRITE_RATES"] = "none"
        settings = Settings(policy_path="-", state_table="state", workers=WORKERS)
        build_controller(settings, clients=setup, policy_source=lambda: policy).configure(NOW)
        calls.clear()
        attempts.clear()
        _realism_on(server.url, scale)

        # The opening schedules as the tick's reconcile makes them (the lead moves when they fire,
        # not how): one per endpoint here, its windows opening together.
        bursts = burst_leads(policy, WRITE_RATES["sagemaker:UpdateInferenceComponentRuntimeConfig"] * scale)
        openings = [s for s in desired_schedules(policy, None, bursts).values() if s.payload.get("edge") == "open"]
        spread = max(s.flexible_minutes for s in openings) * 60.0
        # Every write is due by the end of the burst's part of the lead (the spread and the last
        # invocation's minute); then the time to ready's part starts. No burst: due as it fires.
        due = max(bursts.values(), default=timedelta(0)).total_seconds()
        offsets = sorted((rng.uniform(0, s.flexible_minutes * 60.0), s.payload["rules"]) for s in openings)
        environments = _Environments(session, server.url, retry_config())
        timeout = TIMEOUTS["schedule_window"]

        def invoke(rules: list[str]) -> None:
            client = environments.take()
            deadline = Deadline(timeout)
            try:
                controller = build_controller(settings, context=deadline, clients=client, policy_source=lambda: policy)
                summary = controller.on_schedule(rules, "open", NOW)
                with lock:
                    outcomes.update(o.result for o in summary.outcomes)
                    failures.extend(f"{rules[0]}: {e}" for e in summary.errors)
            except Exception as exc:  # an invocation that fails is what the bench reports
                with lock:
                    failures.append(f"{rules[0]}: {exc}")
            finally:
                with lock:
                    durations.append(time.perf_counter() - deadline.started)
                environments.give_back(client)

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=max(8, components)) as pool:
            for offset, rules in offsets:
                pause = started + offset - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                pool.submit(invoke, rules)
    finally:
        os.environ.pop("ICPILOT_WRITE_RATES", None)
        server.stop()
    late = sorted(t - started - due for t in landed.values())
    return {
        "components": components,
        "endpoints": endpoints,
        "rates_scale": scale,
        "spread_s": spread,
        "due_s": due,
        "written": len(landed),
        "not_written": components - len(landed),
        "latest_write_after_due_s": round(late[-1], 2) if late else None,
        "late_writes": sum(1 for x in late if x > 0),  # written after they were due
        "invocation_s": {
            "median": round(statistics.median(durations), 2),
            "max": round(max(durations), 2),
            "timeout": timeout,
        },
        "invocations": len(openings),
        "calls_per_component": round(sum(calls.values()) / components, 2),
        "busiest_api": dict(calls.most_common(4)),
        "retries": len(attempts) - sum(calls.values()),
        "environments": environments.started,
        "outcomes": dict(outcomes),
        "errors": len(failures),
        "first_errors": failures[:5],
    }
