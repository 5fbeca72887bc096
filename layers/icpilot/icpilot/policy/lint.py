"""Conflicts a valid policy can still hold, found before deploying. Pure.

Each finding has a severity: ``error`` (icpilot cannot do what the policy asks) or ``warning``
(it works, but probably not as intended).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .model import ComponentPolicy, Policy


@dataclass(frozen=True)
class Finding:
    severity: str
    where: str
    message: str


def lint(policy: Policy, now: datetime | None = None) -> list[Finding]:
    now = now or datetime(2026, 1, 1, tzinfo=UTC)
    out: list[Finding] = []
    for endpoint, component, cp in policy.components():
        at = f"endpoints.{endpoint}.components.{component}"
        out += _component_findings(at, cp)
        out += _window_findings(at, cp, now)
    return out


def _component_findings(at: str, cp: ComponentPolicy) -> list[Finding]:
    """Delays, thresholds and bounds of one component that contradict each other."""
    out: list[Finding] = []
    idle = cp.idle_delay
    if idle is not None and idle < cp.time_to_ready:
        out.append(
            Finding(
                "warning",
                f"{at}.idle_scale_to_zero_after",
                f"idle delay {idle} is shorter than the expected time to ready {cp.time_to_ready}: every lull costs a cold start longer than the lull",
            )
        )
    if (
        cp.autoscaling
        and cp.high_load
        and cp.autoscaling.metric == "invocations_per_copy"
        and cp.high_load.threshold <= cp.autoscaling.target
    ):
        out.append(
            Finding(
                "warning",
                f"{at}.high_load.threshold",
                f"high-load threshold {cp.high_load.threshold:g} is at or below the target-tracking target {cp.autoscaling.target:g}: icpilot adds copies that AAS then removes",
            )
        )
    _, ceiling_out = cp.outside_bounds
    if ceiling_out == 0 and not cp.schedules:
        out.append(
            Finding("error", f"{at}.outside", "max 0 outside windows and no windows: the component can never run")
        )
    if ceiling_out < cp.warmup_copies and ceiling_out > 0:
        out.append(
            Finding(
                "warning",
                f"{at}.warmup_copies",
                f"warmup_copies {cp.warmup_copies} exceeds the ceiling {ceiling_out} outside windows: a scale from zero there gets only {ceiling_out}",
            )
        )
    if cp.warmup_timeout is not None and cp.warmup_deadline < cp.time_to_ready:
        out.append(
            Finding(
                "error",
                f"{at}.warmup_timeout",
                f"warmup_timeout {cp.warmup_deadline} is shorter than the expected time to ready {cp.time_to_ready}: every warm-up times out",
            )
        )
    return out


def _window_findings(at: str, cp: ComponentPolicy, now: datetime) -> list[Finding]:
    """Windows that never open, open too briefly to warm up, or change nothing."""
    out: list[Finding] = []
    for i, rule in enumerate(cp.schedules):
        where = f"{at}.schedules[{i}]"
        if rule.cron is not None:
            nxt = rule.schedule.next_after(now)
            if nxt is None:
                out.append(
                    Finding(
                        "error",
                        where,
                        f"{rule.cron_expression} never fires after {now.date()}: the window never opens",
                    )
                )
        elif rule.window < cp.time_to_ready:
            out.append(
                Finding(
                    "warning",
                    where,
                    f"the window ({rule.window}) is shorter than the expected time to ready ({cp.time_to_ready})",
                )
            )
        if (
            rule.min_copies == 0
            and (rule.max_copies is None or rule.max_copies >= cp.max_copies)
            and cp.outside is None
        ):
            out.append(
                Finding("warning", where, "the window changes nothing (floor 0, ceiling max_copies, same as outside)")
            )
    return out


def lint_live(
    component: str,
    aas_bounds: tuple[int, int] | None,
    wanted: tuple[int, int],
    override_until: datetime | None,
    now: datetime,
) -> list[Finding]:
    """Findings that need the live state: AAS bounds other than the ``wanted`` ones the next tick
    sets (the policy's window, the last copy icpilot owns, copies that free no instance, what fits
    beside the others: ``icpilot plan``'s AAS column), stale overrides."""
    out: list[Finding] = []
    if aas_bounds is not None and aas_bounds != wanted and override_until is None:
        out.append(
            Finding(
                "warning",
                component,
                f"AAS bounds {aas_bounds[0]}..{aas_bounds[1]} differ from the {wanted[0]}..{wanted[1]} the next tick "
                "sets (it corrects them; `icpilot plan` says why)",
            )
        )
    if override_until is not None and override_until > now + timedelta(days=7):
        out.append(
            Finding(
                "warning", component, f"an override holds until {override_until.isoformat()}, more than a week away"
            )
        )
    return out


def lint_endpoint(endpoint: str, scale_in_strategy: str | None, max_instances: int) -> list[Finding]:
    """Findings about the endpoint itself, from SageMaker: an endpoint of several instances whose
    managed instance scaling releases only empty ones (ScaleInPolicy IDLE_RELEASE, the default).
    icpilot's decisions (``sizing.kept_for_free``) and the simulator count the instances the copies
    need once consolidated; with IDLE_RELEASE the copies left after scale-ins can stay spread over
    instances that all stay up."""
    if scale_in_strategy != "IDLE_RELEASE" or max_instances < 2:
        return []
    return [
        Finding(
            "warning",
            endpoint,
            "managed instance scaling releases only instances with no copies (ScaleInPolicy IDLE_RELEASE, the "
            "default): copies left after scale-ins can keep several instances up. CONSOLIDATION moves them onto "
            "fewer (a new endpoint config with ScaleInPolicy {Strategy: CONSOLIDATION}, then UpdateEndpoint), "
            "which icpilot's instance estimates assume",
        )
    ]
