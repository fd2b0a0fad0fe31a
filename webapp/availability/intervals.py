"""Half-open UTC intervals [start, end) as (start, end) tuples: pure functions, no I/O.

Every list these functions return is sorted, with no two intervals overlapping or touching.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

Interval = tuple[datetime, datetime]


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """The union: sorted, overlapping and touching intervals joined, empty ones dropped."""
    out: list[Interval] = []
    for start, end in sorted([i for i in intervals if i[0] < i[1]]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def subtract(base: Iterable[Interval], cut: Iterable[Interval]) -> list[Interval]:
    """The parts of base outside cut."""
    cuts = merge(cut)
    out: list[Interval] = []
    i = 0
    for start, end in merge(base):
        while i < len(cuts) and cuts[i][1] <= start:
            i += 1
        j = i
        while j < len(cuts) and cuts[j][0] < end:
            c_start, c_end = cuts[j]
            if c_start > start:
                out.append((start, c_start))
            start = max(start, c_end)
            if start >= end:
                break
            j += 1
        if start < end:
            out.append((start, end))
    return out


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """The parts in both a and b."""
    left, right = merge(a), merge(b)
    out: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start = max(left[i][0], right[j][0])
        end = min(left[i][1], right[j][1])
        if start < end:
            out.append((start, end))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return out


def clip(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    """The intervals cut to [start, end)."""
    return intersect(intervals, [(start, end)])


def covers(intervals: list[Interval], start: datetime, end: datetime) -> bool:
    """True when one interval of a merged list holds all of [start, end)."""
    return any(s <= start and end <= e for s, e in intervals)


def contains(intervals: Iterable[Interval], instant: datetime) -> bool:
    return any(s <= instant < e for s, e in intervals)
