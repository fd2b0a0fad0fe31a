"""What a connected calendar is called where busy time and Settings name it."""

from __future__ import annotations

from flask_babel import gettext as _

PROVIDER_NAMES = {"google": "Google", "microsoft": "Microsoft 365", "caldav": "CalDAV"}


def calendar_label(provider: str) -> str:
    """A provider's calendar, when its own name is not known: "Google calendar"."""
    return _("%(provider)s calendar", provider=PROVIDER_NAMES.get(provider, provider))


def named_calendar(name: str, provider: str) -> str:
    """A calendar as busy time names it: "Work (Google)"."""
    return _("%(name)s (%(provider)s)", name=name, provider=PROVIDER_NAMES.get(provider, provider))
