"""The cost model: one place that prices accelerators, refused requests and waiting. Pure.

Total cost = accelerator-hours x price + refused requests x ``refusal_cost`` + delayed
request-minutes x ``delay_cost_per_minute`` (the policy's ``cost:`` block; see ``CostPolicy``).
A copy's price is its share of the instance: accelerators it reserves / accelerators of the
instance type (cores / vCPUs on CPU-only instances) x the instance price per hour (the policy's
``price_per_hour``, else the built-in us-east-1 on-demand table in ``instance_types``).

Worked example: flan-t5-xxl reserves 2 of ml.g5.24xlarge's 4 GPUs at $10.18/h -> $5.09 per copy-hour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..policy.model import CostPolicy, Policy
from .capacity import Holding, Reservation
from .instance_types import INSTANCE_TYPES, InstanceType


class UnknownInstanceType(ValueError):
    """The instance type is not in the built-in table, so its accelerators (and price) are unknown."""


@dataclass(frozen=True)
class CostModel:
    instance_price_per_hour: float
    instance_accelerators: int
    instance_vcpus: int
    refusal_cost: float
    delay_cost_per_minute: float
    instance: InstanceType | None = None  # what is priced: placement says which instances a release frees

    @classmethod
    def of(cls, cost: CostPolicy, instance_type: str) -> CostModel:
        itype = INSTANCE_TYPES.get(instance_type)
        if itype is None:
            raise UnknownInstanceType(
                f"unknown instance type {instance_type!r} (known: ml.g5.*, ml.g6.*, ml.g6e.*, ml.p4d/p5.*, ml.inf2.*, ...)"
            )
        price = cost.price_per_hour if cost.price_per_hour is not None else itype.price_per_hour
        return cls(price, itype.accelerators, itype.vcpus, cost.refusal_cost, cost.delay_cost_per_minute, itype)

    @classmethod
    def for_endpoint(cls, policy: Policy, endpoint: str, instance_type: str) -> CostModel:
        return cls.of(policy.cost_for(endpoint), instance_type)

    def share(self, reservation: Reservation) -> float:
        """The fraction of one instance a copy holds (accelerators, or cores on CPU-only instances)."""
        if self.instance_accelerators:
            return (reservation.accelerators or 0.0) / self.instance_accelerators
        return reservation.cores / self.instance_vcpus if self.instance_vcpus else 0.0

    def copy_per_hour(self, reservation: Reservation) -> float:
        """USD per hour one copy costs while it is loading or loaded."""
        return self.instance_price_per_hour * self.share(reservation)

    def copy_per_minute(self, reservation: Reservation) -> float:
        return self.copy_per_hour(reservation) / 60.0

    def holding_per_hour(self, reservation: Reservation, held: Holding) -> float:
        """USD an hour a component's copies cost as AWS bills them, beside the other components'
        copies: the instances that go when they go (instances needed with them minus without),
        and never less than their share of the instances they share (a shared instance goes only
        when all its copies do; each pays its part).

        Worked example (ml.g5.24xlarge, 4 GPUs, $10.18/h): one falcon-7b copy (1 GPU) alone frees
        an instance when it goes, $10.18/h, where its share is $2.545/h; beside a flan-t5-xxl copy
        (2 GPUs) on that instance it frees nothing and pays its share, $2.545/h."""
        share = self.copy_per_hour(reservation) * held.copies
        if self.instance is None or held.copies <= 0:
            return share
        return max(held.instances_freed(self.instance, reservation) * self.instance_price_per_hour, share)

    def penalty(self, refused: float, delayed_minutes: float) -> float:
        """USD the failed and the waiting requests cost."""
        return refused * self.refusal_cost + delayed_minutes * self.delay_cost_per_minute

    def cold_request(self, load_minutes: float) -> float:
        """USD one request that meets a cold component costs: a refusal, or waiting half the load
        when that costs more.

        Why not the cheaper of the two (clients patient enough to wait): the episode a cold start
        opens is longer than its load. SageMaker refuses a second write while copies load, the
        backlog drains after the first copy is ready and target tracking adds copies a load time
        later; and configure does not know how long the clients wait. Priced at the cheaper, the
        Azure month's daily burst was priced $196.64 against about $800 it cost, and a component
        released between bursts paid that every day ($14,187 -> $24,671 for the month,
        ``docs/performance.md``)."""
        return max(self.refusal_cost, self.delay_cost_per_minute * load_minutes / 2)

    def cold_start(
        self, reservation: Reservation, load_minutes: float, demand_per_minute: float = 0.0, drain: float = 0.0
    ) -> float:
        """What one cold start costs: the copy paid while it loads, plus the requests that meet it cold,
        each at ``cold_request``. At least one request meets it (the one that found it cold), so the
        floor is one refusal.

        The requests that meet it are not only those of its load time (``demand_per_minute`` over
        ``load_minutes``) but those of the ``drain`` minutes after it (``drain_minutes``): the
        backlog left at ready is served first, so whoever arrives meanwhile waits behind it.

        Worked examples: flan-t5-xxl ($5.09/h) loading 8 minutes, refusal $0.10 -> 5.09 x 8/60 + 0.10 =
        $0.78. Meeting 90 requests a minute, delay $0.01 a minute: 90 x 8 x max(0.10, 0.01 x 4) = $72.00
        -> $72.68. With copies that serve 110 a minute, the 720 left at ready drain in 36 minutes, counted
        for 8 (one load time): 90 x 16 x 0.10 = $144.00 -> $144.68.
        """
        met = demand_per_minute * (load_minutes + drain) * self.cold_request(load_minutes)
        return self.copy_per_hour(reservation) * load_minutes / 60.0 + max(self.refusal_cost, met)


def drain_minutes(load_minutes: float, demand_per_minute: float, serves_per_minute: float | None) -> float:
    """How long the backlog a cold start leaves takes to drain, counted for at most one load time more.

    ``demand_per_minute x load_minutes`` requests wait at ready and drain at what the copies serve
    beyond the demand still arriving; copies that serve no more than it never drain it while the burst
    lasts. Why the cap: a longer drain is a burst bigger than the component's ceiling, which costs
    what it costs warm or cold, not a price of the cold start; and a warm-up only ever met as much.
    Worked example: 90 a minute for 8 minutes, copies serving 110: 720 / 20 = 36 minutes -> 8."""
    if not serves_per_minute or demand_per_minute <= 0:
        return 0.0
    spare = serves_per_minute - demand_per_minute
    drain = demand_per_minute * load_minutes / spare if spare > 0 else math.inf
    return min(drain, load_minutes)
