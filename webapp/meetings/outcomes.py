"""The account's meeting outcomes (O1, O2) as menus and labels read them.

Meetings store an outcome's key. A default outcome nobody renamed is labelled in the
viewer's language; a renamed or custom one shows its name. Retired outcomes are not
offered any more, but a meeting that has one still shows its label.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from webapp.extensions import db, read_columns
from webapp.meetings.models import MeetingOutcome

DEFAULT_LABELS = {"scheduled": _l("Scheduled"), "completed": _l("Completed"),
                  "rescheduled": _l("Rescheduled"), "no_show": _l("No show"),
                  "canceled": _l("Canceled")}
#: The same labels untranslated: a new name may not repeat a default in any language.
DEFAULT_NAMES = {"scheduled": "Scheduled", "completed": "Completed",
                 "rescheduled": "Rescheduled", "no_show": "No show", "canceled": "Canceled"}
#: New meetings start with this outcome, so it cannot be retired.
INITIAL_OUTCOME = "scheduled"


@dataclass(frozen=True)
class Outcome:
    id: int
    key: str
    label: str
    active: bool
    is_default: bool
    position: int


def label_of(row) -> str:
    """The name users see for row, in the current language for untouched defaults."""
    if row.name:
        return row.name
    return str(DEFAULT_LABELS.get(row.key, row.key))


class OutcomeCatalog:
    """An account's outcomes in order, with lookups for templates.

    `get()` and `items()` behave like the {key: label} dict templates used before
    outcomes became account data (items() lists only the outcomes still offered).
    """

    def __init__(self, rows):
        """rows: MeetingOutcome rows, or rows of their id, key, name, active, position."""
        self.all = [Outcome(r.id, r.key, label_of(r), r.active, r.key in DEFAULT_LABELS,
                            r.position) for r in rows]
        self._by_key = {o.key: o for o in self.all}

    @property
    def active(self) -> list[Outcome]:
        return [o for o in self.all if o.active]

    def label(self, key: str | None) -> str:
        """The label of key; an unknown key is shown as it is stored."""
        outcome = self._by_key.get(key or "")
        return outcome.label if outcome else (key or "")

    def options_for(self, current: str | None) -> list[Outcome]:
        """What a meeting's outcome menu offers: the active outcomes, plus its own when
        that one was retired (so the menu still shows what the meeting has)."""
        options = self.active
        if current in self._by_key and not self._by_key[current].active:
            options = [*options, self._by_key[current]]
        return options

    def is_offered(self, key: str) -> bool:
        outcome = self._by_key.get(key)
        return bool(outcome and outcome.active)

    def __contains__(self, key: str) -> bool:
        return key in self._by_key

    def get(self, key: str, default: str | None = None) -> str | None:
        outcome = self._by_key.get(key)
        return outcome.label if outcome else default

    def items(self) -> list[tuple[str, str]]:
        return [(o.key, o.label) for o in self.active]


def outcome_rows(account_id: int) -> list[MeetingOutcome]:
    """The account's outcome rows, in order (retired included)."""
    return list(db.session.scalars(sa.select(MeetingOutcome).where(
        MeetingOutcome.account_id == account_id)
        .order_by(MeetingOutcome.position, MeetingOutcome.id)))


@cache
def _catalog_statement():
    """The columns a catalog reads (no ORM entities), built once a process (#24: building
    the statement cost more than running it); bind parameter account_id."""
    return (sa.select(MeetingOutcome.id, MeetingOutcome.key, MeetingOutcome.name,
                      MeetingOutcome.active, MeetingOutcome.position)
            .where(MeetingOutcome.account_id == sa.bindparam("account_id"))
            .order_by(MeetingOutcome.position, MeetingOutcome.id))


def catalog(account_id: int) -> OutcomeCatalog:
    """The account's outcomes, one query."""
    return OutcomeCatalog(read_columns(_catalog_statement(), {"account_id": account_id}).all())
