"""Fixtures shared by the unit and integration tests (tests/) and the browser tests (e2e/).

Tests run against DATABASE_URL when it is set (PostgreSQL in CI), else a SQLite file; under
pytest-xdist each worker has a database of its own (`parley_<base>_gwN`, or its own SQLite
file). The schema is built by the Alembic migrations, so they are tested on every run.

Each test runs inside a transaction that is rolled back after it: routes and jobs commit
as usual, but their commits only release a SAVEPOINT. A test whose rows must be seen by
another connection (a worker or server process, threads with sessions of their own) is
marked `committing`: it really commits, and every table is emptied after it. So is a
test that needs a write made in a session of its own (the OAuth grant store's) to outlive
the rollback of the caller's work. Browser tests are committing.

Every test also runs on the `clock` (tests/clock.py): a fixed "now", never the machine's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from tests.clock import Clock, real_now, run_now
from tests.support import Factory, SMTPSink, base_config, create_app_url, wipe
from webapp import create_app
from webapp.extensions import db as _db

ROOT = Path(__file__).resolve().parent
E2E_DIR = ROOT / "e2e"


def pytest_addoption(parser):
    parser.addoption("--snapshot-update", action="store_true", default=False,
                     help="rewrite tests/snapshots/ from this run (then review the diff); "
                          "also SNAPSHOT_UPDATE=1")


def pytest_report_header(config):
    now = run_now()
    setting = os.environ.get("PARLEY_TEST_NOW")
    return [f"clock: the tests' now is {now.isoformat()} ({now:%A})"
            + (f", from PARLEY_TEST_NOW={setting}" if setting else "")]


def pytest_collection_modifyitems(config, items):
    """Every test under e2e/ is a browser test (`-m e2e`, `-m "not e2e"`), and committing."""
    for item in items:
        if E2E_DIR in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.committing)


def xdist_worker() -> str:
    """"gw0", "gw1", ... under pytest-xdist; "master" otherwise."""
    return os.environ.get("PYTEST_XDIST_WORKER", "master")


def worker_database(url: str, worker: str) -> str:
    """The database of one xdist worker: `parley_<base>_<worker>`, created empty."""
    if worker == "master":
        return url
    server, _, base = url.rpartition("/")
    base = base.split("?")[0]
    name = f"{base}_{worker}" if base.startswith("parley_") else f"parley_{base}_{worker}"
    admin = sa.create_engine(create_app_url(f"{server}/postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return f"{server}/{name}"


@pytest.fixture(scope="session")
def db_url(tmp_path_factory) -> str:
    url = os.environ.get("DATABASE_URL")
    if url and url.startswith("postgres"):
        return worker_database(url, xdist_worker())
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def app(db_url, tmp_path_factory):
    app = create_app(base_config(db_url, tmp_path_factory.mktemp("app")))
    with app.app_context():
        _db.drop_all()
        with _db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()
    # A session bound to a connection already in a transaction (the test's) works in
    # SAVEPOINTs: its commit releases one, its rollback returns to it.
    _db.session.session_factory.configure(join_transaction_mode="create_savepoint")
    return app


def _begin_outer(conn: sa.Connection) -> sa.RootTransaction:
    """Begin the test's transaction on conn, one that SAVEPOINTs nest inside."""
    if conn.dialect.name == "sqlite":
        # pysqlite defers BEGIN to the first write, so a SAVEPOINT issued before would open
        # (and its RELEASE commit) a transaction of its own: BEGIN here, explicitly. Only on
        # this connection: committing tests keep pysqlite's usual locking.
        dbapi = conn.connection.dbapi_connection
        conn.info["isolation_level"] = dbapi.isolation_level
        dbapi.isolation_level = None
        outer = conn.begin()
        conn.exec_driver_sql("BEGIN")
        return outer
    return conn.begin()


@pytest.fixture()
def db(app, request) -> Iterator:
    """The database, inside the test's transaction (rolled back), or committing (emptied)."""
    committing = request.node.get_closest_marker("committing") is not None
    with app.app_context():
        if committing:
            try:
                yield _db
                _db.session.rollback()
            finally:
                wipe(app)
            return
        _db.session.remove()
        engines = _db.engines
        engine = engines[None]
        conn = engine.connect()
        outer = _begin_outer(conn)
        engines[None] = conn  # every session of this app joins the test's transaction
        try:
            yield _db
        finally:
            _db.session.remove()
            engines[None] = engine
            outer.rollback()
            if "isolation_level" in conn.info:
                conn.connection.dbapi_connection.isolation_level = conn.info.pop(
                    "isolation_level")
            conn.close()


@pytest.fixture()
def make(db) -> Factory:
    return Factory()


# --- the clock ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def clock_offset() -> float:
    """Seconds from the machine's clock to the run's "now", fixed when the session starts:
    the browser tests' server and the test process tick on together from there."""
    return (run_now() - real_now()).total_seconds()


@pytest.fixture(autouse=True)
def clock(request, clock_offset) -> Iterator[Clock]:
    """The test's "now" (tests/clock.py): the run's fixed moment, ticking from it.

    Parametrize indirectly with a name of tests.clock.EDGES (`@clock_edges`) or an aware
    datetime to start elsewhere. Browser tests share the session's clock with their server.
    """
    from datetime import datetime, timedelta

    from tests.clock import EDGES
    param = getattr(request, "param", "usual-now")
    if param != "usual-now":
        start = EDGES[param] if isinstance(param, str) else param
    elif request.node.get_closest_marker("e2e"):
        start = real_now() + timedelta(seconds=clock_offset)
    else:
        start = run_now()
    assert isinstance(start, datetime) and start.tzinfo is not None
    clock = Clock(start)
    try:
        yield clock
    finally:
        clock.stop()


# --- mail --------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def smtp_sink():
    sink = SMTPSink().start()
    yield sink
    sink.stop()


@pytest.fixture()
def smtp(app, smtp_sink):
    """Point the app's mail at the real SMTP sink for one test."""
    smtp_sink.clear()
    smtp_sink.refuse_with = None
    smtp_sink.refuse_recipients = {}
    smtp_sink.delay = 0.0
    previous = app.config["SMTP_URL"]
    app.config["SMTP_URL"] = smtp_sink.url
    yield smtp_sink
    app.config["SMTP_URL"] = previous
