"""What AWS does, as icpilot's two stand-ins for it model it: the emulator (for AWS fidelity, second
by second) and the simulator (for cost, minute by minute). One rule here, two users, so that the
differential day (``tests/integration/test_differential_day.py``) compares icpilot's decisions and
not two readings of AWS. icpilot itself never imports this package: the code under test must not
share its oracle (an import-linter contract in pyproject.toml).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Application Auto Scaling target tracking: the two CloudWatch alarms it creates for a policy. Out
# when the metric is above the target for 3 of 3 one-minute datapoints, in when below 90 % of it for
# 15 of 15; missing datapoints (no requests: SageMaker sends InvocationsPerCopy for requests only)
# never breach, so target tracking does not scale in on insufficient data.
# https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-target-tracking.html
HIGH_PERIODS, LOW_PERIODS, LOW_FRACTION = 3, 15, 0.9

# Copies SageMaker starts together do not all come up in the same second. The emulator's default
# spread between the copies of one batch (not a published AWS figure: a stand-in's assumption).
COPY_STAGGER_SECONDS = 15.0


def copy_ready_after(load_seconds: float, nth: int, stagger_seconds: float) -> float:
    """Seconds after it is placed until the ``nth`` copy (from 0) of one batch serves."""
    return load_seconds + nth * stagger_seconds


def copy_ready_minutes(load_minutes: int, nth: int, stagger_seconds: float) -> int:
    """The same rule in whole minutes (the simulator's step): the minute boundary at which the copy
    has loaded, which is when a once-a-minute watcher first sees it."""
    return math.ceil(copy_ready_after(load_minutes * 60.0, nth, stagger_seconds) / 60.0 - 1e-9)


@dataclass
class TargetTrackingCooldowns:
    """When a target-tracking policy last scaled out and in (seconds on the caller's clock), and the
    rule one evaluation of its alarm in ALARM follows, as the AAS documentation describes it:
    new copies = ``ceil(current x metric / target)`` within the target's bounds; a scale-out when
    that is more and the scale-out cooldown has passed, a scale-in when it is fewer and the scale-in
    cooldown since the last scale-in has passed; a scale-out ends a scale-in cooldown; nothing from
    zero copies (a per-copy metric has no value there)."""

    last_out: float | None = None
    last_in: float | None = None

    def act(
        self,
        scale_in: bool,
        current: int,
        metric: float,
        target: float,
        bounds: tuple[int, int],
        now: float,
        cooldowns: tuple[float, float],
    ) -> int | None:
        """The copies to set now (the cooldowns start), or None. ``cooldowns``: (out, in) seconds."""
        if current == 0 or target <= 0:
            return None
        lo, hi = bounds
        new = max(lo, min(hi, math.ceil(current * metric / target - 1e-9)))
        out_cooldown, in_cooldown = cooldowns
        if scale_in:
            if new >= current or (self.last_in is not None and now < self.last_in + in_cooldown):
                return None
            self.last_in = now
        else:
            if new <= current or (self.last_out is not None and now < self.last_out + out_cooldown):
                return None
            self.last_out, self.last_in = now, None
        return new
