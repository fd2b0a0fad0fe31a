"""What a conferencing provider call can fail with."""

from __future__ import annotations


class ConferenceError(Exception):
    """A provider call failed. retryable: a job tries again later (after retry_after)."""

    def __init__(self, message, retryable: bool = True, retry_after: float | None = None,
                 status: int | None = None):
        super().__init__(str(message))
        self.retryable, self.retry_after, self.status = retryable, retry_after, status


class AuthExpired(ConferenceError):
    """401 from Zoom: refresh the token once and try again."""


class EmailMismatch(ConferenceError):
    """S16: the conferencing account belongs to another address."""

    def __init__(self, message):
        super().__init__(message, retryable=False)


class ConferenceRefused(ValueError):
    """At save time the provider gave an answer Parley cannot use: nothing is saved."""
