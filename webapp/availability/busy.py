"""Busy time from a user's connected calendar, for the pages and the API (never inside a
save: a provider is called). A calendar that cannot be read is reported by name so the
caller can say busy time may be incomplete, instead of showing the user as free."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _

from webapp.availability import engine

PROVIDER_NAMES = {"google": "Google", "microsoft": "Microsoft 365", "caldav": "CalDAV"}


def calendar_label(provider: str) -> str:
    return _("%(provider)s calendar", provider=PROVIDER_NAMES.get(provider, provider))


def external_busy(user, start: datetime, end: datetime) -> tuple[list[engine.Busy], list[str]]:
    """(busy periods of the user's connected calendar, names of calendars not readable)."""
    from webapp.calendars import connections
    conn = connections.connection_for(user.id)
    if conn is None:
        return [], []
    label = calendar_label(conn.provider)
    if conn.status != "active":
        return [], [label]
    periods = connections.busy_periods(user, start, end)
    if periods is None:
        return [], [label]
    return [engine.Busy(s, e, label) for s, e in periods], []
