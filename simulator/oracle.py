"""The oracle: with perfect foresight, the fewest accelerator-minutes that serve every request.

Each copy "slot" k (the k-th copy) must be loaded in every minute that needs k or more copies, and a
copy is paid from the minute it starts loading (``load`` minutes before it is ready). For one slot,
two busy stretches separated by a gap shorter than or equal to ``load`` minutes are cheaper kept
warm through the gap (the gap costs no more than reloading); longer gaps are cheaper released.
Slots are independent, so the sum over slots is optimal for one component (capacity permitting).

Worked example, load 2: needed = [1,1,0,0,0,1] -> slot 1 busy at minutes 0-1 and 5; the gap of 3 > 2
is released: cost = (2 + 2 load) + (1 + 2 load) = 7 copy-minutes.
"""

from __future__ import annotations

from itertools import pairwise


def slot_minutes(needed: list[int], load: int) -> int:
    """Copy-minutes the oracle pays for a component needing ``needed[m]`` copies in minute m."""
    total = 0
    for k in range(1, max(needed, default=0) + 1):
        busy = [m for m, n in enumerate(needed) if n >= k]
        if not busy:
            continue
        cost = load + 1  # the first stretch starts with a load
        for prev, cur in pairwise(busy):
            gap = cur - prev - 1
            cost += 1 + (gap if gap <= load else load)
        total += cost
    return total
