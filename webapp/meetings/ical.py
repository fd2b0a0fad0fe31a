"""iCalendar (RFC 5545) objects for meetings: iTIP REQUEST/CANCEL, downloads, feeds.

Every calendar object Parley writes comes from here: emails (webapp.delivery.messages),
downloads, the subscription feed and CalDAV writes. The text is written directly rather
than through icalendar's object model: the feed's budget (500 events under 50 ms,
bench/feed.py) is a tenth of what building icalendar objects costs, and icalendar's own
VTIMEZONE puts each DAYLIGHT onset at the wall time after the jump (RFC 5545 reads it an
hour late) with a COMMENT that libical refuses. What comes out is checked by three
independent parsers in tests/test_ical.py.

Times: a start or end whose wall time in the meeting's zone happens twice (the repeated
hour when clocks go back) or sits at a transition is written in UTC (`...Z`) for both ends
of the event, because clients disagree about which occurrence a TZID time means; every
other time is written with TZID and a VTIMEZONE generated from zoneinfo.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from webapp.meetings.models import Meeting
from webapp.richtext import to_text
from webapp.types import utcnow

PRODID = "-//Parley//Meetings 1.0//EN"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
# TEXT keeps line breaks (escaped as \n); every other control character goes.
_TEXT_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]+")

PARTSTAT = {"needs_action": "NEEDS-ACTION", "accepted": "ACCEPTED", "declined": "DECLINED",
            "tentative": "TENTATIVE"}


def one_line(value: str | None) -> str:
    """Strip CR, LF and other control characters (names go into parameters and headers)."""
    return _CONTROL.sub(" ", value or "").strip()


def location_text(meeting: Meeting) -> str:
    return location_of(meeting.location_kind, meeting.location_value)


def location_of(kind: str, value: str | None) -> str:
    """The location as calendars show it: none for a meeting without one."""
    return one_line(value) if value and kind != "none" else ""


# --- content lines ------------------------------------------------------------------------

def _text(value: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and newline escaped."""
    value = _TEXT_CONTROL.sub(" ", value.replace("\r\n", "\n").replace("\r", "\n"))
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\n", "\\n"))


def _param(value: str) -> str:
    """A parameter value: one line, no DQUOTE, quoted when it holds : ; or ,."""
    value = one_line(value).replace('"', "'")
    return f'"{value}"' if any(c in value for c in ":;,") else value


def _fold(line: str) -> str:
    """The line folded at 75 octets (RFC 5545 3.1), never inside a UTF-8 character."""
    raw = line.encode()
    if len(raw) <= 75:
        return line + "\r\n"
    parts, start, limit = [], 0, 75
    while start < len(raw):
        end = min(start + limit, len(raw))
        while end < len(raw) and raw[end] & 0xC0 == 0x80:
            end -= 1
        parts.append(raw[start:end].decode())
        start, limit = end, 74
    return "\r\n ".join(parts) + "\r\n"


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _offset(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{seconds:02d}" if seconds else "")


# --- which times need UTC -------------------------------------------------------------

@functools.lru_cache(maxsize=65536)
def is_ambiguous(instant: datetime, zone: str) -> bool:
    """True when instant's wall time in zone does not name it alone: the wall time happens
    twice (the repeated hour), or the instant is the first one after a transition (a gap's
    or an overlap's edge, where clients' readings of "the time that was skipped" differ)."""
    tz = ZoneInfo(zone)
    local = instant.astimezone(tz)
    wall = local.replace(tzinfo=None)
    if wall.replace(tzinfo=tz, fold=0).utcoffset() != wall.replace(tzinfo=tz, fold=1).utcoffset():
        return True
    return (instant - timedelta(seconds=1)).astimezone(tz).utcoffset() != local.utcoffset()


def _needs_utc(start: datetime, end: datetime, zone: str) -> bool:
    return is_ambiguous(start, zone) or is_ambiguous(end, zone)


# --- VTIMEZONE from zoneinfo -----------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Transition:
    #: The first instant (UTC) of the new offset.
    at: datetime
    offset_from: timedelta
    offset_to: timedelta
    is_dst: bool
    name: str


def _state(tz: ZoneInfo, at: datetime) -> tuple:
    local = at.astimezone(tz)
    return local.utcoffset(), bool(local.dst()), local.tzname()


@functools.lru_cache(maxsize=512)
def _transitions(zone: str, first: date, last: date) -> tuple[Transition, ...]:
    """Every change of offset, DST flag or abbreviation of zone between first and last,
    found from zoneinfo: a scan by day, then the exact second by bisection."""
    tz = ZoneInfo(zone)
    step = timedelta(days=1)
    at = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(last, datetime.min.time(), tzinfo=UTC)
    state = _state(tz, at)
    out = []
    while at < end:
        nxt = min(at + step, end)
        new = _state(tz, nxt)
        if new != state:
            low, high = int(at.timestamp()), int(nxt.timestamp())  # state at low, new at high
            while high - low > 1:
                mid = (low + high) // 2
                if _state(tz, datetime.fromtimestamp(mid, UTC)) == state:
                    low = mid
                else:
                    high = mid
            when = datetime.fromtimestamp(high, UTC)
            changed = _state(tz, when)
            out.append(Transition(when, state[0], changed[0], changed[1], changed[2]))
            # From the change on: a second one within the same day is found too.
            at, state = when, changed
            continue
        at = nxt
    return tuple(out)


def _span(years: Iterable[int]) -> tuple[date, date]:
    years = list(years) or [utcnow().year]
    return date(min(years) - 1, 1, 1), date(max(years) + 2, 1, 1)


@functools.lru_cache(maxsize=512)
def vtimezone(zone: str, first: date, last: date) -> str:
    """The VTIMEZONE of zone for [first, last): one STANDARD or DAYLIGHT per transition,
    each starting at the wall time before the change (RFC 5545 3.8.2.4: DTSTART is local
    time in TZOFFSETFROM), led by the offset in force at first. No COMMENT (libical)."""
    tz = ZoneInfo(zone)
    start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    offset, dst, name = _state(tz, start)
    lines = ["BEGIN:VTIMEZONE", f"TZID:{zone}"]

    def component(kind_dst: bool, onset: datetime, offset_from, offset_to, tzname) -> None:
        kind = "DAYLIGHT" if kind_dst else "STANDARD"
        lines.extend([f"BEGIN:{kind}", f"DTSTART:{onset:%Y%m%dT%H%M%S}",
                      f"TZOFFSETFROM:{_offset(offset_from)}", f"TZOFFSETTO:{_offset(offset_to)}",
                      f"TZNAME:{_text(tzname or '')}", f"END:{kind}"])

    component(dst, (start + offset).replace(tzinfo=None), offset, offset, name)
    for change in _transitions(zone, first, last):
        onset = (change.at + change.offset_from).replace(tzinfo=None)
        component(change.is_dst, onset, change.offset_from, change.offset_to, change.name)
    lines.append("END:VTIMEZONE")
    return "".join(_fold(line) for line in lines)


# --- events -------------------------------------------------------------------------------

class EventData(NamedTuple):
    """What a VEVENT says about a meeting: from a loaded Meeting (EventData.of) or from
    the feed's one query (plain rows, no objects). A tuple: equal data, equal text, so the
    feed keeps each event's text while the meeting does not change (_feed_event)."""

    uid: str
    sequence: int
    title: str
    start_at: datetime
    end_at: datetime
    timezone: str
    created_at: datetime
    updated_at: datetime | None
    description_html: str
    location: str
    cancelled: bool
    host_name: str
    host_email: str
    #: The colleague who booked it for the host (ORGANIZER's SENT-BY), when not the host.
    booked_by_email: str | None = None

    @classmethod
    def of(cls, meeting: Meeting) -> EventData:
        host, organizer = meeting.host, meeting.organizer
        return cls(meeting.uid, meeting.sequence, meeting.title, meeting.start_at,
                   meeting.end_at, meeting.timezone, meeting.created_at, meeting.updated_at,
                   meeting.description_html, location_text(meeting), meeting.is_deleted,
                   host.name, host.email,
                   organizer.email if organizer is not None and
                   meeting.organizer_id != meeting.host_id else None)


def _address(prop: str, email: str, name: str, **params) -> str:
    text = f"{prop};CN={_param(name or email)}"
    for key, value in params.items():
        text += f";{key.replace('_', '-').upper()}={_param(value)}"
    return f"{text}:mailto:{one_line(email)}"


def event_lines(data: EventData, *, sequence: int | None = None, cancelled: bool | None = None,
                attendees: Iterable[tuple[str, str, str]] = (), rsvp: bool = True,
                description_extra: str = "", dtstamp: datetime | None = None) -> str:
    """The VEVENT of a meeting, folded. attendees: (email, name, partstat key); rsvp:
    whether they are asked to reply (a REQUEST), not in a CANCEL or a PUBLISH."""
    is_cancelled = data.cancelled if cancelled is None else cancelled
    lines = [
        "BEGIN:VEVENT",
        f"UID:{_text(data.uid)}",
        f"SEQUENCE:{data.sequence if sequence is None else sequence}",
        f"DTSTAMP:{_utc(dtstamp or utcnow())}",
    ]
    if _needs_utc(data.start_at, data.end_at, data.timezone):
        lines += [f"DTSTART:{_utc(data.start_at)}", f"DTEND:{_utc(data.end_at)}"]
    else:
        tz = ZoneInfo(data.timezone)
        lines += [f"DTSTART;TZID={data.timezone}:{data.start_at.astimezone(tz):%Y%m%dT%H%M%S}",
                  f"DTEND;TZID={data.timezone}:{data.end_at.astimezone(tz):%Y%m%dT%H%M%S}"]
    lines += [f"CREATED:{_utc(data.created_at)}",
              f"LAST-MODIFIED:{_utc(data.updated_at or data.created_at)}",
              f"SUMMARY:{_text(data.title)}"]
    text = to_text(data.description_html)
    if description_extra:
        text = f"{text}\n\n{description_extra}" if text else description_extra
    if text:
        lines.append(f"DESCRIPTION:{_text(text)}")
    if data.location:
        lines.append(f"LOCATION:{_text(data.location)}")
    lines += [f"STATUS:{'CANCELLED' if is_cancelled else 'CONFIRMED'}", "TRANSP:OPAQUE"]
    sent_by = {"sent_by": f"mailto:{data.booked_by_email}"} if data.booked_by_email else {}
    lines.append(_address("ORGANIZER", data.host_email, data.host_name, **sent_by))
    for email, name, partstat in attendees:
        params = {"cutype": "INDIVIDUAL", "role": "REQ-PARTICIPANT",
                  "partstat": PARTSTAT.get(partstat, "NEEDS-ACTION")}
        if rsvp:
            params["rsvp"] = "TRUE"
        lines.append(_address("ATTENDEE", email, name, **params))
    lines.append("END:VEVENT")
    return "".join(_fold(line) for line in lines)


def _zones(events: Iterable[EventData]) -> dict[str, list[int]]:
    """The zones the events' TZID times need, with the years they fall in."""
    zones: dict[str, list[int]] = {}
    for data in events:
        if not _needs_utc(data.start_at, data.end_at, data.timezone):
            zones.setdefault(data.timezone, []).extend((data.start_at.year, data.end_at.year))
    return zones


def _head(method: str | None, name: str | None = None) -> str:
    lines = ["BEGIN:VCALENDAR", f"PRODID:{PRODID}", "VERSION:2.0", "CALSCALE:GREGORIAN"]
    if method:
        lines.append(f"METHOD:{method}")
    if name:
        lines.append(f"X-WR-CALNAME:{_text(name)}")
    return "".join(_fold(line) for line in lines)


def _calendar(method: str | None, data: EventData, body: str) -> bytes:
    zones = "".join(vtimezone(zone, *_span(years)) for zone, years in _zones([data]).items())
    return (_head(method) + zones + body + "END:VCALENDAR\r\n").encode()


def itip(meeting: Meeting, method: str, recipient: tuple[str, str, str] | None, sequence: int,
         description_extra: str = "", attendees: Iterable[tuple[str, str, str]] = ()) -> bytes:
    """An iTIP message (RFC 5546) for one recipient: REQUEST (the recipient asked to
    reply; attendees: the others to list after them, so their calendar shows who else
    comes), CANCEL (for the attendees it cancels, no reply asked) or PUBLISH (the host's
    copy of a meeting a colleague booked: no reply asked, every attendee listed)."""
    data = EventData.of(meeting)
    people = [recipient, *attendees] if recipient else list(attendees)
    body = event_lines(data, sequence=sequence, cancelled=method == "CANCEL" or data.cancelled,
                       attendees=people, rsvp=method == "REQUEST",
                       description_extra=description_extra)
    return _calendar(method, data, body)


def single(meeting: Meeting) -> bytes:
    """A downloadable .ics of one meeting (METHOD:PUBLISH)."""
    data = EventData.of(meeting)
    return _calendar("PUBLISH", data, event_lines(data))


def stored(meeting: Meeting) -> bytes:
    """The calendar object a CalDAV server stores (RFC 4791: no METHOD)."""
    data = EventData.of(meeting)
    return _calendar(None, data, event_lines(data))


def feed_etag(events: list[EventData], name: str) -> str:
    """A validator for the feed: the same events and name give the same bytes, so a hash
    of what goes into them (not of the bytes: a 304 builds nothing)."""
    digest = hashlib.sha256(name.encode())
    for data in events:
        digest.update(_feed_event(data).encode())
    return digest.hexdigest()[:32]


@functools.lru_cache(maxsize=20000)
def _feed_event(data: EventData) -> str:
    """A feed's VEVENT: the same for the same data (DTSTAMP is the last change), so kept
    while the meeting is unchanged; a subscribed calendar asks again every few minutes."""
    return event_lines(data, dtstamp=data.updated_at or data.created_at)


def feed(events: list[EventData], name: str) -> Iterator[bytes]:
    """A subscription feed, in pieces to stream; deleted meetings appear as cancelled.

    Each DTSTAMP is the meeting's last change, so the same data gives the same bytes
    (the feed's ETag and a client's cache depend on it)."""
    yield _head("PUBLISH", name).encode()
    for zone, years in sorted(_zones(events).items()):
        yield vtimezone(zone, *_span(years)).encode()
    chunk: list[str] = []
    for data in events:
        chunk.append(_feed_event(data))
        if len(chunk) == 50:
            yield "".join(chunk).encode()
            chunk = []
    yield ("".join(chunk) + "END:VCALENDAR\r\n").encode()
