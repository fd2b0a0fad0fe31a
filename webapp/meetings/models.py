"""Meetings, their attendees, reminders, associations, attachments; snippets, types, outcomes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.auth.models import Account, User
from webapp.extensions import db
from webapp.records.models import Contact
from webapp.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from webapp.rotations.models import Rotation

LOCATION_KINDS = ("none", "phone", "in_person", "video", "custom")
REMINDER_UNITS = ("minutes", "hours", "days", "weeks")
RESPONSES = ("needs_action", "accepted", "declined", "tentative")
#: Where a meeting was made (Meeting.source): the desktop scheduler, the phone flow, the
#: JSON API, a public scheduling page, a time the contact picked from proposed times.
SOURCES = ("scheduler", "phone", "api", "scheduling_page", "proposed_times")
DEFAULT_OUTCOMES = ("scheduled", "completed", "rescheduled", "no_show", "canceled")


def new_uid() -> str:
    return f"{uuid.uuid4()}@parley"


class MeetingType(db.Model):
    """S4: an account's custom meeting types (shown only when the account turns them on)."""

    __tablename__ = "meeting_types"
    __table_args__ = (sa.UniqueConstraint("account_id", "name"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"), index=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(80))
    #: Retired types stay readable on old meetings but are not offered.
    active: so.Mapped[bool] = so.mapped_column(default=True)


class MeetingOutcome(db.Model):
    """O1/O2: an outcome a meeting can take, in the account's order.

    Every account starts with the five defaults (seeded when the account is inserted, and
    by migration 0009 for accounts that existed before).
    """

    __tablename__ = "meeting_outcomes"
    __table_args__ = (sa.UniqueConstraint("account_id", "key"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"), index=True)
    #: What Meeting.outcome stores; never changes, so a rename relabels old meetings too.
    key: so.Mapped[str] = so.mapped_column(sa.String(40))
    #: None on a default outcome nobody renamed: its label is then translated.
    name: so.Mapped[str | None] = so.mapped_column(sa.String(80))
    #: Order in menus and reports, ascending.
    position: so.Mapped[int] = so.mapped_column(default=0)
    #: Retired outcomes are no longer offered but stay readable on old meetings.
    active: so.Mapped[bool] = so.mapped_column(default=True)


@sa.event.listens_for(Account, "after_insert")
def _seed_default_outcomes(mapper, connection, account) -> None:
    # In the same transaction as the account row: no account is ever without outcomes.
    connection.execute(sa.insert(MeetingOutcome.__table__), [
        {"account_id": account.id, "key": key, "name": None, "position": index,
         "active": True} for index, key in enumerate(DEFAULT_OUTCOMES)])


class Snippet(db.Model):
    """S9: account-level saved text inserted into descriptions and notes."""

    __tablename__ = "snippets"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"), index=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(80))
    #: Sanitized HTML.
    body_html: so.Mapped[str] = so.mapped_column(sa.Text)


class Meeting(db.Model):
    """A meeting scheduled from CRM records. Times are UTC; `timezone` is where it was booked."""

    __tablename__ = "meetings"
    __table_args__ = (
        sa.Index("ix_meetings_host_start", "account_id", "host_id", "start_at"),
        # The agenda (My meetings) also finds the meetings a user organized for someone else.
        sa.Index("ix_meetings_organizer_start", "account_id", "organizer_id", "start_at"),
        # A record's timeline orders its meetings by start without reading them (#24).
        sa.Index("ix_meetings_timeline", "id",
                 postgresql_include=["account_id", "start_at", "deleted_at"]),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"), index=True)
    #: iCalendar UID, the same for the meeting's whole life.
    uid: so.Mapped[str] = so.mapped_column(sa.String(120), unique=True, default=new_uid)
    #: iCalendar SEQUENCE, raised on every change attendees must see (and on cancel).
    sequence: so.Mapped[int] = so.mapped_column(default=0)
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    start_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    end_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    #: IANA zone the organizer booked in; the fallback zone for reminders (S8).
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64))
    meeting_type_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("meeting_types.id"))
    location_kind: so.Mapped[str] = so.mapped_column(sa.String(16), default="none")
    #: Phone number (E.164), address, join link or custom text.
    location_value: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    #: Attendee description, sanitized HTML; attendees see it (S9).
    description_html: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    #: Internal note, sanitized HTML; never leaves Parley (S10).
    internal_note_html: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    include_description_in_reminders: so.Mapped[bool] = so.mapped_column(default=False)
    #: Invitations name only their recipient, not every attendee (issue #20).
    hide_guest_list: so.Mapped[bool] = so.mapped_column(default=False,
                                                        server_default=sa.false())
    host_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    organizer_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    #: The meeting rotation the host was picked from (B2); deleting the meeting gives one
    #: back to the host's count there (B3).
    rotation_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("rotations.id"),
                                                          index=True)
    outcome: so.Mapped[str] = so.mapped_column(sa.String(40), default="scheduled")
    #: A meeting that already happened, logged (記錄會議) rather than scheduled: it is on
    #: the timelines, and nothing is ever sent or synced for it (no invitation, update,
    #: cancellation, reminder, calendar event or video conference), also after an edit.
    log_only: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    #: Where it was made (SOURCES): the desktop scheduler, the phone, the API, a scheduling
    #: page, a proposed time the contact picked.
    source: so.Mapped[str] = so.mapped_column(sa.String(24), default="scheduler",
                                              server_default="scheduler")
    #: Video (webapp.conferencing): "jitsi", "zoom", "google_meet" or "app:<id>".
    conference_provider: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    conference_id: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    #: The join link; also copied into location_value once ready.
    conference_url: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    #: Dial-in numbers, passcodes: plain text from the provider.
    conference_details: so.Mapped[str | None] = so.mapped_column(sa.Text)
    #: pending (a job is creating the link), ready, failed; None without video.
    conference_status: so.Mapped[str | None] = so.mapped_column(sa.String(16))
    conference_error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    #: Set when the meeting is deleted; it then leaves timelines and a CANCEL goes out.
    deleted_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow,
                                                       onupdate=utcnow)

    host: so.Mapped[User] = so.relationship(foreign_keys=[host_id])
    organizer: so.Mapped[User] = so.relationship(foreign_keys=[organizer_id])
    rotation: so.Mapped[Rotation | None] = so.relationship()
    meeting_type: so.Mapped[MeetingType | None] = so.relationship()
    attendees: so.Mapped[list[Attendee]] = so.relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="Attendee.id")
    reminders: so.Mapped[list[Reminder]] = so.relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="Reminder.due_at")
    associations: so.Mapped[list[MeetingAssociation]] = so.relationship(
        back_populates="meeting", cascade="all, delete-orphan")
    attachments: so.Mapped[list[Attachment]] = so.relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="Attachment.id")
    earlier_replies: so.Mapped[list[EarlierReply]] = so.relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="EarlierReply.id")

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Attendee(db.Model):
    """A contact or a user invited to a meeting."""

    __tablename__ = "attendees"
    __table_args__ = (
        sa.UniqueConstraint("meeting_id", "contact_id"),
        sa.UniqueConstraint("meeting_id", "user_id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    meeting_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("meetings.id"), index=True)
    contact_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("contacts.id"), index=True)
    #: Indexed: the scheduler's calendar finds the meetings a user attends.
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    #: Address at booking time; None when the contact had no valid email (not invited).
    email: so.Mapped[str | None] = so.mapped_column(sa.String(254))
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    #: iCalendar PARTSTAT, lower-case: needs_action, accepted, declined, tentative.
    response: so.Mapped[str] = so.mapped_column(sa.String(16), default="needs_action")
    responded_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    #: The meeting's SEQUENCE the response is for (set again when a reschedule resets it):
    #: a reply to an older one does not overwrite it.
    response_sequence: so.Mapped[int | None]

    meeting: so.Mapped[Meeting] = so.relationship(back_populates="attendees")
    contact: so.Mapped[Contact | None] = so.relationship()
    user: so.Mapped[User | None] = so.relationship()

    @property
    def invitable(self) -> bool:
        return bool(self.email)


class EarlierReply(db.Model):
    """An attendee's answer that a change of time set back to "no reply yet": the
    meeting page keeps showing it, with when it was given and when it was reset."""

    __tablename__ = "earlier_replies"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"))
    meeting_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("meetings.id"), index=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    email: so.Mapped[str | None] = so.mapped_column(sa.String(254))
    #: accepted, declined or tentative.
    response: so.Mapped[str] = so.mapped_column(sa.String(16))
    responded_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    #: When the reschedule reset it.
    reset_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    meeting: so.Mapped[Meeting] = so.relationship(back_populates="earlier_replies")


class Reminder(db.Model):
    """A reminder email N units before the start. The row, not Redis, is the truth."""

    __tablename__ = "reminders"
    __table_args__ = (
        # The sweep reads only unsent rows that are due.
        sa.Index("ix_reminders_unsent_due", "due_at",
                 postgresql_where=sa.text("sent_at IS NULL"),
                 sqlite_where=sa.text("sent_at IS NULL")),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    meeting_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("meetings.id"), index=True)
    amount: so.Mapped[int]
    unit: so.Mapped[str] = so.mapped_column(sa.String(8))
    #: start_at minus the offset, recomputed on every reschedule.
    due_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    #: When the sweep turned it into outbox rows.
    sent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    meeting: so.Mapped[Meeting] = so.relationship(back_populates="reminders")


class MeetingAssociation(db.Model):
    """Links a meeting to a record; the meeting appears on that record's timeline."""

    __tablename__ = "meeting_associations"
    __table_args__ = (
        sa.UniqueConstraint("meeting_id", "record_type", "record_id"),
        sa.Index("ix_meeting_associations_record", "account_id", "record_type", "record_id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"))
    meeting_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("meetings.id"), index=True)
    record_type: so.Mapped[str] = so.mapped_column(sa.String(16))
    record_id: so.Mapped[int]

    meeting: so.Mapped[Meeting] = so.relationship(back_populates="associations")


class Attachment(db.Model):
    """An internal-only file on a meeting; never sent to attendees."""

    __tablename__ = "attachments"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"))
    meeting_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("meetings.id"), index=True)
    filename: so.Mapped[str] = so.mapped_column(sa.String(200))
    content_type: so.Mapped[str] = so.mapped_column(sa.String(100))
    size: so.Mapped[int]
    #: File name under UPLOAD_DIR.
    storage_key: so.Mapped[str] = so.mapped_column(sa.String(100), unique=True)
    uploaded_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    meeting: so.Mapped[Meeting] = so.relationship(back_populates="attachments")


class MeetingSubmission(db.Model):
    """A confirmed "Continue and send" of the phone flow, by the idempotency key its
    confirmation page carried.

    The row is written (and flushed) before the meeting is saved, in the same transaction,
    so a second POST of the same confirmation (a double tap, a retried request) waits on
    the unique constraint for the first, fails there before it creates a conference or
    writes an invitation, and is sent to the meeting the first one saved.
    """

    __tablename__ = "meeting_submissions"
    __table_args__ = (sa.UniqueConstraint("user_id", "key"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"), index=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    #: Random, made when the confirmation page is rendered (operations.new_submission_key).
    key: so.Mapped[str] = so.mapped_column(sa.String(64))
    #: The meeting the submission saved; None only inside the saving transaction.
    meeting_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("meetings.id"),
                                                         index=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
