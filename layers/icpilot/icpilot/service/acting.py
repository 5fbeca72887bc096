"""Carrying out a decision: claim it (conditional state write), write the copy count, move AAS's
bounds around it, take copies from preempted peers, record the outcome and announce it, only for
actions that stand. ``Evaluation`` (``service.evaluate``) decides; this is its acting half.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from ..domain.aws_views import ScalableTarget
from ..domain.decision_types import Action, Decision, EndpointObservation, LastAction, Trigger, TriggerKind
from ..domain.events import EventDraft, EventType
from ..domain.status import BUSY
from ..domain.transitions import Availability, CopyChange
from ..errors import ComponentBusyError, IcpilotError, StateConflictError
from ..ports import CopyCounts, ScalableTargets, State
from ..records import StateWrite, StoredState, decided_fields
from .announce import Announcer
from .outcomes import ComponentOutcome, Outcome
from .targets import TargetReads

logger = Logger(service="icpilot", child=True)
TRANSITIONS_KEPT = 2000  # copy-count changes kept on the item for `icpilot report`


@dataclass(frozen=True)
class Acting:
    """One decision being carried out: what it says, and its outcome."""

    d: Decision
    endpoint: str
    trigger: Trigger
    now: datetime
    announcer: Announcer

    def outcome(self, result: Outcome, reason: str) -> ComponentOutcome:
        return ComponentOutcome(self.endpoint, self.d.component, result, reason, self.d.from_copies, self.d.target)

    def announce_decided(self) -> None:
        for draft in self.d.events:
            self.announcer.announce(draft, self.trigger, self.now, self.endpoint, self.d.component)

    def say(self, kind: EventType, reason: str, details: dict[str, Any] | None = None) -> None:
        draft = EventDraft(
            type=kind, reason=reason, from_copies=self.d.from_copies, to_copies=self.d.target, details=details or {}
        )
        self.announcer.announce(draft, self.trigger, self.now, self.endpoint, self.d.component)


@dataclass(frozen=True)
class Record:
    """The record of an applied action, written on the version the claim left."""

    act: Acting
    version: int
    fields: dict[str, Any]

    @property
    def write(self) -> StateWrite:
        return StateWrite(self.act.endpoint, self.act.d.component, self.version, self.fields)


class DecisionCarrier:
    """The acting half of one run's evaluations: its adapters, and what the run read once (AAS
    targets in batches, the state items of each endpoint's components, icpilot's target registry)."""

    WRITE_ATTEMPTS = 8
    # Between lost races: full jitter, doubling from 20 ms to at most 0.5 s (at most ~2 s in all), so
    # racers that collided once do not collide again in lockstep.
    WRITE_BACKOFF_SECONDS = (0.02, 0.5)
    # An open claim (claimed, outcome not yet recorded) is the claimer's to carry out for this long:
    # the longest timeout of a function that scales. An older one was left by an invocation that died.
    CLAIM_HOLD = timedelta(seconds=300)

    def __init__(self, sagemaker: CopyCounts, autoscaling: ScalableTargets, state: State, announcer: Announcer) -> None:
        self.sagemaker, self.autoscaling, self.state, self.announcer = sagemaker, autoscaling, state, announcer
        self.targets = TargetReads(autoscaling)
        self._stored: dict[tuple[str, str], StoredState] = {}  # batched reads, each used once
        self._peers: dict[str, list[str]] = {}  # the policy's components per endpoint read this run
        self._registered: set[str] | None = None  # targets in icpilot's registry, read when first needed
        self._registry_lock = threading.Lock()

    def write_latest(
        self, endpoint: str, component: str, when: Callable[[StoredState], bool] | None = None, **fields: Any
    ) -> bool:
        """Write ``fields`` on top of whatever version is current (re-read on conflict), for writes
        that must not be lost to a racing one: overrides and the record of an applied action.
        ``when`` is re-checked on each read; False means the write is no longer wanted."""
        base, cap = self.WRITE_BACKOFF_SECONDS
        for attempt in range(self.WRITE_ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0, min(cap, base * 2**attempt)))
            latest = self.state.get(endpoint, component)
            if when is not None and not when(latest):
                return False
            try:
                self.state.write(endpoint, component, latest.version, **fields)
                return True
            except StateConflictError:
                continue
        raise StateConflictError(f"{endpoint}/{component}: {self.WRITE_ATTEMPTS} writes in a row lost a race")

    def _record_after_claim(self, endpoint: str, component: str, version: int, **fields: Any) -> bool:
        """Record what happened after this invocation claimed the component. A racing write
        (an override, a refusal note) may have landed since the claim: then write on top of it.
        False when the state table refused; the caller reports it (the action itself stands)."""
        try:
            try:
                self.state.write(endpoint, component, version, **fields)
            except StateConflictError:
                self.write_latest(endpoint, component, **fields)
        except IcpilotError as exc:
            logger.error("state record failed", extra={"component": component, "error": str(exc)})
            return False
        return True

    def _settle(self, record: Record) -> None:
        """Write one record after its claim; if the table does not take it, say so."""
        act = record.act
        if not self._record_after_claim(act.endpoint, act.d.component, record.version, **record.fields):
            # The copy count is written; only the record is missing. The next tick sees the component
            # at its target and settles the claim; this transition is not followed by the watcher.
            act.say(
                EventType.ACTION_FAILED,
                f"scaled to {act.d.target} but the state table did not take the record; "
                "the watcher will not follow this transition",
            )

    def settle_all(self, records: list[Record]) -> None:
        """The records of an endpoint's applied actions in one transaction (one call, not one each);
        when a racing write landed on one of them or the table refused the batch, one by one."""
        if not records:
            return
        if len(records) > 1:
            try:
                self.state.write_all([r.write for r in records])
                return
            except IcpilotError as exc:
                logger.info("batched record not taken; recording one by one", extra={"error": str(exc)})
        for record in records:
            self._settle(record)

    def claim_all(self, acts: list[tuple[Acting, StoredState]]) -> list[int] | None:
        """Claim several components for their scales in one transaction: the versions after the
        claims, or None when any of them moved since it was read (then none is claimed, and each
        claims on its own as it is carried out)."""
        writes = [StateWrite(a.endpoint, a.d.component, stored.version, self._claim_fields(a)) for a, stored in acts]
        try:
            return self.state.write_all(writes)
        except IcpilotError as exc:
            logger.info("batched claim not taken; claiming one by one", extra={"error": str(exc)})
            return None

    def claims_now(self, act: Acting, stored: StoredState) -> bool:
        """Whether carrying out this decision starts with a claim: a scale no open claim holds and
        that does not wait for the write budget."""
        return (
            act.d.action == Action.SCALE
            and not self._waits_for_budget(act.d, act.trigger)
            and self._open_claim(act, stored) is None
        )

    def _manages(self, endpoint: str, component: str, target: ScalableTarget) -> bool:
        """Whether this stack manages the target: icpilot registered or adopted it (the state's
        registry, read in batches once a run, when first needed), else its tag says so (one read
        per target)."""
        with self._registry_lock:  # the run's workers share one read
            if self._registered is None:
                everyone = sorted({c for peers in self._peers.values() for c in peers} | {component})
                try:
                    self._registered = self.state.registered_targets(everyone)
                except IcpilotError as exc:
                    logger.warning("registry read failed; reading tags", extra={"error": str(exc)})
                    self._registered = set()
            registered = component in self._registered
        return registered or self.autoscaling.manages(target)

    def _sync_bounds(self, decision: Decision, endpoint: str, holding: int | None) -> None:
        """AAS's bounds from the decision, widened to hold ``holding`` (the count the component has
        or was just given): bounds that exclude the count make AAS write it into range at once
        (RegisterScalableTarget), and a deferred or blocked change must not happen that way."""
        component = decision.component
        target = self.targets.target(component)
        if target is None:
            return  # no AAS target: icpilot is the only writer
        lo, hi = decision.aas_min, decision.aas_max
        if holding is not None:
            lo, hi = min(lo, holding), max(hi, holding)
        have = (target.min_capacity, target.max_capacity, target.dynamic_suspended, target.scale_out_suspended)
        want = (lo, hi, decision.pin_aas, decision.pin_aas or decision.suspend_scale_out)
        if have != want:
            # Only a target this stack manages (its IAM allows no other): a team's target waits for
            # configure to claim it, another stack's is left to that stack.
            if not self._manages(endpoint, component, target):
                logger.info("bounds left: not this stack's scalable target", extra={"component": component})
                return
            self.autoscaling.set_bounds(component, lo, hi, decision.pin_aas, decision.suspend_scale_out)

    def _preempt(self, d: Decision, ep: EndpointObservation, trigger: Trigger, now: datetime) -> None:
        """Take copies from lower-priority preemptible components; AAS's max follows so it does not add them back."""
        for victim, copies in d.preempt:
            self.targets.forget(victim)  # its bounds change here: its own evaluation must read them again
            observed = next((c for c in ep.components if c.name == victim), None)
            if observed is None or observed.status in BUSY:
                continue  # busy: the capacity cap already reported what could not be had
            target = self.autoscaling.describe_target(victim)
            self.sagemaker.set_copy_count(victim, copies)  # the count first (see _apply), then AAS's max
            if target is not None and target.max_capacity > copies and self._manages(ep.name, victim, target):
                self.autoscaling.set_bounds(victim, min(target.min_capacity, copies), copies, pin=False)
            self._stored.pop((ep.name, victim), None)  # written here: its own evaluation reads it afresh
            stored = self.state.get(ep.name, victim)
            self.state.write(
                ep.name,
                victim,
                stored.version,
                last_action=LastAction.PREEMPTED,
                last_reason=f"preempted for {d.component}",
                last_action_at=now,
                updated_at=now,
            )

    def _act(
        self,
        d: Decision,
        ep: EndpointObservation,
        stored: StoredState,
        trigger: Trigger,
        now: datetime,
        held_by: list[str] | None = None,
        claimed: int | None = None,
        records: list[Record] | None = None,
    ) -> ComponentOutcome:
        """Carry out a decision. A scale claims the component first (conditional write) and only then
        says what it decided and takes copies from preempted peers: a lost claim announces nothing.
        ``claimed``: the version after a claim this run already made (``claim_all``); ``records``:
        where the record of the applied action waits for ``settle_all``, else it is written here."""
        act = Acting(d, ep.name, trigger, now, self.announcer)
        try:
            if d.action != Action.SCALE:
                return self._keep(act, stored)
            if claimed is None and self._waits_for_budget(d, trigger):
                why = (
                    f"scale-in to {d.target} waits for the next run: the copy-count write budget is kept for scale-outs"
                )
                return act.outcome(Outcome.POSTPONED, why)
            claim = claimed if claimed is not None else self._claim(act, stored)
        except StateConflictError as exc:
            return act.outcome(Outcome.SUPERSEDED, f"another invocation acted first: {exc}")
        if isinstance(claim, ComponentOutcome):
            return claim
        act.announce_decided()  # the claim stands: now it may be said
        if d.preempt:
            self._preempt(d, ep, trigger, now)
        requested, scaled = d.announced_once_written()
        act.say(requested, d.reason)
        refused = self._write_count(act, stored, claim)
        if refused is not None:
            return refused
        try:
            self._sync_bounds(d, ep.name, holding=d.target)
        except IcpilotError as exc:  # the copies are written; the next tick moves the bounds again
            act.say(
                EventType.ACTION_FAILED,
                f"scaled to {d.target}, but moving AAS's bounds failed (retried next tick): {exc}",
            )
        fields = {**self._flight(d, trigger, stored, now), **decided_fields(d.next_state)}
        record = Record(act, claim, {**fields, "last_action_at": now, "attempts": 0, "updated_at": now})
        if records is None:
            self._settle(record)
        else:
            records.append(record)
        held_by = held_by or []
        self._announce_scaled(d, scaled, ep.name, held_by, trigger, now)
        still = f"; endpoint still held by {', '.join(held_by)}" if d.target == 0 and held_by else ""
        return act.outcome(Outcome.SCALED, d.reason + still)

    def _waits_for_budget(self, d: Decision, trigger: Trigger) -> bool:
        """A scale-in that no operator asked for waits while copy-count writes are short of their
        paced budget: it can wait a tick, a warm-up due at a window's opening cannot. Nothing is
        recorded, so the next run decides it again."""
        return (
            d.target < d.from_copies and trigger.kind != TriggerKind.MANUAL and not self.sagemaker.write_budget_free()
        )

    def _observe(self, act: Acting, stored: StoredState) -> ComponentOutcome:
        """Observe mode: nothing is written to SageMaker or AAS, and decide()'s own events (a warm-up
        that does not start) are not said. A scale is announced as ``WouldScale`` once per distinct
        intent, kept on the item as ``would_scale`` so the next tick does not say it again."""
        d = act.d
        said = stored.would_scale
        if d.action != Action.SCALE:
            if said:  # the intent passed: a later one is news again
                with contextlib.suppress(IcpilotError):
                    self.state.write(act.endpoint, d.component, stored.version, would_scale=None, updated_at=act.now)
            return act.outcome(Outcome.UNCHANGED, f"observe mode: {d.reason}")
        intent = f"{d.from_copies}->{d.target} {d.rule.value}"
        if said != intent:
            try:
                self.state.write(act.endpoint, d.component, stored.version, would_scale=intent, updated_at=act.now)
            except StateConflictError as exc:
                return act.outcome(Outcome.SUPERSEDED, f"another invocation acted first: {exc}")
            details = {
                "rule": d.rule.value,
                "aas_bounds": [d.aas_min, d.aas_max],
                "would_announce": [str(e.type) for e in d.events],
            }
            act.say(EventType.WOULD_SCALE, f"observe mode, nothing written: would {d.reason}", details)
        return act.outcome(Outcome.OBSERVED, f"observe mode: would scale {d.from_copies} → {d.target}: {d.reason}")

    def _record(self, act: Acting, version: int, **fields: Any) -> int:
        return self.state.write(
            act.endpoint,
            act.d.component,
            version,
            last_reason=act.d.reason,
            last_trigger=act.trigger.kind.value,
            updated_at=act.now,
            **fields,
        )

    def _keep(self, act: Acting, stored: StoredState) -> ComponentOutcome:
        """A decision that writes no copies: blocked, nothing to do, or deferred; what decide() said
        is recorded (``decided_fields``), then announced."""
        d, decided = act.d, decided_fields(act.d.next_state)  # what production persists is what decide() said
        if d.action == Action.BLOCKED:
            if stored.state.last_action != LastAction.BLOCKED:
                self._record(act, stored.version, **decided)
            result = Outcome.BLOCKED
        elif d.action == Action.NONE:
            self._sync_bounds(d, act.endpoint, holding=d.from_copies)
            if stored.state.pending_target is not None:
                self._record(act, stored.version, **decided)
            result = Outcome.UNCHANGED
        else:
            self._sync_bounds(d, act.endpoint, holding=d.from_copies)
            self._record(act, stored.version, **decided, pending_since=act.now)
            result = Outcome.DEFERRED
        act.announce_decided()  # recorded: now it may be said
        return act.outcome(result, d.reason)

    def _claim(self, act: Acting, stored: StoredState) -> int | ComponentOutcome:
        """Claim the component for a scale (the version after the claim), unless another invocation
        holds an open claim: it is writing SageMaker now, and a second write would be refused
        (Updating) after a second announcement. Its outcome is recorded soon."""
        held = self._open_claim(act, stored)
        if held is not None:
            return act.outcome(Outcome.UNCHANGED, held)
        return self.state.write(act.endpoint, act.d.component, stored.version, **self._claim_fields(act))

    def _open_claim(self, act: Acting, stored: StoredState) -> str | None:
        """Why another invocation's claim holds the component (claimed, outcome not yet recorded,
        within ``CLAIM_HOLD``); None when none does."""
        claimed = stored.claimed_at
        if claimed is None or act.now - claimed >= self.CLAIM_HOLD:
            return None
        pending = stored.state.pending_target
        return f"another invocation claimed it at {claimed.isoformat()} and is scaling it to {pending}"

    @staticmethod
    def _claim_fields(act: Acting) -> dict[str, Any]:
        d = act.d
        return {
            "last_reason": d.reason,
            "last_trigger": act.trigger.kind.value,
            "updated_at": act.now,
            "last_action": LastAction.SCALING,
            "pending_target": d.target,
            "pending_reason": d.reason,
            "pending_since": act.now,
        }

    def _write_count(self, act: Acting, stored: StoredState, version: int) -> ComponentOutcome | None:
        """Write the copy count; the outcome when SageMaker refused it (recorded and said), else None.

        The count first, then AAS's bounds: RegisterScalableTarget writes a count its new bounds
        exclude into range itself (AWS: "changes the resource's current capacity to a value inside
        this range"), which would make the component Updating and refuse this write. Once the
        component is Updating, moving the bounds changes nothing."""
        d, name = act.d, act.d.component
        try:
            self.sagemaker.set_copy_count(name, d.target)
        except ComponentBusyError as exc:
            self._record_after_claim(act.endpoint, name, version, last_action=LastAction.DEFERRED, updated_at=act.now)
            act.say(EventType.SCALE_DEFERRED, f"SageMaker refused the write: {exc}")
            return act.outcome(Outcome.DEFERRED, str(exc))
        except IcpilotError as exc:
            attempts = stored.attempts + 1
            self._record_after_claim(
                act.endpoint,
                name,
                version,
                last_action=LastAction.FAILED,
                last_error=str(exc),
                attempts=attempts,
                updated_at=act.now,
            )
            act.say(
                EventType.ACTION_FAILED,
                f"scaling to {d.target} failed (attempt {attempts}; retried on the next tick): {exc}",
                {"attempts": attempts},
            )
            return act.outcome(Outcome.FAILED, str(exc))
        return None

    @staticmethod
    def _flight(d: Decision, trigger: Trigger, stored: StoredState, now: datetime) -> dict[str, Any]:
        """The record of an accepted copy-count change: what the watcher follows (``InFlight``), the
        availability clients read, and the bounded copy-count history ``icpilot report`` integrates."""
        if d.starts_warmup:
            availability = Availability.WARMING
        else:
            availability = Availability.COLD if d.target == 0 else Availability.READY
        return {
            "inflight": True,
            "inflight_kind": d.flight_kind,
            "inflight_target": d.target,
            "inflight_from": d.from_copies,
            "requested_at": trigger.requested_at or now,
            "accepted_at": now,
            "availability": availability,
            "expected_ready_at": d.expected_ready_at,
            "transitions": (*stored.transitions, CopyChange(now, d.from_copies, d.target))[-TRANSITIONS_KEPT:],
        }

    def _announce_scaled(
        self, d: Decision, kind: EventType, endpoint: str, held_by: list[str], trigger: Trigger, now: datetime
    ) -> None:
        """Scaled or ScaledToZero; EndpointIdle when this was the endpoint's last component with copies."""
        details = {"endpoint_held_by": held_by} if d.target == 0 else {}
        draft = EventDraft(type=kind, reason=d.reason, from_copies=d.from_copies, to_copies=d.target, details=details)
        self.announcer.announce(draft, trigger, now, endpoint, d.component)
        if d.target == 0 and not held_by:
            reason = f"every component on {endpoint} is at zero copies: ManagedInstanceScaling releases its instances after its scale-in cooldown"
            idle = EventDraft(type=EventType.ENDPOINT_IDLE, reason=reason, details={"last_component": d.component})
            self.announcer.announce(idle, trigger, now, endpoint, None)
