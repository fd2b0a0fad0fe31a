"""Scheduling pages (#22): a public page where a contact picks a free time and books, and
the bookings made through it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.auth.models import User
from webapp.extensions import db
from webapp.types import UTCDateTime, utcnow

PAGE_KINDS = ("one_on_one", "round_robin", "group")
#: phone: the contact gives a number; address: the host's address (page location_value
#: or the host's); video: with the host's provider; custom: location_value as written.
PAGE_LOCATIONS = ("phone", "address", "video", "custom")
BOOKING_STATUSES = ("booked", "rescheduled", "canceled")
#: The built-in questions a page may ask beside name and email (toggled in `questions`).
BUILTIN_QUESTIONS = ("phone", "company", "note")


class SchedulingPage(db.Model):
    """A page a contact books through. Its slug is unique across all accounts: the public
    URL (/book/<slug>) names no account."""

    __tablename__ = "scheduling_pages"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"), index=True)
    #: Who made it and hosts it (one-on-one); group pages list their hosts in host_ids.
    owner_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(16), default="one_on_one")
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    slug: so.Mapped[str] = so.mapped_column(sa.String(80), unique=True)
    #: Minutes the contact may choose from, e.g. [30] or [15, 30, 60].
    durations: so.Mapped[list] = so.mapped_column(sa.JSON, default=lambda: [30])
    location_kind: so.Mapped[str] = so.mapped_column(sa.String(16), default="video")
    location_value: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    #: {"phone": bool, "company": bool, "note": bool,
    #:  "custom": [{"key": str, "label": str, "required": bool}]}
    questions: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    buffer_before_minutes: so.Mapped[int] = so.mapped_column(default=0)
    buffer_after_minutes: so.Mapped[int] = so.mapped_column(default=0)
    min_notice_minutes: so.Mapped[int] = so.mapped_column(default=240)
    horizon_days: so.Mapped[int] = so.mapped_column(default=60)
    #: At most this many meetings a local day of the host; None: the host's own rule.
    max_per_day: so.Mapped[int | None] = so.mapped_column()
    #: Start times every this many minutes.
    slot_interval_minutes: so.Mapped[int] = so.mapped_column(default=30)
    meeting_type_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("meeting_types.id"))
    #: [[amount, unit], ...]; None: the account's default reminders.
    reminders: so.Mapped[list | None] = so.mapped_column(sa.JSON)
    #: round_robin: the rotation whose free member hosts.
    rotation_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("rotations.id"))
    #: group: every user who must be free (the owner first, the meeting's host); others:
    #: [owner_id].
    host_ids: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    paused: so.Mapped[bool] = so.mapped_column(default=False)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow,
                                                       onupdate=utcnow)

    owner: so.Mapped[User] = so.relationship()

    @property
    def asks(self) -> list[str]:
        """The built-in questions this page asks beside name and email (the phone always
        when the host calls the number the contact gives)."""
        return [q for q in BUILTIN_QUESTIONS if (self.questions or {}).get(q)
                or (q == "phone" and self.location_kind == "phone")]

    @property
    def custom_questions(self) -> list[dict]:
        return list((self.questions or {}).get("custom") or [])


class Booking(db.Model):
    """One booking made through a page: its meeting, the visitor's answers, and the hash
    of the manage token (the token itself is only in the manage URL sent to the contact)."""

    __tablename__ = "bookings"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"), index=True)
    page_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("scheduling_pages.id"),
                                               index=True)
    meeting_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("meetings.id"), index=True)
    #: The contact matched or made by email (None once that contact is deleted).
    contact_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    #: SHA-256 hex of the manage token.
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    #: What the visitor typed: {"name", "email", "phone", "company", "note", "custom": {}}.
    answers: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    #: The zone the visitor booked in (their confirmation shows times in it).
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64), default="UTC")
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default="booked")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow,
                                                       onupdate=utcnow)

    page: so.Mapped[SchedulingPage] = so.relationship()
    meeting = so.relationship("Meeting")


class BookingLock(db.Model):
    """One row per host: a booking locks its hosts' rows (in id order) before it re-checks
    that the slot is still free, so two bookings of one host never both pass the check.
    PostgreSQL: SELECT ... FOR UPDATE; SQLite: the UPDATE takes the database's write lock."""

    __tablename__ = "booking_locks"

    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    bookings: so.Mapped[int] = so.mapped_column(default=0)


class BookingKey(db.Model):
    """An Idempotency-Key sent to the public bookings endpoint, per page: a retry answers
    with the booking the first request made."""

    __tablename__ = "booking_idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("page_id", "key"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    page_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("scheduling_pages.id"))
    key: so.Mapped[str] = so.mapped_column(sa.String(200))
    fingerprint: so.Mapped[str] = so.mapped_column(sa.String(64))
    booking_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("bookings.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
