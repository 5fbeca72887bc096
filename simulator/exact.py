"""The exact optimum: the cheapest copy-count schedule under the engine's own rules, solved by HiGHS.

A mixed-integer program over every minute of the run, priced as AWS bills (instance-minutes,
provisioning included) plus the run's refusal and delay prices. It encodes the engine's rules
(``engine``), so that a schedule it returns, replayed through the engine, costs what it says:

* copies: ``x`` desired per component and minute; an addition is *fast* (loads at once, serves
  ``load`` minutes later) when it fits the instances in service, else *slow* (waits
  ``provisioning`` minutes for a new instance first). Additions are placed in the components'
  order, fast ones first: once one copy is slow, every later one in that minute is slow too;
* instances: the endpoint holds ``max(min_instances, ceil(accelerators in use / per instance))``
  (idle instances released at once, the engine's consolidated endpoint), billed while provisioning
  or in service. Releases come before additions within a minute, so an instance handed from one
  component to another in a minute is provisioned again;
* a release takes a component's loaded copies only when none is loading (the engine drops loading
  ones first, which is never cheaper to plan), and no copy is released or added while an instance is
  being provisioned (an addition then is as good made in the minute the instance was started; a
  release then is outside the schedules this program searches: see "Exactness");
* requests: served up to ``slots x 60 / seconds per request`` per loaded copy and minute, waiting
  up to ``patience`` minutes (charged per minute waited), then refused. One component's requests
  are alike (``traces.MinuteDemand.uniform``), so serving oldest first, as the engine does, is a
  least-cost order and the program's free choice of order prices the same.

**Foresight** may add copies in any minute; **reactive** only in a minute when the component has a
request arriving or waiting (one arrived within ``patience`` minutes): it knows when a burst ends,
not when it begins.

**Exactness.** HiGHS reports its incumbent, the proven lower bound and the gap between them; the
incumbent is the cost of a real schedule (``replay`` it to check: the tests do) and the bound holds
for every schedule of the class above. Outside it lie schedules that release one component's copies
while an instance provisions for another; brute force over small cases (tests) finds none cheaper.
The integer program is a yardstick, not a controller: ``highspy`` is a bench and development
dependency and never ships in the Lambda layer.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .engine import REPLAY, Result, RunRules, SimComponent, run


class ExactOptimumUnavailable(RuntimeError):
    """HiGHS is not installed (a bench/dev dependency) or found no schedule within its time limit."""


@dataclass(frozen=True)
class ExactOptimum:
    """One solve: the schedule found, its cost, the proven bound and how long it took."""

    reactive: bool
    schedule: dict[str, list[int]]  # desired copies per component and minute
    incumbent_usd: float  # the program's cost of ``schedule``
    bound_usd: float  # no schedule of the class costs less
    seconds: float
    status: str

    @property
    def gap(self) -> float:
        """(incumbent - bound) / incumbent: 0 when the schedule is proven optimal."""
        return (self.incumbent_usd - self.bound_usd) / self.incumbent_usd if self.incumbent_usd > 0 else 0.0


class _Program:
    """Columns and rows gathered in plain lists, handed to HiGHS in one call each."""

    def __init__(self) -> None:
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.cost: list[float] = []
        self.integer: list[int] = []
        self.rows: list[tuple[float, float, list[int], list[float]]] = []

    def var(self, lower: float, upper: float, cost: float = 0.0, integer: bool = True) -> int:
        self.lower.append(lower)
        self.upper.append(upper)
        self.cost.append(cost)
        if integer:
            self.integer.append(len(self.lower) - 1)
        return len(self.lower) - 1

    def row(self, terms: dict[int, float], lower: float = -math.inf, upper: float = math.inf) -> None:
        cols = [c for c, v in terms.items() if v]
        self.rows.append((lower, upper, cols, [terms[c] for c in cols]))

    def solve(self, time_limit: float, gap: float, offset: float) -> tuple[Any, list[float]]:
        try:
            import highspy
            import numpy as np
        except ImportError as exc:  # pragma: no cover - the dev environment has it
            raise ExactOptimumUnavailable(
                "the exact optimum needs highspy (pip install -r requirements-dev.txt)"
            ) from exc
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("time_limit", float(time_limit))
        h.setOptionValue("mip_rel_gap", float(gap))
        h.setOptionValue("random_seed", 0)
        inf = highspy.kHighsInf
        n = len(self.lower)
        h.addVars(n, np.array(self.lower), np.array([min(u, inf) for u in self.upper]))
        h.changeColsCost(n, np.arange(n, dtype=np.int32), np.array(self.cost))
        h.changeObjectiveOffset(offset)  # so that the gap HiGHS stops at is relative to the whole cost
        if self.integer:
            kinds = np.array([highspy.HighsVarType.kInteger] * len(self.integer))
            h.changeColsIntegrality(len(self.integer), np.array(self.integer, dtype=np.int32), kinds)
        starts: list[int] = []
        index: list[int] = []
        value: list[float] = []
        for _, _, cols, vals in self.rows:
            starts.append(len(index))
            index += cols
            value += vals
        lows = np.array([max(lo, -inf) for lo, _, _, _ in self.rows])
        ups = np.array([min(up, inf) for _, up, _, _ in self.rows])
        h.addRows(
            len(self.rows),
            lows,
            ups,
            len(index),
            np.array(starts, dtype=np.int32),
            np.array(index, dtype=np.int32),
            np.array(value, dtype=np.float64),
        )
        h.run()
        return h, list(h.getSolution().col_value)


def _units(value: float, what: str) -> int:
    if abs(value - round(value)) > 1e-9:
        raise ValueError(f"the exact optimum counts whole accelerators; {what} reserves {value}")
    return round(value)


def _queue(
    lp: _Program,
    arrivals: list[int],
    patience: int,
    score_from: int,
    refusal: float,
    delay: float,
    per_copy: float,
    loaded: list[int],
    minutes: int,
) -> float:
    """One component's queue, oldest first, in cumulative counts; returns the objective's constant.

    ``arrived[t]`` requests have arrived by the end of minute t. ``head[t]``: how many of them are
    served or expired by then; ``start[t]``: the head once minute t's expired requests are dropped,
    ``max(head[t-1], arrived[t-patience-1])`` (one binary where a cohort expires, as that maximum is
    not convex); ``head[t] = start[t] + served[t]``, ``served[t] <= per_copy x loaded[t]``. At the
    start of minute t, ``arrived[t-1] - start[t]`` requests wait a minute more; ``start[t] -
    head[t-1]`` are refused then (with no patience, what minute t does not serve), and what still
    waits at the end of the run is refused too."""
    arrived = list(itertools.accumulate(arrivals))
    if not arrived or not arrived[-1]:
        return 0.0
    most = float(arrived[-1])
    constant = 0.0
    head: list[int] = []
    for t in range(minutes):
        before = arrived[t - 1] if t else 0
        expired = (arrived[t - patience - 1] if t - patience - 1 >= 0 else 0) if patience else before
        scored = t >= score_from
        served = lp.var(0, math.inf if per_copy else 0.0, integer=False)
        if patience:
            # waiting: before - start (charged per minute); refused now: start - head[t-1]
            start = lp.var(expired, before, (refusal - delay) if scored else 0.0, integer=False)
            if scored:
                constant += delay * before
                if t:
                    lp.cost[head[-1]] -= refusal
            if t:
                lp.row({start: 1.0, head[-1]: -1.0}, lower=0)
            cohort = arrivals[t - patience - 1] if t - patience - 1 >= 0 else 0
            if t and cohort:
                which = lp.var(0, 1)  # 1: the expiry sets the start, 0: the head does
                lp.row({start: 1.0, head[-1]: -1.0, which: -most}, upper=0)
                lp.row({start: 1.0, which: most}, upper=expired + most)
            elif t:
                lp.row({start: 1.0, head[-1]: -1.0}, upper=0)
        else:
            start = lp.var(before, before, 0.0, integer=False)
            if scored:  # no patience: what this minute does not serve is refused in it
                constant += refusal * arrivals[t]
                lp.cost[served] -= refusal
        now = lp.var(0, arrived[t], integer=False)
        lp.row({now: 1.0, start: -1.0, served: -1.0}, 0, 0)
        if per_copy:
            lp.row({served: 1.0, loaded[t]: -per_copy}, upper=0)
        head.append(now)
    if patience:  # the end of the run: whatever still waits is refused
        constant += refusal * arrived[-1]
        lp.cost[head[-1]] -= refusal
    return constant


def solve(
    components: list[SimComponent],
    rules: RunRules,
    minutes: int,
    reactive: bool = False,
    score_from: int = 0,
    time_limit: float = 60.0,
    gap: float = 1e-4,
) -> ExactOptimum:
    """The cheapest schedule of ``components`` over ``minutes`` minutes (see the module docstring);
    costs count from ``score_from`` as the engine's ledgers do."""
    began = time.monotonic()
    lp = _Program()
    per_instance = _units(rules.accelerators_per_instance, rules.instance_type)
    big_m, lo_m = rules.max_instances, rules.min_instances
    load_p, patience = rules.provisioning_minutes, rules.patience
    price = rules.instance_per_minute
    refusal, delay = rules.cost.refusal_cost, rules.cost.delay_cost_per_minute
    size = {c.name: _units(c.accelerators, c.name) for c in components}
    most = {c.name: max(0, min(c.policy.max_copies, per_instance * big_m // size[c.name])) for c in components}
    all_copies = sum(most.values()) or 1
    constant = 0.0

    def instances_for(count: int, used: dict[int, float], t: int) -> None:
        """``count`` = max(min_instances, ceil(used accelerators / per instance)), exactly."""
        lp.row({count: per_instance, **{k: -v for k, v in used.items()}}, lower=0)
        if lo_m == 0:
            lp.row({count: per_instance, **{k: -v for k, v in used.items()}}, upper=per_instance - 1)
        else:  # either the floor, or the ceiling of the use
            floor = lp.var(0, 1)
            lp.row({count: 1, floor: -big_m}, upper=lo_m)
            terms = {count: per_instance, **{k: -v for k, v in used.items()}, floor: per_instance * big_m}
            lp.row(terms, upper=per_instance - 1 + per_instance * big_m)

    # --- instances per minute: after releases (mid), after additions (end), started, pending
    mid = [lp.var(lo_m, big_m) for _ in range(minutes)]
    end = [lp.var(lo_m, big_m, price if t >= score_from else 0.0) for t in range(minutes)]
    started = [lp.var(0, big_m) for _ in range(minutes)]
    pending = [lp.var(0, 1) if load_p > 0 else None for _ in range(minutes)]
    # --- copies per component and minute
    x: dict[str, list[int]] = {}
    fast: dict[str, list[int]] = {}
    slow: dict[str, list[int]] = {}
    drop: dict[str, list[int]] = {}
    loaded: dict[str, list[int]] = {}
    slow_flag: dict[str, list[int]] = {}
    for c in components:
        cap = most[c.name]
        arrivals = c.demand.requests
        may_add = [not reactive or any(arrivals[max(0, t - patience) : t + 1]) for t in range(minutes)]
        x[c.name] = [lp.var(0, cap) for _ in range(minutes)]
        fast[c.name] = [lp.var(0, cap if may_add[t] else 0) for t in range(minutes)]
        slow[c.name] = [lp.var(0, cap if may_add[t] else 0) for t in range(minutes)]
        drop[c.name] = [lp.var(0, cap) for _ in range(minutes)]
        loaded[c.name] = [lp.var(0, cap, integer=False) for _ in range(minutes)]
        slow_flag[c.name] = [lp.var(0, 1) for _ in range(minutes)]
        total = sum(arrivals)
        per_request = sum(c.demand.slot_seconds) / total if total else 0.0
        per_copy = c.throughput.slots_per_copy * 60.0 / per_request if per_request else 0.0
        constant += _queue(lp, arrivals, patience, score_from, refusal, delay, per_copy, loaded[c.name], minutes)
        load = c.load_minutes
        for t in range(minutes):
            xc, a, b, r, y = x[c.name], fast[c.name], slow[c.name], drop[c.name], loaded[c.name]
            prev = {xc[t - 1]: 1.0} if t else {}
            # x[t] = x[t-1] + fast + slow - released
            lp.row({xc[t]: 1.0, **{k: -v for k, v in prev.items()}, a[t]: -1.0, b[t]: -1.0, r[t]: 1.0}, 0, 0)
            # loaded[t] = loaded[t-1] + fast[t-load] + slow[t-load-provisioning] - released[t]
            terms = {y[t]: 1.0, r[t]: 1.0}
            if t:
                terms[y[t - 1]] = -1.0
            if t - load >= 0:
                terms[a[t - load]] = terms.get(a[t - load], 0.0) - 1.0
            if t - load - load_p >= 0:
                terms[b[t - load - load_p]] = terms.get(b[t - load - load_p], 0.0) - 1.0
            lp.row(terms, 0, 0)
            # a release takes loaded copies only, and only when none is loading (before this minute's changes)
            loading = lp.var(0, 1)
            terms = dict(prev)
            if t:
                terms[y[t - 1]] = -1.0
            if t - load >= 0:
                terms[a[t - load]] = terms.get(a[t - load], 0.0) - 1.0
            if t - load - load_p >= 0:
                terms[b[t - load - load_p]] = terms.get(b[t - load - load_p], 0.0) - 1.0
            terms[loading] = -cap
            lp.row(terms, upper=0)
            lp.row({r[t]: 1.0, loading: cap}, upper=cap)
            # one direction per component and minute (the engine sets a count, not adds and releases)
            adding = lp.var(0, 1)
            lp.row({a[t]: 1.0, b[t]: 1.0, adding: -cap}, upper=0)
            lp.row({r[t]: 1.0, adding: cap}, upper=cap)
            lp.row({b[t]: 1.0, slow_flag[c.name][t]: -cap}, upper=0)
    order = [c.name for c in components]
    for t in range(minutes):
        used_end = {x[n][t]: float(size[n]) for n in order}
        used_mid = {}
        for n in order:
            if t:
                used_mid[x[n][t - 1]] = float(size[n])
            used_mid[drop[n][t]] = used_mid.get(drop[n][t], 0.0) - size[n]
        instances_for(end[t], used_end, t)
        instances_for(mid[t], used_mid, t)
        # started >= end - mid: every instance beyond those kept is provisioned now
        lp.row({started[t]: 1.0, end[t]: -1.0, mid[t]: 1.0}, lower=0)
        flag = pending[t]
        if flag is not None:
            # pending before this minute: started in (t - provisioning, t - 1]
            earlier = [started[s] for s in range(max(0, t - load_p + 1), t)]
            if earlier:
                lp.row({**dict.fromkeys(earlier, 1.0), flag: -big_m}, upper=0)
            else:
                lp.row({flag: 1.0}, upper=0)
            # nothing is added or released while an instance is provisioning
            moves = {k: 1.0 for n in order for k in (fast[n][t], slow[n][t], drop[n][t])}
            lp.row({**moves, flag: 3 * all_copies}, upper=3 * all_copies)
        # fast additions fit the instances in service after this minute's releases
        terms = {}
        for n in order:
            terms[x[n][t]] = float(size[n])
            terms[slow[n][t]] = -float(size[n])
        lp.row({**terms, mid[t]: -float(per_instance)}, upper=0)
        # a slow addition only once the room is too small for that copy, and none fast after it
        for i, n in enumerate(order):
            z = slow_flag[n][t]
            big = per_instance * big_m + per_instance
            room = {k: -v for k, v in terms.items()}
            room[mid[t]] = float(per_instance)
            room[z] = big
            lp.row(room, upper=size[n] - 1 + big)
            for later in order[i + 1 :]:
                lp.row({fast[later][t]: 1.0, z: float(most[later])}, upper=float(most[later]))
    h, values = lp.solve(time_limit, gap, constant)
    info = h.getInfo()
    status = h.modelStatusToString(h.getModelStatus())
    if info.primal_solution_status == 0 or not values:
        raise ExactOptimumUnavailable(f"HiGHS found no schedule ({status}) within {time_limit:.0f} s")
    schedule = {n: [round(values[v]) for v in x[n]] for n in order}
    return ExactOptimum(
        reactive,
        schedule,
        info.objective_function_value,
        max(0.0, info.mip_dual_bound),
        time.monotonic() - began,
        status,
    )


def replay(
    optimum: ExactOptimum,
    components: list[SimComponent],
    rules: RunRules,
    start: datetime,
    minutes: int,
    score_from: int = 0,
) -> Result:
    """The optimum's schedule played through the engine (its cost must equal ``incumbent_usd``)."""
    return run(REPLAY, components, rules, start, minutes, score_from, optimum.schedule)


def result_cost(result: Result, rules: RunRules) -> float:
    """What a run cost in instance $ plus the penalties of its ledgers."""
    penalty = sum(ledger.penalty(rules.cost) for ledger in result.ledgers.values())
    return result.instance_minutes * rules.instance_per_minute + penalty
