"""The parts a component's policy is made of (pydantic): durations, time zones, schedule windows,
the outside bounds, target tracking, high load, the readiness probe, learned demand, per-copy
requirements. ``model`` assembles them into component, endpoint and policy models. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from .cron import ScheduleExpression, ScheduleExpressionError

DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?$")
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


class StrictModel(BaseModel):
    # strict: a YAML ``true`` is not the number 1, and a string is not a number
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy whose parsed values (``cached_property``: durations, cron expressions) are parsed
        again from its own fields: pydantic's copy would carry the original's."""
        copied = super().model_copy(update=update, deep=deep)
        for name in dir(type(self)):
            if isinstance(getattr(type(self), name, None), cached_property):
                copied.__dict__.pop(name, None)
        return copied


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


def _calendar_day(value: object) -> object:
    """A calendar day as YAML reads it (2026-12-24, a date) or as a string ("2026-12-24")."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"write a day as YYYY-MM-DD, e.g. 2026-12-24 (got {value!r})")


CalendarDay = Annotated[date, BeforeValidator(_calendar_day)]


class ScheduleRule(StrictModel):
    """A window during which the component keeps at least ``min_copies`` and at most ``max_copies``.

    Either ``days`` + ``start`` + ``end`` (wall-clock times in ``timezone``; an ``end`` at or before
    ``start`` runs past midnight into the next day), or ``cron`` (AWS cron, six fields) + ``duration``.
    """

    name: str = Field(pattern=NAME_PATTERN.pattern, max_length=40)
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

    @cached_property
    def schedule(self) -> ScheduleExpression:
        """The cron rule's expression in its zone, parsed once (validated when the policy loads)."""
        return ScheduleExpression.parse(self.cron_expression, self.timezone)

    @property
    def active_days(self) -> tuple[str, ...]:
        return tuple(self.days) if self.days else DAYS

    @cached_property  # parsed once, when first read after the policy loads
    def window(self) -> timedelta:
        if self.cron is not None:
            assert self.duration is not None
            return parse_duration(self.duration)
        assert self.start is not None and self.end is not None
        start = timedelta(hours=self.start.hour, minutes=self.start.minute)
        end = timedelta(hours=self.end.hour, minutes=self.end.minute)
        return end - start if end > start else end - start + timedelta(days=1)


class OutsideWindows(StrictModel):
    """Bounds that apply while no schedule window is open (default: the component's own)."""

    min_copies: int = Field(default=0, ge=0, le=MAX_COPIES)
    max_copies: int = Field(ge=0, le=MAX_COPIES)

    @model_validator(mode="after")
    def _order(self) -> OutsideWindows:
        if self.max_copies < self.min_copies:
            raise ValueError(f"max_copies ({self.max_copies}) is below min_copies ({self.min_copies})")
        return self


class TargetTracking(StrictModel):
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


class HighLoad(StrictModel):
    """An icpilot alarm: invocations per copy per minute above ``threshold`` for ``minutes`` -> add ``step``
    copies, or the copies the alarm's datapoint says the load needs when that is more."""

    threshold: float = Field(gt=0, le=1_000_000)
    minutes: int = Field(default=3, ge=1, le=60)
    step: int = Field(default=1, ge=1, le=MAX_COPIES)


class ReadinessProbe(StrictModel):
    """An InvokeEndpoint on the component that must answer within ``max_latency_ms`` before a warm-up counts as done."""

    payload: dict[str, object] | str = Field(description="request body (JSON object or text)")
    content_type: str = "application/json"
    max_latency_ms: int = Field(default=5000, ge=1, le=60_000)


class PredictiveScaling(StrictModel):
    """Learned demand (icpilot.domain.forecast): warm copies up ahead of the traffic this component had before.

    ``forecast-only`` computes and publishes the forecast and what it would hold, and changes
    nothing (judge it before it acts); ``scale`` makes the forecast floor one more floor of the
    decision, and declines a warm-up for a lone request that would not pay for the instance it adds
    (icpilot.domain.warming). Windows and overrides still win.
    """

    mode: Literal["off", "forecast-only", "scale"] = "off"
    history: Duration = Field(default="14d", description="how much traffic history to learn from")
    min_history: Duration = Field(default="3d", description="below this much history stay reactive")
    max_copies: int | None = Field(default=None, ge=0, le=MAX_COPIES, description="the most copies a forecast may hold")
    timezone: Zone = Field(default="UTC", description="the zone whose days and hours the traffic follows")
    holidays: list[CalendarDay] = Field(
        default_factory=list,
        max_length=366,
        description="days whose traffic is a weekend's (public holidays, a shutdown): learned and held as one",
    )

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

    @cached_property  # parsed once, when first read after the policy loads
    def history_span(self) -> timedelta:
        return parse_duration(self.history)

    @cached_property  # parsed once, when first read after the policy loads
    def min_history_span(self) -> timedelta:
        return parse_duration(self.min_history)


class PerCopy(StrictModel):
    """What one copy reserves (the component's ComputeResourceRequirements), for what runs offline:
    ``icpilot simulate`` and ``plan --offline``. On AWS icpilot reads it from the component itself."""

    accelerators: float = Field(ge=0, le=64, description="NumberOfAcceleratorDevicesRequired")
    cores: float = Field(default=1, gt=0, le=512, description="NumberOfCpuCoresRequired")
    memory_mb: int = Field(default=1024, ge=128, le=4_000_000, description="MinMemoryRequiredInMb")
