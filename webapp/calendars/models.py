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
    #: A user may connect several calendar accounts (#21); one of them receives new
    #: meetings (`receives_events`), the others count for busy time only.
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
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
    #: The user's connection that receives new meetings (one per user, chosen in
    #: Settings; the first one connected by default). "The user's connection" everywhere
    #: a meeting is written means this one.
    receives_events: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())

    calendars: so.Mapped[list[ConnectionCalendar]] = so.relationship(
        back_populates="connection", cascade="all, delete-orphan", passive_deletes=True,
        order_by=lambda: (ConnectionCalendar.primary.desc(), ConnectionCalendar.name,
                          ConnectionCalendar.id))

    __table_args__ = (
        sa.Index("uq_calendar_connections_receiving", "user_id", unique=True,
                 postgresql_where=sa.text("receives_events"),
                 sqlite_where=sa.text("receives_events")),
    )


class ConnectionCalendar(db.Model):
    """One calendar of a connection (Google calendarList entry, Graph calendar, CalDAV
    collection), fetched on connecting and on "refresh" (#21): whether it counts for busy
    time, and whether new meetings are written to it (one per connection)."""

    __tablename__ = "connection_calendars"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"), index=True)
    connection_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("calendar_connections.id", ondelete="CASCADE"), index=True)
    #: Google calendar id, Graph calendar id, CalDAV collection URL.
    external_id: so.Mapped[str] = so.mapped_column(sa.String(1024))
    name: so.Mapped[str] = so.mapped_column(sa.String(255))
    #: The account's own default calendar (Google primary, Graph isDefaultCalendar).
    primary: so.Mapped[bool] = so.mapped_column(default=False)
    #: The user may only read it (Google reader/freeBusyReader, Graph canEdit false):
    #: it cannot receive new meetings.
    read_only: so.Mapped[bool] = so.mapped_column(default=False)
    counts_for_busy: so.Mapped[bool] = so.mapped_column(default=True)
    is_target: so.Mapped[bool] = so.mapped_column(default=False)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    connection: so.Mapped[CalendarConnection] = so.relationship(back_populates="calendars")

    __table_args__ = (sa.UniqueConstraint("connection_id", "external_id"),)


class CalendarSync(ClaimableRow, db.Model):
    """The state of one meeting's event on its host's connected calendar.

    status: pending, syncing (claimed), synced, failed."""

    __tablename__ = "calendar_syncs"
    #: An inbound sync looks up the rows of the events in its batch (issue 23).
    __table_args__ = (sa.Index("ix_calendar_syncs_connection_external",
                               "connection_id", "external_id"),)

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
    #: Issue 23: the event's version as Parley last wrote or read it (CalDAV ETag,
    #: Google etag, Graph changeKey). Writes send it (If-Match); an inbound change whose
    #: version equals it is Parley's own write coming back, and is ignored.
    etag: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    #: Set when the event was deleted in the calendar: Parley never recreates it.
    remote_deleted_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    #: #21: the calendar the event was written to (Google calendar id or "primary", Graph
    #: calendar id or "default", CalDAV collection URL; NULL: the connection's default, as
    #: before calendars were chosen): later writes, and the inbound sync, read it there
    #: even after the user chose another calendar for new meetings.
    calendar_ref: so.Mapped[str | None] = so.mapped_column(sa.String(1024))


#: Sync rows as the task runner reads them (webapp.tasks): claimed "syncing".
SYNC_TASKS = TaskKind(CalendarSync, claimed="syncing", lease=300, max_attempts=6)


#: What an event deleted in the calendar does to its meeting (the user's setting).
ON_REMOTE_DELETE = ("cancel", "flag")


class CalendarSyncState(ClaimableRow, db.Model):
    """Issue 23: the inbound side of one connection (changes made in the calendar coming
    back to Parley). One row per connection, claimed by the periodic job through the task
    runner; it also holds the connection's sync health.

    status: pending (due at next_attempt_at), syncing (claimed). A row is never "failed":
    a failing calendar is tried again at the next interval and counted in failures."""

    __tablename__ = "calendar_sync_states"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"), index=True)
    connection_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("calendar_connections.id", ondelete="CASCADE"), unique=True)
    #: CalDAV sync-collection token, Google nextSyncToken, Graph deltaLink: of the
    #: calendar token_calendar names (the one receiving new meetings; NULL: as before #21).
    sync_token: so.Mapped[str | None] = so.mapped_column(sa.Text)
    token_calendar: so.Mapped[str | None] = so.mapped_column(sa.String(1024))
    #: #21: the tokens of the connection's other calendars that hold Parley's events (a
    #: previous target), by calendar: their events still change in the calendar.
    calendar_tokens: so.Mapped[dict | None] = so.mapped_column(sa.JSON)
    #: CalDAV getctag (the fallback when sync-collection is not offered).
    ctag: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    #: "cancel" (the meeting is canceled) or "flag" (only flagged for the rep).
    on_remote_delete: so.Mapped[str] = so.mapped_column(sa.String(8), default="cancel")
    last_success_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_error_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    #: Failed syncs in a row (0 after a success).
    failures: so.Mapped[int] = so.mapped_column(default=0)
    #: Changes taken in and conflicts resolved, since the connection was made.
    changes_in: so.Mapped[int] = so.mapped_column(default=0)
    conflicts: so.Mapped[int] = so.mapped_column(default=0)
    #: When the user was told the calendar keeps failing (once per failing streak).
    notified_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    connection: so.Mapped[CalendarConnection] = so.relationship()


#: Inbound syncs as the task runner reads them: claimed "syncing".
INBOUND_TASKS = TaskKind(CalendarSyncState, claimed="syncing", lease=300, max_attempts=1000000)


class MeetingCalendarChange(db.Model):
    """Issue 23: a change taken in from the host's calendar (or a conflict), in the
    meeting's history: what happened, where, and the version that lost a conflict."""

    __tablename__ = "meeting_calendar_changes"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"))
    meeting_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    #: google, microsoft, caldav.
    provider: so.Mapped[str] = so.mapped_column(sa.String(16))
    #: moved, updated, canceled, flagged, conflict.
    kind: so.Mapped[str] = so.mapped_column(sa.String(16))
    #: The fields taken in: {"start_at": [old, new], "title": [old, new], ...} (ISO times).
    details: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class CalendarChannel(ClaimableRow, db.Model):
    """Issue 23, push: a Google notification channel (events.watch) on one calendar of a
    connection. Google posts to PUBLIC_BASE_URL's webhook when that calendar changes; the
    webhook marks the connection's inbound sync due (webapp.calendars.channels).

    As a task (webapp.tasks): pending until next_attempt_at, when a job makes a new channel
    (the first, or one replacing a channel about to expire) or stops one that is no longer
    wanted; claimed "watching" meanwhile."""

    __tablename__ = "calendar_channels"
    __table_args__ = (sa.UniqueConstraint("connection_id", "calendar_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"), index=True)
    connection_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("calendar_connections.id", ondelete="CASCADE"))
    #: The watched calendar (#21, Google: the one receiving new meetings, or a previous
    #: one still holding Parley's events, each with its own channel; Graph: "primary",
    #: its one subscription to me/events covers every calendar of the mailbox).
    calendar_id: so.Mapped[str] = so.mapped_column(sa.String(255), default="primary")
    #: The channel's id (a UUID, echoed as X-Goog-Channel-ID); None until one is made.
    channel_id: so.Mapped[str | None] = so.mapped_column(sa.String(64), unique=True)
    #: Google's opaque id of the watched resource (X-Goog-Resource-ID; channels.stop).
    resource_id: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    #: A random secret echoed as X-Goog-Channel-Token, compared in constant time.
    token: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    expires_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


#: Channels as the task runner reads them: claimed "watching" while a job renews or stops.
CHANNEL_TASKS = TaskKind(CalendarChannel, claimed="watching", lease=120, max_attempts=1000000)
