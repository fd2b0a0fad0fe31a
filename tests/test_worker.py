"""The real pipeline under faults: RQ on a real Redis, `python -m worker` processes, the
aiosmtpd sink. RELIABILITY.md 1-3: nothing lost when a worker is killed, when Redis is
down while saving, or when Redis is flushed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from tests.clock import server_env
from tests.meeting_helpers import schedule
from tests.support import drain
from webapp.delivery import sending
from webapp.delivery.models import OutboxMessage
from webapp.meetings import inputs, saving, validation
from webapp.meetings.models import Meeting
from webapp.types import utcnow

ROOT = Path(__file__).resolve().parent.parent

# Worker processes read what the tests commit.
pytestmark = pytest.mark.committing


def _redis_url() -> str:
    base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    # A database of its own, flushed by the tests (TEST_REDIS_DB lets parallel runs differ),
    # and under pytest-xdist one per worker counting down from it (gw1: 14, ...).
    number = int(os.environ.get("TEST_REDIS_DB", "15"))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return base.rsplit("/", 1)[0] + f"/{number - int(worker.removeprefix('gw'))}"


@pytest.fixture()
def live_redis():
    url = _redis_url()
    try:
        conn = redis.Redis.from_url(url, socket_connect_timeout=1)
        conn.ping()
    except redis.RedisError:
        pytest.skip("needs a Redis server at REDIS_URL (CI has one)")
    conn.flushdb()
    yield url
    conn.flushdb()


@pytest.fixture()
def rq_mode(app, live_redis):
    saved = {k: app.config[k] for k in ("JOBS_MODE", "REDIS_URL")}
    app.config.update(JOBS_MODE="rq", REDIS_URL=live_redis)
    yield live_redis
    app.config.update(saved)


def worker_env(app, redis_url: str, smtp_url: str, **extra) -> dict:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": str(app.config["SQLALCHEMY_DATABASE_URI"]),
        "REDIS_URL": redis_url, "SMTP_URL": smtp_url, "SECRET_KEY": app.config["SECRET_KEY"],
        "BASE_URL": app.config["BASE_URL"], "SWEEP_INTERVAL_SECONDS": "0.5",
        "PYTHONPATH": str(ROOT),
        **server_env(),  # the tests' clock
    })
    env.pop("JOBS_MODE", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start_worker(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "worker", *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for(predicate, timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def child_pids(pid: int) -> list[int]:
    """The processes pid forked (Linux /proc), e.g. RQ's scheduler when it is started."""
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def statuses(db) -> dict[str, int]:
    db.session.expire_all()
    rows = db.session.execute(sa.select(OutboxMessage.status, sa.func.count())
                              .group_by(OutboxMessage.status)).all()
    return dict(rows)


def distinct_invitations(sink) -> set[tuple[str, str, str]]:
    import icalendar
    seen = set()
    with sink.lock:
        messages = list(sink.messages)
    for rcpts, msg in messages:
        part = next(p for p in msg.walk() if p.get_content_type() == "text/calendar")
        event = next(iter(icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")))
        seen.add((rcpts[0], str(event["UID"]), str(event["SEQUENCE"])))
    return seen


def test_redis_down_while_saving_loses_nothing(app, client, make, login, db, smtp, rq_mode):
    account = make.account()
    login(make.user(account))
    contacts = [make.contact(account, email=f"p{i}@example.org") for i in range(3)]
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    r = schedule(client, contacts[0], attendees=[f"contact:{c.id}" for c in contacts])
    assert r.status_code == 302  # the user is not blocked by the outage
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 1
    assert statuses(db) == {"pending": 3}
    assert smtp.messages == []
    # Redis is back: the worker's sweep relays the committed rows; one message each.
    app.config["REDIS_URL"] = rq_mode
    worker = start_worker(worker_env(app, rq_mode, smtp.url))
    try:
        assert wait_for(lambda: statuses(db) == {"sent": 3}, 30), statuses(db)
    finally:
        worker.terminate()
        worker.wait(10)
    drain(app)  # another sweep, and whatever is still queued, must send nothing again
    assert sorted(r[0] for r, _ in smtp.messages) == [c.email for c in contacts]


def test_flushed_redis_is_rebuilt_from_the_database(app, client, make, login, db, smtp,
                                                    rq_mode):
    account = make.account()
    login(make.user(account))
    contact = make.contact(account)
    schedule(client, contact, attendees=[f"contact:{contact.id}"])
    sending.relay()
    assert redis.Redis.from_url(rq_mode).llen("rq:queue:parley") >= 1
    redis.Redis.from_url(rq_mode).flushdb()  # every queued job is gone
    worker = start_worker(worker_env(app, rq_mode, smtp.url, RELAY_GRACE_SECONDS=1))
    try:
        assert wait_for(lambda: statuses(db) == {"sent": 1}, 30), statuses(db)
    finally:
        worker.terminate()
        worker.wait(10)
    assert len(smtp.messages) == 1


def test_kill_9_worker_mid_send_then_restart(app, make, db, smtp, rq_mode):
    account = make.account()
    host = make.user(account)
    contacts = [make.contact(account, email=f"k{i:03d}@example.org") for i in range(100)]
    start = utcnow() + timedelta(days=3)
    data = inputs.MeetingInput(title="Town hall", start=start,
                                    end=start + timedelta(hours=1), timezone="UTC",
                                    attendees=[("contact", c.id) for c in contacts])
    assert not validation.validate(account, host, data)
    saving.schedule_meeting(account, host, data)
    db.session.commit()
    assert sending.relay() == 100  # 100 jobs waiting in Redis
    smtp.delay = 0.03
    env = worker_env(app, rq_mode, smtp.url, SEND_LEASE_SECONDS=2, RELAY_GRACE_SECONDS=2)
    first = start_worker(env)
    try:
        assert wait_for(lambda: len(smtp.messages) >= 30, 60)
        children = child_pids(first.pid)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    # Nothing of the killed worker lives on: a forked child would keep its database
    # connections open, a transaction and its table locks with them.
    assert wait_for(lambda: not any(alive(pid) for pid in children), 5), children
    sent_before = len(smtp.messages)
    assert sent_before < 100, "the worker finished before it could be killed"
    second = start_worker(env)
    try:
        assert wait_for(lambda: statuses(db) == {"sent": 100}, 90), statuses(db)
    finally:
        second.terminate()
        second.wait(10)
    assert len(distinct_invitations(smtp)) == 100
    # At most the one message in flight at the kill can arrive twice (same Message-ID).
    assert len(smtp.messages) <= 101


def test_a_burst_of_saves_queues_one_relay_that_sends_them_all(app, client, make, login, db,
                                                               smtp, rq_mode):
    """While a relay waits in the queue, later commits queue no other: it reads every row
    committed before it starts. Once it has started, the next save queues a new one."""
    from webapp import jobs
    account = make.account()
    login(make.user(account))
    contacts = [make.contact(account, email=f"b{i}@example.org") for i in range(5)]
    queue = redis.Redis.from_url(rq_mode)
    for contact in contacts:
        assert schedule(client, contact, attendees=[f"contact:{contact.id}"]).status_code == 302
    assert queue.llen("rq:queue:parley") == 1
    assert queue.ttl(jobs.RELAY_WAITING_KEY) > 0  # a lost relay holds nothing back for long
    worker = start_worker(worker_env(app, rq_mode, smtp.url, SWEEP_INTERVAL_SECONDS=3600),
                          "--burst")
    assert worker.wait(60) == 0
    # The one relay sent all five (the sweep, an hour away, had no part in it).
    assert statuses(db) == {"sent": 5}
    assert sorted(r[0] for r, _ in smtp.messages) == [c.email for c in contacts]
    assert not queue.exists(jobs.RELAY_WAITING_KEY)
    schedule(client, contacts[0], attendees=[f"contact:{contacts[0].id}"], title="Next")
    assert queue.llen("rq:queue:parley") == 1


def test_a_relay_clears_its_mark_before_it_reads_rows(app, db, rq_mode, monkeypatch):
    """Else a commit landing between the read and the clearing would queue no relay and
    its invitations would wait for the sweep."""
    from webapp import jobs, tasks
    from worker import jobs as worker_jobs
    queue = redis.Redis.from_url(rq_mode)
    seen = []
    monkeypatch.setattr(tasks, "_RELAYS", [
        (0, "probe", lambda: seen.append(queue.exists(jobs.RELAY_WAITING_KEY)))])
    queue.set(jobs.RELAY_WAITING_KEY, b"1")
    worker_jobs.relay()
    assert seen == [0]
