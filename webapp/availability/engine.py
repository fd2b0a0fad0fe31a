"""The availability engine: free intervals and the reasons a time is not free, for one
user or several. Pure functions over UTC intervals (no database, no clock: `now` is an
argument), used by the scheduler's week view, rotations and the API.

A user's `Schedule` is their zone, working hours, rules and busy time. A time is not free
when it is, in the order reasons are listed:

- ``busy``: inside a busy period of one of their calendars (or a Parley meeting);
- ``buffer``: within the buffer before a busy period's start or after its end;
- ``day_cap``: on a local day that already holds the maximum number of meetings;
- ``outside_hours``: outside their working hours;
- ``notice``: before now plus the minimum notice (the past included);
- ``horizon``: at or after now plus the booking horizon.

And a wall time can be ``dst_gap``: it does not exist in the zone (the skipped hour).

The caller's busy list must cover the whole local days of the range plus the buffers:
`webapp.availability.loading` fetches it so, and the day cap counts what it is given.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from operator import itemgetter
from typing import NamedTuple
from zoneinfo import ZoneInfo

from webapp.availability.hours import (
    WorkingHours,
    day_bounds,
    local_days,
    wall_exists,
    working_intervals,
)
from webapp.availability.intervals import Interval, covers, intersect, merge, subtract

BUSY, BUFFER, DAY_CAP, OUTSIDE_HOURS, NOTICE, HORIZON, DST_GAP = (
    "busy", "buffer", "day_cap", "outside_hours", "notice", "horizon", "dst_gap")
#: Most telling first: the week view shades a time by the first reason that applies.
KINDS = (BUSY, BUFFER, DAY_CAP, OUTSIDE_HOURS, NOTICE, HORIZON)


@dataclass(frozen=True)
class Rules:
    """Booking rules of one user. Zero / None: no such rule."""

    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    min_notice: timedelta = timedelta(0)
    horizon: timedelta | None = None
    max_per_day: int | None = None


class Busy(NamedTuple):
    """One busy period. `calendar` names where it comes from (a calendar's name, or
    "Parley"); `title` is shown only to a viewer who may see it; `meeting`: it counts
    toward the day cap (Parley meetings do; other calendars' events do not).

    A named tuple (immutable, compared by value) rather than a frozen dataclass: a week
    or a rotation's fortnight makes hundreds to thousands of them a request, and a frozen
    dataclass costs about three times as much to make (#24)."""

    start: datetime
    end: datetime
    calendar: str
    title: str | None = None
    meeting: bool = False


#: Busy((start, end, calendar, title, meeting)): a Busy from the tuple of all its fields,
#: without the named tuple's keyword handling (a week with its overlay makes 600, #21).
busy_of = partial(tuple.__new__, Busy)


@dataclass
class Schedule:
    """What the engine knows of one user. hours None: any hour is working time.
    `unreadable` names calendars whose busy time could not be read (the caller shows it;
    the engine does not treat their time as free or busy)."""

    zone: str
    hours: WorkingHours | None = None
    rules: Rules = field(default_factory=Rules)
    busy: Sequence[Busy] = ()
    user_id: int | None = None
    unreadable: Sequence[str] = ()


@dataclass(frozen=True)
class Reason:
    """Why an instant is not free: the kind, the span of it around the instant, and for
    busy time which calendar (and the title when the viewer may see it)."""

    kind: str
    start: datetime
    end: datetime
    calendar: str | None = None
    title: str | None = None


def _buffers(schedule: Schedule) -> list[Interval]:
    before, after = schedule.rules.buffer_before, schedule.rules.buffer_after
    out = []
    for b in schedule.busy:
        if before:
            out.append((b.start - before, b.start))
        if after:
            out.append((b.end, b.end + after))
    return out


def _capped_days(schedule: Schedule, start: datetime, end: datetime) -> list[Interval]:
    cap = schedule.rules.max_per_day
    if cap is None:
        return []
    tz = ZoneInfo(schedule.zone)
    starts = sorted(b.start for b in schedule.busy if b.meeting)
    out = []
    for day in local_days(start, end, tz):
        lo, hi = day_bounds(day, tz)
        if bisect_left(starts, hi) - bisect_left(starts, lo) >= cap:
            out.append((lo, hi))
    return out


def blocked(schedule: Schedule, start: datetime, end: datetime,
            now: datetime) -> dict[str, list[Interval]]:
    """Per reason kind, the merged intervals within [start, end) that it blocks."""
    rules = schedule.rules
    window = [(start, end)]
    out = {
        BUSY: intersect(((b.start, b.end) for b in schedule.busy), window),
        BUFFER: intersect(_buffers(schedule), window),
        DAY_CAP: intersect(_capped_days(schedule, start, end), window),
        OUTSIDE_HOURS: subtract(window, working_intervals(schedule.hours, schedule.zone,
                                                          start, end)),
        NOTICE: intersect([(start, max(start, now + rules.min_notice))], window),
        HORIZON: (intersect([(now + rules.horizon, end)], window)
                  if rules.horizon is not None else []),
    }
    return out


def free_intervals(schedule: Schedule, start: datetime, end: datetime,
                   now: datetime) -> list[Interval]:
    """The free intervals of one user within [start, end): working time between the
    notice and the horizon, minus each busy period widened by its buffers and the capped
    days. (The same time as `blocked` leaves, in one pass: what rotations and the
    benchmark call, bench/availability.py.)"""
    rules = schedule.rules
    lo = max(start, now + rules.min_notice)
    hi = min(end, now + rules.horizon) if rules.horizon is not None else end
    if lo >= hi:
        return []
    return [(datetime.fromtimestamp(s, UTC), datetime.fromtimestamp(e, UTC))
            for s, e in _free_seconds(schedule, lo, hi)]


def _free_seconds(schedule: Schedule, lo: datetime, hi: datetime) -> list[tuple[float, float]]:
    """Working time within [lo, hi) minus busy time widened by its buffers and the capped
    days, in seconds since the epoch: sorting and comparing floats is several times
    cheaper than datetimes, and a rotation's fortnight has thousands of busy periods.
    (Whole seconds are exact; a microsecond survives the round trip until 2038, within
    1 µs after.)"""
    working, cuts = _working_and_cuts(schedule, lo, hi)
    return subtract(working, cuts)


def _working_and_cuts(schedule: Schedule, lo: datetime, hi: datetime
                      ) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """In seconds: the working time within [lo, hi), and what cuts into it (busy time
    widened by its buffers, reaching into the range, and the capped days)."""
    rules = schedule.rules
    before, after = rules.buffer_before.total_seconds(), rules.buffer_after.total_seconds()
    lo_s, hi_s = lo.timestamp(), hi.timestamp()
    cuts = []
    append = cuts.append
    for b in schedule.busy:
        s, e = b.start.timestamp() - before, b.end.timestamp() + after
        if s < hi_s and e > lo_s:
            append((s, e))
    cuts.extend((s.timestamp(), e.timestamp()) for s, e in _capped_days(schedule, lo, hi))
    working = [(s.timestamp(), e.timestamp())
               for s, e in working_intervals(schedule.hours, schedule.zone, lo, hi)]
    return working, cuts


def not_free_seconds(schedule: Schedule, start: datetime,
                     end: datetime) -> list[tuple[float, float]]:
    """The time within [start, end) the user is not free for reasons of their own (busy,
    buffers, a capped day, outside working hours), whatever the notice and the horizon,
    as merged (start, end) seconds since the epoch: the union of those kinds' bands,
    what the week view overlays for an attendee colleague (#21).

    The range less (working time less cuts) is the time outside working hours joined with
    the cuts within the range: one union rather than two subtractions."""
    if start >= end:
        return []
    working, cuts = _working_and_cuts(schedule, start, end)
    lo, hi = start.timestamp(), end.timestamp()
    outside = subtract([(lo, hi)], working)
    return merge([*outside, *((s if s > lo else lo, e if e < hi else hi) for s, e in cuts)])


def common_free(schedules: Iterable[Schedule], start: datetime, end: datetime,
                now: datetime) -> list[Interval]:
    """The intervals within [start, end) when every one of the users is free."""
    out = [(start, end)] if start < end else []
    for schedule in schedules:
        out = intersect(out, free_intervals(schedule, start, end, now))
        if not out:
            break
    return out


def is_free(schedule: Schedule, start: datetime, end: datetime, now: datetime) -> bool:
    """True when all of [start, end) is free for the user."""
    return covers(free_intervals(schedule, start, end, now), start, end)


def reasons_at(schedule: Schedule, instant: datetime, now: datetime,
               show_titles: bool = False) -> list[Reason]:
    """Why the instant is not free (empty: it is free), most telling first. Busy titles
    only with show_titles (the viewer may see them)."""
    day = timedelta(days=1)
    margin = max(day, schedule.rules.buffer_before, schedule.rules.buffer_after)
    parts = blocked(schedule, instant - margin, instant + margin, now)
    out = []
    for b in sorted(schedule.busy, key=lambda b: (b.start, b.end, b.calendar)):
        if b.start <= instant < b.end:
            out.append(Reason(BUSY, b.start, b.end, b.calendar,
                              b.title if show_titles else None))
    for kind in KINDS[1:]:
        for s, e in parts[kind]:
            if s <= instant < e:
                out.append(Reason(kind, s, e))
    return out


def reasons_in(schedule: Schedule, start: datetime, end: datetime, now: datetime,
               show_titles: bool = False) -> list[Reason]:
    """Every reason that blocks part of [start, end): what a refused slot is told."""
    out = []
    for b in sorted(schedule.busy, key=lambda b: (b.start, b.end, b.calendar)):
        if b.start < end and b.end > start:
            out.append(Reason(BUSY, b.start, b.end, b.calendar,
                              b.title if show_titles else None))
    parts = blocked(schedule, start, end, now)
    for kind in KINDS[1:]:
        out.extend(Reason(kind, s, e) for s, e in parts[kind])
    return out


def bands(schedule: Schedule, start: datetime, end: datetime,
          now: datetime) -> list[tuple[datetime, datetime, str]]:
    """[start, end) cut where the most telling reason changes: (start, end, kind) of every
    time that is not free, adjacent pieces of one kind joined. What the week view shades.

    One sweep over the spans' edges in time order, the kinds holding between two edges
    kept as bits (a kind's spans neither overlap nor touch, so each edge flips its bit);
    the most telling is the lowest bit set (#24: a week of 300 meetings)."""
    parts = blocked(schedule, start, end, now)
    edges = []
    for bit, kind in enumerate(KINDS):
        for s, e in parts[kind]:
            edges.append((s, bit))
            edges.append((e, bit))
    edges.sort(key=itemgetter(0))
    out: list[tuple[datetime, datetime, str]] = []
    holding, i, n = 0, 0, len(edges)
    while i < n:
        lo = edges[i][0]
        while i < n and edges[i][0] == lo:
            holding ^= 1 << edges[i][1]
            i += 1
        if not holding or i == n:
            continue
        hi, top = edges[i][0], KINDS[(holding & -holding).bit_length() - 1]
        if out and out[-1][2] == top and out[-1][1] == lo:
            out[-1] = (out[-1][0], hi, top)
        else:
            out.append((lo, hi, top))
    return out


def wall_time_reason(zone: str, wall: datetime) -> str | None:
    """DST_GAP when the naive local wall time does not exist in zone, else None."""
    return None if wall_exists(wall, ZoneInfo(zone)) else DST_GAP


def busy_span(schedule: Schedule, start: datetime, end: datetime) -> Interval:
    """The UTC range a loader must read busy time for, to answer [start, end): whole
    local days (the cap counts per day) widened by the buffers."""
    tz = ZoneInfo(schedule.zone)
    days = local_days(start, end, tz)
    lo, hi = day_bounds(days[0], tz)[0], day_bounds(days[-1], tz)[1]
    return (lo - schedule.rules.buffer_after, hi + schedule.rules.buffer_before)


__all__ = ["BUSY", "BUFFER", "DAY_CAP", "OUTSIDE_HOURS", "NOTICE", "HORIZON", "DST_GAP",
           "KINDS", "Rules", "Busy", "busy_of", "Schedule", "Reason", "blocked", "free_intervals",
           "common_free", "is_free", "not_free_seconds", "reasons_at", "reasons_in", "bands",
           "wall_time_reason", "busy_span", "merge"]
