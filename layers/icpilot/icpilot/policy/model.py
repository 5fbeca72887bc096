"""Policy models (pydantic). Every constraint error names the path, the value and the allowed range.

Precedence when schedule windows overlap: the component's copies are kept within
[highest active floor, highest active ceiling] — an active window never lowers another active
window's floor — and outside every window the ``outside`` bounds apply (default: the component's
own min/max). ``max_copies`` is a hard ceiling that no window or override exceeds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import time, timedelta
from functools import cached_property
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from .parts import (
    DAYS,
    MAX_COPIES,
    NAME_PATTERN,
    Duration,
    HighLoad,
    OutsideWindows,
    PerCopy,
    PredictiveScaling,
    ReadinessProbe,
    ScheduleRule,
    StrictModel,
    TargetTracking,
    TimeOfDay,
    Zone,
    parse_duration,
)

# Re-exported: the policy's parts are part of its model for the code that reads a policy.
__all__ = [
    "DAYS",
    "MAX_COPIES",
    "ComponentPolicy",
    "CostPolicy",
    "DailyReportPolicy",
    "EndpointPolicy",
    "HighLoad",
    "OutsideWindows",
    "PerCopy",
    "Policy",
    "PredictiveScaling",
    "ReadinessProbe",
    "ScheduleRule",
    "TargetTracking",
    "dependency_problems",
    "duplicate_component_problems",
    "parse_duration",
]


Mode = Literal["act", "observe"]
MODE_DESCRIPTION = (
    "act: icpilot writes copy counts, AAS targets, policies and alarms; observe: it decides, logs and "
    "announces what it would do (WouldScale) and writes nothing to SageMaker, AAS or CloudWatch alarms"
)


class ComponentPolicy(StrictModel):
    mode: Mode | None = Field(default=None, description=MODE_DESCRIPTION + " (default: the endpoint's)")
    min_copies: int = Field(default=0, ge=0, le=MAX_COPIES, description="floor outside every window")
    max_copies: int = Field(ge=1, le=MAX_COPIES, description="hard ceiling, never exceeded")
    priority: int = Field(default=100, ge=0, le=1000, description="higher wins when capacity is short")
    warmup_copies: int = Field(default=1, ge=1, le=MAX_COPIES, description="copies raised at once from zero")
    idle_scale_to_zero_after: Duration | Literal["auto"] | None = Field(
        default=None,
        description="idle delay before zero; 'auto' = break-even of copy cost and cold-start cost; none = never",
    )
    cold_start_cost: float | None = Field(
        default=None,
        ge=0,
        le=10_000,
        description="USD one cold start costs you (for 'auto'); default: derived from the cost block",
    )
    probe: ReadinessProbe | None = Field(default=None, description="readiness probe for warm-ups")
    warmup_timeout: Duration | None = Field(
        default=None, description="give up on a warm-up after this (default 3x expected time to ready)"
    )
    after: list[str] = Field(
        default_factory=list, description="components (same endpoint) that must be ready before this one warms up"
    )
    expected_time_to_ready: Duration = Field(default="8m", description="model-load estimate until measured")
    per_copy: PerCopy | None = Field(
        default=None,
        description="what a copy reserves, for simulate and plan --offline (on AWS: read from the component)",
    )
    schedules: list[ScheduleRule] = Field(default_factory=list)
    outside: OutsideWindows | None = Field(
        default=None, description="bounds while no window is open, e.g. 0..0 at night"
    )
    autoscaling: TargetTracking | None = Field(default=None, description="AAS target tracking that icpilot configures")
    high_load: HighLoad | None = Field(default=None, description="an icpilot scale-out alarm")
    scale_to_zero_guard: Duration = Field(
        default="15m", description="no scale-to-zero this soon after a scale-from-zero"
    )
    consolidate_after: Duration | None = Field(
        default=None,
        description=(
            "quiet this long (no invocations), the copies above one (or the floor) go where that and "
            "the quiet peers' doing the same frees an instance; none = never"
        ),
    )
    preemptible: bool = Field(
        default=False, description="higher-priority components may take this one's copies above its floor"
    )
    predictive: PredictiveScaling = Field(
        default_factory=PredictiveScaling, description="learned demand: warm up ahead of past traffic"
    )

    @field_validator(
        "idle_scale_to_zero_after",
        "expected_time_to_ready",
        "scale_to_zero_guard",
        "warmup_timeout",
        "consolidate_after",
    )
    @classmethod
    def _durations(cls, v: str | int | None) -> str | int | None:
        if v is not None and v != "auto":
            parse_duration(v)
        return v

    @field_validator("idle_scale_to_zero_after", "consolidate_after")
    @classmethod
    def _alarm_range(cls, v: str | int | None, info: ValidationInfo) -> str | int | None:
        # The idle and quiet alarms evaluate 1-minute periods; CloudWatch allows at most a day of them.
        if v is not None and v != "auto" and not timedelta(minutes=1) <= parse_duration(v) <= timedelta(days=1):
            raise ValueError(f"{info.field_name} {v!r} must be between 1m and 24h")
        return v

    @model_validator(mode="after")
    def _bounds(self) -> ComponentPolicy:
        problems = []  # every one at once, not the first: one line each (the loader splits them)
        if self.min_copies > self.max_copies:
            problems.append(f"min_copies ({self.min_copies}) is above max_copies ({self.max_copies})")
        if self.warmup_copies > self.max_copies:
            problems.append(f"warmup_copies ({self.warmup_copies}) is above max_copies ({self.max_copies})")
        if self.outside is not None and self.outside.max_copies > self.max_copies:
            problems.append(f"outside.max_copies ({self.outside.max_copies}) exceeds max_copies ({self.max_copies})")
        if self.outside is not None and self.outside.max_copies < self.min_copies:
            problems.append(
                f"outside.max_copies ({self.outside.max_copies}) is below min_copies ({self.min_copies}): "
                "no copy count satisfies both while no window is open"
            )
        names = [r.name for r in self.schedules]
        if len(names) != len(set(names)):
            problems.append(f"schedule names must be unique, got {names}")
        for rule in self.schedules:
            ceiling = rule.max_copies if rule.max_copies is not None else self.max_copies
            if rule.min_copies > self.max_copies or ceiling > self.max_copies:
                problems.append(
                    f"schedule {rule.name!r}: copies {rule.min_copies}..{ceiling} exceed the component's max_copies ({self.max_copies})"
                )
            if ceiling < self.min_copies:
                problems.append(
                    f"schedule {rule.name!r}: max_copies {ceiling} is below the component's min_copies ({self.min_copies})"
                )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def outside_bounds(self) -> tuple[int, int]:
        if self.outside is None:
            return self.min_copies, self.max_copies
        return max(self.outside.min_copies, self.min_copies), self.outside.max_copies

    @cached_property  # parsed once, when first read after the policy loads
    def idle_delay(self) -> timedelta | None:
        """The fixed idle delay; None when there is none or it is 'auto' (derived, see domain.readiness.idle_delay_in_force)."""
        if self.idle_scale_to_zero_after is None or self.idle_scale_to_zero_after == "auto":
            return None
        return parse_duration(self.idle_scale_to_zero_after)

    @cached_property  # parsed once, when first read after the policy loads
    def warmup_deadline(self) -> timedelta:
        return parse_duration(self.warmup_timeout) if self.warmup_timeout is not None else 3 * self.time_to_ready

    @cached_property  # parsed once, when first read after the policy loads
    def time_to_ready(self) -> timedelta:
        return parse_duration(self.expected_time_to_ready)

    @property
    def forecast_cap(self) -> int:
        """The most copies learned demand may hold: ``predictive.max_copies``, else ``max_copies``."""
        return self.predictive.max_copies if self.predictive.max_copies is not None else self.max_copies

    @cached_property  # parsed once, when first read after the policy loads
    def guard(self) -> timedelta:
        return parse_duration(self.scale_to_zero_guard)

    @cached_property  # parsed once, when first read after the policy loads
    def quiet_delay(self) -> timedelta | None:
        """How long without invocations before the copies above one may be consolidated; None: never.
        Only a component that may hold more than one copy has anything to consolidate."""
        if self.consolidate_after is None or self.max_copies <= 1:
            return None
        return parse_duration(self.consolidate_after)


class CostPolicy(StrictModel):
    """What accelerators, refused and delayed requests cost: the measure every strategy is judged by.

    Total cost = accelerator-hours x price + refused requests x ``refusal_cost`` + delayed
    request-minutes x ``delay_cost_per_minute``. Worked example (ml.g5.24xlarge, $10.18/h for 4
    GPUs = $2.545 per GPU-hour): a day with 30 GPU-hours, 100 refused requests and 400 request-minutes
    of waiting costs 30 x 2.545 + 100 x 0.10 + 400 x 0.01 = $76.35 + $10.00 + $4.00 = $90.35.

    Waiting is charged by the minute whether the request is then served or refused, so a served
    request never costs more than a refused one: served after 14 minutes, $0.14; refused after
    waiting 14 minutes, $0.14 + $0.10. The simulator bills instances, not this share (``simulator``).
    """

    refusal_cost: float = Field(default=0.10, ge=0, le=1000, description="USD one refused request costs you")
    delay_cost_per_minute: float = Field(
        default=0.01, ge=0, le=1000, description="USD per request per minute it waits (then served or refused)"
    )
    price_per_hour: float | None = Field(
        default=None,
        gt=0,
        le=10_000,
        description="USD per instance-hour; default: the built-in us-east-1 on-demand price of the instance type",
    )


def dependency_problems(after: Mapping[str, Sequence[str]]) -> list[str]:
    """The ``after:`` rule for one endpoint's components (name -> the names it waits for): every
    name waited for is a component of the endpoint, and there is no cycle (nothing could ever warm
    up first). Plain data in, so the loader can apply it even where a component is invalid."""
    problems = [
        f"components.{name}.after: {dep!r} is not a component of this endpoint (allowed: {sorted(set(after) - {name})})"
        for name, deps in after.items()
        for dep in deps
        if dep not in after
    ]
    state: dict[str, int] = {}  # 1 = on the path being walked, 2 = done

    def cycle(node: str, path: list[str]) -> str | None:
        if state.get(node) == 1:
            return f"dependency cycle: {' -> '.join([*path, node])}"
        if state.get(node) == 2 or node not in after:
            return None
        state[node] = 1
        for dep in after[node]:
            found = cycle(dep, [*path, node])
            if found:
                return found
        state[node] = 2
        return None

    for name in after:
        found = cycle(name, [])
        if found:
            return [*problems, found]
    return problems


def duplicate_component_problems(endpoints: Mapping[str, Iterable[str]]) -> list[str]:
    """IC names are unique per region: a component named under two endpoints is a problem."""
    seen: dict[str, str] = {}
    problems = []
    for endpoint, names in endpoints.items():
        for name in names:
            if name in seen:
                problems.append(
                    f"component {name!r} appears under endpoints {seen[name]!r} and {endpoint!r}; IC names are unique per region"
                )
            else:
                seen[name] = endpoint
    return problems


class DailyReportPolicy(StrictModel):
    """A ``DailyReport`` event per endpoint, once a day at ``at`` in the endpoint's time zone, on
    the previous local day (midnight to midnight, 23 or 25 hours on DST days)."""

    enabled: bool = True
    at: TimeOfDay = Field(default=time(8, 0), description='local time of day the report is sent, e.g. "08:00"')


class EndpointPolicy(StrictModel):
    mode: Mode | None = Field(default=None, description=MODE_DESCRIPTION + " (default: the policy's)")
    components: dict[str, ComponentPolicy] = Field(min_length=1)
    timezone: Zone | None = Field(
        default=None,
        description="the endpoint's local zone (daily report); default: its first window's zone, else UTC",
    )
    daily_report: DailyReportPolicy = Field(
        default_factory=DailyReportPolicy, description="the DailyReport lifecycle event"
    )
    cost: CostPolicy | None = Field(
        default=None, description="overrides the top-level cost block for this endpoint (only the fields given)"
    )
    instance_provisioning_time: Duration = Field(
        default="6m", description="time to add an instance (lead time from zero instances)"
    )

    @model_validator(mode="after")
    def _dependencies(self) -> EndpointPolicy:
        problems = dependency_problems({name: cp.after for name, cp in self.components.items()})
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @cached_property  # parsed once, when first read after the policy loads
    def provisioning(self) -> timedelta:
        return parse_duration(self.instance_provisioning_time)

    @property
    def zone(self) -> str:
        """``timezone``, else the zone of the first window of any component, else UTC."""
        if self.timezone:
            return self.timezone
        return next((r.timezone for cp in self.components.values() for r in cp.schedules), "UTC")

    @field_validator("components")
    @classmethod
    def _names(cls, v: dict[str, ComponentPolicy]) -> dict[str, ComponentPolicy]:
        for name in v:
            if not NAME_PATTERN.match(name) or len(name) > 63:
                raise ValueError(f"component name {name!r} is not a valid SageMaker name (letters, digits, '-', ≤63)")
        return v


class Policy(StrictModel):
    version: Literal[1] = 1
    mode: Mode = Field(default="act", description=MODE_DESCRIPTION + " (icpilot init writes observe)")
    cost: CostPolicy = Field(
        default_factory=CostPolicy, description="the price of accelerators and of failing requests"
    )
    endpoints: dict[str, EndpointPolicy] = Field(min_length=1)

    def cost_for(self, endpoint: str) -> CostPolicy:
        """The endpoint's cost block: the top-level one, with the fields the endpoint sets replaced."""
        ep = self.endpoints.get(endpoint)
        if ep is None or ep.cost is None:
            return self.cost
        return self.cost.model_copy(update={f: getattr(ep.cost, f) for f in ep.cost.model_fields_set})

    @model_validator(mode="after")
    def _unique_components(self) -> Policy:
        problems = duplicate_component_problems({ep: list(body.components) for ep, body in self.endpoints.items()})
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def component(self, name: str) -> tuple[str, ComponentPolicy] | None:
        for endpoint, ep in self.endpoints.items():
            if name in ep.components:
                return endpoint, ep.components[name]
        return None

    def mode_of(self, component: str) -> Mode:
        """The component's mode in force: its own, else its endpoint's, else the policy's."""
        found = self.component(component)
        if found is None:
            return self.mode
        endpoint, cp = found
        return cp.mode or self.endpoints[endpoint].mode or self.mode

    def observes(self, component: str) -> bool:
        return self.mode_of(component) == "observe"

    def component_names(self) -> frozenset[str]:
        return frozenset(n for ep in self.endpoints.values() for n in ep.components)

    def components(self) -> list[tuple[str, str, ComponentPolicy]]:
        return [(e, n, c) for e, ep in self.endpoints.items() for n, c in ep.components.items()]
