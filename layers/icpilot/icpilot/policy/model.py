"""Policy models (pydantic). Every constraint error names the path, the value and the allowed range.

Precedence when schedule windows overlap: the component's copies are kept within
[highest active floor, highest active ceiling] — an active window never lowers another active
window's floor — and outside every window the ``outside`` bounds apply (default: the component's
own min/max). ``max_copies`` is a hard ceiling that no window or override exceeds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from ..aws_cron import ScheduleExpression, ScheduleExpressionError

DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_NAME = re.compile(r"^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?$")
MAX_COPIES = 1000


MAX_DURATION = timedelta(days=31)


def parse_duration(value: str | int | float) -> timedelta:
    """'90s', '15m', '1h30m', '14d' or a number of seconds; at most 31 days."""
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        seconds = float(value)
    else:
        m = _DURATION.match(value.strip())
        if not value.strip() or not m or not any(m.groups()):
            raise ValueError(f"{value!r} is not a duration such as '90s', '15m', '1h30m' or '14d'")
        d, h, mi, sec = (int(g or 0) for g in m.groups())
        seconds = d * 86400.0 + h * 3600.0 + mi * 60.0 + sec
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"{value!r} is longer than {MAX_DURATION.days} days")
    return timedelta(seconds=seconds)


Duration = Annotated[str | int, Field(description="'90s', '15m', '1h30m' or seconds")]


def iana_zone(v: str) -> str:
    """``v`` if it names an IANA time zone; else a ValueError that says what was expected."""
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {v!r} (e.g. 'Europe/Berlin')") from None
    return v


Zone = Annotated[str, AfterValidator(iana_zone), Field(description="an IANA time zone, e.g. Europe/Berlin")]


class _Strict(BaseModel):
    # strict: a YAML ``true`` is not the number 1, and a string is not a number
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


def _time_of_day(value: object) -> object:
    """A wall-clock time as a person writes it: "08:00", "8:00" or "8:00:30". A number is refused:
    YAML 1.1 reads an unquoted 8:00 as 480 (base 60), which would be 00:08."""
    if isinstance(value, time | None):
        return value
    if isinstance(value, str) and (m := _CLOCK.match(value.strip())):
        return time(int(m[1]), int(m[2]), int(m[3] or 0))
    raise ValueError('write a time of day as HH:MM in quotes, e.g. "08:00"')


TimeOfDay = Annotated[time | None, BeforeValidator(_time_of_day)]


class ScheduleRule(_Strict):
    """A window during which the component keeps at least ``min_copies`` and at most ``max_copies``.

    Either ``days`` + ``start`` + ``end`` (wall-clock times in ``timezone``; an ``end`` at or before
    ``start`` runs past midnight into the next day), or ``cron`` (AWS cron, six fields) + ``duration``.
    """

    name: str = Field(pattern=_NAME.pattern, max_length=40)
    timezone: Zone = "UTC"
    days: list[Literal["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]] | None = None
    start: TimeOfDay = None
    end: TimeOfDay = None
    cron: str | None = Field(default=None, description="AWS cron body or cron(...) expression")
    duration: Duration | None = None
    min_copies: int = Field(ge=0, le=MAX_COPIES)
    max_copies: int | None = Field(default=None, ge=0, le=MAX_COPIES)

    @field_validator("duration")
    @classmethod
    def _duration(cls, v: str | int | None) -> str | int | None:
        if v is not None:
            d = parse_duration(v)
            if not timedelta(minutes=1) <= d <= timedelta(days=7):
                raise ValueError(f"duration {v!r} must be between 1 minute and 7 days")
        return v

    @model_validator(mode="after")
    def _shape(self) -> ScheduleRule:
        timed = self.start is not None or self.end is not None or self.days is not None
        if self.cron is not None and timed:
            raise ValueError("give either cron + duration, or days + start + end, not both")
        if self.cron is not None:
            if self.duration is None:
                raise ValueError("a cron rule needs a duration (how long the window stays open)")
            try:
                ScheduleExpression.parse(self.cron_expression, self.timezone)
            except ScheduleExpressionError as exc:
                raise ValueError(str(exc)) from None
        else:
            if self.start is None or self.end is None:
                raise ValueError("a rule needs start and end times (HH:MM), or cron + duration")
            if self.start == self.end:
                raise ValueError("start and end are equal: the window would be empty (use 00:00-23:59 for a whole day)")
            if self.days is not None and not self.days:
                raise ValueError("days is empty: the rule would never fire (omit days for every day)")
        if self.max_copies is not None and self.max_copies < self.min_copies:
            raise ValueError(f"max_copies ({self.max_copies}) is below min_copies ({self.min_copies})")
        return self

    @property
    def cron_expression(self) -> str:
        assert self.cron is not None
        c = self.cron.strip()
        return c if c.startswith("cron(") else f"cron({c})"

    @property
    def active_days(self) -> tuple[str, ...]:
        return tuple(self.days) if self.days else DAYS

    @property
    def window(self) -> timedelta:
        if self.cron is not None:
            assert self.duration is not None
            return parse_duration(self.duration)
        assert self.start is not None and self.end is not None
        start = timedelta(hours=self.start.hour, minutes=self.start.minute)
        end = timedelta(hours=self.end.hour, minutes=self.end.minute)
        return end - start if end > start else end - start + timedelta(days=1)


class OutsideWindows(_Strict):
    """Bounds that apply while no schedule window is open (default: the component's own)."""

    min_copies: int = Field(default=0, ge=0, le=MAX_COPIES)
    max_copies: int = Field(ge=0, le=MAX_COPIES)

    @model_validator(mode="after")
    def _order(self) -> OutsideWindows:
        if self.max_copies < self.min_copies:
            raise ValueError(f"max_copies ({self.max_copies}) is below min_copies ({self.min_copies})")
        return self


class TargetTracking(_Strict):
    """AAS target tracking on a per-copy metric (scale between 1 and the ceiling)."""

    metric: Literal["invocations_per_copy", "concurrent_requests_per_copy"] = "invocations_per_copy"
    target: float = Field(gt=0, le=100_000, description="per copy: invocations per minute, or concurrent requests")
    scale_in_cooldown: Duration = "5m"
    scale_out_cooldown: Duration = "1m"

    @field_validator("scale_in_cooldown", "scale_out_cooldown")
    @classmethod
    def _cooldowns(cls, v: str | int) -> str | int:
        if parse_duration(v) > timedelta(hours=1):
            raise ValueError(f"cooldown {v!r} must be at most 1h")
        return v

    @property
    def predefined_metric(self) -> str:
        return {
            "invocations_per_copy": "SageMakerInferenceComponentInvocationsPerCopy",
            "concurrent_requests_per_copy": "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution",
        }[self.metric]


class HighLoad(_Strict):
    """An icpilot alarm: invocations per copy per minute above ``threshold`` for ``minutes`` -> add ``step``
    copies, or the copies the alarm's datapoint says the load needs when that is more."""

    threshold: float = Field(gt=0, le=1_000_000)
    minutes: int = Field(default=3, ge=1, le=60)
    step: int = Field(default=1, ge=1, le=MAX_COPIES)


class ReadinessProbe(_Strict):
    """An InvokeEndpoint on the component that must answer within ``max_latency_ms`` before a warm-up counts as done."""

    payload: dict[str, object] | str = Field(description="request body (JSON object or text)")
    content_type: str = "application/json"
    max_latency_ms: int = Field(default=5000, ge=1, le=60_000)


class PredictiveScaling(_Strict):
    """Learned demand (icpilot.domain.forecast): warm copies up ahead of the traffic this component had before.

    ``forecast-only`` computes and publishes the forecast and what it would hold, and changes
    nothing (judge it before it acts); ``scale`` makes the forecast floor one more floor of the
    decision. Windows and overrides still win.
    """

    mode: Literal["off", "forecast-only", "scale"] = "off"
    history: Duration = Field(default="14d", description="how much traffic history to learn from")
    min_history: Duration = Field(default="3d", description="below this much history stay reactive")
    max_copies: int | None = Field(default=None, ge=0, le=MAX_COPIES, description="the most copies a forecast may hold")
    timezone: Zone = Field(default="UTC", description="the zone whose days and hours the traffic follows")

    @field_validator("history", "min_history")
    @classmethod
    def _span(cls, v: str | int) -> str | int:
        d = parse_duration(v)
        if not timedelta(hours=1) <= d <= timedelta(days=15):  # CloudWatch keeps 1-minute data 15 days
            raise ValueError(f"{v!r} must be between 1h and 15 days (CloudWatch keeps 1-minute data 15 days)")
        return v

    @model_validator(mode="after")
    def _order(self) -> PredictiveScaling:
        if parse_duration(self.min_history) > parse_duration(self.history):
            raise ValueError(f"min_history ({self.min_history}) is longer than history ({self.history})")
        return self

    @property
    def history_span(self) -> timedelta:
        return parse_duration(self.history)

    @property
    def min_history_span(self) -> timedelta:
        return parse_duration(self.min_history)


class PerCopy(_Strict):
    """What one copy reserves (the component's ComputeResourceRequirements), for what runs offline:
    ``icpilot simulate`` and ``plan --offline``. On AWS icpilot reads it from the component itself."""

    accelerators: float = Field(ge=0, le=64, description="NumberOfAcceleratorDevicesRequired")
    cores: float = Field(default=1, gt=0, le=512, description="NumberOfCpuCoresRequired")
    memory_mb: int = Field(default=1024, ge=128, le=4_000_000, description="MinMemoryRequiredInMb")


Mode = Literal["act", "observe"]
MODE_DESCRIPTION = (
    "act: icpilot writes copy counts, AAS targets, policies and alarms; observe: it decides, logs and "
    "announces what it would do (WouldScale) and writes nothing to SageMaker, AAS or CloudWatch alarms"
)


class ComponentPolicy(_Strict):
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
    preemptible: bool = Field(
        default=False, description="higher-priority components may take this one's copies above its floor"
    )
    predictive: PredictiveScaling = Field(
        default_factory=PredictiveScaling, description="learned demand: warm up ahead of past traffic"
    )

    @field_validator("idle_scale_to_zero_after", "expected_time_to_ready", "scale_to_zero_guard", "warmup_timeout")
    @classmethod
    def _durations(cls, v: str | int | None) -> str | int | None:
        if v is not None and v != "auto":
            parse_duration(v)
        return v

    @field_validator("idle_scale_to_zero_after")
    @classmethod
    def _idle_range(cls, v: str | int | None) -> str | int | None:
        # The idle alarm evaluates 1-minute periods; CloudWatch allows at most a day of them.
        if v is not None and v != "auto" and not timedelta(minutes=1) <= parse_duration(v) <= timedelta(days=1):
            raise ValueError(f"idle_scale_to_zero_after {v!r} must be between 1m and 24h")
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

    @property
    def idle_delay(self) -> timedelta | None:
        """The fixed idle delay; None when there is none or it is 'auto' (derived, see domain.readiness.idle_delay_in_force)."""
        if self.idle_scale_to_zero_after is None or self.idle_scale_to_zero_after == "auto":
            return None
        return parse_duration(self.idle_scale_to_zero_after)

    @property
    def warmup_deadline(self) -> timedelta:
        return parse_duration(self.warmup_timeout) if self.warmup_timeout is not None else 3 * self.time_to_ready

    @property
    def time_to_ready(self) -> timedelta:
        return parse_duration(self.expected_time_to_ready)

    @property
    def forecast_cap(self) -> int:
        """The most copies learned demand may hold: ``predictive.max_copies``, else ``max_copies``."""
        return self.predictive.max_copies if self.predictive.max_copies is not None else self.max_copies

    @property
    def guard(self) -> timedelta:
        return parse_duration(self.scale_to_zero_guard)


class CostPolicy(_Strict):
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


class DailyReportPolicy(_Strict):
    """A ``DailyReport`` event per endpoint, once a day at ``at`` in the endpoint's time zone, on
    the previous local day (midnight to midnight, 23 or 25 hours on DST days)."""

    enabled: bool = True
    at: TimeOfDay = Field(default=time(8, 0), description='local time of day the report is sent, e.g. "08:00"')


class EndpointPolicy(_Strict):
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

    @property
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
            if not _NAME.match(name) or len(name) > 63:
                raise ValueError(f"component name {name!r} is not a valid SageMaker name (letters, digits, '-', ≤63)")
        return v


class Policy(_Strict):
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
