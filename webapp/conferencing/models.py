"""Video conferencing: Zoom connections per user, extension apps per account, and the
tasks that create, update and delete a meeting's conference at the provider."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.extensions import db
from webapp.tasks import ClaimableRow, TaskKind
from webapp.types import UTCDateTime, utcnow


class VideoApp(db.Model):
    """A third-party conferencing provider an account admin registered (extension API)."""

    __tablename__ = "video_apps"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"), index=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(80))
    create_url: so.Mapped[str] = so.mapped_column(sa.String(500))
    update_url: so.Mapped[str] = so.mapped_column(sa.String(500))
    delete_url: so.Mapped[str] = so.mapped_column(sa.String(500))
    user_verify_url: so.Mapped[str] = so.mapped_column(sa.String(500))
    #: HMAC-SHA256 signing secret, Fernet-encrypted (webapp.crypto).
    secret_enc: so.Mapped[str] = so.mapped_column(sa.Text)
    #: Retired apps stay readable on old meetings but are not offered.
    active: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class ZoomConnection(db.Model):
    """A user's Zoom account (OAuth). Tokens are Fernet-encrypted; never logged."""

    __tablename__ = "zoom_connections"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"), index=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), unique=True)
    #: The Zoom account's address (checked against the Parley email, S16).
    external_email: so.Mapped[str | None] = so.mapped_column(sa.String(254))
    #: "active" or "reconnect_needed".
    status: so.Mapped[str] = so.mapped_column(sa.String(24), default="active")
    access_token_enc: so.Mapped[str | None] = so.mapped_column(sa.Text)
    refresh_token_enc: so.Mapped[str | None] = so.mapped_column(sa.Text)
    expires_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    #: Raised on every token change; refreshes compare-and-swap on it.
    token_version: so.Mapped[int] = so.mapped_column(default=0)
    last_error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class ConferenceTask(ClaimableRow, db.Model):
    """Work a provider must do for a meeting's conference, run by a retried job.

    A task is claimed with one conditional UPDATE (like CalendarSync), so a job that runs
    twice does the work, and sends the resulting update invitation, once. status: pending,
    running (claimed), done, failed, superseded.
    """

    __tablename__ = "conference_tasks"
    __table_args__ = (
        sa.Index("ix_conference_tasks_due", "status", "next_attempt_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"))
    meeting_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("meetings.id"), index=True)
    #: create, update or delete.
    action: so.Mapped[str] = so.mapped_column(sa.String(8))
    #: The provider key at the time ("jitsi", "zoom", "google_meet", "app:<id>").
    provider: so.Mapped[str] = so.mapped_column(sa.String(40))
    #: For delete: the conference to remove (the meeting may already point at a new one).
    conference_id: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


#: Conference tasks as the task runner reads them (webapp.tasks): claimed "running".
CONFERENCE_TASKS = TaskKind(ConferenceTask, claimed="running", lease=300, max_attempts=8)
