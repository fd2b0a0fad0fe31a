"""What every deployment's process shares (#24): gunicorn's hook that freezes the
preloaded heap before the workers fork, and PostgreSQL sessions in UTC with datetimes
read back aware, in UTC, on every backend."""

from __future__ import annotations

import gc
import runpy
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from webapp.config import engine_options
from webapp.serving import when_ready
from webapp.types import UTCDateTime

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
    """PostgreSQL's reader (SQLite's, the decorator's own, runs in every SQLite test)."""
    taipei = datetime(2026, 12, 4, 20, 30, tzinfo=ZoneInfo("Asia/Taipei"))
    utc = datetime(2026, 12, 4, 12, 30, tzinfo=UTC)
    read = UTCDateTime().result_processor(postgresql.psycopg.dialect(), None)
    assert read(utc) is utc
    assert read(taipei) == utc and read(taipei).tzinfo is UTC
    assert read(datetime(2026, 12, 4, 12, 30)) == utc
    assert read(None) is None


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
