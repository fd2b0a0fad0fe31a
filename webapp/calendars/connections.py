"""Calendar connections (request side: flush only): connect, disconnect, the adapter
with a usable credential, what the host's calendar must show for a meeting (its sync row,
written with the meeting), and busy time.

A user may connect several calendar accounts (#21: Google, Microsoft 365, CalDAV, any
mix, several of one provider). One of them receives new meetings (`receives_events`,
chosen in Settings, the first connected by default): "the user's connection" wherever a
meeting is written, synced or its video account checked means that one. Each connection
lists its calendars (ConnectionCalendar, fetched on connecting and on "refresh"): which
count for busy time, and which one of them the meetings are written to.

Tokens are the grant store's (webapp.grants); the sync itself is job side
(webapp.calendars.sync).
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from webapp import crypto, grants, tasks
from webapp.calendars.models import (
    SYNC_TASKS,
    CalendarConnection,
    CalendarSync,
    ConnectionCalendar,
)
from webapp.calendars.providers import AuthExpired, CalendarInfo, ProviderError, ReconnectNeeded
from webapp.extensions import db
from webapp.types import utcnow

log = logging.getLogger(__name__)
#: Calendar connections in the grant store (the provider names the config prefix).
GRANTS = grants.GrantKind(CalendarConnection)

_MEMO = "parley_calendar_connections"


def connection_for(user_id: int) -> CalendarConnection | None:
    """The user's connection that receives new meetings (the first one connected when
    none is marked). Looked up once per transaction: saving a meeting asks twice (who
    mails the attendees, then the sync), and so does every job."""
    session = db.session()
    memo = session.info.setdefault(_MEMO, {})
    if user_id in memo and not any(isinstance(o, CalendarConnection) for o in session.new):
        return memo[user_id]
    conn = memo[user_id] = db.session.scalar(
        sa.select(CalendarConnection).where(CalendarConnection.user_id == user_id)
        .order_by(CalendarConnection.receives_events.desc(), CalendarConnection.id).limit(1))
    return conn


def connections_of(user_id: int) -> list[CalendarConnection]:
    """Every calendar connection of the user, in the order they were made."""
    return list(db.session.scalars(sa.select(CalendarConnection).where(
        CalendarConnection.user_id == user_id).order_by(CalendarConnection.id)))


def get_connection(user, connection_id: int | None) -> CalendarConnection | None:
    """One of the user's connections (None when not theirs); no id: the receiving one."""
    if connection_id is None:
        return connection_for(user.id)
    return db.session.scalar(sa.select(CalendarConnection).where(
        CalendarConnection.id == connection_id, CalendarConnection.user_id == user.id,
        CalendarConnection.account_id == user.account_id))


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


def _replace(user, provider: str, **same) -> CalendarConnection:
    """The user's connection to this calendar account (provider and the `same` columns),
    made when missing; connecting the same account again reconnects it (its push channel,
    made with the old grant, is stopped first). The user's first connection receives their
    meetings."""
    existing = connections_of(user.id)
    conn = next((c for c in existing if c.provider == provider
                 and all(getattr(c, k) == v for k, v in same.items())), None)
    if conn is not None:
        _before_replacing(conn)
    if conn is None:
        conn = CalendarConnection(account_id=user.account_id, user_id=user.id, provider=provider,
                                  receives_events=not any(c.receives_events for c in existing))
        db.session.add(conn)
    for key, value in same.items():
        setattr(conn, key, value)
    conn.provider, conn.status, conn.last_error, conn.sync_on = provider, "active", None, True
    return conn


def connect_oauth(user, provider: str, token: dict, email: str | None) -> CalendarConnection:
    """Store a fresh OAuth grant (encrypted), then list the account's calendars (a
    failure there keeps the connection; "refresh" lists them later)."""
    conn = _replace(user, provider, external_email=email)
    grants.store(conn, token)
    conn.caldav_url = conn.caldav_username = conn.caldav_password_enc = None
    db.session.flush()
    # With the token just granted: the grant store reads committed rows only.
    _try_refresh(conn, token.get("access_token"))
    return conn


def _try_refresh(conn: CalendarConnection, access: str | None = None) -> None:
    try:
        refresh_calendars(conn, access)
    except ProviderError as exc:
        log.warning("listing the calendars of connection %s failed: %s", conn.id, exc)


def connect_caldav(user, url: str, username: str, password: str) -> CalendarConnection:
    """Discover the user's calendar and store the connection. Raises ProviderError
    (ReconnectNeeded for a wrong password) before anything is saved."""
    from webapp.calendars.providers.caldav import discover
    calendar_url = discover(url, username, password)
    conn = _replace(user, "caldav", caldav_url=url, caldav_username=username)
    conn.caldav_password_enc = crypto.encrypt(password)
    if conn.caldav_calendar_url is None:
        conn.caldav_calendar_url = calendar_url
    conn.external_email = username if "@" in username else None
    conn.access_token_enc = conn.refresh_token_enc = None
    conn.expires_at = None
    conn.token_version = (conn.token_version or 0) + 1
    db.session.flush()
    _try_refresh(conn)
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


def disconnect(user, connection_id: int | None = None) -> bool:
    """Remove one of the user's connections (no id: the receiving one). When it was the
    one receiving meetings, the next one made takes over."""
    conn = get_connection(user, connection_id)
    if conn is None:
        return False
    _before_replacing(conn)
    db.session.execute(sa.update(CalendarSync).where(CalendarSync.connection_id == conn.id)
                       .values(connection_id=None))
    receiving = conn.receives_events
    db.session.delete(conn)
    db.session.flush()
    rest = connections_of(user.id)
    if receiving and rest:
        rest[0].receives_events = True
        db.session.flush()
    return True


def set_receiving(user, connection_id: int) -> bool:
    """New meetings go to this connection from now on (one per user)."""
    conn = get_connection(user, connection_id)
    if conn is None:
        return False
    for other in connections_of(user.id):
        if other.id != conn.id and other.receives_events:
            other.receives_events = False
    db.session.flush()  # the one receiving is unique per user: clear it first
    conn.receives_events = True
    db.session.flush()
    return True


# --- the calendars of a connection (#21) ------------------------------------------------

def _default_calendar(conn: CalendarConnection) -> str:
    """What a connection made before calendars were listed reads and writes."""
    if conn.provider == "caldav":
        return conn.caldav_calendar_url or ""
    if conn.provider == "microsoft":
        from webapp.calendars.providers.microsoft import DEFAULT
        return DEFAULT
    return "primary"


def calendars_of(conn: CalendarConnection) -> list[ConnectionCalendar]:
    """The connection's calendars; before they were ever listed, its default calendar
    (not stored), counting for busy time and receiving the meetings, as before #21."""
    if conn.calendars:
        return list(conn.calendars)
    from webapp.calendars.names import calendar_label
    return [ConnectionCalendar(connection_id=conn.id, account_id=conn.account_id,
                               external_id=_default_calendar(conn),
                               name=str(calendar_label(conn.provider)), primary=True,
                               read_only=False, counts_for_busy=True, is_target=True)]


def refresh_calendars(conn: CalendarConnection,
                      access: str | None = None) -> list[ConnectionCalendar]:
    """Fetch the account's calendars from the provider and store them: new ones count for
    busy time when the user may write to them (their own calendars, not subscriptions
    such as holidays); gone ones are dropped; the target stays, else the default
    calendar (Google primary, Graph default, CalDAV the first) receives meetings.
    Raises ProviderError (a provider is called: never inside a save). access: an access
    token just granted (the connection is not committed yet)."""
    if access:
        found: list[CalendarInfo] = provider_for(conn, access=access).calendars()
    else:
        found = _call(conn, lambda provider: provider.calendars())
    if not found:
        raise ProviderError("The calendar account lists no calendars.", retryable=False)
    had = {c.external_id: c for c in conn.calendars}
    first = not had
    for info in found:
        row = had.pop(info.id, None)
        if row is None:
            row = ConnectionCalendar(account_id=conn.account_id, external_id=info.id,
                                     counts_for_busy=not info.read_only, is_target=False)
            conn.calendars.append(row)
        row.name, row.primary, row.read_only = info.name[:255], info.primary, info.read_only
        if row.read_only:
            row.is_target = False
    for gone in had.values():
        conn.calendars.remove(gone)
    rows = conn.calendars
    if not any(r.is_target for r in rows):
        legacy = conn.caldav_calendar_url if first and conn.provider == "caldav" else None
        target = (next((r for r in rows if legacy and r.external_id == legacy
                        and not r.read_only), None)
                  or next((r for r in rows if r.primary and not r.read_only), None)
                  or next((r for r in rows if not r.read_only), None))
        if target is not None:
            target.is_target = True
    _follow_target(conn)
    db.session.flush()
    return list(conn.calendars)


def _follow_target(conn: CalendarConnection) -> None:
    if conn.provider == "caldav":
        target = next((r for r in conn.calendars if r.is_target), None)
        if target is not None:
            conn.caldav_calendar_url = target.external_id


class ReadOnlyTarget(ValueError):
    """The calendar chosen for new meetings is one the user may only read."""

    def __init__(self, calendar: ConnectionCalendar):
        super().__init__(calendar.name)
        self.calendar = calendar


def set_calendars(conn: CalendarConnection, counting: set[int], target_id: int | None) -> bool:
    """Which of the connection's calendars count for busy time (ids), and which one
    receives new meetings (it must be writable). False when target_id is not one of its
    calendars; raises ReadOnlyTarget when it is one the user may only read (nothing
    changed either way)."""
    rows = list(conn.calendars)
    if target_id is not None:
        chosen = next((r for r in rows if r.id == target_id), None)
        if chosen is None:
            return False
        if chosen.read_only:
            raise ReadOnlyTarget(chosen)
    for row in rows:
        row.counts_for_busy = row.id in counting
        if target_id is not None:
            row.is_target = row.id == target_id
    _follow_target(conn)
    db.session.flush()
    return True


def _call(conn: CalendarConnection, action):
    """action(adapter); a refused access token is refreshed once (as syncs do)."""
    try:
        return action(provider_for(conn))
    except AuthExpired:
        if conn.provider == "caldav":
            raise
        return action(provider_for(conn, force_refresh=True))


def target_calendar(conn: CalendarConnection) -> str | None:
    """The provider's id of the calendar the connection writes to; None: the account's
    default calendar (Google primary, Graph default, CalDAV caldav_calendar_url)."""
    if conn.provider == "caldav":
        return None
    target = db.session.scalar(sa.select(ConnectionCalendar).where(
        ConnectionCalendar.connection_id == conn.id, ConnectionCalendar.is_target))
    return None if target is None or target.primary else target.external_id


def access_token(conn: CalendarConnection, force: bool = False) -> str:
    """A usable access token of an OAuth connection (webapp.grants: refreshed in a session
    of its own when needed). Raises ReconnectNeeded or ProviderError."""
    try:
        return grants.fresh_access_token(GRANTS, conn.id, force)
    except grants.GrantRevoked as exc:
        raise ReconnectNeeded(f"The calendar needs to be connected again: {exc}") from exc
    except grants.GrantError as exc:
        raise ProviderError(str(exc), exc.status, retryable=exc.retryable) from exc


def target_ref(conn: CalendarConnection) -> str:
    """The calendar new events of the connection go to, as sync rows keep it
    (CalendarSync.calendar_ref): Google "primary" or a calendar id, Graph "default" or a
    calendar id, CalDAV the collection URL."""
    return target_calendar(conn) or _default_calendar(conn)


def event_calendar(conn: CalendarConnection, row: CalendarSync) -> str:
    """The calendar row's event lives in (#21: it stays there when the user chooses
    another calendar for new meetings)."""
    if row.calendar_ref:
        return row.calendar_ref
    if conn.provider == "caldav" and row.external_id:
        import posixpath
        from urllib.parse import urljoin

        from webapp.calendars.providers.caldav import _path
        parent = posixpath.dirname(_path(row.external_id).rstrip("/")) + "/"
        return urljoin(conn.caldav_calendar_url or conn.caldav_url or "", parent)
    return _default_calendar(conn)


def calendar_key(conn: CalendarConnection, ref: str) -> str:
    """One calendar's key whatever form its reference takes (a CalDAV collection's path,
    with or without its host and final slash)."""
    if conn.provider == "caldav":
        from webapp.calendars.providers.caldav import _path
        return _path(ref).rstrip("/")
    return ref


def provider_for(conn: CalendarConnection, force_refresh: bool = False,
                 calendar: str | None = None, access: str | None = None):
    """The adapter for a connection, with a usable credential. calendar: the calendar an
    existing event lives in, or whose changes are read (event_calendar, target_ref; None:
    the target calendar, where a new event goes)."""
    cfg = current_app.config
    if conn.provider == "google":
        from webapp.calendars.providers.google import GoogleCalendar
        return GoogleCalendar(cfg["GOOGLE_API_BASE"], access or access_token(conn, force_refresh),
                              calendar or target_calendar(conn))
    if conn.provider == "microsoft":
        from webapp.calendars.providers.microsoft import MicrosoftCalendar
        return MicrosoftCalendar(cfg["MICROSOFT_GRAPH_BASE"],
                                 access or access_token(conn, force_refresh),
                                 conn.external_email, calendar or target_calendar(conn))
    from webapp.calendars.providers.caldav import CalDAVCalendar
    return CalDAVCalendar(conn.caldav_url, conn.caldav_username,
                          crypto.decrypt(conn.caldav_password_enc),
                          calendar or conn.caldav_calendar_url)


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
    elif conn is not None and row.connection_id != conn.id and action == "upsert" \
            and not _still_syncing(row, meeting.host_id):
        row.connection_id, row.provider, row.external_id = conn.id, conn.provider, None
        row.etag = row.remote_deleted_at = row.calendar_ref = None  # a new event elsewhere
    elif row.remote_deleted_at is not None:
        return row  # deleted in the calendar: neither recreated nor deleted again
    elif source == "microsoft" and row.provider == "microsoft":
        return row  # Graph has the change, and mails attendees on a PATCH
    row.action, row.status, row.attempts = action, "pending", 0
    row.next_attempt_at, row.last_error, row.claimed_at = utcnow(), None, None
    db.session.flush()
    return row


def _still_syncing(row: CalendarSync, host_id: int) -> bool:
    """The event stays on the connection it was written to while that connection is the
    host's and syncing (#21: the user chose another connection for new meetings)."""
    if row.connection_id is None or row.external_id is None:
        return False
    old = db.session.get(CalendarConnection, row.connection_id)
    return old is not None and old.user_id == host_id and old.status == "active" and \
        old.sync_on


def retry_sync(row: CalendarSync) -> bool:
    """A failed sync tried again (the meeting page's retry)."""
    return tasks.retry_now(SYNC_TASKS, row)


def busy_periods(conn: CalendarConnection, start: datetime,
                 end: datetime) -> tuple[list[tuple[datetime, datetime, str, str | None]],
                                         list[str]]:
    """Busy time of the connection's calendars that count for it, in one provider round
    (Google: one freeBusy call for all of them): ([(start, end, calendar name, title or
    None)], names of the calendars that could not be read). A provider is called: never
    inside a save (webapp.availability.busy caches it)."""
    selected = [c for c in calendars_of(conn) if c.counts_for_busy]
    if not selected:
        return [], []
    from webapp.calendars.names import named_calendar
    names = {c.external_id: c.name if c.id is None else named_calendar(c.name, conn.provider)
             for c in selected}
    if conn.status != "active":
        return [], list(names.values())
    default = next((c.external_id for c in selected if c.primary), None)
    try:
        found = _call(conn, lambda provider: provider.busy_in(start, end, list(names),
                                                              default_id=default))
    except ReconnectNeeded as exc:
        if conn.provider == "caldav":  # an OAuth grant was marked by the grant store
            grants.mark_revoked(GRANTS, conn.id, str(exc))
        return [], list(names.values())
    except ProviderError as exc:
        log.warning("free/busy for connection %s failed: %s", conn.id, exc)
        return [], list(names.values())
    periods, failed = [], []
    for cid, name in names.items():
        got = found.get(cid)
        if got is None:
            failed.append(name)
            continue
        periods += [(s, e, name, title) for s, e, title in got]
    return periods, failed
