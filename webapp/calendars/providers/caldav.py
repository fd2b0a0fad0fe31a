"""CalDAV adapter (Nextcloud, Fastmail, iCloud, Radicale): discovery and busy time through
the `caldav` library; the event itself is PUT as a VEVENT under our UID with plain WebDAV
requests (RFC 4791), so that Parley controls what is written (its own SEQUENCE: the
library raises SEQUENCE on every save) and carries the stored ETag (If-Match).

Inbound changes (issue 23): `sync-collection` (RFC 6578) from the stored sync token; a
server without it is read by the ctag/etag fallback (getctag on the collection, then the
getetag of every member compared with the ones Parley stored)."""

from __future__ import annotations

import posixpath
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote, urljoin, urlparse
from xml.etree import ElementTree as ET

import caldav
import icalendar
import requests
from caldav.lib import error as dav_error

from webapp import outbound
from webapp.calendars.providers import (
    CalendarInfo,
    Changes,
    Conflict,
    ProviderError,
    ReconnectNeeded,
    RefusedAddress,
    RemoteEvent,
    Written,
)
from webapp.meetings import ical

TIMEOUT = 15


def _client(url: str, username: str, password: str) -> caldav.DAVClient:
    # Local servers (tests, intranets) may be plain http; the user typed the URL.
    client = caldav.DAVClient(url=url, username=username, password=password, timeout=TIMEOUT,
                              require_tls=False, enable_rfc6764=False)
    # The user typed the URL: every call, redirects included, goes through the outbound
    # guard (caldav calls session.request(), which a requests session answers alike).
    client.session.close()
    client.session = outbound.session(TIMEOUT)
    return client


def _wrap(exc: Exception) -> ProviderError:
    """A message to store and show. Never the server's words: the error of a DAV request
    carries the response body, which may be an internal service's page."""
    if isinstance(exc, outbound.RefusedDestination):
        return RefusedAddress("The CalDAV server's address is on a private or reserved "
                              "network, which Parley does not call.")
    if isinstance(exc, dav_error.AuthorizationError):
        return ReconnectNeeded("The CalDAV server refused the user name or app password.")
    if isinstance(exc, dav_error.NotFoundError):
        return ProviderError("The calendar was not found on the CalDAV server.", 404,
                             retryable=False)
    if isinstance(exc, dav_error.DAVError):
        return ProviderError(f"CalDAV error: {exc.__class__.__name__}")
    return ProviderError(f"CalDAV server unreachable: {exc.__class__.__name__}")


def discover(url: str, username: str, password: str) -> str:
    """The URL of the user's first calendar (a "Parley" calendar is made if none exists).
    Raises ReconnectNeeded for a wrong password, ProviderError when unreachable."""
    try:
        principal = _client(url, username, password).principal()
        calendars = principal.calendars()
        calendar = calendars[0] if calendars else principal.make_calendar(name="Parley")
        return str(calendar.url)
    except Exception as exc:  # the library raises many kinds; all become a clear message
        raise _wrap(exc) from exc


class CalDAVCalendar:
    mails_attendees = False

    def __init__(self, url: str, username: str, password: str, calendar_url: str):
        self.client = _client(url, username, password)
        self.calendar_url = calendar_url
        self.auth = requests.auth.HTTPBasicAuth(username, password)

    @property
    def calendar_id(self) -> str:
        """The collection as sync rows keep it (#21)."""
        return self.calendar_url

    # --- plain WebDAV: writes with If-Match, sync-collection ----------------------------

    def _dav(self, method: str, url: str, body: str | bytes = b"", headers=None,
             ok=(200, 201, 204, 207)) -> requests.Response:
        try:
            response = self.client.session.request(
                method, url, data=body, headers=headers or {}, auth=self.auth,
                timeout=TIMEOUT)
        except Exception as exc:
            raise _wrap(exc) from exc
        status = response.status_code
        if status in ok:
            return response
        if status == 401 or (status == 403 and method != "REPORT"):
            raise ReconnectNeeded("The CalDAV server refused the user name or app password.")
        if status == 412:
            raise Conflict()
        if status == 404:
            raise ProviderError("The event was not found on the CalDAV server.", 404,
                                retryable=False)
        raise ProviderError(f"CalDAV server answered {status}", status,
                            retryable=status >= 500 or status == 429)

    def _href(self, external_id: str | None, uid: str) -> str:
        if external_id:
            return urljoin(self.calendar_url, external_id)
        return self.calendar_url.rstrip("/") + "/" + quote(uid, safe="@") + ".ics"

    def write(self, meeting, external_id: str | None, etag: str | None) -> Written:
        """PUT the meeting's event as Parley has it (its own SEQUENCE). With a stored etag
        the PUT carries If-Match: a 412 (the event changed elsewhere) raises Conflict. A
        new event is PUT with If-None-Match: *. Returns the href and the new ETag."""
        href = self._href(external_id, meeting.uid)
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        if etag:
            headers["If-Match"] = etag
        elif not external_id:
            headers["If-None-Match"] = "*"
        try:
            response = self._dav("PUT", href, ical.stored(meeting), headers)
        except Conflict:
            if etag:
                raise
            # If-None-Match: an earlier try (or the old library path) made it: read it.
            return self._overwrite(meeting, href)
        new_etag = response.headers.get("ETag")
        if not new_etag:
            new_etag = self.fetch(href).etag
        return Written(_path(href), new_etag)

    def _overwrite(self, meeting, href: str) -> Written:
        """A legacy row (no stored ETag) whose event exists: read its ETag, then write."""
        current = self.fetch(href)
        if current.deleted:
            raise ProviderError("The event was not found on the CalDAV server.", 404,
                                retryable=False)
        return self.write(meeting, href, current.etag)

    def fetch(self, external_id: str) -> RemoteEvent:
        """The event as the server has it now (deleted=True when it is gone)."""
        href = urljoin(self.calendar_url, external_id)
        try:
            response = self._dav("GET", href, headers={"Accept": "text/calendar"})
        except ProviderError as exc:
            if exc.status == 404:
                return RemoteEvent(_path(href), None, deleted=True)
            raise
        return parse_event(_path(href), response.headers.get("ETag"), response.text)

    def changes(self, token: str | None, known) -> Changes:
        """What changed since `token` (sync-collection); `known` ({href path: etag} of the
        events Parley wrote, or a function returning it) serves the ctag/etag fallback."""
        body = (f'<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:" '
                f'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:sync-token>'
                f'{_xml_text(token or "")}</D:sync-token><D:sync-level>1</D:sync-level>'
                f'<D:prop><D:getetag/><C:calendar-data/></D:prop></D:sync-collection>')
        try:
            response = self._dav("REPORT", self.calendar_url, body,
                                 {"Depth": "1", "Content-Type": "application/xml"},
                                 ok=(207,))
        except ProviderError as exc:
            if exc.status in (403, 409) and token:
                # valid-sync-token precondition failed: the token expired. Start over.
                return dataclass_replace(self.changes(None, known), full=True)
            if exc.status in (400, 403, 404, 405, 501):
                return self._changes_by_etags(known)
            raise
        root = _xml(response.content)
        events = []
        for item in root.findall(f"{_D}response"):
            href = unquote(item.findtext(f"{_D}href") or "")
            status = item.findtext(f"{_D}status") or ""
            if " 404 " in status:
                events.append(RemoteEvent(_path(href), None, deleted=True))
                continue
            for propstat in item.findall(f"{_D}propstat"):
                if " 200 " not in (propstat.findtext(f"{_D}status") or ""):
                    continue
                prop = propstat.find(f"{_D}prop")
                etag = prop.findtext(f"{_D}getetag")
                data = prop.findtext(f"{_C}calendar-data")
                if data:
                    events.append(parse_event(_path(href), etag, data))
        return Changes(events, root.findtext(f"{_D}sync-token"), full=not token)

    def _changes_by_etags(self, known) -> Changes:
        """The fallback: the collection's getctag, then every member's getetag; members
        whose etag differs from the stored one are fetched, stored ones missing are
        deleted. known: {href path: etag}, or a function returning it (read only here)."""
        known = known() if callable(known) else known
        body = ('<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" '
                'xmlns:CS="http://calendarserver.org/ns/"><D:prop><D:getetag/><CS:getctag/>'
                '</D:prop></D:propfind>')
        response = self._dav("PROPFIND", self.calendar_url, body,
                             {"Depth": "1", "Content-Type": "application/xml"}, ok=(207,))
        root = _xml(response.content)
        ctag, present, events = None, {}, []
        own = _path(self.calendar_url).rstrip("/")
        for item in root.findall(f"{_D}response"):
            href = _path(unquote(item.findtext(f"{_D}href") or ""))
            prop = item.find(f"{_D}propstat/{_D}prop")
            if prop is None:
                continue
            if href.rstrip("/") == own:
                ctag = prop.findtext("{http://calendarserver.org/ns/}getctag")
                continue
            present[href] = prop.findtext(f"{_D}getetag")
        for href, etag in known.items():
            if href not in present:
                events.append(RemoteEvent(href, None, deleted=True))
            elif present[href] != etag:
                events.append(self.fetch(href))
        return Changes(events, None, ctag=ctag)

    def upsert(self, meeting, external_id: str | None) -> str:
        return self.write(meeting, external_id, None).id

    def delete(self, meeting, external_id: str | None) -> None:
        """DELETE the meeting's event; one already gone is fine."""
        self._dav("DELETE", self._href(external_id, meeting.uid), ok=(200, 204, 404))

    def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        return [(s, e) for s, e, _title in self._busy_of(self.calendar_url, start, end)]

    def busy_in(self, start: datetime, end: datetime, calendar_ids: list[str],
                default_id: str | None = None) -> dict[str, list | None]:
        """A calendar-query with a time-range per selected calendar (its events,
        recurrences expanded by the server), so that Parley decides what is busy: not a
        cancelled event, not a transparent one, and an all-day event only when it is
        marked busy (TRANSP:OPAQUE), as the other providers show all-day events as free
        unless marked busy. (The free-busy REPORT would count every all-day event.)"""
        out: dict[str, list | None] = {}
        for url in calendar_ids:
            try:
                out[url] = self._busy_of(url, start, end)
            except ReconnectNeeded:
                raise
            except ProviderError:
                if len(calendar_ids) == 1:
                    raise
                out[url] = None
        if calendar_ids and all(v is None for v in out.values()):
            raise ProviderError("The CalDAV server did not answer for any calendar.")
        return out

    def _busy_of(self, url: str, start: datetime, end: datetime) -> list:
        lo, hi = _dav_time(start), _dav_time(end)
        body = (f'<?xml version="1.0" encoding="utf-8"?><C:calendar-query xmlns:D="DAV:" '
                f'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data>'
                f'<C:expand start="{lo}" end="{hi}"/></C:calendar-data></D:prop>'
                f'<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
                f'<C:time-range start="{lo}" end="{hi}"/></C:comp-filter></C:comp-filter>'
                f'</C:filter></C:calendar-query>')
        response = self._dav("REPORT", url, body,
                             {"Depth": "1", "Content-Type": "application/xml"}, ok=(207,))
        out = []
        for data in _xml(response.content).iter(f"{_C}calendar-data"):
            if data.text:
                out += busy_periods_of(data.text, start, end)
        return out

    def calendars(self) -> list[CalendarInfo]:
        """PROPFIND (Depth 1) of the user's calendar home: its collections that are
        calendars holding events, with their display names, and whether the user may
        write to them (RFC 3744 DAV:current-user-privilege-set: a collection granting
        neither DAV:all, DAV:write nor DAV:write-content is read-only; a server that does
        not report the set is taken at its word that the calendar is the user's)."""
        try:
            home = str(self.client.principal().calendar_home_set.url)
        except Exception as exc:
            raise _wrap(exc) from exc
        body = ('<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" '
                'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:resourcetype/>'
                '<D:displayname/><C:supported-calendar-component-set/>'
                '<D:current-user-privilege-set/></D:prop></D:propfind>')
        response = self._dav("PROPFIND", home, body,
                             {"Depth": "1", "Content-Type": "application/xml"}, ok=(207,))
        out = []
        for item in _xml(response.content).findall(f"{_D}response"):
            prop = _found_props(item)
            if prop is None or prop.find(f"{_D}resourcetype/{_C}calendar") is None:
                continue
            components = prop.find(f"{_C}supported-calendar-component-set")
            if components is not None and len(components) and not any(
                    c.get("name") == "VEVENT" for c in components):
                continue  # a task list
            url = urljoin(home, item.findtext(f"{_D}href") or "")
            name = (prop.findtext(f"{_D}displayname") or "").strip() or \
                posixpath.basename(urlparse(url).path.rstrip("/"))
            privileges = prop.find(f"{_D}current-user-privilege-set")
            granted = set() if privileges is None else {
                child.tag for held in privileges.findall(f"{_D}privilege") for child in held}
            read_only = privileges is not None and not granted & WRITE_PRIVILEGES
            out.append(CalendarInfo(url, name[:255], read_only=read_only))
        return out


#: Privileges that let the user add events to a collection (RFC 3744 section 3).
WRITE_PRIVILEGES = frozenset({"{DAV:}all", "{DAV:}write", "{DAV:}write-content"})


def _found_props(item: ET.Element) -> ET.Element | None:
    """The properties a PROPFIND response found (its 200 propstats, merged): the others
    (404, 403) are properties the server does not have or show."""
    merged = None
    for propstat in item.findall(f"{_D}propstat"):
        status = propstat.findtext(f"{_D}status") or " 200 "
        prop = propstat.find(f"{_D}prop")
        if " 200 " not in status or prop is None:
            continue
        if merged is None:
            merged = prop
        else:
            merged.extend(list(prop))
    return merged


def _dav_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def busy_periods_of(data: str, start: datetime, end: datetime) -> list:
    """The busy periods of one calendar object's events within [start, end)."""
    try:
        cal = icalendar.Calendar.from_ical(data)
    except ValueError:
        return []
    out = []
    for component in cal.walk("VEVENT"):
        if str(component.get("STATUS", "")).upper() == "CANCELLED":
            continue
        transp = str(component.get("TRANSP", "")).upper()
        dtstart = component.decoded("DTSTART")
        all_day = not isinstance(dtstart, datetime)
        if transp == "TRANSPARENT" or (all_day and transp != "OPAQUE"):
            continue
        lo = _utc(dtstart)
        if component.get("DTEND") is not None:
            hi = _utc(component.decoded("DTEND"))
        elif component.get("DURATION") is not None:
            hi = lo + component.decoded("DURATION")
        else:
            hi = lo + (timedelta(days=1) if all_day else timedelta(0))
        if lo < end and hi > start and lo < hi:
            out.append((lo, hi, str(component.get("SUMMARY", "")) or None))
    return out


_D = "{DAV:}"
_C = "{urn:ietf:params:xml:ns:caldav}"


def dataclass_replace(obj, **changes):
    import dataclasses
    return dataclasses.replace(obj, **changes)


def _xml(content: bytes):
    try:
        return ET.fromstring(content)
    except ET.ParseError as exc:
        raise ProviderError("The CalDAV server sent malformed XML.") from exc


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _path(href: str) -> str:
    """An href as a path (servers answer paths; the library stores full URLs)."""
    return posixpath.normpath(unquote(urlparse(href).path)) if href else href


def parse_event(href: str, etag: str | None, data: str) -> RemoteEvent:
    """The fields Parley takes in from a calendar object (its first VEVENT without a
    RECURRENCE-ID); STATUS:CANCELLED counts as deleted."""
    try:
        cal = icalendar.Calendar.from_ical(data)
    except ValueError as exc:
        raise ProviderError("The CalDAV server sent an unreadable event.") from exc
    for component in cal.walk("VEVENT"):
        if component.get("RECURRENCE-ID") is not None:
            continue
        uid = str(component.get("UID", "")) or None
        if str(component.get("STATUS", "")).upper() == "CANCELLED":
            return RemoteEvent(href, etag, uid=uid, deleted=True)
        start = _utc(component.decoded("DTSTART"))
        if component.get("DTEND") is not None:
            end = _utc(component.decoded("DTEND"))
        else:
            end = start + component.decoded("DURATION") if component.get("DURATION") \
                else start
        modified = component.get("LAST-MODIFIED") or component.get("DTSTAMP")
        seq = component.get("SEQUENCE")
        return RemoteEvent(
            href, etag, uid=uid, start=start, end=end, title=str(component.get("SUMMARY", "")),
            location=str(component.get("LOCATION", "")),
            description=str(component.get("DESCRIPTION", "")),
            modified=_utc(modified.dt) if modified is not None else None,
            sequence=int(seq) if seq is not None else None)
    return RemoteEvent(href, etag, deleted=True)


def _utc(value) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)
