"""Account settings (admins): time zone, meeting types (S4), default reminders (S7),
snippets (S9) and outcomes (O2).

Every action checks its input first and raises SettingError before it changes anything;
otherwise it changes state and flushes, and the caller commits.
"""

from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from webapp.auth.models import Account
from webapp.extensions import db
from webapp.meetings.models import (
    REMINDER_UNITS,
    Meeting,
    MeetingOutcome,
    MeetingType,
    Snippet,
)
from webapp.meetings.outcomes import DEFAULT_NAMES, INITIAL_OUTCOME, label_of, outcome_rows
from webapp.meetings.timemath import MAX_OFFSET
from webapp.richtext import MAX_LENGTH, sanitize
from webapp.validation import canonical_timezone, is_valid_timezone

NAME_MAX = 80
MAX_TYPES = 50
MAX_OUTCOMES = 30
MAX_SNIPPETS = 100
MAX_DEFAULT_REMINDERS = 3
UNIT_MINUTES = {"minutes": 1, "hours": 60, "days": 1440, "weeks": 10080}


class SettingError(ValueError):
    """Input an admin must correct; `field` names the form field the message belongs to."""

    def __init__(self, field: str, message):
        super().__init__(str(message))
        self.field = field
        self.message = str(message)


def _same(name: str) -> str:
    """Names compare without case, accents' composition or repeated spaces."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def clean_name(name: str | None, field: str = "name") -> str:
    """The trimmed name, or SettingError when it is empty or too long."""
    name = " ".join((name or "").split())
    if not name:
        raise SettingError(field, _l("Enter a name."))
    if len(name) > NAME_MAX:
        raise SettingError(field, _l("Keep the name under %(num)d characters.", num=NAME_MAX))
    return name


# --- time zone ---------------------------------------------------------------------------

def set_timezone(account: Account, zone: str | None) -> None:
    """The zone for people and contacts without one of their own (S8)."""
    if not is_valid_timezone(zone):
        raise SettingError("timezone", _l("Choose a time zone from the list."))
    account.timezone = canonical_timezone(zone)
    db.session.flush()


# --- meeting types (S4) ------------------------------------------------------------------

def meeting_types(account_id: int) -> list[MeetingType]:
    """All the account's types, offered ones first, then by name."""
    return list(db.session.scalars(sa.select(MeetingType).where(
        MeetingType.account_id == account_id)
        .order_by(MeetingType.active.desc(), MeetingType.name)))


def get_meeting_type(account_id: int, type_id: int) -> MeetingType | None:
    return db.session.scalar(sa.select(MeetingType).where(
        MeetingType.id == type_id, MeetingType.account_id == account_id))


def set_custom_types(account: Account, enabled: bool) -> None:
    """Show or hide the meeting-type menu in the scheduler."""
    account.custom_meeting_types_enabled = enabled
    db.session.flush()


def _check_type_name(account_id: int, name: str | None, keep: MeetingType | None = None) -> str:
    name = clean_name(name)
    for other in meeting_types(account_id):
        if other is not keep and _same(other.name) == _same(name):
            raise SettingError("name", _l(
                "There is already a meeting type named “%(name)s”%(retired)s.", name=other.name,
                retired=_l(" (retired)") if not other.active else ""))
    return name


def add_meeting_type(account_id: int, name: str | None) -> MeetingType:
    name = _check_type_name(account_id, name)
    if len(meeting_types(account_id)) >= MAX_TYPES:
        raise SettingError("name", _l("An account can have at most %(num)d meeting types.",
                                      num=MAX_TYPES))
    row = MeetingType(account_id=account_id, name=name, active=True)
    db.session.add(row)
    db.session.flush()
    return row


def rename_meeting_type(row: MeetingType, name: str | None) -> None:
    """Old meetings show the new name too: they point at the type, not at its name."""
    row.name = _check_type_name(row.account_id, name, keep=row)
    db.session.flush()


def set_meeting_type_active(row: MeetingType, active: bool) -> None:
    """Retire (no longer offered, still shown on its meetings) or offer again."""
    row.active = active
    db.session.flush()


def meetings_using_type(row: MeetingType) -> int:
    # Deleted meetings count too: their rows still point at the type.
    return db.session.scalar(sa.select(sa.func.count(Meeting.id)).where(
        Meeting.account_id == row.account_id, Meeting.meeting_type_id == row.id))


def type_usage(account_id: int) -> dict[int, int]:
    """{type id: number of meetings with that type}, deleted meetings included."""
    return dict(db.session.execute(
        sa.select(Meeting.meeting_type_id, sa.func.count(Meeting.id))
        .where(Meeting.account_id == account_id, Meeting.meeting_type_id.is_not(None))
        .group_by(Meeting.meeting_type_id)).all())


def delete_meeting_type(row: MeetingType) -> None:
    """Only a type no meeting uses can be deleted; the others can be retired."""
    used = meetings_using_type(row)
    if used:
        raise SettingError("delete", _l(
            "“%(name)s” is used by %(num)d meeting(s), so it cannot be deleted. Retire it "
            "instead: it stays on those meetings but is no longer offered.",
            name=row.name, num=used))
    db.session.delete(row)
    db.session.flush()


# --- default reminders (S7) ---------------------------------------------------------------

def set_reminder_defaults(account: Account, enabled: bool,
                          offsets: list[tuple[int | None, str]]) -> None:
    """New meetings start with `offsets` when `enabled`. At most three, each a whole
    number of minutes, hours, days or weeks (up to a year), no two at the same time."""
    if len(offsets) > MAX_DEFAULT_REMINDERS:
        raise SettingError("reminders", _l("You can add at most three reminders."))
    seen: set[int] = set()
    for amount, unit in offsets:
        if unit not in REMINDER_UNITS:
            raise SettingError("reminders", _l("Choose minutes, hours, days or weeks."))
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise SettingError("reminders", _l("A reminder needs a whole number above zero."))
        if amount > MAX_OFFSET[unit]:
            raise SettingError("reminders",
                               _l("A reminder can be at most a year before the meeting."))
        minutes = amount * UNIT_MINUTES[unit]
        if minutes in seen:
            raise SettingError("reminders", _l("Two reminders fall at the same time."))
        seen.add(minutes)
    if enabled and not offsets:
        raise SettingError("reminders", _l(
            "Add at least one reminder, or turn default reminders off."))
    account.reminders_default_on = enabled
    account.default_reminders = [[amount, unit] for amount, unit in offsets]
    db.session.flush()


# --- snippets (S9) ------------------------------------------------------------------------

def snippets(account_id: int) -> list[Snippet]:
    return list(db.session.scalars(sa.select(Snippet).where(Snippet.account_id == account_id)
                                   .order_by(Snippet.name, Snippet.id)))


def get_snippet(account_id: int, snippet_id: int) -> Snippet | None:
    return db.session.scalar(sa.select(Snippet).where(
        Snippet.id == snippet_id, Snippet.account_id == account_id))


def _check_snippet(account_id: int, name: str | None, body: str | None,
                   keep: Snippet | None = None) -> tuple[str, str]:
    name = clean_name(name)
    for other in snippets(account_id):
        if other is not keep and _same(other.name) == _same(name):
            raise SettingError("name", _l("There is already a snippet named “%(name)s”.",
                                          name=other.name))
    if len(body or "") > MAX_LENGTH:
        raise SettingError("body_html",
                           _l("This text is too long (at most 20,000 characters)."))
    html = sanitize(body)
    if not re.sub(r"<[^>]+>|&nbsp;|\s", "", html):
        raise SettingError("body_html", _l("Enter the text of the snippet."))
    return name, html


def add_snippet(account_id: int, name: str | None, body: str | None) -> Snippet:
    name, html = _check_snippet(account_id, name, body)
    if len(snippets(account_id)) >= MAX_SNIPPETS:
        raise SettingError("name", _l("An account can have at most %(num)d snippets.",
                                      num=MAX_SNIPPETS))
    row = Snippet(account_id=account_id, name=name, body_html=html)
    db.session.add(row)
    db.session.flush()
    return row


def update_snippet(row: Snippet, name: str | None, body: str | None) -> None:
    row.name, row.body_html = _check_snippet(row.account_id, name, body, keep=row)
    db.session.flush()


def delete_snippet(row: Snippet) -> None:
    """Text already inserted into meetings stays there: a snippet is copied, not linked."""
    db.session.delete(row)
    db.session.flush()


# --- outcomes (O1, O2) --------------------------------------------------------------------

def get_outcome(account_id: int, outcome_id: int) -> MeetingOutcome | None:
    return db.session.scalar(sa.select(MeetingOutcome).where(
        MeetingOutcome.id == outcome_id, MeetingOutcome.account_id == account_id))


def outcome_usage(account_id: int) -> dict[str, int]:
    """{outcome key: number of meetings (not deleted) with that outcome}."""
    return dict(db.session.execute(
        sa.select(Meeting.outcome, sa.func.count(Meeting.id))
        .where(Meeting.account_id == account_id, Meeting.deleted_at.is_(None))
        .group_by(Meeting.outcome)).all())


def _check_outcome_name(rows: list[MeetingOutcome], name: str | None,
                        keep: MeetingOutcome | None = None) -> str:
    name = clean_name(name)
    for other in rows:
        if other is keep:
            continue
        taken = {_same(label_of(other))}
        if not other.name and other.key in DEFAULT_NAMES:
            taken.add(_same(DEFAULT_NAMES[other.key]))
        if _same(name) in taken:
            raise SettingError("name", _l(
                "There is already an outcome named “%(name)s”%(retired)s.",
                name=label_of(other), retired=_l(" (retired)") if not other.active else ""))
    return name


def _new_key(rows: list[MeetingOutcome], name: str) -> str:
    """A readable, stable key for the API: the name in lower-case ASCII, made unique."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")[:30] or "outcome"
    taken = {r.key for r in rows}
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def add_outcome(account_id: int, name: str | None) -> MeetingOutcome:
    """A custom outcome at the end of the list."""
    rows = outcome_rows(account_id)
    name = _check_outcome_name(rows, name)
    if len(rows) >= MAX_OUTCOMES:
        raise SettingError("name", _l("An account can have at most %(num)d outcomes.",
                                      num=MAX_OUTCOMES))
    row = MeetingOutcome(account_id=account_id, key=_new_key(rows, name), name=name,
                         position=max((r.position for r in rows), default=-1) + 1, active=True)
    db.session.add(row)
    db.session.flush()
    return row


def rename_outcome(row: MeetingOutcome, name: str | None) -> None:
    """Meetings keep the key, so the new name shows on old meetings too."""
    rows = outcome_rows(row.account_id)
    name = _check_outcome_name(rows, name, keep=row)
    if row.key in DEFAULT_NAMES and name == label_of(row) and not row.name:
        return  # saved unchanged: it stays translated
    row.name = name
    db.session.flush()


def move_outcome(row: MeetingOutcome, step: int) -> None:
    """Move one place up (step -1) or down (+1); at either end nothing changes."""
    rows = outcome_rows(row.account_id)
    index = rows.index(row)
    other = index + (1 if step > 0 else -1)
    if not 0 <= other < len(rows):
        return
    rows[index], rows[other] = rows[other], rows[index]
    for position, item in enumerate(rows):
        item.position = position
    db.session.flush()


def set_outcome_active(row: MeetingOutcome, active: bool) -> None:
    """Retire (no longer offered; meetings that have it still show it) or offer again."""
    if not active and row.key == INITIAL_OUTCOME:
        raise SettingError("active", _l(
            "“%(name)s” is the outcome every new meeting starts with, so it cannot be "
            "retired. You can rename it.", name=label_of(row)))
    row.active = active
    db.session.flush()
