"""Calendar providers behind one interface: upsert/delete the meeting's event, read busy time.

Each provider takes the connection's decrypted credentials and its base URL from config, so
tests point them at local stand-ins speaking the providers' documented wire formats.
"""

from __future__ import annotations

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


class Provider(Protocol):
    #: True when the provider itself emails the attendees (Microsoft Graph).
    mails_attendees: bool

    def upsert(self, meeting, external_id: str | None) -> str: ...

    def delete(self, meeting, external_id: str | None) -> None: ...

    def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]: ...
