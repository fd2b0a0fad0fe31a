"""python -m worker: an RQ worker plus the periodic sweep, in one process.

The sweep thread turns due reminders into outbox rows and relays outbox rows to the
queue every SWEEP_INTERVAL_SECONDS, so messages survive a Redis flush or outage. Retries
are rows with a next attempt time that the sweep relays, so RQ's scheduler is not needed,
and it is not started: it runs in a forked process that inherits this process's open
database connections, and when the worker is killed (kill -9, the OOM killer) that child
lives on holding them, with a transaction open and its table locks taken (found when a
test's clean-up waited forever behind one).
"""

from __future__ import annotations

import argparse
import logging
import threading
import time

from redis import Redis
from rq import SimpleWorker

from webapp import create_app
from worker import jobs

log = logging.getLogger("parley.worker")


def sweep_forever(app, interval: float, stop: threading.Event) -> None:
    while not stop.is_set():
        wait = interval
        try:
            with app.app_context():
                # Every registered step; wakes when the next reminder is due, not up to
                # an interval after it.
                wait = min(interval, jobs.sweep())
        except Exception:  # Redis or the database away: try again next round
            log.exception("sweep failed")
        stop.wait(max(wait, 0.05))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker")
    parser.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    parser.add_argument("--name", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    app = create_app()
    if not app.config["REDIS_URL"]:
        raise SystemExit("REDIS_URL is not set: without it the web app runs jobs itself.")
    jobs._app = app  # job functions reuse this app instead of building their own
    stop = threading.Event()
    sweeper = threading.Thread(target=sweep_forever, daemon=True, name="sweep",
                               args=(app, app.config["SWEEP_INTERVAL_SECONDS"], stop))
    sweeper.start()
    connection = Redis.from_url(app.config["REDIS_URL"])
    while True:
        try:
            worker = SimpleWorker(["parley"], connection=connection, name=args.name)
            worker.work(with_scheduler=False, burst=args.burst)
            break
        except Exception:  # Redis went away: wait for it rather than die
            log.exception("worker lost Redis; retrying in 2 s")
            time.sleep(2)
    stop.set()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
