"""The penalty-aware offline optimum and the reactive optimum: the yardsticks every strategy is judged by.

The cost model (``icpilot.domain.cost``): a copy is paid from the minute it starts loading, serves only
once loaded (``load`` minutes later); a request a copy cannot serve waits up to ``patience``
minutes (``delay_cost_per_minute`` per minute waited) and is then refused (``refusal_cost``).

**Per copy slot.** The k-th copy of a component serves the k-th "layer" of each minute's demand:
with C the slot-seconds one copy serves in a minute and s(t) the slot-seconds minute t brings,
slot k serves ``d_k(t) = r(t) * clamp(s(t) - (k-1) C, 0, C) / s(t)`` of its r(t) requests (the
simulator serves in proportion to loaded capacity, so the layers add up to what it serves). Slots
are then independent, and one slot's optimum is a shortest path over minutes with the states

* ``on``: loaded in minute t (paid, serves d_k(t));
* ``off(c)``: not loaded; the last c minutes' requests (c <= patience) are still waiting.

Edges: ``on -> on`` and ``on -> off(0)`` (release) pay the minute; ``off(c) -> off(min(c+1, P))``
refuses the request of minute t-P when it has waited P minutes; ``off(c) -> on at t+load`` (a load
started in minute t) pays ``load`` minutes, refuses what expires during the load and charges the
waiting of what it then serves. Prefix sums make every edge O(1): O(minutes x patience) per slot.

Worked example (load 2, patience 0, $1 a copy-minute, refusal $10): demand of slot 1 = [0, 0, 1, 1,
0, 0, 0, 1]. Load at minute 0 -> on 2..3 -> release -> a 3-minute gap: keeping it through costs $3,
reloading costs $2 (minutes 5-6) -> on at 7. Total = 2 + 2 + 2 + 1 = $7, nothing refused.

**Reactive optimum**: the same, but a load may start only in a minute where the slot has demand
(arriving or waiting): it knows when a burst ends, not when it begins. Ski rental bounds an online
keep-alive rule at 2x (deterministic) or e/(e-1) (randomized) of it.

**Shared capacity.** ``max_copies`` limits the slots; the endpoint's accelerators (max instances x
accelerators per instance) limit the slots every component may use at once. The optimum solves each
slot alone and then checks that the slots fit together minute by minute: when they do it is exact;
when they do not, the sum is a lower bound (a relaxation of the shared constraint) and the report
says ``capacity_bound``. A slot whose copy does not fit on the instances that always run
(``min_instances``) loads for the provisioning time as well, as the simulator's copies do; when
another component happens to hold an instance with room, the simulator's copy skips that wait and
the yardstick is then slightly pessimistic.

**A yardstick, not a bound.** The model differs from the simulator (``engine``) both ways. Looser:
serving a waiting request takes no capacity from the minute it is served in (a backlog drains for
free), and slots load independently. Stricter: demand beyond the slots is refused in its minute
(the simulator lets it wait for spare capacity), and a slot's spare capacity never serves another
slot's layer (the simulator pools them). So a strategy simulated under the same rules may land
above or below it. The backtest therefore also plays each optimum's schedule in the simulator
(the ``-replayed`` rows): the same copies paid, the backlog drained with the capacity there is.
On the bursty week with 14 minutes of patience the reactive optimum's own schedule costs 1.59x
its figure here; with 1 minute of patience, 0.95x.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .traces import MinuteDemand, Throughput


@dataclass(frozen=True)
class SlotCosts:
    """The prices one slot is optimised under."""

    per_minute: float  # USD one copy costs per minute (loading or loaded)
    refusal: float  # USD per refused request
    delay_per_minute: float  # USD per request per minute waited
    load: int  # minutes from the start of a load to serving
    patience: int  # minutes a request may wait


@dataclass(frozen=True)
class SlotOutcome:
    """One slot's schedule and what it costs under the model."""

    paid: list[bool]  # per minute: loading or loaded
    on: list[bool]  # per minute: loaded and serving
    refused: float
    delayed_minutes: float
    demand: list[float] = field(default_factory=list)  # the slot's requests per minute

    def scored_from(self, minute: int, patience: int) -> SlotOutcome:
        """The same schedule, counted from ``minute`` on (paid minutes and requests arriving from then)."""
        demand = [0.0] * minute + self.demand[minute:]
        refused, delayed = evaluate(self.on, demand, patience) if self.demand else (self.refused, self.delayed_minutes)
        return SlotOutcome([False] * minute + self.paid[minute:], self.on, refused, delayed, demand)

    def cost(self, costs: SlotCosts) -> float:
        return (
            sum(self.paid) * costs.per_minute
            + self.refused * costs.refusal
            + self.delayed_minutes * costs.delay_per_minute
        )


def layers(demand: MinuteDemand, throughput: Throughput, slots: int) -> list[list[float]]:
    """``d_k(t)`` for k = 1..slots: the requests the k-th copy would serve in each minute."""
    per_copy = 60.0 * throughput.slots_per_copy
    out = [[0.0] * len(demand.requests) for _ in range(slots)]
    for t, (r, s) in enumerate(zip(demand.requests, demand.slot_seconds, strict=True)):
        if not r:
            continue
        if s <= 0:
            out[0][t] = float(r)
            continue
        for k in range(slots):
            part = min(per_copy, max(0.0, s - k * per_copy))
            if part <= 0:
                break
            out[k][t] = r * part / s
    return out


def evaluate(on: list[bool], demand: list[float], patience: int) -> tuple[float, float]:
    """(refused, delayed request-minutes) of a slot loaded in the minutes ``on``; the model's definition.

    A request of minute t is served at the first loaded minute b >= t: on time if b = t, delayed
    b - t minutes if that is within ``patience``, else refused.
    """
    refused = delayed = 0.0
    next_on = math.inf
    for t in range(len(demand) - 1, -1, -1):
        if on[t]:
            next_on = t
        if not demand[t]:
            continue
        wait = next_on - t
        if wait > patience:
            refused += demand[t]
        else:
            delayed += demand[t] * wait
    return refused, delayed


def solve_slot(demand: list[float], costs: SlotCosts, reactive: bool = False) -> SlotOutcome:
    """The cheapest schedule of one copy slot (see the module docstring for the graph)."""
    n, load, patience = len(demand), costs.load, costs.patience
    s0 = [0.0] * (n + 1)  # prefix sums of demand
    s1 = [0.0] * (n + 1)  # prefix sums of t x demand
    for t, d in enumerate(demand):
        s0[t + 1] = s0[t] + d
        s1[t + 1] = s1[t] + t * d

    def total(a: int, b: int) -> float:  # demand in minutes [a, b)
        return s0[b] - s0[a] if b > a else 0.0

    def waited(a: int, b: int, until: int) -> float:  # request-minutes waited until `until` by minutes [a, b)
        return until * total(a, b) - (s1[b] - s1[a]) if b > a else 0.0

    inf = math.inf
    states = patience + 1
    # dist_on[t]: cheapest cost of minutes < t with the slot loaded in minute t; dist_off[t][c] likewise.
    dist_on = [inf] * (n + 1)
    dist_off = [[inf] * states for _ in range(n + 1)]
    came_on: list[tuple[str, int, int] | None] = [None] * (n + 1)
    came_off: list[list[tuple[str, int, int] | None]] = [[None] * states for _ in range(n + 1)]
    dist_off[0][0] = 0.0
    price, refusal, delay = costs.per_minute, costs.refusal, costs.delay_per_minute
    for t in range(n):
        here = dist_on[t]
        if here < inf:
            nxt = here + price
            if nxt < dist_on[t + 1]:
                dist_on[t + 1], came_on[t + 1] = nxt, ("on", t, 0)
            if nxt < dist_off[t + 1][0]:
                dist_off[t + 1][0], came_off[t + 1][0] = nxt, ("on", t, 0)
        for c in range(states):
            here = dist_off[t][c]
            if here == inf:
                continue
            # stay off: the request of minute t - patience has now waited too long
            expired = demand[t - patience] if c == patience and t - patience >= 0 else 0.0
            nc = min(c + 1, patience)
            nxt = here + expired * refusal
            if nxt < dist_off[t + 1][nc]:
                dist_off[t + 1][nc], came_off[t + 1][nc] = nxt, ("off", t, c)
            # start a load in minute t: serving from t + load
            arrive = t + load
            if arrive >= n:
                continue
            if reactive and not (demand[t] or total(t - c, t)):
                continue
            first_waiting = t - c
            expire_from, expire_to = max(first_waiting, t - patience), arrive - patience  # [from, to)
            still_waiting = max(first_waiting, arrive - patience)
            nxt = (
                here
                + load * price
                + total(expire_from, expire_to) * refusal
                + waited(still_waiting, arrive, arrive) * delay
            )
            if nxt < dist_on[arrive]:
                dist_on[arrive], came_on[arrive] = nxt, ("off", t, c)
    # At the end, whatever still waits is refused.
    best, end = dist_on[n], ("on", 0)
    for c in range(states):
        cost = dist_off[n][c] + total(n - c, n) * refusal
        if cost < best:
            best, end = cost, ("off", c)
    paid, on = [False] * n, [False] * n
    kind, t, c = end[0], n, end[1]
    while t > 0:
        step = came_on[t] if kind == "on" else came_off[t][c]
        assert step is not None
        prev_kind, prev_t, prev_c = step
        if prev_kind == "on":
            paid[prev_t] = on[prev_t] = True
        elif kind == "on" and prev_t + load == t:  # a load: minutes prev_t .. t-1 paid, not serving
            for m in range(prev_t, t):
                paid[m] = True
        kind, t, c = prev_kind, prev_t, prev_c
    refused, delayed = evaluate(on, demand, patience)
    return SlotOutcome(paid, on, refused, delayed, demand)


@dataclass(frozen=True)
class ComponentOptimum:
    name: str
    slots: list[SlotOutcome]
    accelerators_per_copy: float

    @property
    def copies(self) -> list[int]:
        n = len(self.slots[0].paid) if self.slots else 0
        return [sum(s.paid[t] for s in self.slots) for t in range(n)]

    @property
    def loaded(self) -> list[int]:
        n = len(self.slots[0].on) if self.slots else 0
        return [sum(s.on[t] for s in self.slots) for t in range(n)]

    @property
    def copy_minutes(self) -> int:
        return sum(sum(s.paid) for s in self.slots)

    @property
    def refused(self) -> float:
        return sum(s.refused for s in self.slots)

    @property
    def delayed_minutes(self) -> float:
        return sum(s.delayed_minutes for s in self.slots)


def optimum(
    name: str,
    demand: MinuteDemand,
    throughput: Throughput,
    max_slots: int,
    costs: SlotCosts | list[SlotCosts],
    accelerators: float,
    reactive: bool = False,
) -> ComponentOptimum:
    """One component's optimum: every slot up to ``max_slots`` solved alone (slots beyond the last
    that any minute needs are empty and cost nothing, so they are not solved). ``costs`` may differ
    per slot (a list, slot 1 first): a slot that needs an instance to be provisioned loads longer."""
    needed = max(demand.copies_needed(throughput), default=0)
    slots = layers(demand, throughput, min(max_slots, needed))
    per_slot = costs if isinstance(costs, list) else [costs] * len(slots)
    outcomes = [solve_slot(d, per_slot[k], reactive) for k, d in enumerate(slots)]
    # Demand beyond the slots is refused whatever happens: charge it to every strategy alike.
    beyond = [r - sum(d[t] for d in slots) for t, r in enumerate(demand.requests)]
    unavoidable = sum(max(0.0, b) for b in beyond)
    if unavoidable > 1e-9:
        n = len(demand.requests)
        outcomes.append(SlotOutcome([False] * n, [False] * n, unavoidable, 0.0))
    return ComponentOptimum(name, outcomes, accelerators)


def fits_together(optima: list[ComponentOptimum], total_accelerators: float) -> bool:
    """True when the slots solved alone never need more accelerators than the endpoint has."""
    series = [o.copies for o in optima]
    if not series or not series[0]:
        return True
    return all(
        sum(copies[t] * o.accelerators_per_copy for copies, o in zip(series, optima, strict=True))
        <= total_accelerators + 1e-9
        for t in range(len(series[0]))
    )
