"""Making the host's calendar match the meeting (job side: owns its transactions).

Sync follows the outbox pattern: saving a meeting upserts its CalendarSync row in the same
transaction (webapp.calendars.connections.queue_sync); a job claims the row through the
task runner and makes the provider match it, with retries, backoff and Retry-After; a 401
refreshes the token once; a refused grant marks the connection "reconnect needed" and
stops retrying.

Never overwrite the other side silently (issue 23): every write carries the version Parley
last saw (CalDAV ETag as If-Match, Google's etag, Graph's changeKey). A 412 means the
event changed in the calendar: the server's version is taken in first (through the save
pipeline, webapp.calendars.inbound.resolve_conflict), then Parley's version is written
when it is the later change. An event deleted in the calendar is never recreated.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from webapp import jobs, tasks
from webapp.calendars import channels, inbound
from webapp.calendars.connections import (
    calendar_key,
    event_calendar,
    provider_for,
    target_ref,
)
from webapp.calendars.models import (
    CHANNEL_TASKS,
    INBOUND_TASKS,
    SYNC_TASKS,
    CalendarChannel,
    CalendarConnection,
    CalendarSync,
    CalendarSyncState,
    ConnectionCalendar,
)
from webapp.calendars.providers import AuthExpired, Conflict, ProviderError, ReconnectNeeded
from webapp.extensions import db
from webapp.meetings.models import Meeting
from webapp.types import utcnow

log = logging.getLogger(__name__)

JOB = "worker.jobs.sync_calendar"


def run_sync(sync_id: int) -> str:
    """Make the provider match the meeting. Returns the row's status afterwards."""
    if not tasks.claim(SYNC_TASKS, sync_id):
        return "not-claimed"
    row = db.session.get(CalendarSync, sync_id)
    meeting = db.session.get(Meeting, row.meeting_id)
    conn = db.session.get(CalendarConnection, row.connection_id) if row.connection_id else None
    if meeting is None or conn is None:
        row.status, row.last_error = "failed", "The calendar connection was removed."
        db.session.commit()
        return row.status
    action = "delete" if meeting.deleted_at is not None else row.action
    results: list = []
    try:
        for attempt in (0, 1):
            try:
                provider = provider_for(conn, force_refresh=attempt == 1,
                                        calendar=_event_calendar(conn, row))
                if row.remote_deleted_at is not None:
                    pass  # deleted in the calendar: neither recreated nor deleted again
                elif action == "delete":
                    provider.delete(meeting, row.external_id)
                else:
                    results += _write(conn, row, meeting, provider)
                break
            except AuthExpired:
                if attempt == 1 or conn.provider == "caldav":
                    raise ProviderError("The calendar keeps refusing the access token.",
                                        401, retryable=False) from None
    except ReconnectNeeded as exc:
        if conn.provider == "caldav":
            conn.status, conn.last_error = "reconnect_needed", str(exc)
        row.status, row.last_error = "failed", str(exc)
    except ProviderError as exc:
        tasks.schedule_retry(SYNC_TASKS, row, str(exc)[:1000], retryable=exc.retryable,
                             retry_after=exc.retry_after)
    else:
        row.status, row.synced_at, row.last_error = "synced", utcnow(), None
    db.session.commit()
    for result in results:
        result.after_commit()
    return row.status


def _event_calendar(conn, row: CalendarSync) -> str | None:
    """The calendar the row's event lives in (None: a new event, to the target)."""
    if row.external_id is None:
        return None
    return event_calendar(conn, row)


def _write(conn, row: CalendarSync, meeting, provider) -> list:
    """Write the meeting with the stored version; on a 412 take the server's change in
    first, then write again when Parley's version still stands. Returns the save results
    of what was taken in (their messages go after the commit)."""
    try:
        written = provider.write(meeting, row.external_id, row.etag)
    except Conflict:
        write_again, results = inbound.resolve_conflict(conn, row, meeting, provider)
        if write_again:
            written = provider.write(meeting, row.external_id, row.etag)
            row.external_id, row.etag = written.id, written.etag
        return results
    row.external_id, row.etag = written.id, written.etag
    if row.calendar_ref is None:  # where the event lives, for later writes and reads
        row.calendar_ref = provider.calendar_id
    return []


def relay_syncs(limit: int = 500) -> int:
    """Enqueue due sync rows (and ones whose worker died): the relay and the sweep."""
    return tasks.enqueue_due(SYNC_TASKS, JOB, limit)


# --- inbound: what changed in the calendar (issue 23) --------------------------------------

def run_inbound(state_id: int) -> str:
    """One inbound sync of a connection. Returns "synced", "failed" or "not-claimed"."""
    if not tasks.claim(INBOUND_TASKS, state_id):
        return "not-claimed"
    state = db.session.get(CalendarSyncState, state_id)
    conn = db.session.get(CalendarConnection, state.connection_id)
    if conn is None or conn.status != "active" or not conn.sync_on:
        state.status, state.next_attempt_at = "pending", utcnow() + inbound.interval()
        db.session.commit()
        return "skipped"
    initial = state.last_success_at is None
    tokens = inbound.tokens_of(state, conn)
    read: dict[str, object] = {}  # calendar key: what its changes() answered
    gone: set[str] = set()  # previous targets the provider no longer has
    try:
        taken, results = 0, []
        # #21: the target calendar, and every other calendar that holds Parley's events
        # (a previous target): their events still change in the calendar.
        for ref in inbound.calendars_to_read(conn):
            key = calendar_key(conn, ref)
            changes = _changes_of(conn, ref, tokens.get(key))
            if changes is None:
                gone.add(key)  # a previous target that is gone: nothing of it can change
                continue
            read[key] = changes
            what, done = _apply_changes(conn, state, ref, changes, initial)
            taken += what
            results += done
        follow_calendars(conn, gone)
    except ProviderError as exc:
        db.session.rollback()  # nothing of this sync is kept: the next one catches up
        return _failed(state_id, exc)
    except Exception as exc:
        db.session.rollback()
        log.exception("inbound sync of connection state %s failed", state_id)
        return _failed(state_id, ProviderError(f"Sync failed: {exc.__class__.__name__}"))
    now = utcnow()
    target = calendar_key(conn, target_ref(conn))
    first = read.get(target)
    state.sync_token = first.token if first is not None else None
    state.ctag = first.ctag if first is not None else None
    state.token_calendar = target
    state.calendar_tokens = {k: c.token for k, c in read.items()
                             if k != target and c.token} or None
    state.last_success_at, state.last_error, state.last_error_at = now, None, None
    state.failures, state.notified_at = 0, None
    state.changes_in += taken
    state.status, state.claimed_at, state.next_attempt_at = "pending", None, now + inbound.interval()
    state.attempts = 0
    db.session.commit()
    for result in results:
        result.after_commit()
    if results:
        jobs.request_relay()
    return "synced"


def _changes_of(conn, ref: str, token: str | None):
    """What changed in one calendar of the connection since token (a refused access token
    is refreshed once, as writes are). None: a calendar other than the target that the
    provider no longer has (404)."""
    def known() -> dict:
        # Only the ctag/etag fallback compares every event Parley wrote on this calendar;
        # the others name what changed, and only those rows are read (below).
        return {href: r.etag for href, r in inbound.rows_by_href(conn, ref).items()
                if r.remote_deleted_at is None}
    try:
        try:
            return provider_for(conn, calendar=ref).changes(token, known)
        except AuthExpired:
            if conn.provider == "caldav":
                raise
            return provider_for(conn, force_refresh=True, calendar=ref).changes(token, known)
    except ProviderError as exc:
        if exc.status == 404 and calendar_key(conn, ref) != calendar_key(conn, target_ref(conn)):
            log.warning("calendar %s of connection %s is gone: %s", ref, conn.id, exc)
            return None
        raise


def _apply_changes(conn, state, ref: str, changes, initial: bool) -> tuple[int, list]:
    """Apply one calendar's changes to the meetings whose events live on it. Returns
    (changes taken in, save results whose messages go after the commit)."""
    taken, results = 0, []
    seen: set[str] = set()
    rows = inbound.rows_for(conn, changes.events)
    key = calendar_key(conn, ref)
    for remote in changes.events:
        if remote.id in seen:
            continue  # the same change delivered twice in one answer: applied once
        seen.add(remote.id)
        row = rows.get(remote.id)
        if row is None or calendar_key(conn, event_calendar(conn, row)) != key:
            continue  # not Parley's event (busy time only), or a copy of it elsewhere
        what, done = inbound.apply_remote(conn, state, row, remote, initial=initial)
        if sa.inspect(state).expired_attributes:
            # The save refused after writing and rolled the transaction back (see
            # pipeline.save): what this sync took in so far is gone, so its token
            # must not be kept either.
            raise ProviderError("A change from the calendar could not be saved; the "
                                "next sync tries again.")
        results += done
        taken += what in ("moved", "updated", "canceled", "flagged")
    return taken, results


def _failed(state_id: int, exc: ProviderError) -> str:
    state = db.session.get(CalendarSyncState, state_id)
    now = utcnow()
    state.failures += 1
    state.last_error, state.last_error_at = str(exc)[:1000], now
    state.status, state.claimed_at = "pending", None
    state.next_attempt_at = now + min(inbound.interval(), tasks.backoff(state.failures))
    if isinstance(exc, ReconnectNeeded):
        conn = db.session.get(CalendarConnection, state.connection_id)
        if conn is not None and conn.provider == "caldav":
            conn.status, conn.last_error = "reconnect_needed", str(exc)
    notify_after = int(current_app.config["CALENDAR_SYNC_NOTIFY_AFTER"])
    if state.failures >= notify_after and state.notified_at is None:
        state.notified_at = now
        _notify_failing(state)
    db.session.commit()
    return "failed"


def _notify_failing(state: CalendarSyncState) -> None:
    from webapp.notifications import operations as notifications
    conn = db.session.get(CalendarConnection, state.connection_id)
    if conn is not None:
        notifications.notify_calendar_failing(conn.account_id, conn.user_id, state.id)


def ensure_states() -> None:
    """Every active, syncing connection has its state row (the sweep; commits)."""
    missing = db.session.scalars(sa.select(CalendarConnection).outerjoin(
        CalendarSyncState, CalendarSyncState.connection_id == CalendarConnection.id).where(
        CalendarSyncState.id.is_(None), CalendarConnection.status == "active"))
    for conn in missing:
        db.session.add(CalendarSyncState(account_id=conn.account_id, connection_id=conn.id,
                                         next_attempt_at=utcnow()))
    db.session.commit()


def sweep_inbound(_interval: float | None = None) -> None:
    """The sweep's inbound step: every connection has its state, due ones are queued.
    Returns nothing (a count is not a wait)."""
    ensure_states()
    tasks.enqueue_due(INBOUND_TASKS, inbound.JOB)


def sweep_syncs(_interval: float) -> None:
    """The sweep's calendar step. Returns nothing: relay_syncs()'s count is not a wait."""
    relay_syncs()


# --- push: Google channels, Graph subscriptions (issue 23; webapp.calendars.channels) ------

def ensure_channels() -> None:
    """Every connection that should have channels has a row for the calendar receiving
    its new meetings (Graph: one for the mailbox), due at once; rows whose connection
    should not have channels any more and still hold one are due, to be stopped (the
    sweep; commits). Google's other calendars follow the inbound sync
    (follow_calendars)."""
    now = utcnow()
    if channels.webhook_address() is not None:
        target = sa.case((CalendarConnection.provider.in_(channels.PER_CALENDAR),
                          sa.func.coalesce(ConnectionCalendar.external_id,
                                           channels.WHOLE_ACCOUNT)),
                         else_=channels.WHOLE_ACCOUNT)
        missing = db.session.execute(sa.select(CalendarConnection, target).outerjoin(
            ConnectionCalendar, sa.and_(
                ConnectionCalendar.connection_id == CalendarConnection.id,
                ConnectionCalendar.is_target, sa.not_(ConnectionCalendar.primary))).outerjoin(
            CalendarChannel, sa.and_(CalendarChannel.connection_id == CalendarConnection.id,
                                     CalendarChannel.calendar_id == target)).where(
            CalendarChannel.id.is_(None), channels.wanted_clause()))
        for conn, calendar_id in missing:
            db.session.add(CalendarChannel(account_id=conn.account_id, connection_id=conn.id,
                                           calendar_id=calendar_id, next_attempt_at=now))
    unwanted = sa.true() if channels.webhook_address() is None else sa.not_(channels.wanted_clause())
    for row in db.session.scalars(sa.select(CalendarChannel).join(
            CalendarConnection, CalendarConnection.id == CalendarChannel.connection_id).where(
            unwanted, CalendarChannel.status == "pending", CalendarChannel.next_attempt_at > now,
            CalendarChannel.channel_id.is_not(None))):
        row.next_attempt_at = now
    db.session.commit()


def follow_calendars(conn: CalendarConnection, gone: set[str]) -> None:
    """After an inbound sync (in its transaction): the connection's channels follow the
    calendars it reads. A calendar read without a channel gets a row, due at once (a
    previous target, e.g. one chosen before channels were per calendar); a channel on a
    calendar no longer read (its last event gone, or the calendar itself: `gone`) is due,
    to be stopped."""
    if conn.provider not in channels.PER_CALENDAR:
        return
    wanted = channels.wanted_calendars(conn) - gone
    rows = {r.calendar_id: r for r in db.session.scalars(sa.select(CalendarChannel).where(
        CalendarChannel.connection_id == conn.id,
        CalendarChannel.account_id == conn.account_id))}
    now = utcnow()
    # The target's row is the sweep's to make (ensure_channels): never both at once.
    for calendar_id in wanted - rows.keys() - {calendar_key(conn, target_ref(conn))}:
        if len(calendar_id) <= CalendarChannel.calendar_id.type.length:
            db.session.add(CalendarChannel(account_id=conn.account_id, connection_id=conn.id,
                                           calendar_id=calendar_id, next_attempt_at=now))
    for calendar_id, row in rows.items():
        if calendar_id not in wanted and row.channel_id is not None \
                and row.status == "pending" and row.next_attempt_at > now:
            row.next_attempt_at = now


def sweep_channels(_interval: float | None = None) -> None:
    """The sweep's channel step: rows made or made due, due ones queued. Returns nothing
    (a count is not a wait; renewals are days apart)."""
    ensure_channels()
    tasks.enqueue_due(CHANNEL_TASKS, channels.JOB)


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
    keep = conn is not None and row.calendar_id in channels.wanted_calendars(conn)
    old = (row.channel_id, row.resource_id) if row.channel_id else None
    fresh = None
    try:
        if keep:
            ttl = int(current_app.config["CALENDAR_CHANNEL_TTL_SECONDS"])
            token = secrets.token_urlsafe(32)
            channel_id, resource_id, expires = channels.call(conn, lambda p: p.open_channel(
                str(uuid.uuid4()), token, channels.webhook_address(conn.provider), ttl,
                row.calendar_id))
            fresh = (channel_id, token, resource_id, expires or utcnow() + timedelta(seconds=ttl))
        if old is not None and conn is not None and conn.provider in channels.WEBHOOK_PATHS:
            try:
                channels.call(conn, lambda p: p.close_channel(*old))
            except ProviderError as exc:  # it expires by itself; its posts get a 404
                log.warning("could not stop channel %s: %s", old[0], exc)
    except ProviderError as exc:
        if not keep or (exc.status == 404 and fresh is None
                        and row.calendar_id != calendar_key(conn, target_ref(conn))):
            # Not wanted any more, or a previous target the account no longer has (the
            # inbound sync skips it too): nothing to watch.
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


tasks.register_relay(30, "calendar syncs", relay_syncs)
tasks.register_sweep(30, "calendar syncs", sweep_syncs)
tasks.register_sweep(35, "calendar inbound syncs", sweep_inbound)
tasks.register_sweep(36, "calendar push channels", sweep_channels)
