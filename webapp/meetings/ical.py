"""iCalendar (RFC 5545) objects for meetings: iTIP REQUEST/CANCEL, downloads, feeds."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from zoneinfo import ZoneInfo

import icalendar

from webapp.meetings.models import Meeting
from webapp.richtext import to_text
from webapp.types import utcnow

PRODID = "-//Parley//Meetings 1.0//EN"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")

PARTSTAT = {"needs_action": "NEEDS-ACTION", "accepted": "ACCEPTED", "declined": "DECLINED",
            "tentative": "TENTATIVE"}


def one_line(value: str | None) -> str:
    """Strip CR, LF and other control characters (names go into parameters and headers)."""
    return _CONTROL.sub(" ", value or "").strip()


def location_text(meeting: Meeting) -> str:
    return one_line(meeting.location_value) if meeting.location_kind != "none" else ""


def _calendar(method: str | None) -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    return cal


def _address(email: str, name: str, **params) -> icalendar.vCalAddress:
    address = icalendar.vCalAddress(f"mailto:{email}")
    address.params["CN"] = one_line(name) or email
    for key, value in params.items():
        address.params[key.replace("_", "-").upper()] = value
    return address


def event(meeting: Meeting, *, sequence: int | None = None, cancelled: bool = False,
          attendees: Iterable[tuple[str, str, str]] = (), description_extra: str = "",
          busy_only: bool = False) -> icalendar.Event:
    """The VEVENT of meeting. attendees: (email, name, partstat key)."""
    tz = ZoneInfo(meeting.timezone)
    ev = icalendar.Event()
    ev.add("uid", meeting.uid)
    ev.add("sequence", meeting.sequence if sequence is None else sequence)
    ev.add("dtstamp", utcnow())
    ev.add("dtstart", meeting.start_at.astimezone(tz))
    ev.add("dtend", meeting.end_at.astimezone(tz))
    ev.add("created", meeting.created_at)
    ev.add("last-modified", meeting.updated_at or meeting.created_at)
    if busy_only:
        ev.add("summary", "Busy")
        ev.add("class", "PRIVATE")
    else:
        ev.add("summary", meeting.title)
        text = to_text(meeting.description_html)
        if description_extra:
            text = f"{text}\n\n{description_extra}" if text else description_extra
        if text:
            ev.add("description", text)
        location = location_text(meeting)
        if location:
            ev.add("location", location)
    ev.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    ev.add("transp", "OPAQUE")
    host = meeting.host
    ev.add("organizer", _address(host.email, host.name))
    for email, name, partstat in attendees:
        ev.add("attendee", _address(email, name, cutype="INDIVIDUAL", role="REQ-PARTICIPANT",
                                    partstat=PARTSTAT.get(partstat, "NEEDS-ACTION"),
                                    rsvp="TRUE"))
    return ev


def _finish(cal: icalendar.Calendar, meetings: Iterable[Meeting]) -> bytes:
    years = [m.start_at.year for m in meetings] or [utcnow().year]
    cal.add_missing_timezones(first_date=date(min(years) - 1, 1, 1),
                              last_date=date(max(years) + 2, 1, 1))
    return cal.to_ical()


def itip(meeting: Meeting, method: str, recipient: tuple[str, str, str], sequence: int,
         description_extra: str = "") -> bytes:
    """An iTIP REQUEST or CANCEL for one recipient (RFC 5546)."""
    cal = _calendar(method)
    cal.add_component(event(meeting, sequence=sequence, cancelled=method == "CANCEL",
                            attendees=[recipient], description_extra=description_extra))
    return _finish(cal, [meeting])


def single(meeting: Meeting) -> bytes:
    """A downloadable .ics of one meeting (METHOD:PUBLISH)."""
    cal = _calendar("PUBLISH")
    cal.add_component(event(meeting, cancelled=meeting.is_deleted))
    return _finish(cal, [meeting])


def feed(meetings: list[Meeting], name: str) -> bytes:
    """A subscription feed of meetings; deleted ones appear as cancelled."""
    cal = _calendar("PUBLISH")
    cal.add("x-wr-calname", name)
    for meeting in meetings:
        cal.add_component(event(meeting, cancelled=meeting.is_deleted))
    return _finish(cal, meetings)


def stored(meeting: Meeting) -> bytes:
    """The calendar object a CalDAV server stores (RFC 4791: no METHOD)."""
    cal = _calendar(None)
    cal.add_component(event(meeting, cancelled=meeting.is_deleted))
    return _finish(cal, [meeting])
