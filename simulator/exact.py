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
for every schedule of the class above (it comes from a run handed no start: ``_Program.solve``
says why). Outside it lie schedules that release one component's copies
while an instance provisions for another (brute force over small cases, in the tests, finds none
cheaper) and, reactive, schedules that ask for more copies than the endpoint's instances hold: the
engine places such a copy when a peer releases room, in a minute the component may not add in
(brute force finds them cheaper on a one-instance endpoint whose components take turns).

**Strength.** The reactive program has rows that hold only for whole instances
(``_held_through_gaps_rows``; instances grow only by an addition), and where components share
instances each round also starts from the linear relaxation's copies rounded up: without them the
bursty week's reactive bound at 60 s a day sat 41 % below the schedule found, with them 22 %
(``$1,323.91 -> $1,603.77``). They make HiGHS's own presolve longer: on the Azure day at 15 s its
bound's run reported no bound, and the relaxation's value stands ($507, where the program without
them proved $596).
The integer program is a yardstick, not a controller: ``highspy`` is a bench and development
dependency and never ships in the Lambda layer.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from .engine import REPLAY, Result, RunRules, SimComponent, run

LOG = logging.getLogger(__name__)


class ExactOptimumUnavailable(RuntimeError):
    """HiGHS is not installed: it is a bench and development dependency, not the layer's."""


@dataclass(frozen=True)
class ExactOptimum:
    """One solve: the schedule found, its cost, the proven bound and how long it took."""

    reactive: bool
    schedule: dict[str, list[int]]  # desired copies per component and minute
    incumbent_usd: float  # the program's cost of ``schedule``
    bound_usd: float  # no schedule of the class costs less
    seconds: float  # the solver's time (a run solved by day: its days', also those solved earlier in the process)
    status: str

    @property
    def gap(self) -> float:
        """(incumbent - bound) / incumbent: 0 when the schedule is proven optimal."""
        return (self.incumbent_usd - self.bound_usd) / self.incumbent_usd if self.incumbent_usd > 0 else 0.0


# Of a solve's time, the most spent improving on its start before the bound's run, which gets the
# rest. One component: HiGHS finds its schedules alone; the bound wants the time. Components sharing
# instances: a third of it completes the start and searches from it, the rest goes to windows when
# each gets its least, else to the bound's run (measured on the messy month, a quarter in all left a
# day at $3,394 where the start is $179 and the solver's schedule $130).
IMPROVE_SHARE_ALONE = 0.25
IMPROVE_SHARE_SHARED = 0.65
WINDOW_SECONDS = 2.5  # the least a window's program gets: HiGHS presolves the whole day each time
WINDOW_MINUTES = (180, 120)  # fix-and-optimize's windows: how wide, how far apart


@dataclass(frozen=True)
class _Run:
    """What a solve found: its cheapest solution (no values when none), that solution's cost, the
    proven bound and HiGHS's status."""

    values: list[float]
    objective: float
    bound: float
    status: str

    @classmethod
    def of(cls, h: Any) -> _Run:
        info = h.getInfo()
        found = bool(info.primal_solution_status)
        return cls(
            list(h.getSolution().col_value) if found else [],
            info.objective_function_value if found else math.inf,
            info.mip_dual_bound if math.isfinite(info.mip_dual_bound) else -math.inf,
            h.modelStatusToString(h.getModelStatus()),
        )


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

    def solve(
        self,
        time_limit: float,
        gap: float,
        offset: float,
        starts: list[dict[int, float]] | None = None,
        windows: list[set[int]] | None = None,
        window_seconds: float | None = None,
        rounding: Callable[[list[float]], dict[int, float]] | None = None,
    ) -> _Run:
        """Solve within ``time_limit`` seconds: the cheapest solution found and the proven bound.

        The bound comes from a run on the whole program that is handed no solution: HiGHS 1.15's
        presolve, handed one, can cut off schedules cheaper than it and prove it optimal (a case in
        ``tests/simulator/test_exact.py``). With ``starts`` (each column -> value, a partial solution),
        an improvement comes first, for at most ``IMPROVE_SHARE_*`` of the time: HiGHS completes
        each start into a solution (``_improve``: with the start's columns fixed when it is one of
        the program, else the first by HiGHS's own repair) and searches from the cheapest; with
        ``rounding``, one more start is made of the linear relaxation's values; with
        ``windows`` (sets of columns), when the time
        allows ``window_seconds`` a window (default ``WINDOW_SECONDS``), one window at a time with
        every other column of ``windows`` held at its value (fix-and-optimize): small programs
        HiGHS solves well, where the whole one (two components sharing instances for a day) finds
        no better schedule than its start in the time. The bound's run gets the time left; the
        cheaper schedule of the two runs is the result."""
        highspy, np = _highspy()
        began = time.monotonic()
        # The linear relaxation first (a fraction of a second for a day): its value is a bound too,
        # which stands when the bound's run ends before HiGHS reports one of its own (the reactive
        # rows make its presolve longer: on the Azure day at 15 s it reported none), and its values
        # rounded up are one more start.
        relaxed = self.relaxation(time_limit / 4, offset)
        improved = None
        share = 0.0
        if starts:
            if rounding is not None and relaxed is not None:
                starts = [*starts, rounding(relaxed[0])]
            share = (IMPROVE_SHARE_SHARED if windows else IMPROVE_SHARE_ALONE) * time_limit
            improved = self._improve(highspy, np, share, gap, offset, starts, windows, window_seconds)
        h = self._highs(highspy, np, gap, offset)
        # The bound's run gets what the improvement left, and never less than its own share: HiGHS
        # cannot stop a presolve, so the improvement can overrun its share, and a bound's run left
        # with 0.1 s would prove next to nothing.
        left = time_limit - (time.monotonic() - began)
        h.setOptionValue("time_limit", max(0.1, left, time_limit - share))
        h.run()
        proven = _Run.of(h)
        if relaxed is not None and relaxed[1] > proven.bound:
            proven = replace(proven, bound=relaxed[1])
        if improved is None or proven.objective <= improved.objective:
            return proven
        # the improved schedule is the cheaper; proven optimal when within the gap of the bound
        optimal = improved.objective - proven.bound <= gap * abs(improved.objective) + 1e-9
        return replace(improved, bound=proven.bound, status="Optimal" if optimal else proven.status)

    def _improve(
        self,
        highspy: Any,
        np: Any,
        time_limit: float,
        gap: float,
        offset: float,
        starts: list[dict[int, float]],
        windows: list[set[int]] | None,
        window_seconds: float | None,
    ) -> _Run | None:
        """The solution HiGHS reaches from ``starts`` in ``time_limit`` seconds (its bound is not
        used), window by window when ``windows`` allow (see ``solve``).

        First each start is completed with its copies and releases fixed: the rest (instances,
        additions, the queue) follows from them, a program HiGHS solves in a fraction of the whole
        one's time; handed only a partial start, HiGHS completes it by a search of its own that a
        slower machine may not finish in the time (the messy month's days then fell back on the
        bound's run: $2,834 where the start costs $166). When no start is a solution of the program
        (a simple schedule may not be), the first is handed over partial, for HiGHS to repair. Then
        a search from the cheapest (a third of the time when windows follow), then each window in
        turn."""
        began = time.monotonic()

        def left() -> float:
            return time_limit - (time.monotonic() - began)

        h = self._highs(highspy, np, gap, offset)
        best, cheapest = None, math.inf
        for start in starts:
            cols = np.array(sorted(start), dtype=np.int32)
            held = np.array([start[c] for c in cols])
            h.changeColsBounds(len(cols), cols, held, held)
            h.setOptionValue("time_limit", max(0.1, left()))
            h.run()
            info = h.getInfo()
            if info.primal_solution_status and info.objective_function_value < cheapest:
                best, cheapest = h.getSolution(), info.objective_function_value
            h.changeColsBounds(
                len(cols), cols, np.array([self.lower[c] for c in cols]), np.array([self.upper[c] for c in cols])
            )
        if left() > 0:
            if best is not None:
                h.setSolution(best)
            else:
                cols = np.array(sorted(starts[0]), dtype=np.int32)
                h.setSolution(len(cols), cols, np.array([starts[0][c] for c in cols]))
            h.setOptionValue("time_limit", max(0.1, min(left(), time_limit / 3) if windows else left()))
            h.run()
            if h.getInfo().primal_solution_status:
                best = h.getSolution()
        if best is None:
            return None
        if windows and left() / len(windows) >= (WINDOW_SECONDS if window_seconds is None else window_seconds):
            per_window = left() / len(windows)
            movable = sorted(set().union(*windows))
            for free in windows:
                fixed = np.array([c for c in movable if c not in free], dtype=np.int32)
                loose = np.array(sorted(free), dtype=np.int32)
                values = np.array([best.col_value[c] for c in fixed])
                h.changeColsBounds(len(fixed), fixed, values, values)
                h.changeColsBounds(
                    len(loose),
                    loose,
                    np.array([self.lower[c] for c in loose]),
                    np.array([self.upper[c] for c in loose]),
                )
                h.setSolution(best)
                h.setOptionValue("time_limit", max(0.1, min(per_window, left())))
                h.run()
                if h.getInfo().primal_solution_status:
                    best = h.getSolution()
        values = list(best.col_value)
        objective = offset + sum(c * v for c, v in zip(self.cost, values, strict=True))
        return _Run(values, objective, -math.inf, "improved from a start")

    def relaxation(self, time_limit: float, offset: float) -> tuple[list[float], float] | None:
        """The program's linear relaxation (every column continuous) solved within ``time_limit``
        seconds: its values and cost (a bound of the program), or None when not solved in the time."""
        highspy, np = _highspy()
        h = self._highs(highspy, np, 0.0, offset)
        if self.integer:
            kinds = np.array([highspy.HighsVarType.kContinuous] * len(self.integer))
            h.changeColsIntegrality(len(self.integer), np.array(self.integer, dtype=np.int32), kinds)
        h.setOptionValue("time_limit", max(0.1, time_limit))
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        return list(h.getSolution().col_value), h.getInfo().objective_function_value

    def _highs(self, highspy: Any, np: Any, gap: float, offset: float) -> Any:
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("mip_rel_gap", float(gap))
        h.setOptionValue("random_seed", 0)
        h.setOptionValue("threads", 1)  # one solve per CPU: benches run scenarios side by side
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
        return h


def _highspy() -> tuple[Any, Any]:
    try:
        import highspy
        import numpy as np
    except ImportError as exc:  # pragma: no cover - the dev environment has it
        raise ExactOptimumUnavailable("the exact optimum needs highspy (pip install -r requirements-dev.txt)") from exc
    return highspy, np


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
    strict: set[int],
    open_end: bool,
) -> tuple[float, _Fifo]:
    """One component's queue, oldest first, in cumulative counts; returns the objective's constant
    and the columns ``solve`` checks the order on.

    ``arrived[t]`` requests have arrived by the end of minute t. ``head[t]``: how many of them are
    served or expired by then; ``start[t]``: the head once minute t's expired requests are dropped,
    ``max(head[t-1], arrived[t-patience-1])`` (a binary in the minutes of ``strict``, as that
    maximum is not convex; elsewhere only ``>=``, which lets the program drop waiting requests early
    to serve fresh ones, a relaxation ``solve`` checks and tightens); ``head[t] = start[t] + served[t]``, ``served[t] <= per_copy x loaded[t]``. At the
    start of minute t, ``arrived[t-1] - start[t]`` requests wait a minute more; ``start[t] -
    head[t-1]`` are refused then (with no patience, what minute t does not serve), and what still
    waits at the end of the run is refused too."""
    arrived = list(itertools.accumulate(arrivals))
    fifo = _Fifo([], [], [], [])
    if not arrived or not arrived[-1]:
        return 0.0, fifo
    constant = 0.0
    head = fifo.head
    for t in range(minutes):
        before = arrived[t - 1] if t else 0
        expired = (arrived[t - patience - 1] if t - patience - 1 >= 0 else 0) if patience else before
        scored = t >= score_from
        served = lp.var(0, math.inf if per_copy else 0.0, integer=False)
        fifo.served.append(served)
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
            if t and cohort and t in strict:
                # 1: the expiry sets the start, 0: the head does. The head is at least the last
                # expiry, so the start passes it by at most the cohort expiring now.
                which = lp.var(0, 1)
                lp.row({start: 1.0, head[-1]: -1.0, which: -float(cohort)}, upper=0)
                slack = float(before - expired)
                lp.row({start: 1.0, which: slack}, upper=expired + slack)
            elif t and not cohort:
                lp.row({start: 1.0, head[-1]: -1.0}, upper=0)
            fifo.start.append(start)
            fifo.expired.append(float(expired))
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
    if patience and not open_end:  # the end of the run: whatever still waits is refused
        constant += refusal * arrived[-1]
        lp.cost[head[-1]] -= refusal
    return constant, fifo


@dataclass
class _Fifo:
    """One component's queue columns: the start and head of every minute, and what has expired by then."""

    start: list[int]
    head: list[int]
    expired: list[float]
    served: list[int]

    def out_of_order(self, values: list[float]) -> set[int]:
        """Minutes where the solution dropped waiting requests before they expired (not oldest first)."""
        return {
            t
            for t in range(1, len(self.start))
            if values[self.start[t]] > max(values[self.head[t - 1]], self.expired[t]) + 1e-6
        }


def solve(
    components: list[SimComponent],
    rules: RunRules,
    minutes: int,
    reactive: bool = False,
    score_from: int = 0,
    time_limit: float = 60.0,
    gap: float = 1e-4,
    day: int = 1440,
    start: dict[str, list[int]] | None = None,
) -> ExactOptimum:
    """The cheapest schedule of ``components`` over ``minutes`` minutes (see the module docstring);
    costs count from ``score_from`` as the engine's ledgers do. ``start``: a schedule of the class
    to start from (``best_simple``'s); default, the simple one.

    A run longer than ``day`` minutes is solved one day at a time, each day a relaxation of the run
    (``_round``: copies left by the day before are free, requests still waiting at midnight cost
    nothing more), so the days' bounds add up to a bound of the run; the days' schedules, put back
    to back, are the schedule (its replay is what it costs); a day before ``score_from`` is not
    solved, a simple schedule stands in for it. ``time_limit`` is per day."""
    if minutes <= day:
        return _solve_span(components, rules, minutes, reactive, score_from, time_limit, gap, False, False, start)
    schedule: dict[str, list[int]] = {c.name: [] for c in components}
    incumbent = bound = seconds = 0.0
    statuses: list[str] = []
    for first in range(0, minutes, day):
        last = min(minutes, first + day)
        part = [replace(c, demand=c.demand.between(first, last)) for c in components]
        begin = {name: copies[first:last] for name, copies in start.items()} if start else None
        if last <= score_from:  # not scored (a learner's history): a simple schedule carries the state
            for name, copies in (begin or simple_schedule(part, rules, last - first, reactive)).items():
                schedule[name] += copies
            continue
        solved = _solve_span(
            part,
            rules,
            last - first,
            reactive,
            max(0, score_from - first),
            time_limit,
            gap,
            first > 0,
            last < minutes,
            begin,
        )
        for name, copies in solved.schedule.items():
            schedule[name] += copies
        incumbent += solved.incumbent_usd
        bound += solved.bound_usd
        seconds += solved.seconds  # the days' own solve times, also when a day was solved earlier in the process
        statuses.append(solved.status)
    worst = max(set(statuses), key=statuses.count)
    status = f"solved by day ({len(statuses)} days; {statuses.count('Optimal')} proven optimal; mostly {worst})"
    return ExactOptimum(reactive, schedule, incumbent, bound, seconds, status)


def _solve_span(
    components: list[SimComponent],
    rules: RunRules,
    minutes: int,
    reactive: bool,
    score_from: int,
    time_limit: float,
    gap: float,
    open_start: bool,
    open_end: bool,
    start: dict[str, list[int]] | None = None,
) -> ExactOptimum:
    """One span solved from ``start`` (default: the simple schedule); the queue's oldest-first
    order imposed lazily.

    Solved first without the order (a relaxation, so its bound holds), then again with the order
    imposed in every minute a solution broke it, until none does or ``time_limit`` (over all rounds)
    is spent. When a round ends with the order still broken somewhere, ``incumbent_usd`` is what
    that relaxation says and the schedule's replay costs more (``backtest`` reports the replay)."""
    key = (
        tuple(
            (c.name, c.accelerators, c.policy.max_copies, c.load_minutes, c.throughput, tuple(c.demand.slot_seconds))
            for c in components
        ),
        rules,
        (minutes, reactive, score_from, time_limit, gap, open_start, open_end),
        tuple(sorted((name, tuple(copies)) for name, copies in start.items())) if start else None,
    )
    if key not in _SOLVED:
        _SOLVED[key] = _solve_lazily(
            lambda strict, left, begin: _round(
                components, rules, minutes, reactive, score_from, strict, left, gap, open_start, open_end, begin
            ),
            [c.name for c in components],
            lambda: start or simple_schedule(components, rules, minutes, reactive),
            reactive,
            time_limit,
        )
    return _SOLVED[key]


# Spans already solved in this process: a benchmark scores the same demand under several policies
# whose ceilings and prices (all the optimum depends on) are the same.
_SOLVED: dict[Any, ExactOptimum] = {}


def _solve_lazily(
    solve_round: Callable[
        [dict[str, set[int]], float, dict[str, list[int]]],
        tuple[_Run, dict[str, list[int]], dict[str, _Fifo]],
    ],
    names: list[str],
    fallback: Callable[[], dict[str, list[int]]],
    reactive: bool,
    time_limit: float,
) -> ExactOptimum:
    began = time.monotonic()
    strict: dict[str, set[int]] = {name: set() for name in names}
    rounds = 0
    bound = 0.0  # every round solves a relaxation of the last, so the best of their bounds holds
    start = fallback()  # each round starts from a schedule: the simple one, then the last round's
    best: ExactOptimum | None = None  # the cheapest round's schedule whose queue was served in order
    while True:
        # The first round gets two thirds of the time; any more (where the order broke) the rest.
        spent = time.monotonic() - began
        left = max(1.0, time_limit - spent if rounds else 2 * time_limit / 3)
        rounds += 1
        found, x, fifos = solve_round(strict, left, start)
        values, status = found.values, found.status
        bound = max(bound, found.bound)
        if not values:
            # No schedule within the time: the bound still holds; the schedule is a simple one.
            return ExactOptimum(
                reactive,
                fallback(),
                math.inf,
                bound,
                time.monotonic() - began,
                f"{status}; no schedule found in time: the bound, and a simple schedule in its place",
            )
        broken = {name: fifo.out_of_order(values) for name, fifo in fifos.items()}
        LOG.debug(
            "round %d: %.1f s, %s, %.2f >= %.2f, out of order in %d minutes",
            rounds,
            time.monotonic() - began,
            status,
            found.objective,
            found.bound,
            sum(map(len, broken.values())),
        )
        schedule = {n: [round(values[v]) for v in cols] for n, cols in x.items()}
        in_order = not any(broken.values())
        if in_order and (best is None or found.objective < best.incumbent_usd):
            best = ExactOptimum(reactive, schedule, found.objective, 0.0, 0.0, status)
        if (in_order and status == "Optimal") or time.monotonic() - began >= time_limit - 1.0:
            if best is None:  # never in order: what the last relaxation says (its replay costs more)
                best = ExactOptimum(
                    reactive,
                    schedule,
                    found.objective,
                    0.0,
                    0.0,
                    f"{status}; oldest-first order not yet imposed everywhere",
                )
            return replace(best, bound_usd=bound, seconds=time.monotonic() - began)
        # Another round: the order imposed where it broke (if it did), from this round's schedule.
        for name, minutes_broken in broken.items():
            strict[name] |= minutes_broken
        start = schedule


def simple_schedule(
    components: list[SimComponent], rules: RunRules, minutes: int, reactive: bool = False, hold: int = 0
) -> dict[str, list[int]]:
    """A plain schedule to stand beside the solver's: each minute, within ``max_copies``, the copies
    the busiest minute of the next load (and provisioning) time needs (foresight), or of the last one
    (reactive: copies added only in a minute a request arrives, held that long after). With
    ``hold``, a component's copies are kept through every gap of at most ``hold`` minutes between
    two busy spells (no addition: a schedule of the same class)."""
    out = {}
    for c in components:
        needed = c.demand.copies_needed(c.throughput)
        span = c.load_minutes + rules.provisioning_minutes
        copies = [
            min(c.policy.max_copies, max(needed[max(0, t - span) : t + 1] if reactive else needed[t : t + span + 1]))
            for t in range(minutes)
        ]
        out[c.name] = _held_through_gaps(copies, hold) if hold else copies
    return out


def _held_through_gaps(copies: list[int], hold: int) -> list[int]:
    """``copies`` with every run of zeros of at most ``hold`` minutes, between two minutes with
    copies, filled at the count before it."""
    out = list(copies)
    t = 1
    while t < len(out):
        if out[t] == 0 < out[t - 1]:
            end = t
            while end < len(out) and out[end] == 0:
                end += 1
            if end < len(out) and end - t <= hold:
                out[t:end] = [out[t - 1]] * (end - t)
            t = end
        t += 1
    return out


HOLDS = (0, 60, 120, 240, 480, 720, 1440, 2880)  # minutes ``best_simple`` tries holding copies through a gap


def best_simple(
    components: list[SimComponent],
    rules: RunRules,
    start: datetime,
    minutes: int,
    score_from: int = 0,
    reactive: bool = False,
) -> tuple[dict[str, list[int]], Result]:
    """The cheapest, replayed through the engine, of the simple schedules holding copies through
    gaps of up to each of ``HOLDS`` minutes: the solver's start, and the schedule it must beat.
    On bursts a reactive schedule that holds its copies between them is the cheap one (the exact
    optimum's own schedules do), which the plain simple schedule never is."""
    best: tuple[dict[str, list[int]], Result] | None = None
    for hold in HOLDS:
        schedule = simple_schedule(components, rules, minutes, reactive, hold)
        result = run(REPLAY, components, rules, start, minutes, score_from, schedule)
        if best is None or result_cost(result, rules) < result_cost(best[1], rules) - 0.005:
            best = (schedule, result)
    assert best is not None
    return best


SOLVERS_SCHEDULE = "the solver's schedule"  # what ``best_replay`` says when the solver's is the cheaper


def best_replay(
    solved: ExactOptimum,
    components: list[SimComponent],
    rules: RunRules,
    start: datetime,
    minutes: int,
    score_from: int = 0,
    plain: Result | None = None,
) -> tuple[Result, str]:
    """The cheaper, replayed through the engine, of the solver's schedule and the best simple one
    (``plain``, default ``best_simple``'s; the solver's beats it once it has had the time): the
    optimum's row is a real schedule's cost either way, and the bound says how far from the best it
    may be."""
    mine = replay(solved, components, rules, start, minutes, score_from)
    if plain is None:
        plain = best_simple(components, rules, start, minutes, score_from, solved.reactive)[1]
    if result_cost(plain, rules) < result_cost(mine, rules) - 0.005:
        return plain, "a simple schedule (the solver's, replayed, cost more in its time)"
    return mine, SOLVERS_SCHEDULE


def _round(
    components: list[SimComponent],
    rules: RunRules,
    minutes: int,
    reactive: bool,
    score_from: int,
    strict: dict[str, set[int]],
    time_limit: float,
    gap: float,
    open_start: bool,
    open_end: bool,
    start: dict[str, list[int]] | None = None,
) -> tuple[_Run, dict[str, list[int]], dict[str, _Fifo]]:
    """Build the program (the queue's order imposed in the minutes of ``strict``) and solve it.

    ``open_start``: copies may be held and loaded at minute 0 for free; ``open_end``: requests still
    waiting at the end cost nothing more. Both make a day cut out of a longer run a relaxation of it."""
    lp = _Program()
    per_instance = _units(rules.accelerators_per_instance, rules.instance_type)
    big_m, lo_m = rules.max_instances, rules.min_instances
    load_p, patience = rules.provisioning_minutes, rules.patience
    price = rules.instance_per_minute
    refusal, delay = rules.cost.refusal_cost, rules.cost.delay_cost_per_minute
    size = {c.name: _units(c.accelerators, c.name) for c in components}
    most = {c.name: max(0, min(c.policy.max_copies, per_instance * big_m // size[c.name])) for c in components}
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

    # --- instances per minute: after releases (mid), after additions (end, billed), started
    mid = [lp.var(lo_m, big_m) for _ in range(minutes)]
    end = [lp.var(lo_m, big_m, price if t >= score_from else 0.0) for t in range(minutes)]
    started = [lp.var(0, big_m) for _ in range(minutes)]
    several = len(components) > 1
    # --- copies per component and minute: desired, added fast / slow, released, loaded
    x: dict[str, list[int]] = {}
    fast: dict[str, list[int]] = {}
    slow: dict[str, list[int]] = {}
    drop: dict[str, list[int]] = {}
    slow_flag: dict[str, list[int]] = {}
    fifos: dict[str, _Fifo] = {}
    initial: dict[str, int] = {}
    may_add: dict[str, list[bool]] = {}  # reactive: only where a request arrives or waits
    for c in components:
        cap = most[c.name]
        arrivals = c.demand.requests
        adds = may_add[c.name] = [not reactive or any(arrivals[max(0, t - patience) : t + 1]) for t in range(minutes)]
        xc = x[c.name] = [lp.var(0, cap) for _ in range(minutes)]
        # copies held, and loaded, when the run starts: none, or any number for free (a day cut out of
        # a longer run, where the day before left them)
        initial[c.name] = lp.var(0, cap if open_start else 0)
        a = fast[c.name] = [lp.var(0, cap if adds[t] else 0) for t in range(minutes)]
        b = slow[c.name] = [lp.var(0, cap if adds[t] else 0) for t in range(minutes)]
        r = drop[c.name] = [lp.var(0, cap) for _ in range(minutes)]
        y = [lp.var(0, cap, integer=False) for _ in range(minutes)]
        if several:
            slow_flag[c.name] = [lp.var(0, 1) for _ in range(minutes)]
        total = sum(arrivals)
        per_request = sum(c.demand.slot_seconds) / total if total else 0.0
        per_copy = c.throughput.slots_per_copy * 60.0 / per_request if per_request else 0.0
        queued, fifos[c.name] = _queue(
            lp, arrivals, patience, score_from, refusal, delay, per_copy, y, minutes, strict[c.name], open_end
        )
        constant += queued
        # Serving in minute t needs a copy loaded, so an instance billed since the copy started
        # loading: end[u] >= served[t] / (requests that could be served at t) for u in t-load..t.
        # Valid, and what makes the bound strong where demand is a fraction of an instance.
        for t, served in enumerate(fifos[c.name].served):
            could = sum(arrivals[max(0, t - patience) : t + 1])
            for u in range(max(0, t - c.load_minutes), t + 1) if could else ():
                lp.row({served: 1.0, end[u]: -float(could)}, upper=0)
        if reactive:
            _held_through_gaps_rows(
                lp,
                fifos[c.name].served,
                end,
                arrivals,
                adds,
                c.load_minutes,
                load_p,
                per_copy * (per_instance // size[c.name]),
                big_m,
            )
        load = c.load_minutes
        for t in range(minutes):
            # x[t] = x[t-1] + fast + slow - released
            terms = {xc[t]: 1.0, a[t]: -1.0, b[t]: -1.0, r[t]: 1.0, xc[t - 1] if t else initial[c.name]: -1.0}
            lp.row(terms, 0, 0)
            # loaded[t] = loaded[t-1] + fast[t-load] + slow[t-load-provisioning] - released[t]
            # (a release of a loaded copy while another loads is never cheaper than the engine's
            # dropping the loading one, so the program need not forbid it)
            terms = {y[t]: 1.0, r[t]: 1.0, y[t - 1] if t else initial[c.name]: -1.0}
            if t - load >= 0:
                terms[a[t - load]] = -1.0
            if t - load - load_p >= 0:
                terms[b[t - load - load_p]] = terms.get(b[t - load - load_p], 0.0) - 1.0
            lp.row(terms, 0, 0)
            if several:
                lp.row({b[t]: 1.0, slow_flag[c.name][t]: -cap}, upper=0)
    order = [c.name for c in components]
    # Reactive: instances never grow but by an addition: after a minute's releases no more than
    # before them, and in a minute no component may add, no more than the minute before. Both hold
    # for whole instances; without them the relaxation holds a fraction of an instance through a
    # gap at a fraction of its price, then finds a whole one ready when the burst comes.
    for t in range(1, minutes) if reactive else ():
        lp.row({mid[t]: 1.0, end[t - 1]: -1.0}, upper=0)
        if not any(may_add[c.name][t] for c in components):
            lp.row({end[t]: 1.0, end[t - 1]: -1.0}, upper=0)
    for t in range(minutes):
        used_end = {x[n][t]: float(size[n]) for n in order}
        used_mid: dict[int, float] = {}
        for n in order:
            used_mid[x[n][t - 1] if t else initial[n]] = float(size[n])
            used_mid[drop[n][t]] = -float(size[n])
        instances_for(end[t], used_end, t)
        instances_for(mid[t], used_mid, t)
        # every instance beyond those kept through this minute's releases is provisioned now
        lp.row({started[t]: 1.0, end[t]: -1.0, mid[t]: 1.0}, lower=0)
        # fast additions fit the instances in service after the releases, counting every copy
        # already asked for; none is fast while an instance provisions (the copies waiting for it
        # already fill the instances in service)
        room = {x[n][t]: float(size[n]) for n in order}
        for n in order:
            room[slow[n][t]] = -float(size[n])
        room[mid[t]] = -float(per_instance)
        earlier = [started[s] for s in range(max(0, t - load_p + 1), t)]
        if earlier:
            busy = lp.var(0, 1)
            lp.row({**dict.fromkeys(earlier, 1.0), busy: -float(big_m)}, upper=0)
            room[busy] = -float(per_instance * big_m)
            for n in order:
                lp.row({fast[n][t]: 1.0, busy: float(most[n])}, upper=float(most[n]))
        lp.row(room, upper=0)
        if several:  # in the components' order: once a copy is slow, none after it is fast
            for i, n in enumerate(order):
                for later in order[i + 1 :]:
                    lp.row({fast[later][t]: 1.0, slow_flag[n][t]: float(most[later])}, upper=float(most[later]))

    def columns(schedule: dict[str, list[int]]) -> dict[int, float]:
        """A schedule's copies, within what the program allows (it may be a simple schedule), and
        its releases, what each minute has fewer than the last (``_improve`` fixes both)."""
        out: dict[int, float] = {}
        for n, held in schedule.items():
            kept = [min(copies, most[n]) for copies in held]
            out.update({col: float(copies) for col, copies in zip(x[n], kept, strict=True)})
            out.update({drop[n][t]: float(max(0, kept[t - 1] - kept[t])) for t in range(1, minutes)})
        return out

    def rounded_up(relaxed: list[float]) -> dict[int, float]:
        """The relaxation's copies rounded up, with no release while a copy still loads: a schedule
        of the class (rounding up keeps a reactive schedule's copies from growing where they may not)."""
        settle = {c.name: c.load_minutes + load_p for c in components}
        return columns(
            {
                n: _no_release_while_loading([math.ceil(relaxed[col] - 1e-6) for col in cols], settle[n])
                for n, cols in x.items()
            }
        )

    starts = [columns(start)] if start else []
    windows = _windows(components, x, minutes, load_p + patience) if several and starts else []
    # Reactive, components sharing instances: the relaxation rounded up is one more start. On the
    # bursty week's days it cost $230-331 where the best simple schedule cost $472-970 and the
    # search from it alone stopped at up to $495.
    rounding = rounded_up if reactive and several and starts else None
    return lp.solve(time_limit, gap, constant, starts, windows, rounding=rounding), x, fifos


def _held_through_gaps_rows(
    lp: _Program,
    served: list[int],
    end: list[int],
    arrivals: list[int],
    may_add: list[bool],
    load: int,
    provisioning: int,
    per_instance: float,
    big_m: int,
) -> None:
    """Reactive: what a component serves in the first minutes after a gap (a run of minutes where it
    may add no copy) it serves with what it held through the gap.

    A copy serving within ``load`` minutes of the gap's end was added before the gap, so an instance
    stood in every minute of it (``through`` <= each of their instances); one serving within ``load
    + provisioning`` minutes was added before it too, or after it into an instance standing in its
    last minute (none is added fast while one provisions). Nothing waits from before the gap (no
    request arrived within patience of its last minute), so the first K + 1 minutes serve at most
    min(their arrivals, K + 1 minutes of one instance full of copies) per instance held: valid for
    every whole number of instances. Without these rows the relaxation holds a fraction of an
    instance through a gap at a fraction of its price and serves the burst's first minutes with
    it (the bursty week's reactive bound rose by a fifth with them)."""
    if not per_instance:
        return
    minutes = len(served)
    t = 0
    while t < minutes:
        if may_add[t]:
            t += 1
            continue
        first = t
        while t < minutes and not may_add[t]:
            t += 1
        if t >= minutes:
            return
        through = lp.var(0, big_m, integer=False)  # instances held in every minute of the gap
        for u in range(first, t):
            lp.row({through: 1.0, end[u]: -1.0}, upper=0)
        arrived = 0
        terms: dict[int, float] = {}
        for k in range(min(load + provisioning, minutes - t)):
            arrived += arrivals[t + k]
            terms[served[t + k]] = 1.0
            held = through if k < load else end[t - 1]
            lp.row({**terms, held: -min(float(arrived), (k + 1) * per_instance)}, upper=0)


def _no_release_while_loading(copies: list[int], settle: int) -> list[int]:
    """``copies`` with no release within ``settle`` minutes (load and provisioning) of the last
    addition: the program releases loaded copies only (the engine drops loading ones first, never
    cheaper to plan), so a schedule that gives back a copy still loading is not one of its own."""
    out = list(copies)
    added = -settle
    for t in range(1, len(out)):
        if out[t] > out[t - 1]:
            added = t
        elif out[t] < out[t - 1] and t - added < settle:
            out[t] = out[t - 1]
    return out


def _windows(components: list[SimComponent], x: dict[str, list[int]], minutes: int, lead: int) -> list[set[int]]:
    """The copy columns of every component in windows (``WINDOW_MINUTES``: width, step), where some
    component has requests from an hour before the window to ``lead`` (plus its load) after it:
    elsewhere a window has nothing to decide that its neighbours do not."""
    reach = max(c.load_minutes for c in components) + lead
    width, step = WINDOW_MINUTES
    return [
        {cols[t] for cols in x.values() for t in range(first, min(minutes, first + width))}
        for first in range(0, minutes, step)
        if any(any(c.demand.requests[max(0, first - 60) : first + width + reach]) for c in components)
    ]


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
