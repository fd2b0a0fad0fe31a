"""Delivery benchmarks with the real worker (`python -m worker`), Redis db 11 and a local
SMTP sink (aiosmtpd, bench/smtp_sink.py).

- invitations: meetings saved through the product's operations (3 attendees each, so
  3 invitation rows each), relayed to RQ, then `python -m worker --burst` sends them.
  Throughput = emails / (last sent_at - first claimed_at), per worker; wall time from the
  worker's start is reported too.
- reminder burst: 10,000 meetings, one attendee and one reminder each, every reminder due
  at the same instant (the start of a minute). Two workers, already running with the
  default SWEEP_INTERVAL_SECONDS, must deliver all 10,000 within 60 s of that instant,
  none twice (counted at the SMTP sink by Message-ID and in the outbox).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import psycopg
import redis

from bench import datagen
from bench.harness import (
    PY,
    REDIS_URL,
    RESULTS,
    SECRET,
    SMALL_DB,
    Report,
    app_root,
    production_env,
    summary,
)
from bench.smtp_sink import Sink

INVITE_TITLE = "Bench invite"
BURST_TITLE = "Bench burst"


def pg(db_url: str):
    return psycopg.connect(datagen.plain_url(db_url))


def make_app(db_url: str):
    """The product app in this process (to save meetings and relay), RQ on db 11."""
    os.environ.setdefault("SECRET_KEY", SECRET)
    from webapp import create_app
    return create_app({"SQLALCHEMY_DATABASE_URI": db_url.replace(
        "postgresql://", "postgresql+psycopg://"), "JOBS_MODE": "rq", "REDIS_URL": REDIS_URL,
        "SECRET_KEY": SECRET})


def delete_meetings(db_url: str, title: str) -> None:
    with pg(db_url) as conn:
        ids = "SELECT id FROM meetings WHERE title = %s"
        for table in ("outbox_messages", "reminders", "attendees", "meeting_associations"):
            conn.execute(f"DELETE FROM {table} WHERE meeting_id IN ({ids})", (title,))
        conn.execute("DELETE FROM meetings WHERE title = %s", (title,))
        conn.commit()
    datagen.vacuum(db_url)


def quiesce(db_url: str) -> None:
    """Nothing else for the workers to do: background reminders due soon are marked sent,
    leftover outbox rows skipped, the queue emptied."""
    with pg(db_url) as conn:
        conn.execute("""UPDATE reminders SET sent_at = now() WHERE sent_at IS NULL
                        AND due_at <= now() + interval '1 day'""")
        conn.execute("""UPDATE outbox_messages SET status = 'skipped'
                        WHERE status IN ('pending', 'sending')""")
        conn.commit()
    redis.Redis.from_url(REDIS_URL).flushdb()


def start_workers(db_url: str, smtp_url: str, count: int, burst: bool,
                  **env_extra: str) -> list[subprocess.Popen]:
    env = production_env(db_url, "http://127.0.0.1:8011", SMTP_URL=smtp_url, **env_extra)
    procs = []
    for i in range(count):
        log = open(RESULTS / f"worker-{i + 1}.log", "ab")  # noqa: SIM115
        args = [PY, "-m", "worker", "--name", f"bench-{os.getpid()}-{i + 1}-{time.time():.0f}"]
        procs.append(subprocess.Popen(args + (["--burst"] if burst else []), cwd=app_root(),
                                      env=env,
                                      stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True))
    return procs


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)


def schedule_invitations(db_url: str, meetings: int) -> dict:
    """Save meetings with 3 contact attendees each through the product's operations, then
    relay their outbox rows to RQ (as the request's after-commit relay would)."""
    from webapp.auth.models import Account, User
    from webapp.delivery import sending
    from webapp.extensions import db
    from webapp.meetings import inputs, saving, validation
    from webapp.records.models import Contact

    app = make_app(db_url)
    with app.app_context():
        account, user = db.session.get(Account, 1), db.session.get(User, 1)
        contacts = list(db.session.scalars(
            db.select(Contact.id).where(Contact.account_id == 1, Contact.email.is_not(None))
            .order_by(Contact.id).limit(600)))
        start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=30)
        t0 = time.monotonic()
        for i in range(meetings):
            data = inputs.MeetingInput(
                title=INVITE_TITLE, start=start + timedelta(hours=i), timezone=datagen.ZONE,
                end=start + timedelta(hours=i, minutes=30),
                attendees=[("contact", contacts[(3 * i + k) % len(contacts)]) for k in range(3)])
            errors = validation.validate(account, user, data)
            assert not errors, errors
            saving.schedule_meeting(account, user, data)
            if i % 50 == 49:
                db.session.commit()
        db.session.commit()
        saved = time.monotonic() - t0
        t0 = time.monotonic()
        relayed = sending.relay(limit=1_000_000)
        relay_s = time.monotonic() - t0
    return {"meetings": meetings, "save_seconds": round(saved, 2), "relayed": relayed,
            "relay_seconds": round(relay_s, 2),
            "relay_per_second": round(relayed / relay_s, 1) if relay_s else None}


def invitation_run(db_url: str, meetings: int, workers: int, log=print) -> dict:
    quiesce(db_url)
    delete_meetings(db_url, INVITE_TITLE)
    prep = schedule_invitations(db_url, meetings)
    expected = prep["relayed"]
    with Sink() as sink:
        t0 = time.time()
        procs = start_workers(db_url, sink.url, workers, burst=True)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and any(p.poll() is None for p in procs):
            time.sleep(0.2)
        stop_workers(procs)
        wall = time.time() - t0
        received = sink.snapshot()
    with pg(db_url) as conn:
        statuses = dict(conn.execute("""SELECT status, count(*) FROM outbox_messages
            WHERE meeting_id IN (SELECT id FROM meetings WHERE title = %s) GROUP BY status""",
                                     (INVITE_TITLE,)).fetchall())
        first_claim, last_sent = conn.execute("""SELECT min(claimed_at), max(sent_at)
            FROM outbox_messages WHERE meeting_id IN (SELECT id FROM meetings WHERE title = %s)""",
                                              (INVITE_TITLE,)).fetchone()
    sent = statuses.get("sent", 0)
    active = (last_sent - first_claim).total_seconds() if first_claim and last_sent else None
    ids = Counter(mid for _, _, mid, _ in received)
    out = {
        "workers": workers, "emails_expected": expected, "sent": sent, "statuses": statuses,
        "sink_received": len(received), "sink_distinct_message_ids": len(ids),
        "duplicates": sum(c - 1 for c in ids.values() if c > 1),
        "active_seconds": round(active, 2) if active else None,
        "wall_seconds_from_worker_start": round(wall, 2),
        "emails_per_second": round(sent / active, 1) if active else None,
        "emails_per_second_per_worker": round(sent / active / workers, 1) if active else None,
        "emails_per_second_wall": round(sent / wall, 1), **{"prep": prep},
    }
    log(f"[invitations] {workers} worker(s): {sent}/{expected} sent in {out['active_seconds']} s"
        f" = {out['emails_per_second']} emails/s ({out['emails_per_second_per_worker']} per"
        f" worker), wall {out['wall_seconds_from_worker_start']} s, duplicates"
        f" {out['duplicates']}")
    delete_meetings(db_url, INVITE_TITLE)
    return out


def make_burst(db_url: str, count: int, due: datetime) -> None:
    """count meetings an hour after `due`, one contact attendee and one reminder due at `due`
    each, booked a day ago (generated with SQL: the same rows the scheduler writes)."""
    with pg(db_url) as conn:
        conn.execute("""CREATE TEMP TABLE burst_contacts AS
            SELECT id, first_name || ' ' || last_name AS name, email,
                   row_number() OVER (ORDER BY id) - 1 AS n
            FROM contacts WHERE account_id = 1 AND email IS NOT NULL""")
        pool = conn.execute("SELECT count(*) FROM burst_contacts").fetchone()[0]
        conn.execute("""INSERT INTO meetings (account_id, uid, sequence, title, start_at, end_at,
                timezone, location_kind, description_html, internal_note_html,
                include_description_in_reminders, host_id, organizer_id, outcome, created_at,
                updated_at)
            SELECT 1, 'burst-' || g || '-' || extract(epoch FROM now())::bigint || '@parley', 0,
                   %(title)s, %(start)s, %(start)s::timestamptz + interval '30 minutes',
                   %(zone)s, 'none', '<p>Agenda</p>', '', true, 1, 1, 'scheduled',
                   now() - interval '1 day', now() - interval '1 day'
            FROM generate_series(1, %(n)s) g""",
                     {"title": BURST_TITLE, "start": due + timedelta(hours=1), "n": count,
                      "zone": datagen.ZONE})
        conn.execute("""INSERT INTO attendees (meeting_id, contact_id, email, name, response)
            SELECT m.id, c.id, c.email, c.name, 'needs_action'
            FROM (SELECT id, row_number() OVER (ORDER BY id) AS k FROM meetings
                  WHERE title = %(title)s) m
            JOIN burst_contacts c ON c.n = m.k %% %(pool)s""", {"title": BURST_TITLE,
                                                                "pool": pool})
        conn.execute("""INSERT INTO meeting_associations (account_id, meeting_id, record_type,
                record_id)
            SELECT 1, a.meeting_id, 'contact', a.contact_id FROM attendees a
            JOIN meetings m ON m.id = a.meeting_id WHERE m.title = %(title)s""",
                     {"title": BURST_TITLE})
        conn.execute("""INSERT INTO reminders (meeting_id, amount, unit, due_at)
            SELECT id, 1, 'hours', %(due)s FROM meetings WHERE title = %(title)s""",
                     {"title": BURST_TITLE, "due": due})
        conn.commit()
        conn.execute("ANALYZE reminders")
        conn.execute("ANALYZE outbox_messages")
        conn.commit()


def burst_run(db_url: str, count: int = 10_000, workers: int = 2, lead: float = 20,
              sweep_interval: str | None = None, align_minute: bool = True, log=print) -> dict:
    """Reminders all due at one instant (the start of a minute unless align_minute is
    False); the workers start `lead` seconds before it."""
    quiesce(db_url)
    delete_meetings(db_url, BURST_TITLE)
    due = datetime.now(UTC) + timedelta(seconds=lead + 5)
    if align_minute:  # the next minute boundary
        due = due.replace(second=0, microsecond=0) + timedelta(minutes=1)
    make_burst(db_url, count, due)
    extra = {"SWEEP_INTERVAL_SECONDS": sweep_interval} if sweep_interval else {}
    with Sink() as sink:
        # The workers are up before the reminders fall due, as in production.
        while datetime.now(UTC) < due - timedelta(seconds=lead):
            time.sleep(0.2)
        procs = start_workers(db_url, sink.url, workers, burst=False, **extra)
        try:
            while datetime.now(UTC) < due:
                time.sleep(0.05)
            limit = time.monotonic() + 180
            progress = []
            while time.monotonic() < limit:
                n = sink.count()
                progress.append((round((datetime.now(UTC) - due).total_seconds(), 1), n))
                if n >= count:
                    break
                time.sleep(0.25)
            time.sleep(max(3.0, float(sweep_interval or 15) * 1.2))  # later sweeps: no resend
        finally:
            stop_workers(procs)
        received = sink.snapshot()
    due_ts = due.timestamp()
    times = sorted(t - due_ts for t, *_ in received)
    ids = Counter(mid for _, _, mid, _ in received)
    with pg(db_url) as conn:
        reminder_rows = conn.execute("""SELECT count(*), count(DISTINCT reminder_id),
                                               count(*) FILTER (WHERE status = 'sent')
            FROM outbox_messages WHERE kind = 'reminder' AND meeting_id IN
            (SELECT id FROM meetings WHERE title = %s)""", (BURST_TITLE,)).fetchone()
        unsent = conn.execute("""SELECT count(*) FROM reminders WHERE sent_at IS NULL AND
            meeting_id IN (SELECT id FROM meetings WHERE title = %s)""",
                              (BURST_TITLE,)).fetchone()[0]
    delivered = len(received)
    out = {
        "reminders": count, "workers": workers,
        "sweep_interval_seconds": float(sweep_interval or 15), "due_at": due.isoformat(),
        "sink_received": delivered, "sink_distinct_message_ids": len(ids),
        "duplicates": sum(c - 1 for c in ids.values() if c > 1),
        "first_delivery_after_due_s": round(times[0], 2) if times else None,
        "all_delivered_after_due_s": round(times[-1], 2) if delivered >= count else None,
        "p50_delivery_after_due_s": round(times[len(times) // 2], 2) if times else None,
        "outbox_rows": reminder_rows[0], "outbox_distinct_reminders": reminder_rows[1],
        "outbox_sent": reminder_rows[2], "reminders_unswept": unsent,
        "progress": progress[::max(1, len(progress) // 40)],
    }
    out["within_60s_none_twice"] = bool(
        delivered == count == len(ids) and out["all_delivered_after_due_s"] is not None
        and out["all_delivered_after_due_s"] <= 60)
    log(f"[burst] {delivered}/{count} delivered, last {out['all_delivered_after_due_s']} s"
        f" after due (first {out['first_delivery_after_due_s']} s), duplicates"
        f" {out['duplicates']}, outbox rows {reminder_rows[0]}")
    delete_meetings(db_url, BURST_TITLE)
    redis.Redis.from_url(REDIS_URL).flushdb()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.delivery")
    parser.add_argument("--db", default=SMALL_DB)
    parser.add_argument("--invite-meetings", type=int, default=334, help="x3 emails")
    parser.add_argument("--invite-runs", type=int, default=3)
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--burst-runs", type=int, default=2)
    parser.add_argument("--sweep-interval", default=None,
                        help="SWEEP_INTERVAL_SECONDS for the burst (default: product default)")
    parser.add_argument("--skip-invitations", action="store_true")
    parser.add_argument("--skip-burst", action="store_true")
    parser.add_argument("--out", default="delivery")
    args = parser.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    out: dict = {"invitations": {}, "burst": []}
    if not args.skip_invitations:
        for workers in (1, 2):
            runs = [invitation_run(args.db, args.invite_meetings, workers)
                    for _ in range(args.invite_runs)]
            out["invitations"][f"{workers}_worker"] = {
                "runs": runs,
                "emails_per_second_per_worker": summary(
                    [r["emails_per_second_per_worker"] for r in runs]),
                "emails_per_second_wall": summary([r["emails_per_second_wall"] for r in runs]),
            }
        out["invitations"]["budget_100_per_second_per_worker"] = (
            out["invitations"]["1_worker"]["emails_per_second_per_worker"]["median"] >= 100)
    if not args.skip_burst:
        out["burst"] = [burst_run(args.db, args.burst, 2, sweep_interval=args.sweep_interval)
                        for _ in range(args.burst_runs)]
        out["burst_budget_met_every_run"] = all(r["within_60s_none_twice"] for r in out["burst"])
    path = Report(args.out, out).save()
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
