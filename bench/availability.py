"""Availability engine benchmark (#21): free intervals for a 5-member rotation over 14 days,
each member with 3 calendars of 300 busy events in the range, working hours, buffers and a
daily cap. In process, provider calls excluded (busy time as the busy cache would give
it). Target: p95 under 30 ms.

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
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    print(main(parser.parse_args().runs))
