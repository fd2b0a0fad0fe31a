"""The week calendar beside the scheduler: the host's meetings as positioned blocks."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from webapp.meetings import queries

SLOT_MINUTES = 30
SLOT_PX = 24
#: "HH:MM" of each slot, formatted once per process rather than 3 times per slot per page.
SLOT_LABELS = tuple(f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 30))


@dataclass
class Block:
    meeting_id: int
    title: str
    top: int
    height: int
    label: str
    busy: bool


def week_start(day: date) -> date:
    """The Monday of day's week."""
    return day - timedelta(days=day.weekday())


@dataclass
class Shade:
    """Time that is not free, shaded by its reason (#21); `why` is what hover and tap say."""

    top: int
    height: int
    kind: str
    why: str


def _px(minutes: float) -> int:
    return int(minutes / SLOT_MINUTES * SLOT_PX)


def _availability(host, viewer, start: datetime, end: datetime, with_users) -> dict:
    """The host's (and attendee users') availability over the week: bands by reason, the
    external busy periods, whether a calendar could not be read, and the host's meetings
    overlapping the week (read once, with the wider span the engine needs)."""
    from webapp.availability import engine
    from webapp.availability import settings as availability
    from webapp.availability.busy import external_busy, external_busy_many
    from webapp.types import utcnow
    utc_start, utc_end = start.astimezone(UTC), end.astimezone(UTC)
    profiles = availability.profiles_of([host.id, *(u.id for u in with_users)])
    rows: list = []
    bare = availability.schedule_for(host, utc_start, utc_end, profile=profiles.get(host.id),
                                     rows=rows)
    lo, hi = engine.busy_span(bare, utc_start, utc_end)
    external, unreadable = external_busy(host, lo, hi)
    bare.busy = [*bare.busy, *external]
    bare.unreadable = unreadable
    now = utcnow()
    others = []
    # Attendee colleagues' connected calendars count too (#21), read together.
    theirs = external_busy_many(with_users, lo, hi) if with_users else {}
    for user in with_users:
        busy, failed = theirs.get(user.id, ([], []))
        schedule = availability.schedule_for(user, utc_start, utc_end, busy, failed,
                                             profile=profiles.get(user.id))
        spans = [(s, e) for s, e, kind in engine.bands(schedule, utc_start, utc_end, now)
                 if kind in (engine.BUSY, engine.BUFFER, engine.DAY_CAP, engine.OUTSIDE_HOURS)]
        others.append((user, spans))
        unreadable = [*unreadable, *(f"{user.name}: {name}" for name in failed)]
    meetings = [r for r in rows if r.start_at < utc_end and r.end_at > utc_start]
    return {"schedule": bare, "bands": engine.bands(bare, utc_start, utc_end, now),
            "external": [(b.start, b.end) for b in external], "unreadable": unreadable,
            "others": others, "show_titles": viewer.id == host.id, "meetings": meetings}


def _at(spans: list, starts: list, instant: datetime):
    """The span of a sorted, non-overlapping list holding instant, or None (bisect)."""
    i = bisect_right(starts, instant) - 1
    return spans[i] if i >= 0 and instant < spans[i][1] else None


def week(account_id: int, host, viewer, monday: date, zone: str, with_users=()) -> dict:
    """Seven days from monday in zone with the host's meetings placed on them, the time
    the host is not free shaded by reason (#21), and the busy time of with_users (attendee
    colleagues) overlaid.

    Anyone but the host sees "Busy" instead of titles (B9).

    The 336 slots are answered in a few lookups each (#24): every label translated once a
    request, the busy period holding a slot found by bisection, a day without a clock
    change read as 48 even steps.
    """
    from webapp.availability import engine
    from webapp.availability.hours import wall_exists
    from webapp.availability.labels import describer, reason_label
    tz = ZoneInfo(zone)
    start = datetime.combine(monday, time(0), tzinfo=tz)
    end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=tz)
    busy_only = viewer.id != host.id
    with_users = list(with_users)
    avail = _availability(host, viewer, start, end, with_users)
    meetings = avail["meetings"]
    external = None if avail["unreadable"] else avail["external"]
    own = {(m.start_at, m.end_at) for m in meetings}
    external_busy = [p for p in (avail["external"]) if p not in own]
    bands = avail["bands"]
    band_starts = [b[0] for b in bands]
    band_ends = [b[1] for b in bands]
    labels: dict[str, str] = {}

    def label(kind: str) -> str:
        found = labels.get(kind)
        if found is None:
            found = labels[kind] = reason_label(kind)
        return found

    busy = _BusyAt(sorted(avail["schedule"].busy, key=lambda b: b.start),
                   avail["show_titles"], describer())
    others = [(_("%(name)s is not free", name=user.name), spans, [o[0] for o in spans])
              for user, spans in avail["others"]]
    gap_why = label(engine.DST_GAP)
    BUSY = engine.BUSY
    busy_title = _("Busy") if busy_only else None
    # Converted once, not once per day: a busy week has hundreds of meetings (sorted by
    # start); each day looks only at those that may reach it.
    local = [(m, m.start_at.astimezone(tz), m.end_at.astimezone(tz)) for m in meetings]
    local_starts = [m.start_at for m in meetings]
    longest = max((m.end_at - m.start_at for m in meetings), default=timedelta(0))
    margin = timedelta(hours=3)
    days = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        day_start = datetime.combine(day, time(0), tzinfo=tz)
        day_end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
        blocks = []
        first = bisect_right(local_starts, day_start - longest - margin)
        last = bisect_right(local_starts, day_end + margin)
        for m, m_start, m_end in local[first:last]:
            s, e = max(m_start, day_start), min(m_end, day_end)
            if s >= e:
                continue
            minutes = (s - day_start).total_seconds() / 60
            length = (e - s).total_seconds() / 60
            blocks.append(Block(
                m.id, busy_title or m.title,
                int(minutes / SLOT_MINUTES * SLOT_PX),
                max(int(length / SLOT_MINUTES * SLOT_PX), SLOT_PX // 2),
                f"{s.hour:02d}:{s.minute:02d}–{e.hour:02d}:{e.minute:02d}", busy_only))
        for b_start, b_end in external_busy:
            s, e = max(b_start.astimezone(tz), day_start), min(b_end.astimezone(tz), day_end)
            if s < e:
                blocks.append(Block(0, "Busy", int((s - day_start).total_seconds() / 60 /
                                                   SLOT_MINUTES * SLOT_PX),
                                    max(int((e - s).total_seconds() / 60 / SLOT_MINUTES *
                                            SLOT_PX), SLOT_PX // 2),
                                    f"{s:%H:%M}–{e:%H:%M}", True))
        shades = []
        for j in range(bisect_right(band_ends, day_start), len(bands)):
            b_s, b_e, kind = bands[j]
            if b_s >= day_end:
                break
            if kind != engine.BUSY and b_e > day_start:
                shades.append(Shade(
                    _px((max(b_s, day_start) - day_start).total_seconds() / 60),
                    max(_px((min(b_e, day_end) - max(b_s, day_start)).total_seconds() / 60),
                        2), kind, label(kind)))
        overlays = [Shade(_px((max(o_s, day_start) - day_start).total_seconds() / 60),
                          max(_px((min(o_e, day_end) - max(o_s, day_start)).total_seconds()
                                  / 60), 2), "attendee", text)
                    for text, spans, _starts in others for o_s, o_e in spans
                    if o_s < day_end and o_e > day_start]
        why = {}
        utc_start = day_start.astimezone(UTC)
        even = day_end.astimezone(UTC) - utc_start == _DAY
        for i, hm in enumerate(SLOT_LABELS):
            if even:
                instant = utc_start + _STEPS[i]
            else:
                wall = datetime.combine(day, _SLOT_TIMES[i])
                if not wall_exists(wall, tz):
                    why[hm] = gap_why
                    shades.append(Shade(_px((wall - datetime.combine(day, time(0))
                                             ).total_seconds() / 60), SLOT_PX,
                                        engine.DST_GAP, gap_why))
                    continue
                instant = wall.replace(tzinfo=tz).astimezone(UTC)
            i = bisect_right(band_starts, instant) - 1
            if i >= 0 and instant < bands[i][1]:
                kind = bands[i][2]
                first = (kind == BUSY and busy.why(instant)) or label(kind)
            else:
                first = None
            if others:
                reasons = [first] if first else []
                reasons += [text for text, spans, starts in others
                            if _at(spans, starts, instant)]
                if reasons:
                    why[hm] = "; ".join(reasons)
            elif first:
                why[hm] = first
        days.append({"date": day, "blocks": blocks, "shades": shades, "overlays": overlays,
                     "why": why})
    return {"days": days, "monday": monday, "prev": monday - timedelta(days=7),
            "next": monday + timedelta(days=7), "zone": zone, "host": host,
            "slots": _SLOT_TIMES, "slot_px": SLOT_PX,
            "slot_labels": SLOT_LABELS,
            "busy_only": busy_only, "calendar_unreadable": external is None,
            "unreadable": avail["unreadable"], "with_users": with_users}


_DAY = timedelta(days=1)
_SLOT_TIMES = [time(h, m) for h in range(24) for m in (0, 30)]
_STEPS = [timedelta(minutes=SLOT_MINUTES * i) for i in range(len(SLOT_LABELS))]


class _BusyAt:
    """What a busy slot says: the first busy period (by start) holding the instant,
    described once a period. Each period's end is compared with the latest end of those
    before it, so the first holding an instant is found by bisection."""

    def __init__(self, busy: list, show_titles: bool, describe):
        from webapp.availability import engine
        self.busy, self.show_titles, self.describe, self.engine = busy, show_titles, describe, engine
        self.starts = [b.start for b in busy]
        self.reach, latest = [], None
        for b in busy:
            latest = b.end if latest is None or b.end > latest else latest
            self.reach.append(latest)
        self.said: dict[int, str] = {}

    def why(self, instant: datetime) -> str | None:
        i = bisect_right(self.reach, instant)
        if i >= len(self.busy) or self.starts[i] > instant:
            return None
        found = self.said.get(i)
        if found is None:
            b = self.busy[i]
            found = self.said[i] = self.describe(self.engine.Reason(
                self.engine.BUSY, b.start, b.end, b.calendar,
                b.title if self.show_titles else None))
        return found


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
