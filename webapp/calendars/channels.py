"""Google push notifications (issue 23): a calendar changed in Google is synced within a
sweep instead of at the next poll.

Each active Google connection with sync on has a notification channel (events.watch, a
CalendarChannel row) posting to PUBLIC_BASE_URL + WEBHOOK_PATH. Without PUBLIC_BASE_URL no
channel is made and calendars are polled only (every CALENDAR_SYNC_INTERVAL_SECONDS).

- Job side (the sweep and JOB, through the one task runner, webapp.tasks): the sweep makes
  a row for every connection that should have a channel and makes due the rows of those
  that should not any more; JOB claims a due row and makes a new channel (the first, or
  the one replacing a channel CALENDAR_CHANNEL_RENEW_BEFORE_SECONDS before it expires:
  the new one is opened before the old one is stopped, so no change goes unannounced), or
  stops the channel and deletes the row.
- Request side: the webhook (notified()) checks the channel id, its secret token (in
  constant time) and the resource id, then only marks the connection's inbound sync due
  (CalendarSyncState); the sweep queues it. No provider call is made on
  the request path, and a burst of notifications still queues one sync.
- Disconnecting stops the channels first (stop_for()), while the grant that may stop
  them still exists. A channel that could not be stopped expires by itself; its
  notifications meanwhile get a 404.

Microsoft Graph subscriptions are not made: Microsoft connections are polled.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from webapp import tasks
from webapp.calendars.models import (
    CHANNEL_TASKS,
    CalendarChannel,
    CalendarConnection,
    CalendarSyncState,
)
from webapp.calendars.providers import AuthExpired, ProviderError
from webapp.extensions import db
from webapp.types import utcnow

log = logging.getLogger(__name__)

#: Where Google posts (the route is webapp.calendars.routes.google_notification).
WEBHOOK_PATH = "/calendars/google/notifications"
#: The job that opens, renews or stops one channel (run_channel()).
JOB = "worker.jobs.calendar_channel"


def webhook_address() -> str | None:
    """The public address of the webhook, or None (no PUBLIC_BASE_URL: polling only)."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return base + WEBHOOK_PATH if base else None


def _wanted_clause():
    """Connections that should have a channel (SQL)."""
    return sa.and_(CalendarConnection.provider == "google",
                   CalendarConnection.status == "active", CalendarConnection.sync_on)


def wanted(conn: CalendarConnection | None) -> bool:
    """Whether this connection should have a channel now."""
    return (conn is not None and conn.provider == "google" and conn.status == "active"
            and conn.sync_on and webhook_address() is not None)


# --- request side: the webhook ------------------------------------------------------------

def notified(channel_id: str | None, token: str | None, resource_id: str | None,
             resource_state: str | None) -> bool:
    """A notification Google posted. False when it is not from a channel of ours (unknown
    channel, wrong token or resource): nothing is done. Otherwise the connection's inbound
    sync is made due, except for the "sync" message that opens a channel (flushes; the
    caller commits)."""
    if not channel_id or not token or not resource_id:
        return False
    row = db.session.scalar(sa.select(CalendarChannel).where(
        CalendarChannel.channel_id == channel_id[:64]))
    if row is None or not row.token or not hmac.compare_digest(
            row.token.encode(), token.encode("utf-8", "replace")):
        return False
    if not hmac.compare_digest((row.resource_id or "").encode(),
                               resource_id.encode("utf-8", "replace")):
        return False
    if resource_state == "sync":
        return True  # the channel is open; nothing changed yet
    state = db.session.scalar(sa.select(CalendarSyncState).join(
        CalendarConnection, CalendarConnection.id == CalendarSyncState.connection_id).where(
        CalendarSyncState.connection_id == row.connection_id,
        CalendarSyncState.account_id == row.account_id,
        CalendarConnection.status == "active", CalendarConnection.sync_on))
    now = utcnow()
    # Due already (another notification came first): nothing to write, one sync runs.
    # Claimed by a running sync: left alone (the change arrives by this sync or the next).
    # No state yet: the sweep makes it, due at once.
    if state is not None and state.status == "pending" and state.next_attempt_at > now:
        state.next_attempt_at = now
    return True


def stop_for(conn: CalendarConnection) -> int:
    """Stop the connection's channels and forget them, before the connection is deleted
    (its grant goes with it, and channels.stop needs it). Failures are logged: the channel
    then expires by itself, and its notifications get a 404. Flushes. Returns how many
    were stopped."""
    rows = list(db.session.scalars(sa.select(CalendarChannel).where(
        CalendarChannel.connection_id == conn.id,
        CalendarChannel.account_id == conn.account_id)))
    stopped = 0
    try:
        for row in rows:
            if row.channel_id and row.resource_id and conn.provider == "google":
                _call(conn, lambda p, r=row: p.stop(r.channel_id, r.resource_id))
                stopped += 1
    except ProviderError as exc:
        log.warning("could not stop the channels of connection %s: %s", conn.id, exc)
    for row in rows:
        db.session.delete(row)
    db.session.flush()
    return stopped


# --- job side: the sweep and the job --------------------------------------------------------

def _call(conn: CalendarConnection, action):
    """action(adapter) with a usable token; a refused token is refreshed once."""
    from webapp.calendars.connections import provider_for
    try:
        return action(provider_for(conn))
    except AuthExpired:
        return action(provider_for(conn, force_refresh=True))


def ensure_channels() -> None:
    """Every connection that should have a channel has its row (due at once); rows whose
    connection should not have one any more and still hold a channel are due, to be
    stopped (the sweep; commits)."""
    now = utcnow()
    if webhook_address() is not None:
        missing = db.session.scalars(sa.select(CalendarConnection).outerjoin(
            CalendarChannel, CalendarChannel.connection_id == CalendarConnection.id).where(
            CalendarChannel.id.is_(None), _wanted_clause()))
        for conn in missing:
            db.session.add(CalendarChannel(account_id=conn.account_id, connection_id=conn.id,
                                           calendar_id="primary", next_attempt_at=now))
    unwanted = sa.true() if webhook_address() is None else sa.not_(_wanted_clause())
    for row in db.session.scalars(sa.select(CalendarChannel).join(
            CalendarConnection, CalendarConnection.id == CalendarChannel.connection_id).where(
            unwanted, CalendarChannel.status == "pending", CalendarChannel.next_attempt_at > now,
            CalendarChannel.channel_id.is_not(None))):
        row.next_attempt_at = now
    db.session.commit()


def sweep_channels(_interval: float | None = None) -> None:
    """The sweep's channel step: rows made or made due, due ones queued. Returns nothing
    (a count is not a wait; renewals are days apart)."""
    ensure_channels()
    tasks.enqueue_due(CHANNEL_TASKS, JOB)


def _renew_at(expires):
    """When a channel expiring at `expires` is replaced: RENEW_BEFORE ahead of it, or half
    way there for a channel that lives less than that."""
    now = utcnow()
    before = timedelta(seconds=int(current_app.config["CALENDAR_CHANNEL_RENEW_BEFORE_SECONDS"]))
    return expires - before if expires - before > now else now + (expires - now) / 2


def run_channel(row_id: int) -> str:
    """Open, renew or stop one channel. Returns "watching", "stopped", "pending" (failed,
    tried again after backoff) or "not-claimed"."""
    if not tasks.claim(CHANNEL_TASKS, row_id):
        return "not-claimed"
    row = db.session.get(CalendarChannel, row_id)
    conn = db.session.get(CalendarConnection, row.connection_id)
    keep = wanted(conn)
    old = (row.channel_id, row.resource_id) if row.channel_id and row.resource_id else None
    fresh = None
    try:
        if keep:
            ttl = int(current_app.config["CALENDAR_CHANNEL_TTL_SECONDS"])
            channel_id, token = str(uuid.uuid4()), secrets.token_urlsafe(32)
            resource_id, expires = _call(conn, lambda p: p.watch(
                channel_id, token, webhook_address(), ttl, row.calendar_id))
            fresh = (channel_id, token, resource_id, expires or utcnow() + timedelta(seconds=ttl))
        if old is not None and conn is not None and conn.provider == "google":
            try:
                _call(conn, lambda p: p.stop(*old))
            except ProviderError as exc:  # it expires by itself; its posts get a 404
                log.warning("could not stop channel %s: %s", old[0], exc)
    except ProviderError as exc:
        if not keep:
            db.session.delete(row)
            db.session.commit()
            return "stopped"
        tasks.schedule_retry(CHANNEL_TASKS, row, str(exc)[:1000], retryable=True,
                             retry_after=exc.retry_after)
        db.session.commit()
        return row.status
    if fresh is None:
        db.session.delete(row)
        db.session.commit()
        return "stopped"
    row.channel_id, row.token, row.resource_id, row.expires_at = fresh
    row.status, row.claimed_at, row.attempts, row.last_error = "pending", None, 0, None
    row.next_attempt_at = _renew_at(row.expires_at)
    db.session.commit()
    return "watching"


def channel_for(conn: CalendarConnection | None) -> CalendarChannel | None:
    """The connection's open channel, if any (Settings shows whether pushes arrive)."""
    if conn is None:
        return None
    return db.session.scalar(sa.select(CalendarChannel).where(
        CalendarChannel.connection_id == conn.id,
        CalendarChannel.account_id == conn.account_id,
        CalendarChannel.channel_id.is_not(None)).limit(1))


tasks.register_sweep(36, "calendar push channels", sweep_channels)
