"""The daily report: what icpilot held on an endpoint over one local day and what that bought.

Read from what production has, the same way for the ``DailyReport`` event and ``icpilot report
--day``: the copy-count transitions and completed warm-ups on each component's state item, the
copy counts Application Auto Scaling set (its scaling activities: target tracking moves that
icpilot's transitions do not record), the
requests and refusals CloudWatch measured (AWS/SageMaker ``Invocations`` and
``NoCapacityInvocationFailures``), each component's reservation and the endpoint's instance type
from SageMaker, prices from the policy's cost block.

Dollars are each copy's share of its instance (the ledger column of ``icpilot report``): what the
component would have cost if the instance were split by accelerators. AWS bills whole instances,
which this report does not measure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aws_lambda_powertools import Logger

from ..adapters.autoscaling import AutoScalingAdapter
from ..adapters.cloudwatch import CloudWatchAdapter
from ..adapters.sagemaker import SageMakerAdapter
from ..domain.cost import CostModel, UnknownInstanceType
from ..domain.decision_types import ComponentState, Trigger
from ..domain.events import EventDraft, EventType
from ..domain.forecast import SLOT_MINUTES, Forecast
from ..domain.report import (
    cold_starts,
    delayed_requests,
    local_day,
    percentile,
    usage,
    weighted_absolute_error,
)
from ..errors import IcpilotError, NotAnInferenceComponentEndpointError, UnknownEndpointError
from ..policy.model import Policy
from ..ports import ComponentStore
from .announce import Announcer
from .outcomes import RunSummary

logger = Logger(service="icpilot", child=True)

# The DailyReport event lists at most this many components (the costliest first): it stays far
# inside SNS's message size; the rest are in the totals and in ``icpilot report --day``.
EVENT_COMPONENTS = 40


@dataclass(frozen=True)
class ComponentDay:
    component: str
    copy_hours: float = 0.0
    accelerator_hours: float = 0.0
    cost_usd: float = 0.0
    always_on_usd: float = 0.0
    saved_usd: float = 0.0
    requests: int = 0
    refused: int = 0
    delayed: int = 0
    cold_starts: int = 0
    time_to_ready_p50_s: float | None = None
    time_to_ready_p90_s: float | None = None
    forecast_error: float | None = None
    override: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class EndpointDay:
    endpoint: str
    day: date
    timezone: str
    since: datetime
    until: datetime
    components: list[ComponentDay]

    def totals(self) -> dict[str, float | int]:
        rows = [c for c in self.components if c.error is None]
        return {
            "cost_usd": round(sum(c.cost_usd for c in rows), 2),
            "always_on_usd": round(sum(c.always_on_usd for c in rows), 2),
            "saved_usd": round(sum(c.saved_usd for c in rows), 2),
            "accelerator_hours": round(sum(c.accelerator_hours for c in rows), 3),
            "requests": sum(c.requests for c in rows),
            "refused": sum(c.refused for c in rows),
            "delayed": sum(c.delayed for c in rows),
            "cold_starts": sum(c.cold_starts for c in rows),
        }

    def summary(self) -> str:
        t = self.totals()
        saved = f"{t['saved_usd'] / t['always_on_usd']:.0%}" if t["always_on_usd"] else "0%"
        return (
            f"{self.day.isoformat()} on {self.endpoint}: ${t['cost_usd']:,.2f} for {t['accelerator_hours']:,.1f} "
            f"accelerator-hours, ${t['saved_usd']:,.2f} ({saved}) saved against always-on; "
            f"{t['requests']:,} requests, {t['refused']:,} refused ({t['delayed']:,} of them while a warm-up "
            f"was under way), {t['cold_starts']} cold starts"
        )

    def details(self) -> dict[str, Any]:
        """The event's details: the day, the totals and the costliest ``EVENT_COMPONENTS`` rows."""
        rows = sorted(self.components, key=lambda c: -c.cost_usd)
        shown = rows[:EVENT_COMPONENTS]
        return {
            "day": self.day.isoformat(),
            "timezone": self.timezone,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "totals": self.totals(),
            "components": [{k: v for k, v in asdict(c).items() if v is not None} for c in shown],
            "components_not_listed": len(rows) - len(shown),
            "pricing": "each copy's accelerator share of its instance's price (AWS bills whole instances)",
        }


class DailyReporter:
    def __init__(
        self,
        sagemaker: SageMakerAdapter,
        autoscaling: AutoScalingAdapter,
        state: ComponentStore,
        cloudwatch: CloudWatchAdapter,
    ) -> None:
        self.sagemaker, self.autoscaling, self.state, self.cloudwatch = sagemaker, autoscaling, state, cloudwatch

    def endpoint_day(self, policy: Policy, endpoint: str, day: date, now: datetime) -> EndpointDay:
        """The endpoint's report for the local ``day``. One component's failure is its row's
        ``error``; a failed read of SageMaker or CloudWatch for the endpoint raises (IcpilotError)."""
        ep = policy.endpoints[endpoint]
        since, until = local_day(day, ep.zone)
        names = list(ep.components)
        observed = self.sagemaker.observe_endpoint(endpoint, policy.component_names())
        try:
            prices = CostModel.for_endpoint(policy, endpoint, observed.instance_type)
        except UnknownInstanceType as exc:  # no price: every row says why, none is guessed
            return EndpointDay(endpoint, day, ep.zone, since, until, [ComponentDay(n, error=str(exc)) for n in names])
        served = self.cloudwatch.component_series(["Invocations"], names, since, until)
        refused = self.cloudwatch.component_series(["NoCapacityInvocationFailures"], names, since, until)
        rows = []
        for name, cp in ep.components.items():
            component = next((c for c in observed.components if c.name == name), None)
            if component is None:
                rows.append(ComponentDay(name, error=f"{name!r} is not on endpoint {endpoint!r}"))
                continue
            try:
                stored = self.state.get(endpoint, name)
                transitions, ready_log = stored.transitions, stored.ready_log
                settings = self.autoscaling.copy_count_settings(name, since, until)
            except IcpilotError as exc:
                rows.append(ComponentDay(name, error=str(exc)))
                continue
            reserved = component.reservation.accelerators
            u = usage(name, transitions, since, until, component.desired, reserved, cp.max_copies, settings)
            per_copy = prices.copy_per_hour(component.reservation)
            starts = cold_starts(transitions, since, until)
            readies = [(t, s) for t, s in ready_log if since < t <= until]
            warm_ups = [(start, _ready_after(start, ready_log, until)) for start in starts]
            cost, always_on = u.copy_hours * per_copy, u.always_on_copy_hours * per_copy
            forecast = stored.forecast if cp.predictive.mode != "off" else None
            demand = [a + b for a, b in zip(served[name], refused[name], strict=True)]
            rows.append(
                ComponentDay(
                    name,
                    copy_hours=u.copy_hours,
                    accelerator_hours=u.accelerator_hours,
                    cost_usd=round(cost, 2),
                    always_on_usd=round(always_on, 2),
                    saved_usd=round(always_on - cost, 2),
                    requests=round(sum(served[name])),
                    refused=round(sum(refused[name])),
                    delayed=round(delayed_requests(refused[name], since, warm_ups)),
                    cold_starts=len(starts),
                    time_to_ready_p50_s=_rounded(percentile([s for _t, s in readies], 0.5)),
                    time_to_ready_p90_s=_rounded(percentile([s for _t, s in readies], 0.9)),
                    forecast_error=_forecast_error(forecast, demand, since),
                    override=_override_in_force(stored.state, now),
                )
            )
        return EndpointDay(endpoint, day, ep.zone, since, until, rows)


def _override_in_force(state: ComponentState, now: datetime) -> str | None:
    until = state.override_until
    if state.override_copies is None or until is None or until <= now:
        return None
    return f"{state.override_copies} copies until {until.isoformat()}"


def _ready_after(start: datetime, ready_log: Sequence[tuple[datetime, float]], until: datetime) -> datetime:
    """When the warm-up started at ``start`` was ready: the first completion after it (else ``until``)."""
    return next((t for t, _s in sorted(ready_log) if t > start), until)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _forecast_error(forecast: Forecast | None, demand: list[float], since: datetime) -> float | None:
    """The forecast's slot peaks against the day's measured slot peaks (requests a minute), as WAPE."""
    if forecast is None:
        return None
    expected, actual = [], []
    for first in range(0, len(demand), SLOT_MINUTES):
        expected.append(forecast.expected_at(since + timedelta(minutes=first)))
        actual.append(max(demand[first : first + SLOT_MINUTES]))
    error = weighted_absolute_error(expected, actual)
    return None if error is None else round(error, 3)


def announce_daily_report(
    reporter: DailyReporter,
    announcer: Announcer,
    policy: Policy,
    endpoint: str,
    summary: RunSummary,
    trigger: Trigger,
    now: datetime,
) -> EndpointDay | None:
    """Publish ``DailyReport`` for the local day before ``now``. Its id is derived from the endpoint
    and the day, so a schedule delivered twice gives subscribers one report to keep. A failed read
    is ``ActionFailed`` (``icpilot report --day`` gives the same figures later)."""
    zone = policy.endpoints[endpoint].zone
    day = now.astimezone(ZoneInfo(zone)).date() - timedelta(days=1)
    try:
        report = reporter.endpoint_day(policy, endpoint, day, now)
    except (UnknownEndpointError, NotAnInferenceComponentEndpointError) as exc:
        # The tick says so (ComponentGone, once); a report of nothing would only repeat it daily.
        logger.info("no daily report: the endpoint is not there", extra={"endpoint": endpoint, "error": str(exc)})
        summary.errors.append(f"no daily report for {endpoint}: {exc}")
        return None
    except IcpilotError as exc:
        announcer.fail(summary, f"the daily report of {endpoint} for {day} failed: {exc}", trigger, now)
        return None
    for row in report.components:
        if row.error:
            summary.errors.append(f"{row.component}: {row.error}")
    draft = EventDraft(
        type=EventType.DAILY_REPORT,
        reason=report.summary(),
        details=report.details(),
        fact=f"daily-report/{endpoint}/{day.isoformat()}",
    )
    announcer.announce(draft, trigger, now, endpoint, None)
    return report
