"""CalDAV adapter (Nextcloud, Fastmail, iCloud, Radicale) through the `caldav` library:
the event is PUT as a VEVENT under our UID; busy time from a free-busy REPORT."""

from __future__ import annotations

from datetime import UTC, datetime

import caldav
import icalendar
from caldav.lib import error as dav_error

from webapp import outbound
from webapp.calendars.providers import ProviderError, ReconnectNeeded, RefusedAddress
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

    def _calendar(self):
        return self.client.calendar(url=self.calendar_url)

    def upsert(self, meeting, external_id: str | None) -> str:
        data = ical.stored(meeting)
        try:
            calendar = self._calendar()
            try:
                event = calendar.event_by_uid(meeting.uid)
            except dav_error.NotFoundError:
                event = None
            if event is None:
                event = calendar.add_event(data.decode())
            else:
                event.data = data.decode()
                event.save()
            return str(event.url)
        except ProviderError:
            raise
        except Exception as exc:
            raise _wrap(exc) from exc

    def delete(self, meeting, external_id: str | None) -> None:
        try:
            self._calendar().event_by_uid(meeting.uid).delete()
        except dav_error.NotFoundError:
            return
        except Exception as exc:
            raise _wrap(exc) from exc

    def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        try:
            calendar = self._calendar()
            try:
                response = calendar.freebusy_request(start, end)
                return _periods(response.data if hasattr(response, "data") else str(response))
            except dav_error.DAVError:
                # Servers without the free-busy REPORT: derive busy time from the events.
                busy = []
                for event in calendar.search(start=start, end=end, event=True, expand=True):
                    for component in icalendar.Calendar.from_ical(event.data).walk("VEVENT"):
                        if str(component.get("TRANSP", "OPAQUE")) == "TRANSPARENT":
                            continue
                        busy.append((_utc(component.decoded("DTSTART")),
                                     _utc(component.decoded("DTEND"))))
                return busy
        except ProviderError:
            raise
        except Exception as exc:
            raise _wrap(exc) from exc


def _utc(value) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _periods(data: str) -> list[tuple[datetime, datetime]]:
    out = []
    for component in icalendar.Calendar.from_ical(data).walk("VFREEBUSY"):
        values = component.get("FREEBUSY") or []
        for prop in values if isinstance(values, list) else [values]:
            if str(prop.params.get("FBTYPE", "BUSY")).upper() == "FREE":
                continue
            for period in prop.dts if hasattr(prop, "dts") else [prop]:
                start, end = period.dt if hasattr(period, "dt") else period
                if not isinstance(end, datetime):
                    end = start + end
                out.append((_utc(start), _utc(end)))
    return out
