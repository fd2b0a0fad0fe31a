"""The calendar changes of a meeting as its page shows them (issue 23; reading only):
"Moved in Google Calendar by the host", a cancellation, a flag for the rep, a conflict
with the version that lost."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import sqlalchemy as sa
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


def describe(change: MeetingCalendarChange) -> ChangeLine:
    calendar = CALENDAR_NAMES.get(change.provider, change.provider)
    details = change.details or {}
    values = tuple((str(FIELD_NAMES[k]), str(v[0] or ""), str(v[1] or ""))
                   for k, v in details.items() if k in FIELD_NAMES)
    fields = ", ".join(v[0] for v in values)
    if change.kind == "moved":
        text = _("Moved in %(calendar)s by the host", calendar=calendar)
    elif change.kind == "updated":
        text = _("Changed in %(calendar)s by the host: %(fields)s", calendar=calendar,
                 fields=fields)
    elif change.kind == "canceled":
        text = _("Deleted in %(calendar)s by the host: the meeting was canceled",
                 calendar=calendar)
    elif change.kind == "flagged" and details.get("errors"):
        text = _("Changed in %(calendar)s, but Parley could not take the change in: "
                 "decide what to do", calendar=calendar)
    elif change.kind == "flagged":
        text = _("Deleted in %(calendar)s by the host: decide whether to cancel the meeting",
                 calendar=calendar)
    elif details.get("kept") == "parley":
        text = _("Changed in Parley and in %(calendar)s at once: the later change, "
                 "Parley's, was kept; the calendar's version is listed here",
                 calendar=calendar)
    else:
        text = _("Changed in Parley and in %(calendar)s at once: the later change, the "
                 "calendar's, was kept; Parley's version is listed here", calendar=calendar)
    return ChangeLine(change.at, change.kind, text, values)


def for_meeting(account_id: int, meeting_id: int) -> list[ChangeLine]:
    """The meeting's calendar changes, oldest first."""
    rows = db.session.scalars(sa.select(MeetingCalendarChange).where(
        MeetingCalendarChange.account_id == account_id,
        MeetingCalendarChange.meeting_id == meeting_id).order_by(MeetingCalendarChange.id))
    return [describe(r) for r in rows]
