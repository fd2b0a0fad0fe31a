"""Mentions and notifications (request side: flush only): who an internal note
@mentions, and the in-app notification. The email that tells them is job side
(webapp.notifications.emails): the caller commits, then enqueues
`worker.jobs.send_notification_email` with the ids of what `notify_mentions` returns.
"""

from __future__ import annotations

import logging
import re
from functools import cache

import sqlalchemy as sa
from flask_babel import ngettext

from webapp.auth.models import User
from webapp.extensions import db, read_columns
from webapp.notifications.models import Notification
from webapp.richtext import to_text
from webapp.types import utcnow

log = logging.getLogger(__name__)

def account_users(account_id: int) -> list[User]:
    return list(db.session.scalars(sa.select(User).where(User.account_id == account_id)
                                   .order_by(User.name, User.id)))


#: What a mention looks like: "@" at the start of a word, then a letter.
MENTION_WORD = re.compile(r"(?<![\w@])@([^\W\d_][\w.'’-]*)")


def _mention_spans(account_id: int, text: str) -> list[tuple[int, int, User]]:
    """Where users of the account are named as "@Full Name" in text (longest names first,
    so "@Dana Demo" is not also read as "@Dana"); in the order they appear."""
    spans: list[tuple[int, int, User]] = []
    for user in sorted(account_users(account_id), key=lambda u: -len(u.name)):
        pattern = re.compile("@" + re.escape(user.name) + r"(?![\w])", re.IGNORECASE)
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(a < end and start < b for a, b, _u in spans):
                continue  # part of a longer name already matched
            spans.append((start, end, user))
    return sorted(spans, key=lambda span: span[0])


def mentioned_users(account_id: int, note_html: str | None) -> list[User]:
    """Users of the account named as "@Full Name" in the note, in order of first mention.

    Longer names are matched first, so "@Dana Demo" is not also read as "@Dana".
    """
    text = to_text(note_html)
    if "@" not in text:
        return []
    found: dict[int, User] = {}
    for _start, _end, user in _mention_spans(account_id, text):
        found.setdefault(user.id, user)
    return list(found.values())


def unknown_mentions(account_id: int, note_html: str | None) -> list[str]:
    """Words written as mentions ("@Alexis") that start no user's name of the account:
    nobody would be notified for them. Email addresses and a lone "@" are not mentions."""
    text = to_text(note_html)
    if "@" not in text:
        return []
    known = {start for start, _end, _user in _mention_spans(account_id, text)}
    words: list[str] = []
    for match in MENTION_WORD.finditer(text):
        word = "@" + match.group(1).rstrip(".'’-")
        if match.start() not in known and word not in words:
            words.append(word)
    return words


def check_mentions(account_id: int, note_html: str | None, meeting, errors: dict) -> None:
    """Add an error at the internal note for @words that name no teammate (nobody would be
    notified), except those the meeting's note already had: a name that left the account
    must not block every later edit. Used by the desktop scheduler and the phone flow."""
    before = set(unknown_mentions(account_id, meeting.internal_note_html)) \
        if meeting is not None else set()
    unknown = [w for w in unknown_mentions(account_id, note_html) if w not in before]
    if unknown:
        errors.setdefault("internal_note_html", []).append(ngettext(
            "No teammate is called %(names)s: nobody would be notified. Choose a name from "
            "the suggestions, or remove the @.",
            "No teammates are called %(names)s: nobody would be notified. Choose names from "
            "the suggestions, or remove the @.", len(unknown), names=", ".join(unknown)))


def notify_mentions(meeting, actor: User, before_html: str | None = None) -> list[Notification]:
    """Notify users newly mentioned in the meeting's internal note (not the writer, not
    users already mentioned before this change). Returns the new notifications."""
    before = {u.id for u in mentioned_users(meeting.account_id, before_html)}
    rows = [Notification(account_id=meeting.account_id, user=user, actor_id=actor.id,
                         meeting_id=meeting.id, kind="mention")
            for user in mentioned_users(meeting.account_id, meeting.internal_note_html)
            if user.id not in before and user.id != actor.id]
    db.session.add_all(rows)
    db.session.flush()
    return rows


def notify_calendar_failing(account_id: int, user_id: int, state_id: int) -> Notification:
    """Tell the user that their connected calendar keeps failing to sync (issue 23).
    Shown under the bell only: no email (the mail may be what is failing)."""
    row = Notification(account_id=account_id, user_id=user_id, kind="calendar_sync",
                       email_status="skipped")
    db.session.add(row)
    db.session.flush()
    return row


def search_users(account_id: int, q: str, limit: int = 8) -> list[User]:
    """Users of the account whose name or email contains q (the @mention type-ahead)."""
    needle = q.strip().lower()
    if not needle:
        return []
    return list(db.session.scalars(sa.select(User).where(
        User.account_id == account_id,
        sa.or_(sa.func.lower(User.name).contains(needle, autoescape=True),
               sa.func.lower(User.email).contains(needle, autoescape=True)))
        .order_by(User.name).limit(limit)))


# --- the bell and the list --------------------------------------------------------------

def _mine(user: User):
    return sa.select(Notification).where(Notification.account_id == user.account_id,
                                         Notification.user_id == user.id)


@cache
def _unread_statement():
    """Built once a process (every page's bell runs it, #24); bind parameters account_id
    and user_id."""
    return sa.select(sa.func.count(Notification.id)).where(
        Notification.account_id == sa.bindparam("account_id"),
        Notification.user_id == sa.bindparam("user_id"), Notification.read_at.is_(None))


def unread_count(user: User) -> int:
    return read_columns(_unread_statement(),
                        {"account_id": user.account_id, "user_id": user.id}).scalar()


def for_user(user: User, limit: int = 50) -> list[Notification]:
    """The user's notifications, newest first, with meeting and actor loaded."""
    stmt = (_mine(user).order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit).options(sa.orm.joinedload(Notification.meeting),
                                  sa.orm.joinedload(Notification.actor)))
    return list(db.session.scalars(stmt).unique())


def get_for_user(user: User, notification_id: int) -> Notification | None:
    """The notification if it is this user's (same account, same user), else None."""
    return db.session.scalar(_mine(user).where(Notification.id == notification_id))


def mark_read(notification: Notification) -> None:
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.flush()


def mark_all_read(user: User) -> int:
    result = db.session.execute(sa.update(Notification).where(
        Notification.account_id == user.account_id, Notification.user_id == user.id,
        Notification.read_at.is_(None)).values(read_at=utcnow()))
    db.session.flush()
    return result.rowcount
