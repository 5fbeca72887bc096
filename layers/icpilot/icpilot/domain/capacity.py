"""How many copies of a component an endpoint can host next to the others. Pure.

Placement is a bin-packing problem; icpilot estimates it the way SageMaker places copies:
first-fit, largest reservations first, onto at most MaxInstanceCount instances. The estimate is
used to cap requests before they are made, so a request never asks for more than fits.

Worked example: ml.g5.24xlarge has 4 GPUs, 96 vCPUs, 384 GiB; max 2 instances. flan-t5-xxl holds
1 copy x 2 GPUs. falcon-7b (1 GPU per copy) then fits 2 on the first instance and 4 on the second:
``copies_that_fit`` answers 6.
"""

from __future__ import annotations

from dataclasses import dataclass

from .instance_types import InstanceType


@dataclass(frozen=True)
class Reservation:
    accelerators: float
    cores: float
    memory_mb: int

    def fits_in(self, free: list[float]) -> bool:
        return self.accelerators <= free[0] and self.cores <= free[1] and self.memory_mb <= free[2]


def _place(bins: list[list[float]], r: Reservation) -> bool:
    for free in bins:
        if r.fits_in(free):
            free[0] -= r.accelerators
            free[1] -= r.cores
            free[2] -= r.memory_mb
            return True
    return False


def _instance(itype: InstanceType) -> list[float]:
    """One empty instance: its free accelerators, cores and memory."""
    return [float(itype.accelerators), float(itype.vcpus), float(itype.memory_mb)]


def _largest_first(held: list[tuple[Reservation, int]]) -> list[tuple[Reservation, int]]:
    return sorted(held, key=lambda o: (o[0].accelerators, o[0].memory_mb), reverse=True)


@dataclass(frozen=True)
class Holding:
    """A component's copies and, beside them on its endpoint, the other components' (reservation,
    copies): what decides which instances its release would free."""

    copies: int
    beside: tuple[tuple[Reservation, int], ...] = ()

    def instances_freed(self, itype: InstanceType, reservation: Reservation) -> int:
        """The instances the endpoint needs no more once these copies (of ``reservation``) go:
        needed with them minus without, placed as ``instances_needed`` places them."""
        others = list(self.beside)
        return instances_needed(itype, [*others, (reservation, self.copies)]) - instances_needed(itype, others)


def instances_needed(itype: InstanceType, held: list[tuple[Reservation, int]]) -> int:
    """The instances ``held`` (reservation, copies) take when placed as ``copies_that_fit`` places
    them (first-fit, largest first), with as many instances as it needs: what the endpoint bills
    once SageMaker has released the instances no copy uses."""
    bins: list[list[float]] = []
    for reservation, copies in _largest_first(held):
        for _ in range(copies):
            if not _place(bins, reservation):
                bins.append(_instance(itype))
                if not _place(bins[-1:], reservation):
                    return 10**6  # larger than an instance: it can never be placed
    return len(bins)


def copies_that_fit(
    itype: InstanceType, max_instances: int, wanted: Reservation, others: list[tuple[Reservation, int]]
) -> int:
    """The most copies of ``wanted`` that fit beside ``others`` (reservation, copies) on the endpoint."""
    bins = [_instance(itype) for _ in range(max_instances)]
    for reservation, copies in _largest_first(others):
        for _ in range(copies):
            _place(bins, reservation)  # what does not fit waits in SageMaker; it holds nothing here
    if wanted.accelerators == 0 and wanted.cores == 0 and wanted.memory_mb == 0:
        return 10**6
    count = 0
    while _place(bins, wanted):
        count += 1
    return count


@dataclass(frozen=True)
class Held:
    """One component's part in a consolidation: what it reserves a copy, holds, may go down to, and
    whether its traffic has stopped (its quiet alarm stands)."""

    name: str
    reservation: Reservation
    copies: int
    lowest: int  # the fewest it may keep: one copy (the idle rule owns the last), or its floor
    quiet: bool
    priority: int = 0


@dataclass(frozen=True)
class Consolidation:
    """The copies each component keeps, and the instances they need before and after."""

    plan: dict[str, int]
    before: int
    after: int


def consolidated(itype: InstanceType, held: list[Held]) -> Consolidation:
    """The copies each component keeps when the quiet ones give up what frees instances.

    AWS bills instances, and target tracking cannot scale in a component without traffic (no
    datapoints), so copies a burst left stay until the idle delay takes the component to zero. When
    every quiet component down to its ``lowest`` needs fewer instances than today, they keep that
    many, then get copies back one at a time (higher priority first, round after round) while the
    instances needed stay that few. Otherwise (nothing freed) everyone keeps what it holds.

    Deterministic, so each quiet component's own decision computes the same plan. Worked example
    (ml.g5.24xlarge, 4 GPUs): falcon-7b 4 x 1 GPU and flan-t5-xxl 2 x 2 GPUs, both quiet, need 2
    instances; down to one copy each, 3 GPUs, one instance; falcon gets a second copy back (4 GPUs),
    a third would need another instance, as would flan's second: falcon 2, flan 1."""
    now = {h.name: h.copies for h in held}
    plan = {h.name: min(h.copies, h.lowest) if h.quiet else h.copies for h in held}

    def needed(counts: dict[str, int]) -> int:
        return instances_needed(itype, [(h.reservation, counts[h.name]) for h in held])

    fewest, today = needed(plan), needed(now)
    if fewest >= today:
        return Consolidation(now, today, today)
    order = sorted((h for h in held if h.quiet), key=lambda h: (-h.priority, h.name))
    gave_back = True
    while gave_back:
        gave_back = False
        for h in order:
            if plan[h.name] < h.copies:
                trial = {**plan, h.name: plan[h.name] + 1}
                if needed(trial) <= fewest:
                    plan, gave_back = trial, True
    return Consolidation(plan, today, fewest)
