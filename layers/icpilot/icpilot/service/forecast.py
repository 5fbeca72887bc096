"""The forecast job: learn each predictive component's demand from CloudWatch and keep it on the
component's state item (``domain.forecast``), announcing ``ForecastUpdated`` when floors change."""

from __future__ import annotations

from datetime import datetime, timedelta

from aws_lambda_powertools import Logger

from ..domain.cost import CostModel, UnknownInstanceType
from ..domain.decision_types import EndpointObservation, Trigger
from ..domain.events import EventDraft, EventType
from ..domain.forecast import Forecast, HoldingPrices, learn
from ..domain.readiness import time_to_ready
from ..errors import IcpilotError, StateConflictError, UnknownComponentError
from ..policy.model import ComponentPolicy, Policy
from ..ports import AlarmsAndMetrics, ComponentStore, CopyCounts
from ..records import StoredState
from .announce import Announcer
from .fanout import fan_out
from .outcomes import ComponentOutcome, Outcome, RunSummary

logger = Logger(service="icpilot", child=True)


class ForecastJob:
    def __init__(
        self,
        sagemaker: CopyCounts,
        state: ComponentStore,
        cloudwatch: AlarmsAndMetrics,
        announcer: Announcer,
        workers: int = 1,
    ) -> None:
        self.sagemaker, self.state, self.cloudwatch, self.announcer = sagemaker, state, cloudwatch, announcer
        self.workers = workers  # endpoints worked on at once

    def run(self, policy: Policy, summary: RunSummary, trigger: Trigger, now: datetime) -> None:
        """Demand = Invocations + NoCapacityInvocationFailures per minute over ``predictive.history``
        (GetMetricData, batched). A component with less than ``min_history`` of traffic stays
        reactive and says so. One component's failure never stops the others."""
        wanted = [(e, c, cp) for e, c, cp in policy.components() if cp.predictive.mode != "off"]
        if not wanted:
            return
        longest = max(cp.predictive.history_span for _e, _c, cp in wanted)
        since = (now - longest).replace(second=0, microsecond=0)
        try:
            series = self.cloudwatch.component_series(
                ["Invocations", "NoCapacityInvocationFailures"], [c for _e, c, _cp in wanted], since, now
            )
        except IcpilotError as exc:  # the next hourly run reads again; the stored forecasts stand
            self.announcer.fail(summary, f"reading traffic history failed (retried next hour): {exc}", trigger, now)
            return
        by_endpoint: dict[str, list[tuple[str, ComponentPolicy]]] = {}
        for endpoint, name, cp in wanted:
            by_endpoint.setdefault(endpoint, []).append((name, cp))
        states, listed = self._read_ahead(by_endpoint)

        def endpoint_worker(item: tuple[str, list[tuple[str, ComponentPolicy]]]) -> list[ComponentOutcome]:
            endpoint, components = item
            on_it = listed.get(endpoint) if listed is not None else None  # absent: listed on its own
            return self._endpoint(policy, endpoint, components, on_it, states, series, since, trigger, now)

        for outcomes in fan_out(endpoint_worker, list(by_endpoint.items()), self.workers):
            summary.outcomes += outcomes

    def _read_ahead(
        self, by_endpoint: dict[str, list[tuple[str, ComponentPolicy]]]
    ) -> tuple[dict[tuple[str, str], StoredState], dict[str, list[str]] | None]:
        """The components' state in batches across endpoints, and (over many endpoints) the
        account's components listed once; what fails is read per endpoint or component later."""
        states: dict[tuple[str, str], StoredState] = {}
        try:
            states = self.state.get_many([(e, name) for e, components in by_endpoint.items() for name, _ in components])
        except IcpilotError as exc:
            logger.warning("batched state read failed; reading per component", extra={"error": str(exc)})
        return states, self.sagemaker.listing_for(len(by_endpoint))

    def _endpoint(
        self,
        policy: Policy,
        endpoint: str,
        components: list[tuple[str, ComponentPolicy]],
        listed: list[str] | None,
        states: dict[tuple[str, str], StoredState],
        series: dict[str, list[float]],
        since: datetime,
        trigger: Trigger,
        now: datetime,
    ) -> list[ComponentOutcome]:
        """One endpoint's components: observed once, each learned and stored; one component's
        failure never stops the others."""
        outcomes: list[ComponentOutcome] = []
        try:
            ep: EndpointObservation | IcpilotError = self.sagemaker.observe_endpoint(
                endpoint, policy.component_names(), listed
            )
        except IcpilotError as exc:
            ep = exc  # each component says it
        for name, cp in components:
            try:
                if isinstance(ep, IcpilotError):
                    raise ep
                component = next((c for c in ep.components if c.name == name), None)
                if component is None:
                    raise UnknownComponentError(f"inference component {name!r} is not on endpoint {endpoint!r}")
                stored = states.get((endpoint, name)) or self.state.get(endpoint, name)
                load = time_to_ready(cp, stored.ready_history)
                prices = HoldingPrices.of(
                    cp,
                    CostModel.for_endpoint(policy, endpoint, ep.instance_type),
                    component.reservation,
                    load.total_seconds() / 60,
                )
                learned = learn(
                    series[name],
                    since,
                    now,
                    cp.predictive.timezone,
                    prices,
                    cp.predictive.history_span,
                    cp.predictive.min_history_span,
                    frozenset(cp.predictive.holidays),
                )
                outcomes.append(self._store(endpoint, name, cp, stored, learned, trigger, now))
            except (IcpilotError, UnknownInstanceType) as exc:  # one component's failure never stops the others
                reason = f"forecast for {name} failed (retried next hour): {exc}"
                self.announcer.announce(
                    EventDraft(type=EventType.ACTION_FAILED, reason=reason), trigger, now, endpoint, name
                )
                outcomes.append(ComponentOutcome(endpoint, name, Outcome.FAILED, reason))
        return outcomes

    def _store(
        self,
        endpoint: str,
        name: str,
        cp: ComponentPolicy,
        stored: StoredState,
        learned: Forecast | None,
        trigger: Trigger,
        now: datetime,
    ) -> ComponentOutcome:
        if learned is None:
            reason = f"less than {cp.predictive.min_history} of traffic history: staying reactive"
            if stored.forecast is not None:
                self.state.write(endpoint, name, stored.version, forecast=None)
            return ComponentOutcome(endpoint, name, Outcome.UNCHANGED, reason)
        previous = stored.forecast
        changed = learned.changed_from(previous)
        try:
            self.state.write(endpoint, name, stored.version, forecast=learned, forecast_at=now)
        except StateConflictError:  # a tick or an alarm wrote meanwhile: the forecast is ours alone, write again
            latest = self.state.get(endpoint, name)
            self.state.write(endpoint, name, latest.version, forecast=learned, forecast_at=now)
        held = learned.held_copy_hours_per_week()
        acting = "holds" if cp.predictive.mode == "scale" else "would hold (forecast-only)"
        reason = (
            f"learned from {learned.history_days} days: the forecast {acting} {held:.1f} copy-hours a week; "
            f"{changed} of {2 * len(learned.floors['weekday'])} slot floors changed"
        )
        if changed:
            ahead = [learned.floor_at(now + timedelta(hours=h)) for h in range(48)]
            details = {
                "mode": cp.predictive.mode,
                "history_days": learned.history_days,
                "changed_slots": changed,
                "held_copy_hours_per_week": round(held, 1),
                "next_48h_hourly_floor": ahead,
            }
            self.announcer.announce(
                EventDraft(type=EventType.FORECAST_UPDATED, reason=reason, details=details),
                trigger,
                now,
                endpoint,
                name,
            )
        return ComponentOutcome(endpoint, name, Outcome.FORECAST, reason)
