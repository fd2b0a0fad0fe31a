"""Proposed times (issue #22): a rep emails a contact two to five times; the contact's
first click on one books it through the one save pipeline, the others are released."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.auth.models import User
from webapp.extensions import db
from webapp.meetings.models import Meeting
from webapp.records.models import Contact
from webapp.tasks import OwedEmail, email_kind
from webapp.types import UTCDateTime, utcnow

#: open: the links book; booked: one did (meeting_id); expired: none did in time
#: (set when a link is opened after expires_at); withdrawn: the rep took it back.
STATUSES = ("open", "booked", "expired", "withdrawn")
MIN_SLOTS, MAX_SLOTS = 2, 5


class Proposal(OwedEmail, db.Model):
    """Times a rep proposed to one contact from a record, and the email that carries them.

    The row is also the lock of its booking: the first click claims it with one
    conditional UPDATE (status open -> booked), so two clicks at once make one meeting.
    Its email is a task-runner row (webapp.tasks, email_* columns), sent after the commit.
    """

    __tablename__ = "proposals"
    __table_args__ = (
        sa.Index("ix_proposals_record", "account_id", "record_type", "record_id"),
        sa.Index("ix_proposals_email_pending", "email_next_attempt_at",
                 postgresql_where=sa.text("email_status = 'pending'"),
                 sqlite_where=sa.text("email_status = 'pending'")),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"), index=True)
    #: The record it was proposed from (its timeline shows it); the meeting is associated.
    record_type: so.Mapped[str] = so.mapped_column(sa.String(16))
    record_id: so.Mapped[int]
    host_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    organizer_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    #: Deleting the contact deletes its proposals (their links then open nothing).
    contact_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    duration_minutes: so.Mapped[int]
    #: The zone the rep proposed in: the meeting's zone once booked.
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64))
    location_kind: so.Mapped[str] = so.mapped_column(sa.String(16), default="none")
    location_value: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default="open")
    #: After this the links book nothing.
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    #: Random, in every link's signed token: a token of a deleted proposal never opens a
    #: new one that got its id again (SQLite reuses ids).
    nonce: so.Mapped[str] = so.mapped_column(sa.String(32))
    meeting_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("meetings.id"))
    #: The slot that was booked.
    booked_slot_id: so.Mapped[int | None] = so.mapped_column()
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    booked_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    host: so.Mapped[User] = so.relationship(foreign_keys=[host_id])
    organizer: so.Mapped[User] = so.relationship(foreign_keys=[organizer_id])
    contact: so.Mapped[Contact] = so.relationship()
    meeting: so.Mapped[Meeting | None] = so.relationship()
    slots: so.Mapped[list[ProposedSlot]] = so.relationship(
        back_populates="proposal", cascade="all, delete-orphan",
        order_by="ProposedSlot.start_at")


class ProposedSlot(db.Model):
    """One proposed start; its link's token is kept as a hash only (looked up by it)."""

    __tablename__ = "proposed_slots"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    proposal_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    start_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    #: sha256 of the link's token (hex).
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)

    proposal: so.Mapped[Proposal] = so.relationship(back_populates="slots")


#: Proposal emails as the task runner reads them (webapp.tasks): email_* columns.
EMAIL_TASKS = email_kind(Proposal)
