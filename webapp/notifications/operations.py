"""Mentions and notifications: who an internal note @mentions, the in-app notification,
and the email that tells them (claimed before sending, so a job that runs twice sends once).

Operations change state and flush; the caller commits, then enqueues
`worker.jobs.send_notification_email` with the ids from `notify_mentions`.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _

from webapp.auth.models import User
from webapp.extensions import db
from webapp.notifications.models import Notification
from webapp.richtext import to_text
from webapp.types import utcnow

log = logging.getLogger(__name__)

#: How much of the internal note a mention email quotes.
EXCERPT_CHARS = 300


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


def notify_mentions(meeting, actor: User, before_html: str | None = None) -> list[int]:
    """Notify users newly mentioned in the meeting's internal note (not the writer, not
    users already mentioned before this change). Returns the new notification ids."""
    before = {u.id for u in mentioned_users(meeting.account_id, before_html)}
    rows = [Notification(account_id=meeting.account_id, user_id=user.id, actor_id=actor.id,
                         meeting_id=meeting.id, kind="mention")
            for user in mentioned_users(meeting.account_id, meeting.internal_note_html)
            if user.id not in before and user.id != actor.id]
    db.session.add_all(rows)
    db.session.flush()
    return [row.id for row in rows]


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


def unread_count(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.account_id == user.account_id, Notification.user_id == user.id,
        Notification.read_at.is_(None)))


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


# --- the email --------------------------------------------------------------------------

def _claim(notification_id: int) -> bool:
    """One conditional UPDATE: only one worker takes the email; a dead worker's claim
    lapses after SEND_LEASE_SECONDS."""
    now = utcnow()
    lease = timedelta(seconds=current_app.config["SEND_LEASE_SECONDS"])
    result = db.session.execute(
        sa.update(Notification)
        .where(Notification.id == notification_id, sa.or_(
            sa.and_(Notification.email_status == "pending",
                    Notification.email_next_attempt_at <= now),
            sa.and_(Notification.email_status == "sending",
                    Notification.email_claimed_at < now - lease)))
        .values(email_status="sending", email_claimed_at=now,
                email_attempts=Notification.email_attempts + 1)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount == 1


def build_email(notification: Notification) -> EmailMessage:
    """The mention email, in the recipient's language; times in their zone."""
    from webapp.delivery.messages import _address, when_text

    user, meeting = notification.user, notification.meeting
    base = current_app.config["BASE_URL"]
    actor_name = notification.actor.name if notification.actor else "Parley"
    excerpt = to_text(meeting.internal_note_html)
    if len(excerpt) > EXCERPT_CHARS:
        excerpt = excerpt[:EXCERPT_CHARS].rstrip() + "…"
    with force_locale(user.locale or "en"):
        when = when_text(meeting, user.zone, user.locale or "en")
        context = {"actor_name": actor_name, "meeting": meeting, "when": when,
                   "zone": user.zone, "excerpt": excerpt,
                   "url": f"{base}/meetings/{meeting.id}", "user": user}
        subject = _("%(name)s mentioned you in %(title)s", name=actor_name,
                    title=meeting.title)
        text = render_template("emails/mention.txt", **context)
        html = render_template("emails/mention.html", **context)
    msg = EmailMessage()
    _from_name, from_addr = parseaddr(current_app.config["MAIL_FROM"])
    msg["From"] = _address("Parley", from_addr)
    msg["To"] = _address(user.name, user.email)
    msg["Subject"] = " ".join(subject.split())
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = f"<notification-{notification.id}@parley>"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def send_email(notification_id: int) -> str:
    """Send one notification's email if it can be claimed. Returns its final status, or
    "not-claimed" when another worker has it, it is done, or the row is gone."""
    from webapp.delivery.operations import backoff
    from webapp.mail.transport import PermanentMailError, TemporaryMailError, send

    if not _claim(notification_id):
        return "not-claimed"
    row = db.session.get(Notification, notification_id)
    if row.meeting.deleted_at is not None:
        row.email_status, row.email_error = "skipped", "The meeting was deleted."
        db.session.commit()
        return row.email_status
    try:
        send(build_email(row), row.account_id)
    except PermanentMailError as exc:
        row.email_status, row.email_error = "failed", f"Refused: {exc}"[:2000]
    except TemporaryMailError as exc:
        row.email_error = f"Mail server unavailable: {exc}"[:2000]
        if row.email_attempts >= current_app.config["SEND_MAX_ATTEMPTS"]:
            row.email_status = "failed"
        else:
            row.email_status = "pending"
            row.email_next_attempt_at = utcnow() + backoff(row.email_attempts)
    else:
        row.email_status, row.emailed_at, row.email_error = "sent", utcnow(), None
    db.session.commit()
    return row.email_status


def due_email_ids(limit: int = 500) -> list[int]:
    """Emails still owed: pending and due, or claimed by a worker whose lease ran out."""
    now = utcnow()
    lease = timedelta(seconds=current_app.config["SEND_LEASE_SECONDS"])
    return list(db.session.scalars(sa.select(Notification.id).where(sa.or_(
        sa.and_(Notification.email_status == "pending",
                Notification.email_next_attempt_at <= now),
        sa.and_(Notification.email_status == "sending",
                Notification.email_claimed_at < now - lease)))
        .order_by(Notification.id).limit(limit)))


def sweep_emails() -> int:
    """Send every email still owed (the periodic sweep; the database is the truth)."""
    sent = 0
    for notification_id in due_email_ids():
        try:
            if send_email(notification_id) == "sent":
                sent += 1
        except Exception:  # one bad row must not stop the others
            db.session.rollback()
            log.exception("notification email %s failed", notification_id)
    return sent
