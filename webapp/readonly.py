"""A request that only read ends its transaction with COMMIT rather than ROLLBACK (#24).

psycopg forgets every statement it has prepared at each ROLLBACK (it sends DEALLOCATE ALL:
a rolled-back transaction may have dropped what they refer to). Each request's session
ended in a rollback, so no statement ever reached psycopg's prepare threshold and
PostgreSQL planned every statement of every view again: about half the record page's
database time. A transaction that ran only SELECTs ends the same either way, so such a
request now commits it; anything else (a statement other than a SELECT or a WITH that
only selects, changes the session has not flushed yet, an unhandled error) is rolled
back as before, when the session is removed.

A WITH was taken for a write until #21's week grid read its meetings through one (every
view of it rolled back, so PostgreSQL planned its statements again each time: 1.2 ms of
planning for the meetings alone).
"""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import event

from webapp.extensions import db

#: Set in the connection's info by any statement but a SELECT; dropped at its transaction's
#: end (commit or rollback).
WROTE = "parley_wrote"


#: A statement that writes, wherever it is in a WITH: the words are keywords here (what
#: the user wrote is in the parameters, never in the text; no column is named so).
_WRITES = re.compile(r"\b(?:INSERT|UPDATE|DELETE|MERGE|TRUNCATE)\b", re.IGNORECASE)


def reads_only(statement: str) -> bool:
    """A SELECT, or a WITH whose parts and final statement write nothing (a common table
    expression as the week grid's meetings read starts with WITH, #21): any other
    statement may write."""
    head = statement.lstrip()[:6].upper()
    if head == "SELECT":
        return True
    return head[:4] == "WITH" and not _WRITES.search(statement)


def _seen(conn, cursor, statement, parameters, context, executemany):
    if executemany or not reads_only(statement):
        conn.info[WROTE] = True


def _transaction_ended(conn):
    if conn.invalidated:
        # Lost (a server restart): its info is gone with it, and reading it would try to
        # reconnect in the middle of the rollback (PendingRollbackError).
        return
    conn.info.pop(WROTE, None)


def _end_read_only(exc: BaseException | None) -> None:
    """Before Flask-SQLAlchemy removes the session (teardowns run last-registered first)."""
    if exc is not None:
        return
    if not db.session.registry.has():
        return
    session = db.session()
    if not session.in_transaction():
        return
    if session.new or session.dirty or session.deleted:
        return  # a commit would flush them
    if session.connection().info.get(WROTE):
        return
    session.commit()


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", _seen)
    event.listen(engine, "commit", _transaction_ended)
    event.listen(engine, "rollback", _transaction_ended)
    app.teardown_appcontext(_end_read_only)
