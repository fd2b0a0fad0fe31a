"""Fixtures: app, db (emptied after each test), client, login, and factories.

Tests run against DATABASE_URL when it is set (PostgreSQL in CI), else a SQLite file.
The schema is built by the Alembic migrations, so they are tested on every run. Routes
commit and workers in other processes read what they committed, so each test's rows are
removed after it (a per-test transaction rollback would hide them from those processes).
"""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from webapp import create_app
from webapp.auth.models import Account, SeatKind, User
from webapp.extensions import db as _db
from webapp.records.models import Company, Contact, Deal, Ticket
from webapp.types import utcnow as _REAL_UTCNOW


def database_url(tmp_path_factory) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def db_url(tmp_path_factory) -> str:
    return database_url(tmp_path_factory)


def base_config(db_url: str, tmp_path) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": create_app_url(db_url),
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "JOBS_MODE": "eager",
        "SMTP_URL": None,
        "DEV_MAILBOX": True,
        "BASE_URL": "http://parley.test",
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "START_JOB_THREAD": False,
        "SERVER_NAME": None,
        # Row ids repeat from test to test (the tables are emptied): tests that exercise
        # the page cache turn it on themselves.
        "PAGE_CACHE_SECONDS": 0,
        # Radicale and the stand-ins listen on loopback (production allows none).
        "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.1/32",
    }


def create_app_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


@pytest.fixture(scope="session")
def app(db_url, tmp_path_factory):
    app = create_app(base_config(db_url, tmp_path_factory.mktemp("app")))
    with app.app_context():
        _db.drop_all()
        with _db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()
    return app


def wipe(app) -> None:
    """Delete every row of every table (children first)."""
    with app.app_context():
        _db.session.remove()
        tables = list(reversed(_db.metadata.sorted_tables))
        with _db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # A connection left in a transaction (a process that should have died)
                # makes TRUNCATE wait: fail with a message rather than hang.
                conn.execute(sa.text("SET LOCAL lock_timeout = '60s'"))
                names = ", ".join(f'"{t.name}"' for t in tables)
                conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    conn.execute(table.delete())


@pytest.fixture()
def db(app) -> Iterator:
    with app.app_context():
        yield _db
        _db.session.rollback()
    wipe(app)


@pytest.fixture()
def client(app, db):
    return app.test_client()


class Factory:
    """Builds rows with sensible defaults; every call commits so routes see the rows."""

    def __init__(self):
        self.n = 0

    def _next(self) -> int:
        self.n += 1
        return self.n

    def account(self, **kw) -> Account:
        account = Account(name=kw.pop("name", f"Account {self._next()}"),
                          timezone=kw.pop("timezone", "America/New_York"), **kw)
        _db.session.add(account)
        _db.session.commit()
        return account

    def seat(self, account: Account, paid: bool = True) -> SeatKind:
        seat = SeatKind(account_id=account.id, name=f"Seat {self._next()}", is_paid=paid)
        _db.session.add(seat)
        _db.session.commit()
        return seat

    def user(self, account: Account | None = None, password: str = "pw", **kw) -> User:
        account = account or self.account()
        n = self._next()
        user = User(account_id=account.id, email=kw.pop("email", f"user{n}@example.com"),
                    name=kw.pop("name", f"User {n}"), **kw)
        user.set_password(password)
        _db.session.add(user)
        _db.session.commit()
        return user

    def contact(self, account: Account, **kw) -> Contact:
        n = self._next()
        contact = Contact(account_id=account.id, first_name=kw.pop("first_name", f"Contact{n}"),
                          last_name=kw.pop("last_name", "Tester"),
                          email=kw.pop("email", f"contact{n}@example.org"),
                          timezone=kw.pop("timezone", "Europe/Berlin"), **kw)
        _db.session.add(contact)
        _db.session.commit()
        return contact

    def company(self, account: Account, **kw) -> Company:
        company = Company(account_id=account.id, name=kw.pop("name", f"Company {self._next()}"),
                          **kw)
        _db.session.add(company)
        _db.session.commit()
        return company

    def deal(self, account: Account, **kw) -> Deal:
        deal = Deal(account_id=account.id, name=kw.pop("name", f"Deal {self._next()}"), **kw)
        _db.session.add(deal)
        _db.session.commit()
        return deal

    def ticket(self, account: Account, **kw) -> Ticket:
        ticket = Ticket(account_id=account.id, subject=kw.pop("subject", f"Ticket {self._next()}"),
                        **kw)
        _db.session.add(ticket)
        _db.session.commit()
        return ticket


@pytest.fixture()
def make(db) -> Factory:
    return Factory()


@pytest.fixture()
def login(client):
    """login(user) logs the test client in as user."""

    def do(user: User, password: str = "pw"):
        response = client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return do


@pytest.fixture()
def count_queries(app):
    """with count_queries() as counter: ...; counter.count is the number of SQL statements."""

    class Counter:
        def __init__(self):
            self.count = 0
            self.statements: list[str] = []

        def __call__(self, conn, cursor, statement, *args):
            if not re.match(r"\s*(SAVEPOINT|RELEASE|ROLLBACK)", statement):
                self.count += 1
                self.statements.append(statement)

        def __enter__(self):
            sa.event.listen(_db.engine, "before_cursor_execute", self)
            return self

        def __exit__(self, *exc):
            sa.event.remove(_db.engine, "before_cursor_execute", self)

    return Counter


class SMTPSink:
    """A real SMTP server (aiosmtpd) on loopback that keeps every message."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list = []
        self.peers: list = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.refuse_with: str | None = None
        #: address -> SMTP reply given to messages for it (the others are accepted)
        self.refuse_recipients: dict[str, str] = {}
        self.delay = 0.0
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                if sink.delay:
                    import asyncio
                    await asyncio.sleep(sink.delay)
                if sink.refuse_with:
                    return sink.refuse_with
                for rcpt in envelope.rcpt_tos:
                    if rcpt in sink.refuse_recipients:
                        return sink.refuse_recipients[rcpt]
                from email import message_from_bytes, policy
                msg = message_from_bytes(envelope.content, policy=policy.default)
                with sink.lock:
                    sink.messages.append((list(envelope.rcpt_tos), msg))
                    sink.peers.append(session.peer)  # (host, port): one per connection
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    def clear(self):
        with self.lock:
            self.messages.clear()
            self.peers.clear()


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


def patch_now(monkeypatch, now) -> None:
    """Make every webapp module that reads webapp.types.utcnow() see now() instead (again
    when called a second time in a test)."""
    import sys

    def clock():
        return now()

    clock.patched_now = True
    for name, module in list(sys.modules.items()):
        current = getattr(module, "utcnow", None)
        if name.startswith("webapp") and (current is _REAL_UTCNOW
                                          or getattr(current, "patched_now", False)):
            monkeypatch.setattr(module, "utcnow", clock)
