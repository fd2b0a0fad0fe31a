"""A hung Redis (a server that accepts connections and never answers) must not hang
pages or saves: short socket timeouts, one client per process, and a circuit breaker
that leaves Redis alone for a while after a failure. Before: 5 s per record page and 10 s
per save."""

from __future__ import annotations

import socket
import statistics
import threading
import time

import fakeredis
import pytest
from flask import g

from tests.meeting_helpers import schedule

# Requests here commit on connections of their own (throttles, sessions, threads): the
# rows must really be there, so these tests commit and the tables are emptied after.
pytestmark = pytest.mark.committing

SLACK = 0.2  # seconds over the healthy time, at most (issue #18)


class FrozenRedis:
    """Accepts every connection and never sends a byte."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.held: list[socket.socket] = []
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.listener.getsockname()[1]}/0"

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.held.append(conn)

    def stop(self):
        self.stopped = True
        self.listener.close()
        for conn in self.held:
            conn.close()


@pytest.fixture()
def frozen():
    server = FrozenRedis()
    yield server
    server.stop()


@pytest.fixture()
def redis_config(app):
    keys = ("REDIS_URL", "JOBS_MODE")
    saved = {k: app.config[k] for k in keys}
    yield
    app.config.update(saved)
    app.extensions.pop("parley_redis_breaker", None)


def timed(client, method: str, *args, **kw) -> float:
    for name in ("csrf_token", "_login_user"):
        g.pop(name, None)
    started = time.perf_counter()
    response = getattr(client, method)(*args, **kw) if method != "save" else \
        schedule(client, *args, **kw)
    elapsed = time.perf_counter() - started
    assert response.status_code in (200, 302), response.status_code
    return elapsed


def measure(app, client, url: str, contact, redis_url: str) -> tuple[float, float, float]:
    """(first page, median page, median save) with Redis at redis_url."""
    app.config.update(REDIS_URL=redis_url, JOBS_MODE="rq")
    first = timed(client, "get", url)
    pages = [timed(client, "get", url) for _ in range(5)]
    saves = [timed(client, "save", contact, attendees=[]) for _ in range(3)]
    return first, statistics.median(pages), statistics.median(saves)


def test_a_frozen_redis_costs_pages_and_saves_under_200_ms(app, client, make, login, db,
                                                           frozen, redis_config):
    account = make.account()
    login(make.user(account))
    contact = make.contact(account)
    url = f"/contacts/{contact.id}"
    healthy_url = "redis://127.0.0.1:1/14"  # never dialled: a fake Redis stands in for it
    app.extensions.setdefault("parley_redis", {})[healthy_url] = fakeredis.FakeRedis()
    try:
        healthy = measure(app, client, url, contact, healthy_url)
        hung = measure(app, client, url, contact, frozen.url)
    finally:
        app.extensions["parley_redis"].pop(healthy_url, None)
        app.extensions["parley_redis"].pop(frozen.url, None)
    assert frozen.held, "the app never reached the frozen Redis"
    first, page, save = hung
    assert first < healthy[0] + SLACK, (healthy, hung)
    assert page < healthy[1] + SLACK, (healthy, hung)
    assert save < healthy[2] + SLACK, (healthy, hung)


def test_the_breaker_skips_redis_after_a_timeout_and_tries_again_later(app, frozen,
                                                                       redis_config):
    from webapp import jobs
    app.config.update(REDIS_URL=frozen.url, REDIS_BREAKER_SECONDS=30)
    with app.app_context():
        with pytest.raises(Exception) as first:
            jobs.call_redis(lambda conn: conn.get("k"))
        assert not isinstance(first.value, jobs.RedisSkipped)
        started = time.perf_counter()
        with pytest.raises(jobs.RedisSkipped):
            jobs.call_redis(lambda conn: conn.get("k"))
        assert time.perf_counter() - started < 0.01
        breaker = app.extensions["parley_redis_breaker"][frozen.url]
        breaker["open_until"] = time.monotonic() - 1  # the pause is over
        with pytest.raises(Exception) as again:
            jobs.call_redis(lambda conn: conn.get("k"))
        assert not isinstance(again.value, jobs.RedisSkipped)
    app.extensions["parley_redis"].pop(frozen.url, None)


def test_one_redis_client_per_process_for_the_api_rate_limit(app, redis_config):
    from webapp.api import ratelimit
    from webapp.jobs import redis_client
    url = "redis://127.0.0.1:1/13"
    fake = fakeredis.FakeRedis()
    app.extensions.setdefault("parley_redis", {})[url] = fake
    app.config.update(REDIS_URL=url, JOBS_MODE="rq")
    try:
        with app.test_request_context():
            for _ in range(3):
                assert ratelimit.hit("token-1")[0]
            assert redis_client() is fake
        assert [k for k in fake.keys() if b"token-1" in k]
    finally:
        app.extensions["parley_redis"].pop(url, None)
