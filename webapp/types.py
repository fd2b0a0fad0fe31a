"""Column types shared by every domain."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa


class UTCDateTime(sa.types.TypeDecorator):
    """A timezone-aware UTC datetime on every backend.

    SQLite has no time zones, so values are stored naive-in-UTC and handed back aware.
    Writing a naive datetime is a bug and raises, so none slips through.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def result_processor(self, dialect, coltype):
        """None (the driver's value as it is) on PostgreSQL: psycopg hands back aware
        datetimes in the session's zone, and every connection's session is in UTC
        (engine_options asks for it, utc_sessions checks it at connect), so each value is
        already aware UTC (`datetime.timezone.utc`, which is `UTC`). A week grid reads over
        a thousand (#21, #24): no Python call per value. SQLite: naive values made aware."""
        if dialect.name == "postgresql":
            return None
        return super().result_processor(dialect, coltype)


def utc_sessions(engine: sa.Engine) -> None:
    """On PostgreSQL, make sure each new connection's session zone is UTC (what
    UTCDateTime's reading relies on): engine_options sets it at connect; a connection
    that came up in another zone anyway (a pooler that drops startup options) is set
    with SET TIME ZONE. psycopg reports the zone with the connection, so a connection
    already in UTC costs no query."""
    if engine.dialect.name != "postgresql":
        return

    @sa.event.listens_for(engine, "connect")
    def _in_utc(dbapi_connection, _record):
        if dbapi_connection.info.parameter_status("TimeZone") != "UTC":
            autocommit = dbapi_connection.autocommit
            dbapi_connection.autocommit = True
            try:
                dbapi_connection.execute("SET TIME ZONE 'UTC'")
            finally:
                dbapi_connection.autocommit = autocommit


def utcnow() -> datetime:
    """Now, aware, in UTC."""
    return datetime.now(UTC)
