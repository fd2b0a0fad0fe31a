"""In-app notifications (a user was @mentioned in a meeting's internal note), with the
state of the email that tells them."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.auth.models import User
from webapp.extensions import db
from webapp.meetings.models import Meeting
from webapp.tasks import OwedEmail, email_kind
from webapp.types import UTCDateTime, utcnow

KINDS = ("mention", "calendar_sync")
EMAIL_STATUSES = ("pending", "sending", "sent", "failed", "skipped")


class Notification(OwedEmail, db.Model):
    """Something a user should see: shown under the bell and emailed once."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_user_read", "account_id", "user_id", "read_at"),
        # The sweep reads only emails still owed.
        sa.Index("ix_notifications_email_pending", "email_next_attempt_at",
                 postgresql_where=sa.text("email_status = 'pending'"),
                 sqlite_where=sa.text("email_status = 'pending'")),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"))
    #: Who is notified.
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    #: Who caused it (wrote the mention).
    actor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    #: None for a notification about no meeting ("calendar_sync": a connected calendar
    #: keeps failing to sync, issue 23).
    meeting_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("meetings.id"),
                                                         index=True)
    #: "mention" or "calendar_sync".
    kind: so.Mapped[str] = so.mapped_column(sa.String(16), default="mention")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    #: None while unread.
    read_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    user: so.Mapped[User] = so.relationship(foreign_keys=[user_id])
    actor: so.Mapped[User | None] = so.relationship(foreign_keys=[actor_id])
    meeting: so.Mapped[Meeting | None] = so.relationship()


#: Notification emails as the task runner reads them (webapp.tasks): email_* columns.
EMAIL_TASKS = email_kind(Notification)
