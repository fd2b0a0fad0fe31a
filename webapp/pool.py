"""Connections are checked before use only when they have been idle (#21, #24).

SQLAlchemy's pool_pre_ping asks the server at every checkout whether the connection is
still alive: one more round trip per request. Under load a connection is checked in and
out again within milliseconds, and a dead one is then found by the request's own first
statement anyway: SQLAlchemy takes the error for a disconnect, invalidates the pool and
the next request gets a new connection. The ping matters for a connection that sat idle
long enough to be closed behind the pool's back (a server restart while the app was
quiet, an idle timeout in the server, a pooler or a firewall): such a connection is
pinged before it is handed out and, if dead, replaced without the request seeing it.

The pool's documented way (a "checkout" listener raising DisconnectionError: the pool
drops the connection and checks out another, up to three times); the ping is the
dialect's own (psycopg: an empty statement).
"""

from __future__ import annotations

import time

import sqlalchemy as sa

#: Where a connection's last check-in time (time.monotonic()) is kept, in its pool
#: record's info.
IDLE_SINCE = "parley_idle_since"


def ping_when_idle(engine: sa.Engine, idle_seconds: float) -> None:
    """Ping a connection at checkout when it was checked in more than idle_seconds ago
    (0: at every checkout but a new connection's first, as pool_pre_ping)."""
    dialect = engine.dialect

    @sa.event.listens_for(engine.pool, "checkin")
    def _checked_in(_dbapi_connection, record):
        if record is not None:
            record.info[IDLE_SINCE] = time.monotonic()

    @sa.event.listens_for(engine.pool, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):
        since = record.info.pop(IDLE_SINCE, None)
        if since is None or time.monotonic() - since <= idle_seconds:
            return  # just connected, or in use moments ago
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:  # any failure: the connection is not to be trusted
            raise sa.exc.DisconnectionError(f"connection lost while idle: {exc}") from exc
