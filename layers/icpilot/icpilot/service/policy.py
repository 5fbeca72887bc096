"""The policy a run acts on, read once per run: an invalid one changes nothing and is announced
(``PolicyInvalid``) once per distinct problem set, not on every tick while it lasts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..domain.decision_types import Trigger
from ..domain.events import EventDraft, EventType
from ..errors import IcpilotError, PolicyError, PolicyNotDeployedError
from ..policy.model import Policy
from ..ports import PolicyStatus
from .announce import Announcer
from .outcomes import RunSummary


def read_policy(
    source: Callable[[], Policy],
    status: PolicyStatus,
    announcer: Announcer,
    summary: RunSummary,
    trigger: Trigger,
    now: datetime,
) -> Policy | None:
    """The policy, or None with its problems in ``summary`` (announced when they are new)."""
    try:
        return source()
    except PolicyError as exc:
        summary.policy_error = exc.problems
        summary.policy_pending = isinstance(exc, PolicyNotDeployedError)
        try:
            new = status.remember_status(exc.problems, now)
        except IcpilotError:
            new = True  # the state table cannot tell: a repeat is better than silence
        if new:
            draft = EventDraft(
                type=EventType.POLICY_INVALID,
                reason=(
                    "no policy is deployed yet; nothing was changed"
                    if summary.policy_pending
                    else "the policy is invalid; nothing was changed"
                ),
                details={"problems": exc.problems},
            )
            announcer.announce(draft, trigger, now, None, None)
        return None
