"""Calendar connections, token refresh, meeting sync jobs and busy time.

Sync follows the outbox pattern: saving a meeting upserts its CalendarSync row in the same
transaction; a job claims the row and makes the provider match it, with retries, backoff
and Retry-After; 401 refreshes the token once; a refused grant marks the connection
"reconnect needed" and stops retrying.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

import requests
import sqlalchemy as sa
from flask import current_app

from webapp.calendars import crypto
from webapp.calendars.models import CalendarConnection, CalendarSync
from webapp.calendars.providers import AuthExpired, ProviderError, ReconnectNeeded
from webapp.extensions import db
from webapp.types import utcnow

log = logging.getLogger(__name__)
_refresh_locks: dict[int, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(connection_id: int) -> threading.Lock:
    with _locks_guard:
        return _refresh_locks.setdefault(connection_id, threading.Lock())
MAX_ATTEMPTS = 6
LEASE = timedelta(minutes=5)


_MEMO = "parley_calendar_connections"


def connection_for(user_id: int) -> CalendarConnection | None:
    """The user's calendar connection. Looked up once per transaction: saving a meeting
    asks twice (who mails the attendees, then the sync), and so does every job."""
    session = db.session()
    memo = session.info.setdefault(_MEMO, {})
    if user_id in memo and not any(isinstance(o, CalendarConnection) for o in session.new):
        return memo[user_id]
    conn = memo[user_id] = db.session.scalar(sa.select(CalendarConnection).where(
        CalendarConnection.user_id == user_id))
    return conn


def _forget_connections(session, transaction) -> None:
    # At the end of the transaction or of a savepoint; a flush's inner step is neither.
    if transaction.parent is None or transaction.nested:
        session.info.pop(_MEMO, None)


def _forget_changed_connections(session, _flush_context) -> None:
    if any(isinstance(o, CalendarConnection)
           for o in (*session.new, *session.dirty, *session.deleted)):
        session.info.pop(_MEMO, None)


sa.event.listen(db.session, "after_transaction_end", _forget_connections)
sa.event.listen(db.session, "after_flush", _forget_changed_connections)


def configured_providers() -> list[str]:
    """OAuth providers with client credentials configured, plus CalDAV (always)."""
    cfg = current_app.config
    return [p for p in ("google", "microsoft") if cfg.get(f"{p.upper()}_CLIENT_ID")] + ["caldav"]


def _replace(user, provider: str) -> CalendarConnection:
    conn = connection_for(user.id)
    if conn is None:
        conn = CalendarConnection(account_id=user.account_id, user_id=user.id, provider=provider)
        db.session.add(conn)
    conn.provider, conn.status, conn.last_error, conn.sync_on = provider, "active", None, True
    conn.token_version = (conn.token_version or 0) + 1
    return conn


def connect_oauth(user, provider: str, token: dict, email: str | None) -> CalendarConnection:
    """Store a fresh OAuth grant (encrypted)."""
    conn = _replace(user, provider)
    conn.external_email = email
    conn.access_token_enc = crypto.encrypt(token.get("access_token"))
    conn.refresh_token_enc = crypto.encrypt(token.get("refresh_token")) or conn.refresh_token_enc
    conn.expires_at = _expiry(token)
    conn.caldav_url = conn.caldav_username = conn.caldav_password_enc = None
    db.session.flush()
    return conn


def connect_caldav(user, url: str, username: str, password: str) -> CalendarConnection:
    """Discover the user's calendar and store the connection. Raises ProviderError
    (ReconnectNeeded for a wrong password) before anything is saved."""
    from webapp.calendars.providers.caldav import discover
    calendar_url = discover(url, username, password)
    conn = _replace(user, "caldav")
    conn.caldav_url, conn.caldav_username = url, username
    conn.caldav_password_enc = crypto.encrypt(password)
    conn.caldav_calendar_url = calendar_url
    conn.external_email = username if "@" in username else None
    conn.access_token_enc = conn.refresh_token_enc = None
    conn.expires_at = None
    db.session.flush()
    return conn


def disconnect(user) -> bool:
    conn = connection_for(user.id)
    if conn is None:
        return False
    db.session.execute(sa.update(CalendarSync).where(CalendarSync.connection_id == conn.id)
                       .values(connection_id=None))
    db.session.delete(conn)
    db.session.flush()
    return True


def _expiry(token: dict) -> datetime | None:
    if token.get("expires_at"):
        from datetime import UTC
        return datetime.fromtimestamp(float(token["expires_at"]), UTC)
    if token.get("expires_in"):
        return utcnow() + timedelta(seconds=int(token["expires_in"]))
    return None


def _valid(conn: CalendarConnection) -> bool:
    return conn.expires_at is None or conn.expires_at > utcnow() + timedelta(seconds=60)


def access_token(connection_id: int, force: bool = False) -> str:
    """A usable access token, refreshed when near expiry (or when `force`, after a 401).

    Many jobs may find the token expired at once: a lock (a row lock on PostgreSQL, and a
    process lock), a re-check after taking it, and a compare-and-swap on token_version make
    exactly one of them call the token endpoint.
    """
    conn = db.session.get(CalendarConnection, connection_id)
    if conn is None:
        raise ProviderError("The calendar connection was removed.", retryable=False)
    if conn.status != "active":
        raise ReconnectNeeded("The calendar needs to be connected again.")
    seen_version = conn.token_version
    if _valid(conn) and not force:
        return crypto.decrypt(conn.access_token_enc)
    # Give the pooled connection back before waiting: twenty waiting jobs must not hold
    # the pool while the one refreshing needs a connection.
    db.session.commit()
    with _lock_for(connection_id):
        stmt = sa.select(CalendarConnection).where(CalendarConnection.id == connection_id)
        if db.engine.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        conn = db.session.execute(stmt.execution_options(populate_existing=True)).scalar_one()
        if conn.status != "active":
            db.session.commit()
            raise ReconnectNeeded("The calendar needs to be connected again.")
        if conn.token_version != seen_version or (_valid(conn) and not force):
            token = crypto.decrypt(conn.access_token_enc)
            db.session.commit()
            return token  # someone else refreshed while we waited
        try:
            fresh = _refresh_grant(conn)
        except ReconnectNeeded as exc:
            conn.status, conn.last_error = "reconnect_needed", str(exc)
            db.session.commit()
            raise
        result = db.session.execute(
            sa.update(CalendarConnection)
            .where(CalendarConnection.id == conn.id,
                   CalendarConnection.token_version == conn.token_version)
            .values(access_token_enc=crypto.encrypt(fresh["access_token"]),
                    refresh_token_enc=crypto.encrypt(fresh.get("refresh_token"))
                    or conn.refresh_token_enc,
                    expires_at=_expiry(fresh), token_version=conn.token_version + 1)
            .execution_options(synchronize_session=False))
        db.session.commit()
        if result.rowcount != 1:  # lost the race after all: use the winner's token
            db.session.expire_all()
            return crypto.decrypt(db.session.get(CalendarConnection, connection_id)
                                  .access_token_enc)
        return fresh["access_token"]


def _refresh_grant(conn: CalendarConnection) -> dict:
    cfg = current_app.config
    prefix = conn.provider.upper()
    refresh_token = crypto.decrypt(conn.refresh_token_enc)
    if not refresh_token:
        raise ReconnectNeeded("No refresh token: connect the calendar again.")
    try:
        response = requests.post(cfg[f"{prefix}_TOKEN_URL"], timeout=10, data={
            "grant_type": "refresh_token", "refresh_token": refresh_token,
            "client_id": cfg[f"{prefix}_CLIENT_ID"], "client_secret": cfg[f"{prefix}_CLIENT_SECRET"]})
    except requests.RequestException as exc:
        raise ProviderError("The sign-in service is unreachable.") from exc
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code in (400, 401) and body.get("error") in (
            "invalid_grant", "unauthorized_client", "invalid_client"):
        raise ReconnectNeeded("Access to the calendar was revoked: connect it again.")
    if response.status_code >= 400 or "access_token" not in body:
        raise ProviderError(f"Token refresh failed ({response.status_code}).",
                            response.status_code, retryable=response.status_code >= 500)
    return body


def provider_for(conn: CalendarConnection, force_refresh: bool = False):
    """The adapter for a connection, with a usable credential."""
    cfg = current_app.config
    if conn.provider == "google":
        from webapp.calendars.providers.google import GoogleCalendar
        return GoogleCalendar(cfg["GOOGLE_API_BASE"], access_token(conn.id, force_refresh))
    if conn.provider == "microsoft":
        from webapp.calendars.providers.microsoft import MicrosoftCalendar
        return MicrosoftCalendar(cfg["MICROSOFT_GRAPH_BASE"], access_token(conn.id, force_refresh),
                                 conn.external_email)
    from webapp.calendars.providers.caldav import CalDAVCalendar
    return CalDAVCalendar(conn.caldav_url, conn.caldav_username,
                          crypto.decrypt(conn.caldav_password_enc), conn.caldav_calendar_url)


def syncing_connection(user_id: int) -> CalendarConnection | None:
    conn = connection_for(user_id)
    return conn if conn is not None and conn.status == "active" and conn.sync_on else None


def provider_mails_attendees(host_id: int) -> bool:
    """True when the host's calendar (Microsoft Graph) sends attendees the invitations."""
    conn = syncing_connection(host_id)
    return conn is not None and conn.provider == "microsoft"


def queue_sync(meeting, action: str, new_meeting: bool = False) -> CalendarSync | None:
    """Record what the host's calendar must show for this meeting (same transaction).
    new_meeting: the meeting was created in this transaction, so it has no sync row yet."""
    row = None if new_meeting else db.session.scalar(
        sa.select(CalendarSync).where(CalendarSync.meeting_id == meeting.id))
    conn = syncing_connection(meeting.host_id)
    if conn is None and (row is None or row.external_id is None):
        return None
    if row is None:
        row = CalendarSync(account_id=meeting.account_id, meeting_id=meeting.id,
                           connection_id=conn.id, provider=conn.provider)
        db.session.add(row)
    elif conn is not None and row.connection_id != conn.id and action == "upsert":
        row.connection_id, row.provider, row.external_id = conn.id, conn.provider, None
    row.action, row.status, row.attempts = action, "pending", 0
    row.next_attempt_at, row.last_error, row.claimed_at = utcnow(), None, None
    db.session.flush()
    return row


def _claim(sync_id: int) -> bool:
    now = utcnow()
    result = db.session.execute(
        sa.update(CalendarSync).where(CalendarSync.id == sync_id, sa.or_(
            sa.and_(CalendarSync.status == "pending", CalendarSync.next_attempt_at <= now),
            sa.and_(CalendarSync.status == "syncing", CalendarSync.claimed_at < now - LEASE)))
        .values(status="syncing", claimed_at=now, attempts=CalendarSync.attempts + 1)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount == 1


def run_sync(sync_id: int) -> str:
    """Make the provider match the meeting. Returns the row's status afterwards."""
    from webapp.meetings.models import Meeting

    if not _claim(sync_id):
        return "not-claimed"
    row = db.session.get(CalendarSync, sync_id)
    meeting = db.session.get(Meeting, row.meeting_id)
    conn = db.session.get(CalendarConnection, row.connection_id) if row.connection_id else None
    if meeting is None or conn is None:
        row.status, row.last_error = "failed", "The calendar connection was removed."
        db.session.commit()
        return row.status
    action = "delete" if meeting.deleted_at is not None else row.action
    try:
        for attempt in (0, 1):
            try:
                provider = provider_for(conn, force_refresh=attempt == 1)
                if action == "delete":
                    provider.delete(meeting, row.external_id)
                else:
                    row.external_id = provider.upsert(meeting, row.external_id)
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
        row.last_error = str(exc)[:1000]
        if exc.retryable and row.attempts < MAX_ATTEMPTS:
            wait = exc.retry_after if exc.retry_after is not None else min(
                3600, 30 * 2 ** (row.attempts - 1))
            row.status, row.next_attempt_at = "pending", utcnow() + timedelta(seconds=wait)
        else:
            row.status = "failed"
    else:
        row.status, row.synced_at, row.last_error = "synced", utcnow(), None
    db.session.commit()
    return row.status


def retry_sync(row: CalendarSync) -> bool:
    if row.status != "failed":
        return False
    row.status, row.attempts, row.next_attempt_at, row.last_error = "pending", 0, utcnow(), None
    db.session.flush()
    return True


def relay_syncs(limit: int = 500) -> int:
    """Enqueue due sync rows (and ones whose worker died). Part of the periodic sweep."""
    from webapp import jobs
    now = utcnow()
    ids = list(db.session.scalars(sa.select(CalendarSync.id).where(sa.or_(
        sa.and_(CalendarSync.status == "pending", CalendarSync.next_attempt_at <= now),
        sa.and_(CalendarSync.status == "syncing", CalendarSync.claimed_at < now - LEASE)))
        .order_by(CalendarSync.id).limit(limit)))
    db.session.commit()
    done = 0
    for sync_id in ids:
        if not jobs.enqueue("worker.jobs.sync_calendar", sync_id):
            break
        done += 1
    return done


def busy_periods(user, start: datetime, end: datetime) -> list[tuple[datetime, datetime]] | None:
    """The user's busy time from their connected calendar; None when it cannot be read."""
    conn = connection_for(user.id)
    if conn is None or conn.status != "active":
        return []
    try:
        return provider_for(conn).busy(start, end)
    except ReconnectNeeded as exc:
        conn.status, conn.last_error = "reconnect_needed", str(exc)
        db.session.commit()
        return None
    except ProviderError as exc:
        log.warning("free/busy for connection %s failed: %s", conn.id, exc)
        return None
