"""What every deployment's process shares (#24): gunicorn's hook that freezes the
preloaded heap before the workers fork, and PostgreSQL sessions in UTC with datetimes
read back aware, in UTC, on every backend."""

from __future__ import annotations

import gc
import runpy
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from webapp.config import engine_options
from webapp.extensions import fetch_binary
from webapp.pool import IDLE_SINCE, ping_when_idle
from webapp.serving import when_ready
from webapp.types import UTCDateTime, utc_sessions

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("conf", ["gunicorn.conf.py", "bench/gunicorn_conf.py"])
def test_gunicorn_preloads_and_freezes_the_app_before_forking(conf):
    """The deployed configuration and the benchmarks' one: the app preloaded, and the
    master's when_ready (before any worker forks) freezing what exists, so a worker's
    collections do not walk the app's objects, nor run every 700 new objects."""
    settings = runpy.run_path(str(ROOT / conf))
    assert settings["preload_app"] is True
    assert settings["when_ready"] is when_ready
    assert gc.get_freeze_count() == 0
    before = gc.get_threshold()
    try:
        when_ready(None)
        assert gc.get_freeze_count() > 1000
        assert gc.get_threshold() == (10_000, *before[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_postgresql_sessions_are_in_utc_and_sqlite_needs_nothing(tmp_path):
    """By the database the app is given, not DATABASE_URL's (a test's own SQLite file
    while CI's DATABASE_URL is PostgreSQL)."""
    from webapp import create_app
    assert engine_options("postgresql+psycopg://u@h/db")["connect_args"] == {
        "options": "-c TimeZone=UTC"}
    assert "connect_args" not in engine_options("sqlite:///x.db")
    # No ping at every checkout: webapp/pool.py pings connections that were idle.
    assert not engine_options("sqlite:///x.db").get("pool_pre_ping")
    assert not engine_options("postgresql+psycopg://u@h/db").get("pool_pre_ping")
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "UPLOAD_DIR": str(tmp_path),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'own.db'}"})
    assert "connect_args" not in app.config["SQLALCHEMY_ENGINE_OPTIONS"]


def test_datetimes_read_back_are_aware_and_in_utc_whatever_the_driver_gives():
    """SQLite's reader makes naive values aware; PostgreSQL's is the driver itself (each
    session is in UTC, utc_sessions: the next test)."""
    dialect = sqlite.pysqlite.dialect()
    read = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)
    assert read("2026-12-04 12:30:00.000000") == datetime(2026, 12, 4, 12, 30, tzinfo=UTC)
    assert read("2026-12-04 12:30:00.000000").tzinfo is UTC
    assert read(None) is None
    dialect = postgresql.psycopg.dialect()
    assert UTCDateTime().dialect_impl(dialect).result_processor(dialect, None) is None


def test_a_connection_that_comes_up_in_another_zone_is_set_to_utc(db):
    """A pooler may drop the connection's startup options: the session is set to UTC at
    connect (utc_sessions), so what psycopg hands back is still aware UTC."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no session time zone; CI runs it on PostgreSQL")
    url = db.engine.engine.url.render_as_string(hide_password=False)
    engine = sa.create_engine(url, connect_args={"options": "-c TimeZone=Asia/Taipei"},
                              poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW TimeZone")).scalar() == "Asia/Taipei"
        utc_sessions(engine)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW TimeZone")).scalar() == "UTC"
            noon = datetime(2026, 12, 4, 12, 30, tzinfo=UTC)
            read = conn.execute(sa.select(sa.literal(noon, UTCDateTime()))).scalar()
            assert read == noon and read.tzinfo is UTC
    finally:
        engine.dispose()


def test_the_database_session_reads_datetimes_in_utc(db, make):
    account = make.account()
    db.session.flush()
    read = db.session.execute(sa.text("SELECT created_at FROM accounts WHERE id = :id"),
                              {"id": account.id}).scalar()
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no session time zone; CI runs it on PostgreSQL")
    assert db.session.execute(sa.text("SHOW TimeZone")).scalar() == "UTC"
    assert read.tzinfo is UTC  # psycopg's own value: no zone conversion per value
    typed = db.session.execute(sa.select(sa.literal(read, UTCDateTime()))).scalar()
    assert typed == read and typed.tzinfo is UTC


def _pg_url(db) -> str:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: a SQLite file has no server to close it; CI runs it on "
                    "PostgreSQL")
    return db.engine.engine.url.render_as_string(hide_password=False)


def _terminate(db, pid: int) -> None:
    """The server closes connection pid (from a connection of its own, outside any pool),
    and has closed it when this returns (the timeout makes pg_terminate_backend wait for
    the backend to exit, rather than only signal it)."""
    engine = sa.create_engine(_pg_url(db), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"),
                                {"pid": pid}).scalar()
    finally:
        engine.dispose()


@contextmanager
def _killed_while_checked_in(db, idle_seconds: float):
    """An engine on the test database with ping_when_idle(idle_seconds), whose only pooled
    connection the server terminated while it was checked in, and that connection's pid;
    disposed afterwards."""
    url = _pg_url(db)
    engine = sa.create_engine(url, pool_size=1, max_overflow=0, **engine_options(url))
    try:
        ping_when_idle(engine, idle_seconds)
        with engine.connect() as conn:
            pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        _terminate(db, pid)
        yield engine, pid
    finally:
        engine.dispose()


def test_a_connection_closed_by_the_server_while_idle_is_replaced_unseen(db):
    """A server restart or an idle timeout while the app was quiet: the pooled connection
    is pinged before use and replaced, and the request's statement runs on a new one."""
    with _killed_while_checked_in(db, idle_seconds=0) as (engine, pid), \
            engine.connect() as conn:
        assert conn.execute(sa.text("SELECT pg_backend_pid()")).scalar() != pid


def test_a_connection_used_moments_ago_is_not_pinged(db):
    """Under load the pool hands a connection out again within milliseconds: no round trip
    to ask whether it is alive (a dead one fails its own statement, and SQLAlchemy renews
    the pool for the next request)."""
    with _killed_while_checked_in(db, idle_seconds=3600) as (engine, _pid):
        with pytest.raises(sa.exc.OperationalError) as failed, engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        assert failed.value.connection_invalidated
        with engine.connect() as conn:  # the next one is new
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1


def test_the_app_replaces_a_connection_closed_after_two_idle_seconds(db, tmp_path):
    """The app's own pool (create_app): DATABASE_PING_IDLE_SECONDS is 2 by default, and a
    connection checked in longer ago than that and closed by the server is replaced."""
    from webapp import create_app
    from webapp.extensions import db as app_db
    url = _pg_url(db)
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "UPLOAD_DIR": str(tmp_path),
                      "SQLALCHEMY_DATABASE_URI": url})
    assert app.config["DATABASE_PING_IDLE_SECONDS"] == 2
    with app.app_context():
        engine = app_db.engine
        try:
            with engine.connect() as conn:
                pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
                record = conn.connection._connection_record
            _terminate(db, pid)
            # As though checked in 1 s ago (from now: terminating it took time): not pinged.
            record.info[IDLE_SINCE] = time.monotonic() - 1
            with engine.connect() as conn:
                with pytest.raises(sa.exc.OperationalError):
                    conn.execute(sa.text("SELECT 1"))
                conn.rollback()
            with engine.connect() as conn:
                pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
                record = conn.connection._connection_record
            _terminate(db, pid)
            record.info[IDLE_SINCE] = time.monotonic() - 3  # pinged and replaced
            with engine.connect() as conn:
                assert conn.execute(sa.text("SELECT pg_backend_pid()")).scalar() != pid
        finally:
            engine.dispose()


def test_rows_read_in_binary_are_plain_values_seen_by_listeners_and_fail_as_sqlalchemy(db):
    """fetch_binary (the week grid's meetings, #21): values as SQLAlchemy would read them,
    the statement seen by the engine's listeners (query counts, the read-only check), and a
    lost connection raised as SQLAlchemy's error with the connection invalidated, so the
    pool replaces it as after any statement."""
    seen = []
    with _killed_while_checked_in(db, idle_seconds=3600) as (engine, _pid):
        sa.event.listen(engine, "before_cursor_execute",
                        lambda _c, _cur, statement, *_rest: seen.append(statement))
        with pytest.raises(sa.exc.OperationalError) as failed, engine.connect() as conn:
            fetch_binary(conn, "SELECT 1", {})
        assert failed.value.connection_invalidated
        assert seen == ["SELECT 1"]
        with engine.connect() as conn:  # the next one is new, and reads
            at = datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
            sql = "SELECT %(n)s::int, %(at)s::timestamptz, %(title)s::text, NULL::text"
            assert fetch_binary(conn, sql, {"n": 7, "at": at, "title": "Café <b>"}) == [
                (7, at, "Café <b>", None)]
            assert fetch_binary(conn, sql, {"n": 7, "at": at, "title": "x"})[0][1].tzinfo is UTC
        assert seen[-1] == sql
