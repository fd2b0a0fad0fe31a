"""Calendar providers behind one interface: upsert/delete the meeting's event, read busy time.

Each provider takes the connection's decrypted credentials and its base URL from config, so
tests point them at local stand-ins speaking the providers' documented wire formats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class ProviderError(Exception):
    """A provider call failed. retryable: try again later (after retry_after seconds)."""

    def __init__(self, message: str, status: int | None = None, retryable: bool = True,
                 retry_after: float | None = None):
        super().__init__(message)
        self.status, self.retryable, self.retry_after = status, retryable, retry_after


class AuthExpired(ProviderError):
    """401: the access token is no longer accepted; refresh once and retry."""


class ReconnectNeeded(ProviderError):
    """The grant or password is refused for good: the user must connect again."""

    def __init__(self, message: str):
        super().__init__(message, retryable=False)


class RefusedAddress(ProviderError):
    """The server's address is private or reserved and not allowed (webapp/outbound.py)."""

    def __init__(self, message: str):
        super().__init__(message, retryable=False)


class Conflict(ProviderError):
    """412: the event changed on the server since Parley last read it (If-Match refused):
    the server's change is taken in first, then Parley decides (webapp.calendars.inbound)."""

    def __init__(self, message: str = "The event changed in the calendar since Parley "
                 "last read it."):
        super().__init__(message, 412, retryable=True)


@dataclass
class Written:
    """What a write left on the server: the event's id (href) and its new version."""

    id: str
    etag: str | None = None


@dataclass
class RemoteEvent:
    """One event as an inbound sync sees it. deleted: gone from the calendar (or
    cancelled there); fields are None then."""

    id: str
    etag: str | None
    uid: str | None = None
    deleted: bool = False
    start: datetime | None = None
    end: datetime | None = None
    title: str | None = None
    location: str | None = None
    description: str | None = None
    #: When the calendar last changed it (LAST-MODIFIED, updated, lastModifiedDateTime).
    modified: datetime | None = None
    #: Its SEQUENCE, when the provider keeps one.
    sequence: int | None = None


@dataclass
class Changes:
    """What changed in a calendar since the last sync token. full: the token was
    refused (410, invalid) or there was none, so `events` is the whole calendar."""

    events: list[RemoteEvent] = field(default_factory=list)
    token: str | None = None
    full: bool = False
    #: CalDAV getctag, when the ctag/etag fallback was used.
    ctag: str | None = None


@dataclass
class CalendarInfo:
    """One calendar of a connected account, as its provider lists it (#21)."""

    id: str
    name: str
    primary: bool = False
    read_only: bool = False


#: A busy period of one calendar: (start, end, title or None), UTC.
Period = tuple[datetime, datetime, str | None]


class Provider(Protocol):
    #: True when the provider itself emails the attendees (Microsoft Graph).
    mails_attendees: bool

    def upsert(self, meeting, external_id: str | None) -> str: ...

    def delete(self, meeting, external_id: str | None) -> None: ...

    def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]: ...

    def busy_in(self, start: datetime, end: datetime, calendar_ids: list[str],
                default_id: str | None = None) -> dict[str, list[Period] | None]:
        """Busy periods of each calendar; None for a calendar that could not be read.
        Raises ProviderError when none could. default_id: the account's default calendar
        (Graph reads it with getSchedule)."""
        ...

    def calendars(self) -> list[CalendarInfo]: ...

    def write(self, meeting, external_id: str | None, etag: str | None) -> Written: ...

    #: known: a function returning {event id: stored version} of every event Parley wrote,
    #: called only by a fallback that must compare them all (CalDAV without sync-collection).
    def changes(self, token: str | None, known) -> Changes: ...

    def fetch(self, external_id: str) -> RemoteEvent: ...
