"""Calendar connections (Google, Microsoft 365, CalDAV) and per-meeting sync state."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.extensions import db
from webapp.tasks import ClaimableRow, TaskKind
from webapp.types import UTCDateTime, utcnow

PROVIDERS = ("google", "microsoft", "caldav")


class CalendarConnection(db.Model):
    """A user's connected calendar. Secrets are Fernet-encrypted; never logged."""

    __tablename__ = "calendar_connections"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"), index=True)
    #: One connected calendar per user.
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), unique=True)
    provider: so.Mapped[str] = so.mapped_column(sa.String(16))
    #: The calendar account's address (shown to the user; checked for video, S16).
    external_email: so.Mapped[str | None] = so.mapped_column(sa.String(254))
    #: "active" or "reconnect_needed" (the grant was revoked or refused).
    status: so.Mapped[str] = so.mapped_column(sa.String(24), default="active")
    #: Meetings are written to this calendar only while sync is on.
    sync_on: so.Mapped[bool] = so.mapped_column(default=True)
    access_token_enc: so.Mapped[str | None] = so.mapped_column(sa.Text)
    refresh_token_enc: so.Mapped[str | None] = so.mapped_column(sa.Text)
    expires_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    #: Raised on every token change; refreshes compare-and-swap on it.
    token_version: so.Mapped[int] = so.mapped_column(default=0)
    caldav_url: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    caldav_username: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    caldav_password_enc: so.Mapped[str | None] = so.mapped_column(sa.Text)
    #: The discovered calendar collection for CalDAV.
    caldav_calendar_url: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    last_error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class CalendarSync(ClaimableRow, db.Model):
    """The state of one meeting's event on its host's connected calendar.

    status: pending, syncing (claimed), synced, failed."""

    __tablename__ = "calendar_syncs"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"))
    meeting_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("meetings.id"), unique=True)
    connection_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("calendar_connections.id", ondelete="SET NULL"))
    provider: so.Mapped[str] = so.mapped_column(sa.String(16))
    #: The provider's event id (Google id, Graph id, CalDAV href).
    external_id: so.Mapped[str | None] = so.mapped_column(sa.String(1024))
    #: "upsert" or "delete": what the next run must make true.
    action: so.Mapped[str] = so.mapped_column(sa.String(8), default="upsert")
    synced_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)


#: Sync rows as the task runner reads them (webapp.tasks): claimed "syncing".
SYNC_TASKS = TaskKind(CalendarSync, claimed="syncing", lease=300, max_attempts=6)
