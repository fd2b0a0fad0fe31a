"""Calendar connections (request side: flush only): connect, disconnect, the adapter
with a usable credential, what the host's calendar must show for a meeting (its sync row,
written with the meeting), and busy time.

Tokens are the grant store's (webapp.grants); the sync itself is job side
(webapp.calendars.sync).
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from webapp import crypto, grants, tasks
from webapp.calendars.models import SYNC_TASKS, CalendarConnection, CalendarSync
from webapp.calendars.providers import ProviderError, ReconnectNeeded
from webapp.extensions import db
from webapp.types import utcnow

log = logging.getLogger(__name__)
#: Calendar connections in the grant store (the provider names the config prefix).
GRANTS = grants.GrantKind(CalendarConnection)

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
    if conn is not None:
        _before_replacing(conn)
    if conn is None:
        conn = CalendarConnection(account_id=user.account_id, user_id=user.id, provider=provider)
        db.session.add(conn)
    conn.provider, conn.status, conn.last_error, conn.sync_on = provider, "active", None, True
    return conn


def connect_oauth(user, provider: str, token: dict, email: str | None) -> CalendarConnection:
    """Store a fresh OAuth grant (encrypted)."""
    conn = _replace(user, provider)
    conn.external_email = email
    grants.store(conn, token)
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
    conn.token_version = (conn.token_version or 0) + 1
    db.session.flush()
    return conn


#: What must happen before a connection is deleted or replaced by another calendar,
#: registered by the modules that need its old grant (webapp.calendars.channels stops its
#: push channels).
_BEFORE_DISCONNECT: list = []


def before_disconnect(step) -> None:
    """Run step(connection) before a connection is disconnected or replaced (registered
    once)."""
    if step not in _BEFORE_DISCONNECT:
        _BEFORE_DISCONNECT.append(step)


def _before_replacing(conn: CalendarConnection) -> None:
    for step in _BEFORE_DISCONNECT:
        step(conn)  # while the connection and its grant exist (channels.stop_for, #23)


def disconnect(user) -> bool:
    conn = connection_for(user.id)
    if conn is None:
        return False
    _before_replacing(conn)
    db.session.execute(sa.update(CalendarSync).where(CalendarSync.connection_id == conn.id)
                       .values(connection_id=None))
    db.session.delete(conn)
    db.session.flush()
    return True


def access_token(conn: CalendarConnection, force: bool = False) -> str:
    """A usable access token of an OAuth connection (webapp.grants: refreshed in a session
    of its own when needed). Raises ReconnectNeeded or ProviderError."""
    try:
        return grants.fresh_access_token(GRANTS, conn.id, force)
    except grants.GrantRevoked as exc:
        raise ReconnectNeeded(f"The calendar needs to be connected again: {exc}") from exc
    except grants.GrantError as exc:
        raise ProviderError(str(exc), exc.status, retryable=exc.retryable) from exc


def provider_for(conn: CalendarConnection, force_refresh: bool = False):
    """The adapter for a connection, with a usable credential."""
    cfg = current_app.config
    if conn.provider == "google":
        from webapp.calendars.providers.google import GoogleCalendar
        return GoogleCalendar(cfg["GOOGLE_API_BASE"], access_token(conn, force_refresh))
    if conn.provider == "microsoft":
        from webapp.calendars.providers.microsoft import MicrosoftCalendar
        return MicrosoftCalendar(cfg["MICROSOFT_GRAPH_BASE"], access_token(conn, force_refresh),
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


def queue_sync(meeting, action: str, new_meeting: bool = False,
               source: str | None = None) -> CalendarSync | None:
    """Record what the host's calendar must show for this meeting (same transaction).
    new_meeting: the meeting was created in this transaction, so it has no sync row yet.
    source: the provider an inbound change came from (issue 23). The change is written
    back with Parley's SEQUENCE, except to Microsoft (Graph mails attendees on a PATCH,
    and already has the change). An event deleted in the calendar is never recreated."""
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
        row.etag = row.remote_deleted_at = None  # a new event on another calendar
    elif row.remote_deleted_at is not None:
        return row  # deleted in the calendar: neither recreated nor deleted again
    elif source == "microsoft" and conn is not None and row.connection_id == conn.id:
        return row  # Graph has the change, and mails attendees on a PATCH
    row.action, row.status, row.attempts = action, "pending", 0
    row.next_attempt_at, row.last_error, row.claimed_at = utcnow(), None, None
    db.session.flush()
    return row


def retry_sync(row: CalendarSync) -> bool:
    """A failed sync tried again (the meeting page's retry)."""
    return tasks.retry_now(SYNC_TASKS, row)


def busy_periods(user, start: datetime, end: datetime) -> list[tuple[datetime, datetime]] | None:
    """The user's busy time from their connected calendar; None when it cannot be read."""
    conn = connection_for(user.id)
    if conn is None or conn.status != "active":
        return []
    try:
        return provider_for(conn).busy(start, end)
    except ReconnectNeeded as exc:
        if conn.provider == "caldav":  # an OAuth grant was marked by the grant store
            grants.mark_revoked(GRANTS, conn.id, str(exc))
        return None
    except ProviderError as exc:
        log.warning("free/busy for connection %s failed: %s", conn.id, exc)
        return None
