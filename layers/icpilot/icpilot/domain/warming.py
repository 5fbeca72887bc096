"""Whether a scale from zero pays for the instance it adds: the rule that lets a lone request go
unserved rather than warm a copy for it. Pure.

A warm-up holds a copy for at least its life: the load (the lead time, provisioning included when
an instance must be added) and then the idle delay after the last request. Its marginal price is
what the instances cost for that life because of it: one whole instance when the copies do not fit
on the instances running now, else the copy's share of an instance (a copy kept on an instance
for a peer keeps that instance up as long as it stays, so it is not free). What it saves is the
requests it would serve in that life, each one a refusal at the policy's ``refusal_cost``: the
learned mean requests over the life (``Forecast.requests_within``), or, when more, the rate the
trigger's failures show beyond a lone request kept up over the life (a burst the forecast did not
see), plus the requests that failed now. The warm-up is declined when

    (failed + max(expected, (failed - 1) x life minutes)) x refusal_cost
        < marginal price per minute x life minutes

Worked example: ml.g5.24xlarge at $10.18/h and no instance running; a 12-minute lead (6 minutes
to load, 6 to add the instance) and a 30-minute idle delay: the warm-up costs 42 x $0.170 = $7.13,
so at $0.10 a refusal it must expect 72 requests. A lone request at 03:00, where the nights held
a mean of 0.4 requests a quarter hour: 1 + 1.1 expected -> $0.21: declined (the request stays
refused, as the exact optimum refuses it). At 09:00 with 600 requests a quarter hour: warmed.

Only with learned demand acting (``predictive.mode: scale``), a known instance price and an idle
delay (a copy that is never released is not priced here). Demand that lasts is not lone: the
tick warms a declined component whose no-capacity alarm has stood five minutes, a failure in every
minute (``domain.standing``), and a trigger that does not say how many requests failed is never declined.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..policy.model import ComponentPolicy, CostPolicy
from .cost import CostModel, UnknownInstanceType
from .decision_types import ComponentObservation, EndpointObservation
from .forecast import Forecast
from .readiness import idle_delay_in_force


@dataclass(frozen=True)
class WarmUpWorth:
    """What a scale from zero would cost (``instance_per_minute`` over ``life``) and what the
    forecast expects it to serve in that time."""

    instance_per_minute: float  # the marginal instance price: a whole instance, or the copy's share of one
    life: timedelta  # load + idle delay: the least a warm-up holds the copy
    refusal_cost: float
    expected_requests: float

    @property
    def minutes(self) -> float:
        return self.life.total_seconds() / 60

    @property
    def cost(self) -> float:
        return self.instance_per_minute * self.minutes

    def expected(self, failed: float) -> float:
        """Requests the copy would serve over its life: what the forecast expects, or, when more,
        the rate this minute's failures show beyond a lone request kept up over the life (a burst
        the forecast did not see: 21 failures in a minute are no lone request)."""
        return max(self.expected_requests, max(0.0, failed - 1) * self.minutes)

    def saves(self, failed: float) -> float:
        """USD of refusals a warm copy would avoid, with ``failed`` requests seen failing now."""
        return (self.expected(failed) + failed) * self.refusal_cost

    def pays(self, failed: float) -> bool:
        return self.saves(failed) >= self.cost

    def explain(self, failed: float) -> str:
        minutes = self.minutes
        return (
            f"{failed:g} failed + {self.expected(failed):.1f} expected in the next {minutes:.0f} min "
            f"x ${self.refusal_cost:.2f} = ${self.saves(failed):.2f} < ${self.cost:.2f} of instance time "
            f"(${self.instance_per_minute * 60:.2f}/h for {minutes:.0f} min)"
        )


def warm_up_worth(
    policy: ComponentPolicy,
    cost: CostPolicy,
    endpoint: EndpointObservation,
    component: ComponentObservation,
    forecast: Forecast | None,
    lead: timedelta,
    adds_instance: bool,
    ready_history: Sequence[float],
    now: datetime,
) -> WarmUpWorth | None:
    """The figures of the rule for this component now; None where the rule does not apply (with
    copies, it never does: not priced on every decision of a component that has them)."""
    if policy.predictive.mode != "scale" or forecast is None or component.desired > 0:
        return None
    try:
        model = CostModel.of(cost, endpoint.instance_type)
    except UnknownInstanceType:
        return None
    # The idle delay configure sets (before any cold start's demand is measured).
    idle = idle_delay_in_force(
        policy,
        endpoint.instance_type,
        component.reservation,
        cost,
        ready_history,
        (),
        forecast,
        now,
        endpoint.holding(component.name),
    )
    if idle is None:
        return None
    life = lead + idle.delay
    expected = forecast.requests_within(now, life)
    if expected is None:
        return None
    per_minute = model.instance_price_per_hour / 60 if adds_instance else model.copy_per_minute(component.reservation)
    return WarmUpWorth(per_minute, life, model.refusal_cost, expected)
