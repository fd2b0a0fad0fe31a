"""enqueue(): the one door to the job queue.

Three modes, chosen by config JOBS_MODE:
- "rq": RQ on REDIS_URL, run by `python -m worker`.
- "thread": a worker thread inside this process runs the same job functions, and sweeps
  periodically (the embedded default: no server to install).
- "eager": the job runs at once, in the caller's thread (tests).

Jobs are named by dotted path and take ids only. Callers enqueue after their commit;
a failure to enqueue is logged and left to the periodic sweep, never raised to the user,
because the database (outbox rows, reminder rows) is the truth.
"""

from __future__ import annotations

import importlib
import logging
import queue
import threading
from collections.abc import Callable

from flask import Flask, current_app

log = logging.getLogger(__name__)


def _resolve(path: str) -> Callable:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


class ThreadRunner:
    """A daemon thread that runs jobs and the periodic sweep inside the web process."""

    def __init__(self, app: Flask):
        self.app = app
        self.queue: queue.Queue = queue.Queue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def start(self) -> None:
        with self.lock:
            if self.thread and self.thread.is_alive():
                return
            self.thread = threading.Thread(target=self._loop, name="parley-jobs", daemon=True)
            self.thread.start()

    def put(self, path: str, args: tuple) -> None:
        self.start()
        self.queue.put((path, args))

    def _loop(self) -> None:
        interval = self.app.config["SWEEP_INTERVAL_SECONDS"]
        wait = interval
        while True:
            try:
                path, args = self.queue.get(timeout=max(wait, 0.05))
            except queue.Empty:
                path, args = SWEEP, ()
            try:
                with self.app.app_context():
                    result = _resolve(path)(*args)
                    if path == SWEEP:
                        # The sweep says when it has work again (the next reminder due),
                        # so that is not up to an interval later.
                        wait = result if isinstance(result, int | float) else interval
            except Exception:  # a job failure must not kill the thread
                log.exception("job %s%r failed", path, args)
                wait = interval


def init_app(app: Flask) -> None:
    """Attach the runner for the configured mode."""
    mode = app.config["JOBS_MODE"]
    if mode == "thread":
        runner = ThreadRunner(app)
        app.extensions["parley_jobs"] = runner
        if app.config.get("START_JOB_THREAD", True):
            app.before_request(lambda: runner.start())
    elif mode == "rq":
        app.extensions["parley_jobs"] = None
    elif mode != "eager":
        raise RuntimeError(f"unknown JOBS_MODE {mode!r}")


def redis_client(app: Flask | None = None):
    """The Redis client of this app's REDIS_URL.

    One client (and its connection pool) per URL and process: a new client per enqueue
    costs a TCP connect and handshake each time (docs/PERFORMANCE.md, relay throughput)."""
    from redis import Redis

    app = app or current_app
    url = app.config["REDIS_URL"]
    clients = app.extensions.setdefault("parley_redis", {})
    conn = clients.get(url)
    if conn is None:
        conn = clients[url] = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    return conn


def rq_queue(app: Flask | None = None):
    """The RQ queue for this app (rq mode)."""
    from rq import Queue

    return Queue("parley", connection=redis_client(app))


def enqueue(path: str, *args: int | str) -> bool:
    """Queue job `path` with id arguments. Returns False when the queue was unreachable."""
    if not all(isinstance(a, int | str) and not isinstance(a, bool) for a in args):
        # Jobs take ids: never objects, and never datetimes (naive or not) to misread.
        raise TypeError(f"job {path} takes ids, got {[type(a).__name__ for a in args]}")
    app = current_app._get_current_object()
    mode = app.config["JOBS_MODE"]
    if mode == "eager":
        _resolve(path)(*args)
        return True
    if mode == "thread":
        app.extensions["parley_jobs"].put(path, args)
        return True
    try:
        rq_queue(app).enqueue(path, *args, job_timeout=120, failure_ttl=7 * 86400)
        return True
    except Exception as exc:  # Redis down: the sweep relays the rows later
        log.warning("could not enqueue %s%r: %s", path, args, exc)
        return False


#: The periodic sweep job: returns the seconds until it has work again.
SWEEP = "worker.jobs.sweep"
#: The relay job: hands committed outbox rows, conference tasks and calendar syncs to the
#: queue. Queued after a commit through request_relay().
RELAY = "worker.jobs.relay"
#: Marks a relay job waiting in the queue (rq mode). It expires so that a relay lost with
#: the mark set delays nothing for longer than this (the sweep also relays meanwhile).
RELAY_WAITING_KEY = "parley:relay-waiting"
RELAY_WAITING_SECONDS = 60


def request_relay() -> bool:
    """After a commit: have a relay hand this transaction's rows to the queue.

    A relay reads every row committed before it starts, so while one is waiting in the
    queue, another would find nothing more: a burst of saves queues one job instead of one
    each (docs/PERFORMANCE.md, saving a meeting). The job clears the mark before it reads
    (relay_starting()), so a commit either sees the mark of a relay that has not read yet,
    or queues a new one. Returns False when the queue was unreachable (the sweep relays).
    """
    app = current_app._get_current_object()
    if app.config["JOBS_MODE"] != "rq":
        return enqueue(RELAY)
    try:
        if not redis_client(app).set(RELAY_WAITING_KEY, b"1", nx=True,
                                     ex=RELAY_WAITING_SECONDS):
            return True
    except Exception as exc:  # Redis down: the sweep relays the rows later
        log.warning("could not queue the relay: %s", exc)
        return False
    if enqueue(RELAY):
        return True
    relay_starting()  # none is waiting after all: let the next commit try again
    return False


def relay_starting() -> None:
    """First thing in a relay job, before it reads rows: commits from now on queue another."""
    app = current_app._get_current_object()
    if app.config["JOBS_MODE"] != "rq":
        return
    try:
        redis_client(app).delete(RELAY_WAITING_KEY)
    except Exception as exc:  # it expires; the sweep relays meanwhile
        log.warning("could not clear the relay mark: %s", exc)
