"""Google push notifications (issue 23): a calendar changed in Google is synced within a
sweep instead of at the next poll.

A Google channel (events.watch) watches one calendar, so each active Google connection
with sync on has a notification channel (a CalendarChannel row) on every calendar its
inbound sync reads (#21: the one receiving new meetings, and every previous target that
still holds Parley's events), posting to PUBLIC_BASE_URL + WEBHOOK_PATH. Without
PUBLIC_BASE_URL no channel is made and calendars are polled only (every
CALENDAR_SYNC_INTERVAL_SECONDS).

- Job side (webapp.calendars.sync, through the one task runner): the sweep makes a row
  for the target calendar of every connection that should have channels and makes due the
  rows of those that should not any more; each inbound sync makes a row for every other
  calendar it read and makes due the rows of calendars it no longer reads. JOB claims a
  due row and opens a new channel (the first, or the one replacing a channel
  CALENDAR_CHANNEL_RENEW_BEFORE_SECONDS before it expires: the new one is opened before
  the old one is stopped, so no change goes unannounced), or stops the channel and
  deletes the row.
- Request side (this module, flush only): the webhook (notified()) checks the channel id,
  its secret token (in constant time) and the resource id, then only marks the inbound
  sync of the channel's connection due (CalendarSyncState: one sync reads each of its
  calendars from its own token); the sweep queues it. No provider call is made on the
  request path, and a burst of notifications queues one sync.
- Disconnecting stops the channels first (stop_for()), while the grant that may stop
  them still exists. A channel that could not be stopped expires by itself; its
  notifications meanwhile get a 404.

Microsoft connections have one Graph subscription to their events instead (the same row,
calendar "primary": the subscription id, "me/events", clientState as the token; at most
4230 minutes, renewed alike); Graph's validationToken is echoed by the webhook. Microsoft
documents the resource me/events as "changes to all events in a user's mailbox", every
calendar of it, so one subscription covers a target that is not the default calendar.
"""

from __future__ import annotations

import hmac
import logging

import sqlalchemy as sa
from flask import current_app

from webapp.calendars import connections
from webapp.calendars.models import (
    CalendarChannel,
    CalendarConnection,
    CalendarSyncState,
)
from webapp.calendars.providers import AuthExpired, ProviderError
from webapp.extensions import db
from webapp.types import utcnow

log = logging.getLogger(__name__)

#: Where each provider posts (webapp.calendars.routes: google_notification,
#: microsoft_notification).
WEBHOOK_PATHS = {"google": "/calendars/google/notifications",
                 "microsoft": "/calendars/microsoft/notifications"}
WEBHOOK_PATH = WEBHOOK_PATHS["google"]
#: The job that opens, renews or stops one channel (webapp.calendars.sync.run_channel).
JOB = "worker.jobs.calendar_channel"


def webhook_address(provider: str = "google") -> str | None:
    """The public address of a provider's webhook, or None (no PUBLIC_BASE_URL: polling
    only)."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return base + WEBHOOK_PATHS[provider] if base else None


#: Providers whose channel watches one calendar: a channel per calendar read.
PER_CALENDAR = ("google",)
#: The calendar a connection's single channel is kept under (Graph: the whole mailbox).
WHOLE_ACCOUNT = "primary"


def wanted_clause():
    """Connections that should have a channel (SQL)."""
    return sa.and_(CalendarConnection.provider.in_(WEBHOOK_PATHS),
                   CalendarConnection.status == "active", CalendarConnection.sync_on)


def wanted(conn: CalendarConnection | None) -> bool:
    """Whether this connection should have a channel now."""
    return (conn is not None and conn.provider in WEBHOOK_PATHS and conn.status == "active"
            and conn.sync_on and webhook_address() is not None)


def wanted_calendars(conn: CalendarConnection) -> set[str]:
    """The calendars of a connection that should have a channel now: for Google, every
    calendar its inbound sync reads (the target, and previous targets still holding live
    events); for Graph, the one subscription covering the mailbox."""
    if not wanted(conn):
        return set()
    if conn.provider not in PER_CALENDAR:
        return {WHOLE_ACCOUNT}
    from webapp.calendars.inbound import calendars_to_read
    return {connections.calendar_key(conn, ref) for ref in calendars_to_read(conn)}


def _same(stored: str | None, given: str | None) -> bool:
    """Secrets compared in constant time."""
    return bool(stored) and given is not None and hmac.compare_digest(
        stored.encode(), given.encode("utf-8", "replace"))


# --- request side: the webhook ------------------------------------------------------------

def notified(channel_id: str | None, token: str | None, resource_id: str | None,
             resource_state: str | None) -> bool:
    """A notification Google posted. False when it is not from a channel of ours (unknown
    channel, wrong token or resource): nothing is done. Otherwise the connection's inbound
    sync is made due, except for the "sync" message that opens a channel (flushes; the
    caller commits)."""
    if not channel_id or not token or not resource_id:
        return False
    row = _channel(channel_id, "google")
    if row is None or not _same(row.token, token) or not _same(row.resource_id, resource_id):
        return False
    if resource_state == "sync":
        return True  # the channel is open; nothing changed yet
    _due(row)
    return True


def notified_graph(subscription_id: str | None, client_state: str | None) -> bool:
    """One change notification Microsoft Graph posted (an item of its "value" list):
    like notified(), the subscription's clientState stands for the channel's token."""
    if not subscription_id or not client_state:
        return False
    row = _channel(subscription_id, "microsoft")
    if row is None or not _same(row.token, client_state):
        return False
    _due(row)
    return True


def _channel(channel_id: str, provider: str) -> CalendarChannel | None:
    return db.session.scalar(sa.select(CalendarChannel).join(
        CalendarConnection, CalendarConnection.id == CalendarChannel.connection_id).where(
        CalendarChannel.channel_id == channel_id[:64], CalendarConnection.provider == provider))


def _due(row: CalendarChannel) -> None:
    """The channel's connection syncs at the next sweep (flushes on commit)."""
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
            if row.channel_id and conn.provider in WEBHOOK_PATHS:
                call(conn, lambda p, r=row: p.close_channel(r.channel_id, r.resource_id))
                stopped += 1
    except ProviderError as exc:
        log.warning("could not stop the channels of connection %s: %s", conn.id, exc)
    for row in rows:
        db.session.delete(row)
    db.session.flush()
    return stopped


def call(conn: CalendarConnection, action):
    """action(adapter) with a usable token; a refused token is refreshed once."""
    try:
        return action(connections.provider_for(conn))
    except AuthExpired:
        return action(connections.provider_for(conn, force_refresh=True))


def channel_for(conn: CalendarConnection | None) -> CalendarChannel | None:
    """The connection's channel row, open or not yet (Settings shows whether pushes
    arrive, and why not)."""
    if conn is None:
        return None
    return db.session.scalar(sa.select(CalendarChannel).where(
        CalendarChannel.connection_id == conn.id,
        CalendarChannel.account_id == conn.account_id)
        .order_by(CalendarChannel.channel_id.is_(None), CalendarChannel.id).limit(1))


connections.before_disconnect(stop_for)
