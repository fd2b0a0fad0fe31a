"""Half-open UTC intervals [start, end) as (start, end) tuples: pure functions, no I/O.

Every list these functions return is sorted, with no two intervals overlapping or touching.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from operator import itemgetter

Interval = tuple[datetime, datetime]
_start = itemgetter(0)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """The union: sorted, overlapping and touching intervals joined, empty ones dropped.

    Sorted by start alone (one comparison per step rather than a tuple's two: the order of
    equal starts does not change a union), the last interval kept in locals: a week grid
    with its overlay merges thousands a view (#21)."""
    out: list[Interval] = []
    append = out.append
    low = high = None
    for start, end in sorted(intervals, key=_start):
        if not start < end:
            continue
        if high is not None and start <= high:
            if end > high:
                high = end
        else:
            if high is not None:
                append((low, high))
            low, high = start, end
    if high is not None:
        append((low, high))
    return out


def subtract(base: Iterable[Interval], cut: Iterable[Interval]) -> list[Interval]:
    """The parts of base outside cut."""
    cuts = merge(cut)
    n = len(cuts)
    out: list[Interval] = []
    append = out.append
    i = 0
    for start, end in merge(base):
        while i < n and cuts[i][1] <= start:
            i += 1
        j = i
        while j < n:
            c_start, c_end = cuts[j]
            if not c_start < end:
                break
            if c_start > start:
                append((start, c_start))
            if c_end > start:
                start = c_end
            if start >= end:
                break
            j += 1
        if start < end:
            append((start, end))
    return out


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """The parts in both a and b."""
    left, right = merge(a), merge(b)
    out: list[Interval] = []
    append = out.append
    i = j = 0
    n, m = len(left), len(right)
    while i < n and j < m:
        l_start, l_end = left[i]
        r_start, r_end = right[j]
        # max() and min() written out (each returns its first argument on a tie).
        start = r_start if r_start > l_start else l_start
        end = r_end if r_end < l_end else l_end
        if start < end:
            append((start, end))
        if l_end < r_end:
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
