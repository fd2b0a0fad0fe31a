"""The calendar changes of a meeting as its page shows them (issue 23; reading only):
"Moved in Google Calendar by the host", a cancellation, a flag for the rep, a conflict
with the version that lost."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel import dates as babel_dates
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.calendars.models import MeetingCalendarChange
from webapp.extensions import db

CALENDAR_NAMES = {"google": "Google Calendar", "microsoft": "Microsoft 365",
                  "caldav": "CalDAV"}
FIELD_NAMES = {"start": _l("start"), "end": _l("end"), "title": _l("title"),
               "location": _l("location"), "description": _l("description")}


@dataclasses.dataclass(frozen=True)
class ChangeLine:
    at: datetime
    kind: str
    text: str
    #: The version that lost a conflict, or the values taken in: (field, old, new).
    values: tuple[tuple[str, str, str], ...] = ()


#: The kinds a record's timeline shows (a conflict stays on the meeting's page).
TIMELINE_KINDS = ("moved", "updated", "canceled", "flagged")


def _viewer() -> tuple[ZoneInfo, str]:
    from flask_babel import get_locale, get_timezone
    return ZoneInfo(str(get_timezone())), str(get_locale())


def _instant(value) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def move_span(details: dict, zone: ZoneInfo, locale: str) -> tuple[str, str] | None:
    """(old, new) start of a move as the viewer reads them: the weekday and the time
    without seconds ("Tue 9:00 AM", "Wed 10:00 AM"), with the date when the two are a
    week or more apart. None when the details hold no time."""
    pair = details.get("start") or details.get("end")
    old, new = (_instant(pair[0]), _instant(pair[1])) if pair and len(pair) == 2 else (None, None)
    if old is None or new is None or old.tzinfo is None or new.tzinfo is None:
        return None
    old, new = old.astimezone(zone), new.astimezone(zone)
    day = "EEE" if abs(new - old) < timedelta(days=6) else "medium"
    from webapp.filters import join_date_time

    def text(value: datetime) -> str:
        return join_date_time("medium", babel_dates.format_date(value, day, locale=locale),
                              babel_dates.format_time(value, "short", locale=locale), locale)
    return text(old), text(new)


def describe(change: MeetingCalendarChange, viewer: tuple[ZoneInfo, str] | None = None
             ) -> ChangeLine:
    """The change as a line of the meeting's history; viewer: (zone, locale) of the
    reader (looked up when not given)."""
    return describe_values(change.at, change.kind, change.provider, change.details, viewer)


def describe_values(at: datetime, kind: str, provider: str, details: dict | None,
                    viewer: tuple[ZoneInfo, str] | None = None) -> ChangeLine:
    """describe() of a change's columns (the record timeline reads them with its page)."""
    calendar = CALENDAR_NAMES.get(provider, provider)
    details = details or {}
    values = tuple((str(FIELD_NAMES[k]), str(v[0] or ""), str(v[1] or ""))
                   for k, v in details.items() if k in FIELD_NAMES)
    fields = ", ".join(v[0] for v in values)
    span = move_span(details, *(viewer or _viewer())) if kind == "moved" else None
    if span:
        text = _("Moved in %(calendar)s by the host: %(old)s → %(new)s", calendar=calendar,
                 old=span[0], new=span[1])
    elif kind == "moved":
        text = _("Moved in %(calendar)s by the host", calendar=calendar)
    elif kind == "updated":
        text = _("Changed in %(calendar)s by the host: %(fields)s", calendar=calendar,
                 fields=fields)
    elif kind == "canceled":
        text = _("Deleted in %(calendar)s by the host: the meeting was canceled",
                 calendar=calendar)
    elif kind == "flagged" and details.get("errors"):
        text = _("Changed in %(calendar)s, but Parley could not take the change in: "
                 "decide what to do", calendar=calendar)
    elif kind == "flagged":
        text = _("Deleted in %(calendar)s by the host: decide whether to cancel the meeting",
                 calendar=calendar)
    elif details.get("kept") == "parley":
        text = _("Changed in Parley and in %(calendar)s at once: the later change, "
                 "Parley's, was kept; the calendar's version is listed here",
                 calendar=calendar)
    else:
        text = _("Changed in Parley and in %(calendar)s at once: the later change, the "
                 "calendar's, was kept; Parley's version is listed here", calendar=calendar)
    return ChangeLine(at, kind, text, values)


def for_meeting(account_id: int, meeting_id: int) -> list[ChangeLine]:
    """The meeting's calendar changes, oldest first."""
    rows = db.session.scalars(sa.select(MeetingCalendarChange).where(
        MeetingCalendarChange.account_id == account_id,
        MeetingCalendarChange.meeting_id == meeting_id).order_by(MeetingCalendarChange.id))
    viewer = _viewer()
    return [describe(r, viewer) for r in rows]
