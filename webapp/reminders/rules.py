"""Reminder rules: how many, in which units, and how an offset reads (S7)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from webapp.meetings.timemath import MAX_OFFSET, reminder_due

__all__ = ["MAX_OFFSET", "MAX_REMINDERS", "UNIT_WORDS", "due_rows", "reminder_due",
           "unit_phrase"]

#: Reminders a meeting may have (and an account's defaults).
MAX_REMINDERS = 3
UNIT_WORDS = {"minutes": _l("minutes"), "hours": _l("hours"), "days": _l("days"),
              "weeks": _l("weeks")}


def unit_phrase(amount: int, unit: str) -> str:
    """"1 hour", "3 days": an offset with its plural right, in the current language."""
    phrases = {"minutes": lambda n: ngettext("%(num)d minute", "%(num)d minutes", n),
               "hours": lambda n: ngettext("%(num)d hour", "%(num)d hours", n),
               "days": lambda n: ngettext("%(num)d day", "%(num)d days", n),
               "weeks": lambda n: ngettext("%(num)d week", "%(num)d weeks", n)}
    return phrases[unit](amount)


def due_rows(meeting, pairs: list[tuple[int, str]]) -> list[dict]:
    """Column values of reminder rows (amount, unit) before the meeting, due times set."""
    return [{"amount": a, "unit": u, "sent_at": None,
             "due_at": reminder_due(meeting.start_at, a, u, meeting.timezone)}
            for a, u in pairs]
