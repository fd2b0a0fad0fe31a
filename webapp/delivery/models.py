"""The outbox: one row per message to one recipient, written with the change that causes it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.extensions import db
from webapp.tasks import ClaimableRow, TaskKind
from webapp.types import UTCDateTime, utcnow

KINDS = ("invite", "update", "cancel", "reminder")
STATUSES = ("pending", "sending", "sent", "failed", "skipped")


class OutboxMessage(ClaimableRow, db.Model):
    """A message Parley owes a recipient. Sent at least once, claimed so it is sent once.

    status: pending, sending (claimed), sent, failed (gave up, retry by hand), skipped;
    last_error says why the last try failed or why it was skipped, for the meeting page.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        sa.Index("ix_outbox_messages_due", "status", "next_attempt_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"))
    meeting_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("meetings.id"), index=True)
    #: Indexed (as reminder_id): deleting an attendee or a reminder sets these to NULL.
    attendee_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("attendees.id", ondelete="SET NULL"), index=True)
    reminder_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("reminders.id", ondelete="SET NULL"), index=True)
    #: invite, update, cancel or reminder.
    kind: so.Mapped[str] = so.mapped_column(sa.String(16))
    recipient_email: so.Mapped[str] = so.mapped_column(sa.String(254))
    recipient_name: so.Mapped[str] = so.mapped_column(sa.String(200))
    #: The meeting's SEQUENCE this message announces.
    sequence: so.Mapped[int]
    #: meeting:recipient:kind:sequence (or :reminder id); a second row for it cannot exist.
    dedupe_key: so.Mapped[str] = so.mapped_column(sa.String(400), unique=True)
    #: When the relay last handed it to the queue; None until then.
    enqueued_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    sent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    message_id: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    #: An update's news about the guest list: {"added": [names], "removed": [names]}, for
    #: recipients who see the list (issue #20); None otherwise.
    guest_changes: so.Mapped[dict | None] = so.mapped_column(sa.JSON(none_as_null=True))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


#: Outbox rows as the task runner reads them (webapp.tasks): claimed "sending".
OUTBOX_TASKS = TaskKind(OutboxMessage, claimed="sending", lease="SEND_LEASE_SECONDS",
                        max_attempts="SEND_MAX_ATTEMPTS")
