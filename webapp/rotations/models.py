"""Meeting rotations (round robin): members, availability and per-member booking counts."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.auth.models import User
from webapp.extensions import db
from webapp.types import UTCDateTime, utcnow


class Rotation(db.Model):
    """A named group of seated users who take turns hosting meetings booked through it (B2)."""

    __tablename__ = "rotations"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"), index=True)
    #: Unique among the account's rotations that are not deleted (checked in operations).
    name: so.Mapped[str] = so.mapped_column(sa.String(80))
    #: Live meetings booked through it. Every change of a count writes this row first, which
    #: takes its lock: concurrent bookings through one rotation wait for each other (B3).
    booked_count: so.Mapped[int] = so.mapped_column(default=0)
    #: Deleted rotations are no longer offered; meetings booked through them keep the link.
    deleted_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    members: so.Mapped[list[RotationMember]] = so.relationship(
        back_populates="rotation", cascade="all, delete-orphan", order_by="RotationMember.id")

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class RotationMember(db.Model):
    """A user in a rotation, with the count the pick rule reads (fewest, then least recent)."""

    __tablename__ = "rotation_members"
    __table_args__ = (sa.UniqueConstraint("rotation_id", "user_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    rotation_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("rotations.id"), index=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    #: Off while the member is away (holidays): the pick skips them.
    available: so.Mapped[bool] = so.mapped_column(default=True)
    #: Meetings booked through the rotation with this member as host, minus deleted ones.
    booked_count: so.Mapped[int] = so.mapped_column(default=0)
    #: When a meeting was last booked through the rotation for this member.
    last_booked_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    #: Share of the bookings: a member of weight 2 hosts twice as many as one of weight 1.
    weight: so.Mapped[int] = so.mapped_column(default=1, server_default="1")
    #: Bookings counted as already had when they joined (the current minimum share), so a
    #: new member is not given every booking until they catch up (#21).
    head_start: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    rotation: so.Mapped[Rotation] = so.relationship(back_populates="members")
    user: so.Mapped[User] = so.relationship()

    @property
    def load(self) -> Fraction:
        """What the pick compares: bookings (with the head start) per unit of weight."""
        return Fraction((self.booked_count or 0) + (self.head_start or 0),
                        max(self.weight or 1, 1))


class RotationPick(db.Model):
    """The ledger: one row for every host picked or chosen through a rotation, with why
    ("why this host": each member's count, weight, and why skipped), shown to admins."""

    __tablename__ = "rotation_picks"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"), index=True)
    rotation_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("rotations.id"), index=True)
    meeting_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("meetings.id", ondelete="SET NULL"), index=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    #: "pick" (the rule chose) or "override" (the organizer chose this member).
    kind: so.Mapped[str] = so.mapped_column(sa.String(16))
    #: Why, as data: {"start", "end", "members": [{"user_id", "name", "count",
    #: "head_start", "weight", "last_booked_at", "skipped": [reason kinds] or null}]}.
    detail: so.Mapped[dict] = so.mapped_column(sa.JSON)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    user: so.Mapped[User] = so.relationship()
