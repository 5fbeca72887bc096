"""Fan-out: one pass's work split by endpoint and run on a bounded pool of threads.

Why threads in one invocation, not SQS or Step Functions: a pass's work is I/O (AWS calls), so
threads overlap it as well as processes would, and a pass stays one invocation with one summary,
one time budget and one set of retries; the state table's conditional writes already serialise
every action, whichever worker or invocation makes it. See README, operational limits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from aws_lambda_powertools import Logger

logger = Logger(service="icpilot", child=True)

Item = TypeVar("Item")
Result = TypeVar("Result")


def fan_out(
    work: Callable[[Item], Result],
    items: Sequence[Item],
    workers: int,
    again: Callable[[Item], None] | None = None,
) -> list[Result]:
    """``work`` on every item, up to ``workers`` at once, results in the items' order. An item whose
    work fails (a bug: expected failures are handled inside ``work``) is run once more on its own,
    after ``again`` forgets what its first run read; a second failure is raised."""

    def guarded(item: Item) -> Result:
        try:
            return work(item)
        except Exception:
            logger.exception("a worker failed; running its item once more")
            if again is not None:
                again(item)
            return work(item)

    if workers <= 1 or len(items) <= 1:
        return [guarded(item) for item in items]
    with ThreadPoolExecutor(min(workers, len(items)), thread_name_prefix="icpilot-worker") as pool:
        return list(pool.map(guarded, items))
