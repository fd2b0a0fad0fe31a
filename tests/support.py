"""Test helpers that are not fixtures: the app's test config, the database wipe, the row
factory and the SMTP sink. The fixtures built on them live in conftest.py at the
repository root (shared by tests/ and e2e/)."""

from __future__ import annotations

import socket
import threading

import sqlalchemy as sa

from webapp.auth.models import Account, SeatKind, User
from webapp.extensions import db as _db
from webapp.records.models import Company, Contact, Deal, Ticket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def create_app_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


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
        # Row ids repeat from test to test (rolled back, or emptied): busy time read from
        # calendars is not kept (#21); tests of its cache turn it on.
        "BUSY_CACHE_SECONDS": 0,
        # Radicale and the stand-ins listen on loopback (production allows none).
        "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.1/32",
    }


def drain(app, smtp_url: str | None = None) -> None:
    """Run, here and now, everything that could still send: the sweep (due reminders, every
    outbox row not sent yet, also those another process queued a moment ago) and, in rq
    mode, the queue until it is empty. A test proves that nothing was sent by looking right
    after this, never by waiting. smtp_url: send as the server under test does."""
    from worker import jobs as worker_jobs

    saved = {k: app.config[k] for k in ("RELAY_GRACE_SECONDS", "SMTP_URL")}
    app.config["RELAY_GRACE_SECONDS"] = -1  # rows queued by a server or worker: taken too
    if smtp_url:
        app.config["SMTP_URL"] = smtp_url
    try:
        with app.app_context():
            try:
                worker_jobs.sweep()  # eager mode: what it relays is sent before it returns
                if app.config["JOBS_MODE"] == "rq":
                    from redis import Redis
                    from rq import Queue, SimpleWorker

                    # A connection of its own: the app's has socket timeouts of tens of
                    # milliseconds (webapp.jobs), too short for a worker's dequeue.
                    connection = Redis.from_url(app.config["REDIS_URL"])
                    queue = Queue("parley", connection=connection)
                    SimpleWorker([queue], connection=connection).work(
                        burst=True, with_scheduler=False)
            finally:
                _db.session.remove()
    finally:
        app.config.update(saved)


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


def at_once(n: int, fn, timeout: float = 180) -> list:
    """Call fn(0) … fn(n - 1) in n threads released together by a barrier, as concurrent
    requests arrive; return what they returned (in the order they finished). The first
    error a thread met is raised here, and a thread that never finished fails the test."""
    barrier = threading.Barrier(n)
    results: list = []
    failures: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results.append(fn(i))
        except BaseException as exc:  # raised below, in the test's own thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    assert not any(t.is_alive() for t in threads), "a concurrent call never finished"
    if failures:
        raise failures[0]
    return results
