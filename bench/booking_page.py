"""Scheduling page benchmark (#22): the public page /book/<slug> showing a month, and the
public slots endpoint for that month, for a 5-member round-robin page, at 8 concurrent
connections (wrk, gunicorn with the production settings, PostgreSQL and Redis on loopback).

Each member works 09:00-12:00 and 13:00-18:00 on weekdays in their own zone, with
buffers, a daily cap and ~300 Parley meetings in the month (the busy time Parley reads
from its own tables; no calendar provider is called: a connected calendar's busy time
comes from its cache, docs/PERFORMANCE.md). Target (#22): p95 under 50 ms for both.

    .venv/bin/python -m bench.booking_page [--seconds 10] [--rounds 1]

Results in bench/results/booking_page.json. BENCH_BOOKING_DB names the database (emptied
and rebuilt by the migrations each run), BENCH_REDIS_URL the Redis database.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bench import datagen
from bench.harness import PG, Gunicorn, Report, request, wrk

DB = os.environ.get("BENCH_BOOKING_DB", f"{PG}/parley_bench_booking")
SLUG = "bench-team"
VISITOR_ZONE = "America/New_York"
ZONES = ["America/New_York", "Europe/London", "Asia/Taipei", "America/Chicago",
         "America/Los_Angeles"]
MEETINGS_PER_MEMBER = 300
BUDGET_P95_MS = 50


def seed(url: str, seed_value: int = 22) -> dict:
    """A migrated database with the account, the five members, their meetings, the
    rotation and the page. Returns the month the benchmark reads."""
    os.environ.setdefault("SECRET_KEY", "bench-datagen")
    from webapp import create_app
    from webapp.auth.models import Account, SeatKind, User
    from webapp.availability.models import AvailabilityProfile
    from webapp.booking import operations as booking_ops
    from webapp.extensions import db
    from webapp.meetings.models import Meeting
    from webapp.rotations import operations as rotation_ops

    rng = random.Random(seed_value)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url.replace(
        "postgresql://", "postgresql+psycopg://"), "JOBS_MODE": "eager"})
    with app.app_context():
        account = Account(name="Bench booking", timezone=VISITOR_ZONE)
        db.session.add(account)
        db.session.flush()
        seat = SeatKind(account_id=account.id, name="Paid", is_paid=True)
        db.session.add(seat)
        db.session.flush()
        users = []
        for i, zone in enumerate(ZONES):
            user = User(account_id=account.id, email=f"member{i}@bench.example",
                        name=f"Member {i}", timezone=zone, role="admin" if i == 0 else "member",
                        seat_kind_id=seat.id)
            user.set_password("bench")
            db.session.add(user)
            users.append(user)
        db.session.flush()
        weekly = {str(d): [["09:00", "12:00"], ["13:00", "18:00"]] for d in range(5)}
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        for user in users:
            db.session.add(AvailabilityProfile(
                user_id=user.id, account_id=account.id,
                working_hours={"weekly": weekly, "overrides": {}}, buffer_before_minutes=10,
                buffer_after_minutes=10, min_notice_minutes=240, horizon_days=90,
                max_per_day=12))
            for _ in range(MEETINGS_PER_MEMBER):
                start = now + timedelta(minutes=15 * rng.randrange(40 * 24 * 4))
                db.session.add(Meeting(
                    account_id=account.id, title="Busy", start_at=start,
                    end_at=start + timedelta(minutes=15 * rng.randint(1, 6)),
                    timezone=user.zone, host_id=user.id, organizer_id=user.id))
        db.session.flush()
        rotation, errors = rotation_ops.create_rotation(account, "Bench team",
                                                        [u.id for u in users])
        assert not errors, errors
        page, errors = booking_ops.create_page(account, users[0], {
            "title": "Talk to our team", "slug": SLUG, "kind": "round_robin",
            "rotation_id": rotation.id, "durations": [30, 60], "horizon_days": 60,
            "min_notice_minutes": 240})
        assert not errors, errors
        db.session.commit()
    today = now.astimezone(ZoneInfo(VISITOR_ZONE)).date()
    month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return {"month": month.isoformat()[:7], "first": month.isoformat(),
            "last": end.isoformat()}


def main(seconds: float, rounds: int) -> dict:
    from bench.run import ensure_database
    ensure_database(DB)
    datagen.migrate(DB)
    subject = seed(DB)
    page_path = f"/book/{SLUG}?zone={VISITOR_ZONE.replace('/', '%2F')}&month={subject['month']}"
    slots_path = (f"/api/v1/scheduling-pages/{SLUG}/slots?start={subject['first']}"
                  f"&end={subject['last']}&timezone={VISITOR_ZONE}&duration=30")
    out: dict = {"subject": subject, "members": len(ZONES),
                 "meetings_per_member": MEETINGS_PER_MEMBER, "runs": []}
    # The per-address limit is for visitors; the load generator is one address.
    with Gunicorn(DB, env={"BOOKING_RATE_LIMIT": "100000000"}) as server:
        for path in (page_path, slots_path):  # answers, and warms every worker
            status, _headers, body = request(server.url, "GET", path)
            assert status == 200, (path, status, body[:300])
            for _ in range(10):
                request(server.url, "GET", path)
        status, _h, body = request(server.url, "GET", slots_path)
        out["slots_in_month"] = len(json.loads(body).get("slots", []))
        for _ in range(rounds):
            for name, path in (("page", page_path), ("slots", slots_path)):
                result = wrk(name, server.url + path, seconds, connections=8, server=server,
                             database=DB)
                out["runs"].append(result.__dict__)
    for name in ("page", "slots"):
        p95 = sorted(r["p95_ms"] for r in out["runs"] if r["name"] == name)
        # The median of the rounds' p95s, as bench/web.py reports (one round: that round).
        out[f"{name}_p95_ms"] = statistics.median(p95)
        out[f"{name}_p95_runs_ms"] = p95
        out[f"{name}_cpu_ms"] = [r["cpu_ms"] for r in out["runs"] if r["name"] == name]
        out[f"{name}_within_budget"] = statistics.median(p95) < BUDGET_P95_MS
    Report("booking_page", out).save()
    return {k: v for k, v in out.items() if k != "runs"}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(main(args.seconds, args.rounds), indent=2, default=str))
