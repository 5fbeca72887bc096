"""The idle delays configure sets for components with ``idle_scale_to_zero_after: auto``: derived
from the instance price, the cold starts measured so far and, where learned demand acts, the
forecast (``domain.readiness.idle_delay_in_force``, the function ``icpilot plan`` and the simulator
use too)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from aws_lambda_powertools import Logger

from ..domain.decision_types import EndpointObservation
from ..domain.forecast import Forecast
from ..domain.readiness import idle_delay_in_force
from ..errors import IcpilotError
from ..policy.model import Policy
from ..ports import CopyCounts, State

logger = Logger(service="icpilot", child=True)


def auto_idle_delays(sagemaker: CopyCounts, state: State, policy: Policy, now: datetime) -> dict[str, timedelta]:
    """Idle delays derived from price and cold-start cost (and the forecast, where learned demand
    acts) for components with ``idle: auto``, as of ``now``; a component whose endpoint cannot be
    read is left out (its alarm keeps the delay it has)."""
    out: dict[str, timedelta] = {}
    observed: dict[str, EndpointObservation] = {}
    for e, c, cp in policy.components():
        if cp.idle_scale_to_zero_after != "auto":
            continue
        try:
            ep = observed.setdefault(e, sagemaker.observe_endpoint(e, policy.component_names()))
        except IcpilotError as exc:
            logger.warning("auto idle delay needs the endpoint", extra={"endpoint": e, "error": str(exc)})
            continue
        component = next((x for x in ep.components if x.name == c), None)
        reservation = component.reservation if component else None
        ready_history, met, forecast = cold_starts(state, e, c)
        derived = idle_delay_in_force(
            cp, ep.instance_type, reservation, policy.cost_for(e), ready_history, met, forecast, now, ep.holding(c)
        )
        if derived is not None:
            out[c] = derived.delay
    return out


def cold_starts(
    state: State, endpoint: str, component: str
) -> tuple[Sequence[float], Sequence[float], Forecast | None]:
    """The component's measured times to ready (s), what its cold starts met (requests a minute)
    and its stored forecast; empty when unreadable, so the cold start is priced as the policy
    and model say."""
    try:
        stored = state.get(endpoint, component)
        return stored.ready_history, stored.state.met_at_cold_start, stored.forecast
    except IcpilotError as exc:
        logger.warning("cold-start history unreadable", extra={"component": component, "error": str(exc)})
        return (), (), None
