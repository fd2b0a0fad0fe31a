"""Login throttling: the same work for an unknown email as for a wrong password, a
doubling delay per account instead of a hard lock, per-address limits that follow the
real client address behind a trusted proxy, and an exact limit under parallel attempts."""

from __future__ import annotations

import statistics
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.support import base_config
from webapp import create_app
from webapp.auth import operations as auth_ops
from webapp.auth.models import LoginThrottle, User
from webapp.types import utcnow

# Requests here commit on connections of their own (throttles, sessions, threads): the
# rows must really be there, so these tests commit and the tables are emptied after.
pytestmark = pytest.mark.committing


def attempt(client, email, password, **kw):
    return client.post("/login", data={"email": email, "password": password}, **kw)


def test_unknown_email_costs_a_password_check_like_a_wrong_password(client, make,
                                                                    monkeypatch):
    make.user(email="known@example.com", password="right")
    checked = []
    real = auth_ops.check_password_hash
    monkeypatch.setattr(auth_ops, "check_password_hash",
                        lambda h, p: checked.append("dummy") or real(h, p))

    def timing(email):
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            assert attempt(client, email, "wrong").status_code == 422
            runs.append(time.perf_counter() - started)
        return statistics.median(runs)

    wrong = timing("known@example.com")
    unknown = timing("nobody@example.com")
    assert checked == ["dummy"] * 3  # one hash check per unknown-email attempt
    assert unknown > wrong * 0.5, (unknown, wrong)  # before: 16-25 ms vs 161-243 ms


def test_a_growing_delay_instead_of_a_lock(client, make, app, db):
    make.user(email="target@example.com", password="right")
    limit = app.config["LOGIN_RATE_LIMIT"]
    for _ in range(limit):
        assert attempt(client, "target@example.com", "guess").status_code == 422
    delays = []
    for _ in range(3):
        row = db.session.get(LoginThrottle, "email:target@example.com")
        db.session.refresh(row)
        delay = (row.next_allowed_at - row.updated_at).total_seconds()
        delays.append(delay)
        refused = attempt(client, "target@example.com", "guess")
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= delay
        # The wait passes (the row's time moved back instead of sleeping).
        row.next_allowed_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert attempt(client, "target@example.com", "guess").status_code == 422
    assert delays == [1, 2, 4]
    row = db.session.get(LoginThrottle, "email:target@example.com")
    db.session.refresh(row)
    row.next_allowed_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    # Never a hard lock: once the wait is over, the owner logs in, and starts again.
    assert attempt(client, "target@example.com", "right").status_code == 302
    db.session.refresh(row)
    assert row.tries == 0 and row.next_allowed_at is None


@pytest.fixture()
def proxied_app(db_url, tmp_path):
    def build(proxies: int):
        config = base_config(db_url, tmp_path)
        config.update(TRUSTED_PROXIES=proxies, LOGIN_ADDRESS_RATE_LIMIT=3)
        return create_app(config)
    return build


@pytest.mark.parametrize("proxies", [0, 1])
def test_one_address_cannot_slow_down_everyone_behind_a_trusted_proxy(proxied_app, db, make,
                                                                      proxies):
    make.user(email="colleague@example.com", password="right")
    app = proxied_app(proxies)
    client = app.test_client()
    for n in range(3):
        r = attempt(client, f"victim{n}@example.com", "guess",
                    headers={"X-Forwarded-For": "203.0.113.5"})
        assert r.status_code == 422
    assert attempt(client, "victim9@example.com", "guess",
                   headers={"X-Forwarded-For": "203.0.113.5"}).status_code == 429
    colleague = attempt(app.test_client(), "colleague@example.com", "right",
                        headers={"X-Forwarded-For": "203.0.113.6"})
    # Behind a trusted proxy, the colleague's own address counts; without the setting the
    # header is not believed (anyone could send it) and the proxy's address is shared.
    assert colleague.status_code == (302 if proxies else 429)


def test_the_limit_is_exact_under_parallel_attempts(app, make, db, monkeypatch):
    make.user(email="target@example.com", password="right")
    limit = app.config["LOGIN_RATE_LIMIT"]
    checks = []
    lock = threading.Lock()
    real = User.check_password

    def counting(self, password):
        with lock:
            checks.append(password)
        return real(self, password)

    monkeypatch.setattr(User, "check_password", counting)
    statuses = []
    start = threading.Barrier(40)

    def one(n):
        client = app.test_client()
        start.wait()
        r = attempt(client, "target@example.com", f"guess-{n}",
                    environ_base={"REMOTE_ADDR": f"198.51.100.{n}"})
        with lock:
            statuses.append(r.status_code)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(set(statuses)) == [422, 429], statuses
    assert len(checks) == limit, len(checks)  # before: 12 checks against a limit of 10
    assert statuses.count(422) == limit
    with app.app_context():
        assert db.session.scalar(sa.select(LoginThrottle.tries).where(
            LoginThrottle.key == "email:target@example.com")) == limit
