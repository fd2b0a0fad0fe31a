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
        """process_result_value as one function per value, without TypeDecorator's
        wrapper, where the driver hands back datetimes itself (PostgreSQL: aware, and
        already in UTC, the session's zone, webapp/config.py): a week grid reads over a
        thousand (#21, #24)."""
        if dialect.name == "sqlite":
            return super().result_processor(dialect, coltype)

        def process(value):
            if value is None or value.tzinfo is UTC:
                return value
            if value.tzinfo is None:
                return value.replace(tzinfo=UTC)
            return value.astimezone(UTC)
        return process


def utcnow() -> datetime:
    """Now, aware, in UTC."""
    return datetime.now(UTC)
