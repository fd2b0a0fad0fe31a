"""The email that tells a user they were @mentioned (job side: owns its transactions).

Claimed through the task runner before sending (webapp.tasks), so a job that runs twice
sends once; what fails is tried again by the sweep after backoff.
"""

from __future__ import annotations

import logging
from email.message import Message
from email.utils import parseaddr

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from webapp import tasks
from webapp.delivery.messages import address, compose, when_text
from webapp.extensions import db
from webapp.mail.sending import send_owed
from webapp.notifications.models import EMAIL_TASKS, Notification
from webapp.richtext import to_text

log = logging.getLogger(__name__)

#: How much of the internal note a mention email quotes.
EXCERPT_CHARS = 300

def build_email(notification: Notification) -> Message:
    """The mention email, in the recipient's language; times in their zone."""
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
    msg = compose(text, html, to=(user.name, user.email), subject=" ".join(subject.split()),
                  message_id=f"<notification-{notification.id}@parley>")
    _from_name, from_addr = parseaddr(current_app.config["MAIL_FROM"])
    msg["From"] = address("Parley", from_addr)
    return msg


def send_email(notification_id: int) -> str:
    """Send one notification's email if it can be claimed (webapp.mail.sending)."""
    return send_owed(EMAIL_TASKS, notification_id, build_email, lambda row: (
        "The meeting was deleted." if row.meeting.deleted_at is not None else None))


def due_email_ids(limit: int = 500) -> list[int]:
    """Emails still owed: pending and due, or claimed by a worker whose lease ran out."""
    return tasks.due_ids(EMAIL_TASKS, limit)


def sweep_emails(_interval: float | None = None) -> int:
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


def sweep(_interval: float) -> None:
    """The sweep's notification-email step. Returns nothing: the count sent is not a wait."""
    sweep_emails()


tasks.register_sweep(50, "notification emails", sweep)
