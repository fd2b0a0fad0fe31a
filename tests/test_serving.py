"""What every deployment's process shares (#24): gunicorn's hook that freezes the
preloaded heap before the workers fork, and PostgreSQL sessions in UTC with datetimes
read back aware, in UTC, on every backend."""

from __future__ import annotations

import gc
import runpy
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from webapp.config import engine_options
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
    assert engine_options("sqlite:///x.db")["pool_pre_ping"] is True
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
