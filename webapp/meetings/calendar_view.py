"""The week calendar beside the scheduler: the host's meetings as positioned blocks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
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


def week(account_id: int, host, viewer, monday: date, zone: str) -> dict:
    """Seven days from monday in zone with the host's meetings placed on them.

    Anyone but the host sees "Busy" instead of titles (B9).
    """
    tz = ZoneInfo(zone)
    start = datetime.combine(monday, time(0), tzinfo=tz)
    end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=tz)
    meetings = queries.host_meetings(account_id, host.id, start, end)
    busy_only = viewer.id != host.id
    from webapp.calendars import connections as calendar_connections

    external = calendar_connections.busy_periods(host, start, end)
    own = {(m.start_at, m.end_at) for m in meetings}
    external_busy = [p for p in (external or []) if p not in own]
    # Converted once, not once per day: a busy week has hundreds of meetings.
    local = [(m, m.start_at.astimezone(tz), m.end_at.astimezone(tz)) for m in meetings]
    days = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        day_start = datetime.combine(day, time(0), tzinfo=tz)
        day_end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
        blocks = []
        for m, m_start, m_end in local:
            s, e = max(m_start, day_start), min(m_end, day_end)
            if s >= e:
                continue
            minutes = (s - day_start).total_seconds() / 60
            length = (e - s).total_seconds() / 60
            blocks.append(Block(
                m.id, _("Busy") if busy_only else m.title,
                int(minutes / SLOT_MINUTES * SLOT_PX),
                max(int(length / SLOT_MINUTES * SLOT_PX), SLOT_PX // 2),
                f"{s:%H:%M}–{e:%H:%M}", busy_only))
        for b_start, b_end in external_busy:
            s, e = max(b_start.astimezone(tz), day_start), min(b_end.astimezone(tz), day_end)
            if s < e:
                blocks.append(Block(0, "Busy", int((s - day_start).total_seconds() / 60 /
                                                   SLOT_MINUTES * SLOT_PX),
                                    max(int((e - s).total_seconds() / 60 / SLOT_MINUTES *
                                            SLOT_PX), SLOT_PX // 2),
                                    f"{s:%H:%M}–{e:%H:%M}", True))
        days.append({"date": day, "blocks": blocks})
    return {"days": days, "monday": monday, "prev": monday - timedelta(days=7),
            "next": monday + timedelta(days=7), "zone": zone, "host": host,
            "slots": [time(h, m) for h in range(24) for m in (0, 30)], "slot_px": SLOT_PX,
            "slot_labels": SLOT_LABELS,
            "busy_only": busy_only, "calendar_unreadable": external is None}


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
    items = [AgendaItem(r.id, r.title if r.involved else None, r.start_at.astimezone(tz),
                        r.end_at.astimezone(tz), r.outcome, r.log_only,
                        r.outcome == "scheduled" and r.end_at <= now) for r in rows]
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
            "selected": next(d for d in days if d["date"] == day)}
