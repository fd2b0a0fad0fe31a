"""Stored availability: a user's working hours and booking rules, and the account's
default working hours that new users start with (#21)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.availability.engine import Rules
from webapp.availability.hours import WorkingHours
from webapp.extensions import db
from webapp.types import UTCDateTime, utcnow


class AvailabilityProfile(db.Model):
    """One user's working hours and rules. No row (or working_hours None): any hour is
    working time and no rule applies, as before #21; new users get a row with the
    account's default hours (webapp.availability.settings.start_new_user)."""

    __tablename__ = "availability_profiles"

    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"), index=True)
    #: WorkingHours.to_json(): {"weekly": {"0": [["09:00", "17:00"]]}, "overrides": {...}}.
    working_hours: so.Mapped[dict | None] = so.mapped_column(sa.JSON)
    buffer_before_minutes: so.Mapped[int] = so.mapped_column(default=0)
    buffer_after_minutes: so.Mapped[int] = so.mapped_column(default=0)
    min_notice_minutes: so.Mapped[int] = so.mapped_column(default=0)
    #: Bookable up to this many days ahead; None: no limit.
    horizon_days: so.Mapped[int | None] = so.mapped_column()
    #: At most this many Parley meetings a local day; None: no limit.
    max_per_day: so.Mapped[int | None] = so.mapped_column()
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow,
                                                       onupdate=utcnow)

    @property
    def hours(self) -> WorkingHours | None:
        return WorkingHours.from_json(self.working_hours)

    @property
    def rules(self) -> Rules:
        return Rules(
            buffer_before=timedelta(minutes=self.buffer_before_minutes or 0),
            buffer_after=timedelta(minutes=self.buffer_after_minutes or 0),
            min_notice=timedelta(minutes=self.min_notice_minutes or 0),
            horizon=timedelta(days=self.horizon_days) if self.horizon_days else None,
            max_per_day=self.max_per_day)


class AccountAvailability(db.Model):
    """The account's default working hours for new users (none stored: 09:00-17:00,
    Monday to Friday)."""

    __tablename__ = "account_availability"

    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"),
                                                  primary_key=True)
    working_hours: so.Mapped[dict] = so.mapped_column(sa.JSON)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow,
                                                       onupdate=utcnow)
