"""Outbox relay and reminder sweep (filled by the delivery pipeline)."""


def sweep() -> None:
    """Relay pending outbox rows and queue due reminders."""
