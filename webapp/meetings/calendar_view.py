"""The week calendar beside the scheduler: the host's meetings as positioned blocks."""

from __future__ import annotations

import math
import sys
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from operator import itemgetter
from typing import NamedTuple
from zoneinfo import ZoneInfo

from webapp.availability.intervals import merge
from webapp.availability.settings import PARLEY
from webapp.filters import translations
from webapp.localcache import LocalCache
from webapp.meetings import queries

SLOT_MINUTES = 30
SLOT_PX = 24
#: "HH:MM" of each slot, formatted once per process rather than 3 times per slot per page.
SLOT_LABELS = tuple(f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 30))


class Block(NamedTuple):
    """A meeting or busy period placed on a day's column (a named tuple: a week makes
    hundreds, #24)."""

    meeting_id: int
    title: str
    top: int
    height: int
    label: str
    busy: bool


def week_start(day: date) -> date:
    """The Monday of day's week."""
    return day - timedelta(days=day.weekday())


class Shade(NamedTuple):
    """Time that is not free, shaded by its reason (#21); `why` is what hover and tap say."""

    top: int
    height: int
    kind: str
    why: str


#: Block((...)) and Shade((...)) from a tuple of their fields, without the named tuples'
#: keyword-handling __new__: a week with its overlay makes several hundred (#21).
_block = partial(tuple.__new__, Block)
_shade = partial(tuple.__new__, Shade)


def _px(minutes: float) -> int:
    return int(minutes / SLOT_MINUTES * SLOT_PX)


@dataclass
class _Reads:
    """What a week reads before computing anything (#24: all a kept grid's key needs
    besides its meetings): the users' availability profiles, the UTC span busy time is
    read over (the host's whole local days and buffers around the week), and every
    user's calendar busy time over it (one query for their connections; `stamps`: the
    cached entries' stamps)."""

    profiles: dict
    lo: datetime
    hi: datetime
    busy: dict
    stamps: dict


def _read(host, with_users, utc_start: datetime, utc_end: datetime,
          profiles: dict | None = None) -> _Reads:
    """profiles: the users' availability profiles if already read (with the colleagues,
    views.overlay_users)."""
    from webapp.availability import engine
    from webapp.availability import settings as availability
    from webapp.availability.busy import external_busy_many
    if profiles is None:
        profiles = availability.profiles_of([host.id, *(u.id for u in with_users)])
    profile = profiles.get(host.id)
    lo, hi = engine.busy_span(engine.Schedule(host.zone, None, profile.rules if profile
                                              else engine.Rules()), utc_start, utc_end)
    stamps: dict = {}
    # The host's and the attendee colleagues' connected calendars count (#21), read
    # together over the host's span.
    busy = external_busy_many([host, *with_users], lo, hi, stamps=stamps)
    return _Reads(profiles, lo, hi, busy, stamps)


def _availability(host, viewer, start: datetime, end: datetime, with_users,
                  reads: _Reads | None = None) -> dict:
    """The host's (and attendee users') availability over the week: bands by reason, the
    external busy periods, whether a calendar could not be read, and the host's meetings
    overlapping the week (read once, with the wider span the engine needs)."""
    from webapp.availability import engine
    from webapp.availability import settings as availability
    from webapp.types import utcnow
    utc_start, utc_end = start.astimezone(UTC), end.astimezone(UTC)
    reads = reads or _read(host, with_users, utc_start, utc_end)
    profiles = reads.profiles
    rows: list = []
    # The host's and the colleagues' meetings in one statement (#21).
    read = (availability.meetings_of([host, *with_users], utc_start, utc_end, profiles)
            if with_users else {})
    bare = availability.schedule_for(host, utc_start, utc_end, profile=profiles.get(host.id),
                                     rows=rows, read=read.get(host.id))
    external, unreadable = reads.busy.get(host.id, ([], []))
    bare.busy = [*bare.busy, *external]
    bare.unreadable = unreadable
    now = utcnow()
    others = []
    for user in with_users:
        busy, failed = reads.busy.get(user.id, ([], []))
        schedule = availability.schedule_for(user, utc_start, utc_end, busy, failed,
                                             profile=profiles.get(user.id),
                                             read=read[user.id])
        others.append((user, engine.not_free_seconds(schedule, utc_start, utc_end)))
        unreadable = [*unreadable, *(f"{user.name}: {name}" for name in failed)]
    # Rows of queries.users_meetings: (user, id, title, start_at, end_at, outcome).
    meetings = [r for r in rows if r[3] < utc_end and r[4] > utc_start]
    return {"schedule": bare, "bands": engine.bands(bare, utc_start, utc_end, now),
            "external": external, "unreadable": unreadable,
            "others": others, "show_titles": viewer.id == host.id, "meetings": meetings}


#: Rendered week grids of this process, by all they show (week_html): nothing to
#: invalidate, a change makes another key. Per process, as the scheduling pages' months.
GRIDS = LocalCache(256)
GRID_SECONDS = 600
#: Meetings are stamped this far around the week: wider than any user's span (whole local
#: days in any zone, buffers of at most 4 hours), so every meeting the grid reads counts.
_STAMP_PAD = timedelta(days=2)


def week_html(account_id: int, host, viewer, monday: date, zone: str, with_users,
              render: Callable[[dict], str], profiles: dict | None = None) -> str:
    """The week grid's HTML (render(week(...))), kept per process (WEEK_GRIDS_KEPT
    grids; 0: never) by everything it shows: the host's and the attendee colleagues'
    hours, rules and Parley meetings around the week (availability.changes.stamp), their
    calendars' cached busy time (its stamps), who they are (ids, names, zones), whether
    the viewer sees titles, the language, the zone, the week, and the minute when the
    host's notice or horizon reaches into the week (the past is shaded as before the
    notice: the current week is kept for its minute, a later one until it changes). A
    colleague's save elsewhere in the account leaves the grid kept; a change to what it
    shows makes it drawn again at the next view. profiles: the host's and colleagues'
    availability profiles, if already read."""
    from flask import current_app
    from flask_babel import get_locale

    from webapp.availability import changes, engine
    from webapp.types import utcnow
    with_users = list(with_users)
    tz = ZoneInfo(zone)
    utc_start = datetime.combine(monday, time(0), tzinfo=tz).astimezone(UTC)
    utc_end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=tz).astimezone(UTC)
    reads = _read(host, with_users, utc_start, utc_end, profiles)
    if not current_app.config.get("WEEK_GRIDS_KEPT", 0):
        return render(week(account_id, host, viewer, monday, zone, with_users, reads))
    users = [host, *with_users]
    stamp = changes.stamp(account_id, [u.id for u in users], min(reads.lo, utc_start)
                          - _STAMP_PAD, max(reads.hi, utc_end) + _STAMP_PAD)
    profile = reads.profiles.get(host.id)
    rules = profile.rules if profile else engine.Rules()
    now = utcnow()
    # Time before the host's minimum notice (the past included) and beyond their horizon
    # is shaded from "now": a week neither reaches is kept by itself, any other for the
    # minute.
    moving = now + rules.min_notice > utc_start or (
        rules.horizon is not None and now + rules.horizon < utc_end)
    key = repr((account_id, [(u.id, u.name, u.zone) for u in users], viewer.id == host.id,
                str(get_locale()), zone, monday,
                now.replace(second=0, microsecond=0) if moving else None,
                stamp, sorted(reads.stamps.items())))
    found = GRIDS.get(key)
    if found is None:
        found = render(week(account_id, host, viewer, monday, zone, with_users, reads))
        GRIDS.put(key, found, GRID_SECONDS)
    return found


def week(account_id: int, host, viewer, monday: date, zone: str, with_users=(),
         reads: _Reads | None = None) -> dict:
    """Seven days from monday in zone with the host's meetings placed on them, the time
    the host is not free shaded by reason (#21), and the busy time of with_users (attendee
    colleagues) overlaid.

    Anyone but the host sees "Busy" instead of titles (B9).

    Placed in UTC seconds (#24): a day's column is wall-clock time, read as even steps
    from its midnight on a day without a clock change. The 336 slots take their reasons by
    painting: each span of a reason marks the slots it holds (found by bisection), the
    busy periods last to first so that the first (by start) holding a slot names it.
    """
    from webapp.availability import engine
    from webapp.availability.labels import busy_describer, reason_label
    tz = ZoneInfo(zone)
    grid = _Days(monday, tz)
    busy_only = viewer.id != host.id
    with_users = list(with_users)
    avail = _availability(host, viewer, grid.midnights[0], grid.midnights[7], with_users,
                          reads)
    labels: dict[str, str] = {}

    def label(kind: str) -> str:
        found = labels.get(kind)
        if found is None:
            found = labels[kind] = reason_label(kind)
        return found

    days = [{"date": monday + timedelta(days=d), "blocks": [], "shades": [], "overlays": [],
             "why": {}} for d in range(7)]
    meetings = avail["meetings"]
    gettext = translations().ugettext
    busy_title = gettext("Busy") if busy_only else None
    columns = [day["blocks"] for day in days]
    pieces = grid.pieces

    def place(items: list) -> None:
        """A block on its day for each part of each (start, end, meeting id, title, busy)
        of items (start and end in seconds); written out: a week has hundreds."""
        for d, s, e, (_start, _end, meeting_id, title, busy) in pieces(items):
            columns[d].append(_block((
                meeting_id, title, int(s / 60 / SLOT_MINUTES * SLOT_PX),
                max(int((e - s) / 60 / SLOT_MINUTES * SLOT_PX), SLOT_PX // 2),
                f"{HHMM[int(s) // 60]}–{HHMM[int(e) // 60 % 1440]}", busy)))
    # Rows of queries.users_meetings: (user, id, title, start_at, end_at, outcome); each
    # one's start and end in seconds, taken once: for its block and its slots' reason.
    spans = [(m[3].timestamp(), m[4].timestamp()) for m in meetings]
    place([(s, e, m[1], busy_title or m[2], busy_only)
           for (s, e), m in zip(spans, meetings, strict=True)])
    # The host's calendars' busy periods (Busy), in seconds: those that are not one of
    # these meetings (synced to the calendar) drawn as blocks too.
    external = [(b.start.timestamp(), b.end.timestamp(), b) for b in avail["external"]]
    own = {(m[3], m[4]) for m in meetings} if external else ()
    place([(s, e, 0, "Busy", True) for s, e, b in external if (b.start, b.end) not in own])
    # (start, end, kind, what hover and tap say) of the time shaded by reason.
    bands = [(s.timestamp(), e.timestamp(), kind, label(kind)) for s, e, kind in avail["bands"]
             if kind != engine.BUSY]

    def shade(items: list, into: list) -> None:
        """A shade on its day (into[d]) for each part of each (start, end, kind, why) of
        items: Shade(_px(s / 60), max(_px((e - s) / 60), 2), kind, why) written out."""
        for d, s, e, (_start, _end, kind, why) in pieces(items):
            into[d].append(_shade((int(s / 60 / SLOT_MINUTES * SLOT_PX),
                                   max(int((e - s) / 60 / SLOT_MINUTES * SLOT_PX), 2),
                                   kind, why)))
    shade(bands, [day["shades"] for day in days])
    not_free = gettext("%(name)s is not free")
    others = [(not_free % {"name": user.name}, spans) for user, spans in avail["others"]]
    if others:
        # One bar where any of them is not free (who: each slot's reason, below), rather
        # than one bar per colleague drawn over the others: half the shades for two.
        shade([(o_s, o_e, "attendee", "") for o_s, o_e in merge(
            [span for _text, spans in others for span in spans])],
              [day["overlays"] for day in days])

    # Each slot's reason: the shaded kinds, then the busy periods over them.
    instants = grid.instants
    why: list = [None] * len(instants)
    for b_s, b_e, _kind, text in bands:
        i, j = bisect_left(instants, b_s), bisect_left(instants, b_e)
        if i < j:
            why[i:j] = [text] * (j - i)
    describe = busy_describer()
    show_titles = avail["show_titles"]
    # The host's busy time (the schedule's: their meetings but canceled ones, then their
    # calendars' busy periods) that reaches into the week, by start, in the seconds taken
    # above rather than from each Busy's datetimes again.
    busy = [(s, e, describe(PARLEY, m[2] if show_titles else None))
            for (s, e), m in zip(spans, meetings, strict=True) if m[5] != "canceled"]
    busy += [(s, e, describe(b.calendar, b.title if show_titles else None))
             for s, e, b in external]
    busy.sort(key=itemgetter(0))
    for b_s, b_e, text in reversed(busy):
        i, j = bisect_left(instants, b_s), bisect_left(instants, b_e)
        if i < j:
            why[i:j] = [text] * (j - i)
    if others:
        # A slot says its reason, then who is not free: the colleagues' names joined once
        # for each combination of them found (_who).
        alsos = _who([text for text, _spans in others],
                     [[(bisect_left(instants, o_s), bisect_left(instants, o_e))
                       for o_s, o_e in spans] for _text, spans in others], len(instants))
        why = [(f"{first}; {also}" if first else also) if also else first
               for first, also in zip(why, alsos, strict=True)]
    gap_why = label(engine.DST_GAP)
    for k in grid.gaps:
        why[k] = gap_why
        d, i = divmod(k, len(SLOT_LABELS))
        days[d]["shades"].append(Shade(_px(i * SLOT_MINUTES), SLOT_PX, engine.DST_GAP, gap_why))
    per_day = len(SLOT_LABELS)
    for d, day in enumerate(days):
        day["why"] = {hm: text for hm, text in zip(
            SLOT_LABELS, why[d * per_day:(d + 1) * per_day], strict=True) if text}
    return {"days": days, "monday": monday, "prev": monday - timedelta(days=7),
            "next": monday + timedelta(days=7), "zone": zone, "host": host,
            "slots": _SLOT_TIMES, "slot_px": SLOT_PX,
            "slot_labels": SLOT_LABELS,
            "busy_only": busy_only, "calendar_unreadable": bool(avail["unreadable"]),
            "unreadable": avail["unreadable"], "with_users": with_users}


def _who(names: list[str], marked: list[list[tuple[int, int]]], count: int) -> list[str]:
    """For each of count slots, the names (joined by "; ") of the colleagues whose
    marked[k] (slot ranges [i, j)) hold it; "" where none do.

    Each slot's combination of colleagues is a 16-bit code: colleague k's ranges are
    written as bit k into their own 2-byte-a-slot buffer, the buffers joined as integers
    (a bitwise or of every slot at once), the codes read back as an array, and each code
    found named once: no Python call per slot (a week has 336)."""
    width = 2  # bytes a slot: up to 16 colleagues (views.overlay_users takes 10)
    combined = 0
    for k, ranges in enumerate(marked):
        mark = bytearray(count * width)
        bit = (1 << k).to_bytes(width, sys.byteorder)
        for i, j in ranges:
            if i < j:
                mark[i * width:j * width] = bit * (j - i)
        combined |= int.from_bytes(mark, sys.byteorder)
    codes = array("H", combined.to_bytes(count * width, sys.byteorder))
    text = {code: "; ".join(name for k, name in enumerate(names) if code >> k & 1)
            for code in set(codes)}
    return [text[code] for code in codes]


_SLOT_TIMES = [time(h, m) for h in range(24) for m in (0, 30)]
#: "HH:MM" of every minute of a day: a block's times, formatted once per process.
HHMM = tuple(f"{m // 60:02d}:{m % 60:02d}" for m in range(24 * 60))


class _Days:
    """The week's seven local days in UTC seconds since the epoch: where each begins
    (`bounds`, eight edges), whether it is 24 even hours (no clock change), and the
    instant of each of its slots (`instants`, 48 a day, in order; `gaps`: the slots whose
    wall time does not exist, given their previous slot's instant)."""

    def __init__(self, monday: date, tz: ZoneInfo):
        from webapp.availability.hours import wall_exists
        self.tz = tz
        self.midnights = [datetime.combine(monday + timedelta(days=d), time(0), tzinfo=tz)
                          for d in range(8)]
        self.bounds = [m.timestamp() for m in self.midnights]
        self.even = [self.bounds[d + 1] - self.bounds[d] == _DAY_SECONDS for d in range(7)]
        self.instants: list[float] = []
        self.gaps: list[int] = []
        for d in range(7):
            if self.even[d]:
                lo = self.bounds[d]
                self.instants += [lo + step for step in _STEPS]
                continue
            day = monday + timedelta(days=d)
            for slot in _SLOT_TIMES:
                wall = datetime.combine(day, slot)
                if wall_exists(wall, tz):
                    self.instants.append(wall.replace(tzinfo=tz).timestamp())
                else:
                    self.gaps.append(len(self.instants))
                    self.instants.append(self.instants[-1] if self.instants else -math.inf)

    def pieces(self, items: list) -> list[tuple[int, float, float, tuple]]:
        """(day, wall seconds from its midnight to the start and to the end, item) of each
        day each item = (start, end, ...) reaches (seconds since the epoch), cut at the
        days' edges, in order."""
        bounds, even, out = self.bounds, self.even, []
        append = out.append
        for item in items:
            start, end = item[0], item[1]
            d = bisect_right(bounds, start) - 1
            if 0 <= d < 7 and even[d] and end <= bounds[d + 1]:
                # Most spans: within one day without a clock change.
                if start < end:
                    lo = bounds[d]
                    append((d, start - lo, end - lo, item))
            else:
                out.extend((*part, item) for part in self._cut(start, end, max(d, 0)))
        return out

    def _cut(self, start: float, end: float, d: int):
        bounds = self.bounds
        while d < 7 and bounds[d] < end:
            lo, hi = bounds[d], bounds[d + 1]
            s, e = max(start, lo), min(end, hi)
            if s < e:
                if self.even[d]:
                    yield d, s - lo, e - lo
                else:
                    yield d, self._wall(d, s), self._wall(d, e)
            d += 1

    def _wall(self, d: int, instant: float) -> float:
        """Wall-clock seconds from day d's midnight to instant, on a day the clocks
        change (a time in the repeated hour reads as its wall time, as the slots do)."""
        if instant <= self.bounds[d]:
            return 0.0
        if instant >= self.bounds[d + 1]:
            return float(_DAY_SECONDS)
        local = datetime.fromtimestamp(instant, self.tz)
        return (local - self.midnights[d]).total_seconds()


_DAY_SECONDS = 24 * 3600
_STEPS = [SLOT_MINUTES * 60 * i for i in range(len(SLOT_LABELS))]


@dataclass
class AgendaItem:
    meeting_id: int
    #: None when the viewer is not involved: shown only as Busy.
    title: str | None
    start: datetime
    end: datetime
    outcome: str
    log_only: bool
    #: Ended and still Scheduled.
    needs_outcome: bool

    @property
    def busy(self) -> bool:
        return self.title is None


def agenda(account_id: int, user, viewer, day: date, zone: str, *, outcome: str | None = None,
           needs_outcome: bool = False, now: datetime) -> dict:
    """A user's agenda (My meetings) for the week of day in zone: each day's meetings
    where the user is host, organizer or attendee (webapp.meetings.queries.agenda_meetings),
    in the viewer's zone. Meetings the viewer is not part of are Busy, without a title."""
    tz = ZoneInfo(zone)
    monday = week_start(day)
    start = datetime.combine(monday, time(0), tzinfo=tz)
    end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=tz)
    rows = queries.agenda_meetings(account_id, user.id, viewer.id, start, end, outcome=outcome,
                                   needs_outcome_before=now if needs_outcome else None)
    items = [_agenda_item(r, tz, now) for r in rows]
    backlog = []
    if needs_outcome:
        # Not only the week shown: every meeting of the last year still waiting for its
        # outcome, newest first.
        backlog = [_agenda_item(r, tz, now) for r in queries.agenda_meetings(
            account_id, user.id, viewer.id, now - BACKLOG_SPAN, now,
            needs_outcome_before=now, newest_first=True, limit=BACKLOG_LIMIT)]
    days = []
    for offset in range(7):
        current = monday + timedelta(days=offset)
        day_start = datetime.combine(current, time(0), tzinfo=tz)
        day_end = datetime.combine(current + timedelta(days=1), time(0), tzinfo=tz)
        days.append({"date": current, "today": current == now.astimezone(tz).date(),
                     "items": [i for i in items if i.start < day_end and i.end > day_start]})
    return {"days": days, "day": day, "monday": monday, "zone": zone, "user": user,
            "count": len(items), "prev_week": monday - timedelta(days=7),
            "next_week": monday + timedelta(days=7), "prev_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1),
            "selected": next(d for d in days if d["date"] == day), "backlog": backlog,
            "backlog_limit": BACKLOG_LIMIT}


#: "Needs an outcome" lists the meetings of this span before now, at most this many.
BACKLOG_SPAN, BACKLOG_LIMIT = timedelta(days=366), 100


def _agenda_item(row, tz, now: datetime) -> AgendaItem:
    return AgendaItem(row.id, row.title if row.involved else None, row.start_at.astimezone(tz),
                      row.end_at.astimezone(tz), row.outcome, row.log_only,
                      row.outcome == "scheduled" and row.end_at <= now)
