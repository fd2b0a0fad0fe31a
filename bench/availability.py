"""Availability engine benchmark (#21): free intervals for a 5-member rotation over 14 days,
each member with 3 calendars of 300 busy events in the range, working hours, buffers and a
daily cap. In process, provider calls excluded (busy time as the busy cache would give
it). Target: p95 under 30 ms.

`cached_*`: the same, each member's calendar busy time read through the busy cache as a
rotation pick reads it (webapp.availability.busy.external_busy_many: the members'
connections and calendars from the database, then one cache entry per member decoded;
SQLite, the process-local cache; provider calls excluded: the cache was filled first).

    .venv/bin/python -m bench.availability [--runs 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from webapp.availability import engine
from webapp.availability.hours import WorkingHours
from webapp.availability.intervals import merge

ZONES = ["America/New_York", "Europe/London", "Asia/Taipei", "Australia/Sydney",
         "America/Los_Angeles"]
DAYS = 14
CALENDARS = 3
EVENTS = 300


def members(start: datetime, seed: int = 21) -> list[engine.Schedule]:
    rng = random.Random(seed)
    out = []
    for i, zone in enumerate(ZONES):
        busy = []
        for c in range(CALENDARS):
            for _ in range(EVENTS):
                s = start + timedelta(minutes=15 * rng.randrange(DAYS * 24 * 4))
                busy.append(engine.Busy(s, s + timedelta(minutes=15 * rng.randint(1, 8)),
                                        f"Calendar {c}", "Event", meeting=(c == 0)))
        hours = WorkingHours({d: ((540, 720), (780, 1080)) for d in range(5)})
        rules = engine.Rules(timedelta(minutes=10), timedelta(minutes=15),
                             timedelta(hours=4), timedelta(days=60), 40)
        out.append(engine.Schedule(zone, hours, rules, busy, user_id=i))
    return out


def rotation_free(schedules, start, end, now) -> list:
    """When at least one member is free: the rotation's bookable time."""
    return merge(i for s in schedules for i in engine.free_intervals(s, start, end, now))


def cached(runs: int, start: datetime, end: datetime, now: datetime) -> dict:
    """p50/p95 of reading the five members' busy time from the busy cache, then their
    free intervals (the rotation's bookable time)."""
    import tempfile

    from webapp import create_app
    from webapp.auth.models import Account, User
    from webapp.availability import busy as busy_cache
    from webapp.calendars.models import CalendarConnection, ConnectionCalendar
    from webapp.extensions import db

    folder = tempfile.mkdtemp(prefix="parley-bench-")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.db",
                      "SECRET_KEY": "bench", "TESTING": True, "JOBS_MODE": "eager",
                      "START_JOB_THREAD": False, "REDIS_URL": None,
                      "BUSY_CACHE_SECONDS": 3600, "UPLOAD_DIR": folder})
    schedules = members(start)
    with app.app_context():
        db.create_all()
        account = Account(name="Bench", timezone="UTC")
        db.session.add(account)
        db.session.flush()
        users = []
        for i, schedule in enumerate(schedules):
            user = User(account_id=account.id, email=f"m{i}@bench.example", name=f"M{i}",
                        timezone=schedule.zone, password_hash="-")
            db.session.add(user)
            db.session.flush()
            conn = CalendarConnection(account_id=account.id, user_id=user.id, provider="google",
                                      external_email=f"m{i}@gmail.example",
                                      receives_events=True)
            conn.calendars = [ConnectionCalendar(account_id=account.id, external_id=f"c{c}",
                                                 name=f"Calendar {c}", primary=c == 0)
                              for c in range(CALENDARS)]
            db.session.add(conn)
            users.append(user)
        db.session.commit()
        signatures = busy_cache._signatures([u.id for u in users])
        for user, schedule in zip(users, schedules, strict=True):
            busy_cache.LOCAL.put(busy_cache._key(user.id, start, end, signatures[user.id]),
                                 busy_cache._encode(list(schedule.busy), []), 3600)
        db.session.commit()

        def once():
            db.session.info.pop(busy_cache._MEMO, None)  # as in a new transaction
            found = busy_cache.external_busy_many(users, start, end, fetch=False)
            assert all(not unreadable for _busy, unreadable in found.values())
            read = [engine.Schedule(s.zone, s.hours, s.rules, found[u.id][0], u.id)
                    for u, s in zip(users, schedules, strict=True)]
            return rotation_free(read, start, end, now)

        for _ in range(5):
            once()
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            once()
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"cached_p50_ms": round(statistics.median(times), 2),
            "cached_p95_ms": round(times[int(0.95 * (runs - 1))], 2)}


def main(runs: int) -> dict:
    start = datetime(2027, 3, 1, tzinfo=UTC)  # the fortnight of a DST change (US)
    end = start + timedelta(days=DAYS)
    now = start - timedelta(days=1)
    schedules = members(start)
    for _ in range(5):  # warm up (zoneinfo caches)
        rotation_free(schedules, start, end, now)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        free = rotation_free(schedules, start, end, now)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    result = {"runs": runs, "members": len(schedules), "busy_per_member": CALENDARS * EVENTS,
              "free_intervals": len(free), "p50_ms": round(statistics.median(times), 2),
              "p95_ms": round(times[int(0.95 * (runs - 1))], 2), "max_ms": round(times[-1], 2)}
    result.update(cached(runs, start, end, now))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    print(main(parser.parse_args().runs))
