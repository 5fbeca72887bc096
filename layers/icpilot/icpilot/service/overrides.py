"""An operator's override: the copies pinned until a time, recorded over any racing write and
announced (``OverrideSet``); the evaluation that follows carries it out (AAS paused too)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..domain.decision_types import Trigger
from ..domain.events import EventDraft, EventType
from ..policy.model import ComponentPolicy
from .announce import Announcer
from .evaluate import Evaluation
from .outcomes import ComponentOutcome, Outcome, RunSummary


@dataclass(frozen=True)
class Override:
    endpoint: str
    component: str
    copies: int
    until: datetime
    reason: str

    def record(
        self,
        policy: ComponentPolicy,
        evaluation: Evaluation,
        announcer: Announcer,
        trigger: Trigger,
        now: datetime,
        summary: RunSummary,
    ) -> bool:
        """Record and announce it; False (rejected, in ``summary``) when the copies are out of range."""
        if not 0 <= self.copies <= policy.max_copies:
            why = f"--copies {self.copies} is outside 0..{policy.max_copies} (max_copies)"
            summary.outcomes.append(ComponentOutcome(self.endpoint, self.component, Outcome.REJECTED, why))
            return False
        evaluation.write_latest(
            self.endpoint,
            self.component,
            override_copies=self.copies,
            override_until=self.until,
            override_reason=self.reason,
            override_set_at=now,
        )
        draft = EventDraft(
            type=EventType.OVERRIDE_SET,
            reason=f"{self.reason} (until {self.until.isoformat()})",
            to_copies=self.copies,
            details={"until": self.until.isoformat(), "reason": self.reason},
        )
        announcer.announce(draft, trigger, now, self.endpoint, self.component)
        return True
