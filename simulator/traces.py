"""Azure LLM trace files (TIMESTAMP, ContextTokens, GeneratedTokens) -> per-minute demand.

A request occupies one of a copy's concurrent slots for its service time:
``context_tokens / prefill_tps + generated_tokens / decode_tps`` seconds. The copies a minute
needs are the slot-seconds it brings divided by (60 s x slots per copy), rounded up.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class Throughput:
    prefill_tokens_per_second: float = 4000.0
    decode_tokens_per_second: float = 40.0
    slots_per_copy: int = 8

    def service_seconds(self, context_tokens: int, generated_tokens: int) -> float:
        return context_tokens / self.prefill_tokens_per_second + generated_tokens / self.decode_tokens_per_second


@dataclass(frozen=True)
class MinuteDemand:
    requests: list[int]  # per minute
    slot_seconds: list[float]  # per minute

    def uniform(self) -> MinuteDemand:
        """The same requests, each taking the component's mean service time.

        The simulator's rule: one component's requests are alike. A queue of alike requests is served
        at least cost oldest first, so the exact optimum (``exact``), which may serve in any order,
        prices a schedule exactly as the engine's oldest-first queue does."""
        total = sum(self.requests)
        mean = sum(self.slot_seconds) / total if total else 0.0
        return MinuteDemand(list(self.requests), [r * mean for r in self.requests])

    def between(self, first: int, last: int) -> MinuteDemand:
        """Minutes ``first`` to ``last`` (exclusive) of the demand, as a demand of their own."""
        return MinuteDemand(self.requests[first:last], self.slot_seconds[first:last])

    def copies_needed(self, throughput: Throughput) -> list[int]:
        return [
            math.ceil(s / (60.0 * throughput.slots_per_copy)) if r else 0
            for r, s in zip(self.requests, self.slot_seconds, strict=True)
        ]


def _stamp(text: str) -> float:
    """A trace timestamp (7 fractional digits in the Azure files; naive means UTC) as POSIX seconds."""
    head, _, frac = text.strip().partition(".")
    digits = "".join(ch for ch in frac if ch.isdigit())
    zone = frac[len(digits) :]
    ts = datetime.fromisoformat(head + (f".{digits[:6]}" if digits else "") + zone)
    return (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).timestamp()


def read_rows(path: str | Path) -> list[tuple[float, int, int]]:
    """(POSIX seconds, context tokens, generated tokens) of every request in an Azure-format trace."""
    rows: list[tuple[float, int, int]] = []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            for n, row in enumerate(csv.DictReader(f), start=2):
                try:
                    rows.append((_stamp(row["TIMESTAMP"]), int(row["ContextTokens"]), int(row["GeneratedTokens"])))
                except (KeyError, TypeError, ValueError) as exc:
                    raise ValueError(
                        f"{path}:{n}: not an Azure trace row (TIMESTAMP, ContextTokens, GeneratedTokens): {exc}"
                    ) from None
    except OSError as exc:
        raise ValueError(f"cannot read trace {path}: {exc.strerror or exc}") from None
    if not rows:
        raise ValueError(f"{path}: no requests")
    return rows


def first_midnight(path: str | Path) -> datetime:
    """Midnight (UTC) of the day of the trace's first request: where a run over it starts by default."""
    first = datetime.fromtimestamp(min(t for t, _, _ in read_rows(path)), UTC)
    return first.replace(hour=0, minute=0, second=0, microsecond=0)


def read_trace(
    path: str | Path,
    throughput: Throughput,
    minutes: int = 1440,
    offset_minutes: int = 0,
    tile: bool = False,
    start: datetime | None = None,
    tile_days: int = 0,
) -> MinuteDemand:
    """Bucket a trace into ``minutes`` minutes of a run.

    Given ``start``, requests fall at their own timestamps relative to it, moved by
    ``offset_minutes`` (a shift); without it, relative to the trace's first request, which lands
    ``offset_minutes`` into the run. ``tile_days`` repeats the trace that many times, each copy a
    whole number of days (the trace's span, rounded up) after the one before, so a day's pattern
    stays at its time of day; ``tile`` repeats it back to back by its span until the run is full."""
    rows = read_rows(path)
    origin = start.timestamp() if start is not None else rows[0][0]
    span = max(1, math.ceil((rows[-1][0] - rows[0][0]) / 60) + 1)
    requests = [0] * minutes
    slots = [0.0] * minutes
    if tile_days:
        period = 1440 * math.ceil(span / 1440)
        copies: range | list[int] = range(0, tile_days * period, period)
    else:
        copies = range(0, minutes, span) if tile else [0]
    for base in copies:
        for t, ctx, gen in rows:
            m = offset_minutes + base + int((t - origin) // 60)
            if 0 <= m < minutes:
                requests[m] += 1
                slots[m] += throughput.service_seconds(ctx, gen)
    return MinuteDemand(requests, slots)
