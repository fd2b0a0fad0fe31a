"""Fast generator of benchmark data in PostgreSQL: INSERT ... SELECT generate_series.

    python -m bench.datagen --db postgresql://postgres@127.0.0.1:5432/parley_bench --scale small
    python -m bench.datagen --db postgresql://postgres@127.0.0.1:5432/parley_bench_big --scale big

The schema comes from the Alembic migrations (the database is emptied first). Both scales
hold the same "bench subjects" in account 1, so their pages can be compared directly:

- user 1, bench@example.com / bench, the host (America/New_York, paid seat);
- contact 1, with exactly 500 meetings on its timeline (3 attendees each);
- 300 meetings hosted by user 1 in the current week (titles "Busy week ...");
- contacts 2-4, company, deal and ticket ids used by the save-meeting benchmark.

Around them, "background" rows: accounts, users, companies, deals, contacts and meetings
with attendees, associations, reminders and sent outbox rows spread over three years.
Account 1 holds 40% of the rows, the other accounts share the rest. Background meetings
avoid a window around the bench week, so the bench week holds exactly 300 events.
"""

from __future__ import annotations

import argparse
import os
import re
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg

SCALES = {
    # accounts, users per account, companies, contacts, background meetings
    "tiny": dict(accounts=3, users=5, companies=60, contacts=400, meetings=1_200),
    "small": dict(accounts=3, users=10, companies=300, contacts=2_000, meetings=10_000),
    # 1,000,000 meetings in all (background + 800 bench meetings), 100,000 contacts.
    "big": dict(accounts=20, users=25, companies=10_000, contacts=100_000,
                meetings=1_000_000 - 800),
}
ZONE = "America/New_York"
TIMELINE_MEETINGS = 500
WEEK_EVENTS = 300
BENCH_EMAIL = "bench@example.com"
BENCH_PASSWORD = "bench"
FIRST = ["Ava", "Ben", "Chen", "Daniela", "Emeka", "Fatima", "Giulia", "Hiro", "Ines", "Jonas",
         "Kiri", "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tanvi"]
LAST = ["Anderson", "Borges", "Chen", "Dubois", "Eze", "Fischer", "Garcia", "Haddad", "Ito",
        "Johansson", "Kowalski", "Lin", "Muller", "Nakamura", "Okafor", "Patel", "Rossi"]
ZONES = ["America/New_York", "Europe/Berlin", "Asia/Taipei", "Europe/London",
         "America/Los_Angeles", "Asia/Tokyo", "Australia/Sydney"]


def plain_url(url: str) -> str:
    """psycopg wants postgresql://, SQLAlchemy URLs may say postgresql+psycopg://."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def current_monday(now: datetime | None = None) -> datetime:
    """00:00 on Monday of this week in the bench user's zone, as a UTC instant."""
    local = (now or datetime.now(UTC)).astimezone(ZoneInfo(ZONE))
    monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0,
                                                               microsecond=0)
    return monday.astimezone(UTC)


def account_expr(k: str, accounts: int) -> str:
    """SQL: the account of row number k; account 1 gets 40% of the rows."""
    return f"(CASE WHEN {k} % 5 < 2 THEN 1 ELSE 2 + ({k} / 5) % {accounts - 1} END)"


def hash_expr(k: str, salt: int) -> str:
    """SQL: a cheap, repeatable pseudo-random non-negative bigint for row k."""
    return f"((({k})::bigint * 2654435761 + {salt} * 40503) % 2147483647)"


def migrate(url: str) -> None:
    """Empty the database and build the schema with the project's Alembic migrations."""
    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    os.environ.setdefault("SECRET_KEY", "bench-datagen")
    from flask_migrate import upgrade

    from webapp import create_app
    app = create_app({"SQLALCHEMY_DATABASE_URI": url.replace(
        "postgresql://", "postgresql+psycopg://"), "JOBS_MODE": "eager"})
    with app.app_context():
        upgrade()


#: The tables the benchmarks write and delete in: vacuumed after each clean-up.
CHURNED = ("meetings", "attendees", "reminders", "meeting_associations", "outbox_messages",
           "meeting_submissions")


def vacuum(url: str) -> None:
    """VACUUM ANALYZE the tables the benchmarks churn. This machine's PostgreSQL runs with
    autovacuum off; without this, every round would run on the dead rows of the rounds
    before it (docs/PERFORMANCE.md), which no production database does."""
    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) " + ", ".join(CHURNED))


def analyze(conn, *tables: str) -> None:
    """Fresh statistics, so the planner sees the bulk-loaded sizes (joins stay hash joins)."""
    for table in tables:
        conn.execute(f"ANALYZE {table}")
    conn.commit()


def generate(url: str, scale: str, now: datetime | None = None, log=print) -> dict:
    """Fill an empty, migrated database. Returns the bench subjects' ids."""
    from werkzeug.security import generate_password_hash

    p = SCALES[scale]
    A, U, CO, C, M = p["accounts"], p["users"], p["companies"], p["contacts"], p["meetings"]
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    monday = current_monday(now)
    window_start, window_end = monday - timedelta(days=7), monday + timedelta(days=14)
    begin, finish = now - timedelta(days=3 * 365), now + timedelta(days=90)
    before_min = int((window_start - begin).total_seconds() // 60)
    after_min = int((finish - window_end).total_seconds() // 60)
    pw_hash = generate_password_hash(BENCH_PASSWORD)
    acct = lambda k: account_expr(k, A)  # noqa: E731
    first = "ARRAY[" + ",".join(f"'{n}'" for n in FIRST) + "]"
    last = "ARRAY[" + ",".join(f"'{n}'" for n in LAST) + "]"
    zones = "ARRAY[" + ",".join(f"'{z}'" for z in ZONES) + "]"

    def start_expr(h: str) -> str:
        """A start time in [begin, finish] outside the window around the bench week,
        on a 5-minute grid."""
        off = f"(({h}) % {before_min + after_min})"
        return (f"(CASE WHEN {off} < {before_min} "
                f"THEN %(begin)s::timestamptz + make_interval(mins => ({off} / 5 * 5)::int) "
                f"ELSE %(wend)s::timestamptz + make_interval(mins => (({off} - {before_min}) "
                f"/ 5 * 5)::int) END)")

    params = {"begin": begin, "wend": window_end, "now": now, "monday": monday, "pw": pw_hash}
    started = time.monotonic()
    with psycopg.connect(plain_url(url)) as conn:
        def run(label: str, sql: str, **extra) -> None:
            t0 = time.monotonic()
            # Modulo signs must be doubled when placeholders are passed.
            cur = conn.execute(re.sub(r"%(?!\()", "%%", sql), {**params, **extra})
            conn.commit()
            log(f"  {label}: {cur.rowcount} rows in {time.monotonic() - t0:.1f} s")

        run("accounts", f"""
            INSERT INTO accounts (id, name, timezone, is_sandbox, custom_meeting_types_enabled,
                                  reminders_default_on, default_reminders, created_at)
            SELECT a, 'Account ' || a, '{ZONE}', false, false, false, '[]', %(now)s
            FROM generate_series(1, {A}) a""")
        run("seat kinds", f"""
            INSERT INTO seat_kinds (id, account_id, name, is_paid)
            SELECT a, a, 'Professional', true FROM generate_series(1, {A}) a""")
        run("users", f"""
            INSERT INTO users (id, account_id, email, name, password_hash, timezone, locale,
                               role, seat_kind_id, feed_token, created_at)
            SELECT i, (i - 1) / {U} + 1,
                   CASE WHEN i = 1 THEN '{BENCH_EMAIL}' ELSE 'u' || i || '@bench.example' END,
                   CASE WHEN i = 1 THEN 'Bench Host' ELSE 'User ' || i END,
                   %(pw)s, '{ZONE}', 'en', CASE WHEN (i - 1) % {U} = 0 THEN 'admin'
                   ELSE 'member' END, (i - 1) / {U} + 1, 'feed-' || i, %(now)s
            FROM generate_series(1, {A * U}) i""")
        run("companies", f"""
            INSERT INTO companies (id, account_id, name, domain, phone, city, created_at,
                                   updated_at)
            SELECT q, {acct('q')}, 'Company ' || q, 'company' || q || '.example', NULL,
                   'City ' || (q % 50), %(now)s, %(now)s
            FROM generate_series(1, {CO}) q""")
        run("deals", f"""
            INSERT INTO deals (id, account_id, name, amount, stage, close_date, created_at,
                               updated_at)
            SELECT q, {acct('q')}, 'Deal ' || q, (q % 200) * 1000, 'qualified', NULL,
                   %(now)s, %(now)s
            FROM generate_series(1, {CO}) q""")
        run("tickets", f"""
            INSERT INTO tickets (id, account_id, subject, status, priority, description,
                                 created_at, updated_at)
            SELECT q, {acct('q')}, 'Ticket ' || q, 'new', 'medium', NULL, %(now)s, %(now)s
            FROM generate_series(1, {CO}) q""")
        conn.execute("""CREATE TEMP TABLE company_idx AS
            SELECT id, account_id, row_number() OVER (PARTITION BY account_id ORDER BY id) n
            FROM companies""")
        conn.execute("CREATE INDEX ON company_idx (account_id, n)")
        conn.execute("""CREATE TEMP TABLE company_count AS
            SELECT account_id, count(*) cnt FROM companies GROUP BY account_id""")
        run("contacts", f"""
            INSERT INTO contacts (id, account_id, first_name, last_name, email, phone, timezone,
                                  company_id, created_at, updated_at)
            SELECT k.k, k.a, ({first})[1 + k.k % {len(FIRST)}],
                   ({last})[1 + (k.k / {len(FIRST)}) % {len(LAST)}],
                   CASE WHEN k.k % 17 = 5 THEN NULL ELSE 'c' || k.k || '@example.org' END,
                   '+1212555' || lpad((k.k % 10000)::text, 4, '0'),
                   ({zones})[1 + k.k % {len(ZONES)}], ci.id, %(now)s, %(now)s
            FROM (SELECT k, {acct('k')} a FROM generate_series(1, {C}) k) k
            JOIN company_count cc ON cc.account_id = k.a
            JOIN company_idx ci ON ci.account_id = k.a AND ci.n = 1 + k.k % cc.cnt""")
        conn.execute("""CREATE TEMP TABLE contact_idx AS
            SELECT id, account_id, first_name || ' ' || last_name AS name, email, company_id,
                   row_number() OVER (PARTITION BY account_id ORDER BY id) n FROM contacts""")
        conn.execute("CREATE INDEX ON contact_idx (account_id, n)")
        analyze(conn, "contact_idx", "company_idx", "contacts", "companies", "users")
        conn.execute("""CREATE TEMP TABLE contact_count AS
            SELECT account_id, count(*) cnt FROM contacts GROUP BY account_id""")
        conn.commit()

        # Background meetings, in chunks so progress shows on the big scale.
        chunk = 200_000
        for lo in range(1, M + 1, chunk):
            hi = min(M, lo + chunk - 1)
            run(f"meetings {lo}-{hi}", f"""
                INSERT INTO meetings (id, account_id, uid, sequence, title, start_at, end_at,
                    timezone, meeting_type_id, location_kind, location_value, description_html,
                    internal_note_html, include_description_in_reminders, host_id,
                    organizer_id, outcome, deleted_at, created_at, updated_at)
                SELECT j, a, 'bench-' || j || '@parley', 0, 'Meeting ' || j, s,
                       s + make_interval(mins => (30 + (h % 3) * 15)::int), '{ZONE}', NULL, 'phone',
                       '+12125550100', '', '', false, host, host,
                       CASE WHEN s < %(now)s THEN 'completed' ELSE 'scheduled' END,
                       CASE WHEN j % 50 = 0 THEN s END,
                       LEAST(s - interval '7 days', %(now)s), LEAST(s, %(now)s)
                FROM (SELECT j, a, h, (a - 1) * {U} + 1 + h % {U} AS host, {start_expr('h')} s
                      FROM (SELECT j, {acct('j')} a, {hash_expr('j', 1)} h
                            FROM generate_series({lo}, {hi}) j) x) y""")
        # Bench subjects: 500 meetings on contact 1's timeline (hosts rotate over account 1's
        # users), and 300 meetings hosted by user 1 in the bench week.
        t1, t2 = M + 1, M + TIMELINE_MEETINGS
        run("timeline meetings", f"""
            INSERT INTO meetings (id, account_id, uid, sequence, title, start_at, end_at,
                timezone, location_kind, location_value, description_html, internal_note_html,
                include_description_in_reminders, host_id, organizer_id, outcome, created_at,
                updated_at)
            SELECT j, 1, 'bench-' || j || '@parley', 0, 'Timeline meeting ' || (j - {M}), s,
                   s + interval '45 minutes', '{ZONE}', 'in_person', '1 Main St, Springfield',
                   '', '', false, 1 + j % {U}, 1,
                   CASE WHEN s < %(now)s THEN 'completed' ELSE 'scheduled' END,
                   LEAST(s - interval '7 days', %(now)s), LEAST(s, %(now)s)
            FROM (SELECT j, {start_expr(hash_expr('j', 2))} s
                  FROM generate_series({t1}, {t2}) j) x""")
        w1, w2 = t2 + 1, t2 + WEEK_EVENTS
        run("busy week", f"""
            INSERT INTO meetings (id, account_id, uid, sequence, title, start_at, end_at,
                timezone, location_kind, location_value, description_html, internal_note_html,
                include_description_in_reminders, host_id, organizer_id, outcome, created_at,
                updated_at)
            SELECT j, 1, 'bench-' || j || '@parley', 0, 'Busy week ' || (j - {t2}), s,
                   s + interval '30 minutes', '{ZONE}', 'none', NULL, '', '', false, 1, 1,
                   'scheduled', LEAST(s - interval '7 days', %(now)s), LEAST(s, %(now)s)
            FROM (SELECT j, %(monday)s::timestamptz
                         + make_interval(mins => (((j - {w1}) * 10080 / {WEEK_EVENTS}) / 5 * 5)::int) s
                  FROM generate_series({w1}, {w2}) j) x""")

        analyze(conn, "meetings")
        # Attendees: one contact for every meeting, a second for half of them, a user
        # colleague for a tenth; the timeline meetings have contact 1 and two others.
        for lo in range(1, w2 + 1, chunk):
            hi = min(w2, lo + chunk - 1)
            run(f"attendees {lo}-{hi}", f"""
                INSERT INTO attendees (meeting_id, contact_id, user_id, email, name, response)
                SELECT m.id, c.id, NULL, c.email, c.name, 'needs_action'
                FROM meetings m
                JOIN contact_count cc ON cc.account_id = m.account_id
                JOIN contact_idx c ON c.account_id = m.account_id
                 AND c.n = 2 + {hash_expr('m.id', 3)} % (cc.cnt - 1)
                WHERE m.id BETWEEN {lo} AND {hi}""")
            run(f"second attendees {lo}-{hi}", f"""
                INSERT INTO attendees (meeting_id, contact_id, user_id, email, name, response)
                SELECT m.id, c.id, NULL, c.email, c.name, 'accepted'
                FROM meetings m
                JOIN contact_count cc ON cc.account_id = m.account_id
                JOIN contact_idx c ON c.account_id = m.account_id
                 AND c.n = 2 + {hash_expr('m.id', 4)} % (cc.cnt - 1)
                WHERE m.id BETWEEN {lo} AND {hi} AND (m.id % 2 = 0 OR m.id BETWEEN {t1} AND {t2})
                ON CONFLICT DO NOTHING""")
            run(f"user attendees {lo}-{hi}", f"""
                INSERT INTO attendees (meeting_id, contact_id, user_id, email, name, response)
                SELECT m.id, NULL, u.id, u.email, u.name, 'accepted'
                FROM meetings m JOIN users u
                  ON u.id = (m.account_id - 1) * {U} + 1 + (m.host_id + m.id) % {U}
                WHERE m.id BETWEEN {lo} AND {hi} AND m.id % 10 = 3 AND u.id <> m.host_id
                  AND m.id < {t1}""")
        run("contact 1 on its timeline", f"""
            INSERT INTO attendees (meeting_id, contact_id, user_id, email, name, response)
            SELECT j, c.id, NULL, c.email, c.name, 'needs_action'
            FROM generate_series({t1}, {t2}) j JOIN contact_idx c ON c.id = 1""")

        analyze(conn, "meetings", "attendees", "contacts")
        for lo in range(1, w2 + 1, chunk):
            hi = min(w2, lo + chunk - 1)
            run(f"associations {lo}-{hi}", f"""
                INSERT INTO meeting_associations (account_id, meeting_id, record_type, record_id)
                SELECT m.account_id, a.meeting_id, 'contact', a.contact_id
                FROM attendees a JOIN meetings m ON m.id = a.meeting_id
                WHERE a.contact_id IS NOT NULL AND a.meeting_id BETWEEN {lo} AND {hi}""")
            run(f"company associations {lo}-{hi}", f"""
                INSERT INTO meeting_associations (account_id, meeting_id, record_type, record_id)
                SELECT DISTINCT ON (a.meeting_id) m.account_id, m.id, 'company', ct.company_id
                FROM attendees a JOIN meetings m ON m.id = a.meeting_id
                JOIN contacts ct ON ct.id = a.contact_id
                WHERE m.id BETWEEN {lo} AND {hi} AND m.id % 3 = 0
                  AND ct.company_id IS NOT NULL
                ORDER BY a.meeting_id, a.id
                ON CONFLICT DO NOTHING""")
            run(f"reminders {lo}-{hi}", f"""
                INSERT INTO reminders (meeting_id, amount, unit, due_at, sent_at)
                SELECT id, 15, 'minutes', start_at - interval '15 minutes',
                       CASE WHEN start_at - interval '15 minutes' <= %(now)s
                            THEN start_at - interval '15 minutes' END
                FROM meetings WHERE id BETWEEN {lo} AND {hi} AND id < {w1}""")
            run(f"outbox {lo}-{hi}", f"""
                INSERT INTO outbox_messages (account_id, meeting_id, attendee_id, reminder_id,
                    kind, recipient_email, recipient_name, sequence, dedupe_key, status,
                    attempts, next_attempt_at, enqueued_at, claimed_at, sent_at, created_at)
                SELECT m.account_id, m.id, a.id, NULL, 'invite', a.email, a.name, 0,
                       m.id || ':' || lower(a.email) || ':invite:0', 'sent', 1, m.created_at,
                       m.created_at, m.created_at, m.created_at, m.created_at
                FROM attendees a JOIN meetings m ON m.id = a.meeting_id
                WHERE a.email IS NOT NULL AND m.id BETWEEN {lo} AND {hi}""")

        run("record links", """
            INSERT INTO record_links (account_id, from_type, from_id, to_type, to_id, created_at)
            SELECT c.account_id, x.ft, x.fi, x.tt, x.ti, %(now)s
            FROM contacts c,
                 LATERAL (VALUES ('contact', c.id, 'company', c.company_id),
                                 ('company', c.company_id, 'contact', c.id)) x(ft, fi, tt, ti)
            WHERE c.company_id IS NOT NULL""")
        deals = [r[0] for r in conn.execute(
            "SELECT id FROM deals WHERE account_id = 1 ORDER BY id LIMIT 3")]
        for deal_id in deals:
            conn.execute("""INSERT INTO record_links (account_id, from_type, from_id, to_type,
                            to_id, created_at) VALUES (1, 'contact', 1, 'deal', %(d)s, %(now)s),
                            (1, 'deal', %(d)s, 'contact', 1, %(now)s)""", {**params, "d": deal_id})
        conn.commit()

        for table in ("accounts", "seat_kinds", "users", "companies", "deals", "tickets",
                      "contacts", "meetings", "attendees", "meeting_associations", "reminders",
                      "outbox_messages", "record_links"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                         f"(SELECT coalesce(max(id), 1) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        t0 = time.monotonic()
        conn.execute("VACUUM ANALYZE")
        log(f"  vacuum analyze: {time.monotonic() - t0:.1f} s")
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in (
            "contacts", "meetings", "attendees", "meeting_associations", "reminders",
            "outbox_messages")}
    log(f"generated {scale} in {time.monotonic() - started:.1f} s: {counts}")
    return {"scale": scale, "counts": counts, "generated_at": now.isoformat(),
            "seconds": round(time.monotonic() - started, 1)}


def subjects(url: str) -> dict:
    """Ids the benchmarks use, read from a generated database (account 1)."""
    with psycopg.connect(plain_url(url)) as conn:
        one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "contact_id": 1,
            "attendee_contact_ids": [r[0] for r in conn.execute(
                "SELECT id FROM contacts WHERE account_id = 1 AND id > 1 AND email IS NOT NULL "
                "ORDER BY id LIMIT 3")],
            "company_id": one("SELECT min(id) FROM companies WHERE account_id = 1"),
            "deal_id": one("SELECT min(id) FROM deals WHERE account_id = 1"),
            "ticket_id": one("SELECT min(id) FROM tickets WHERE account_id = 1"),
            "timeline_count": one("""SELECT count(*) FROM meeting_associations ma
                JOIN meetings m ON m.id = ma.meeting_id WHERE ma.account_id = 1
                AND ma.record_type = 'contact' AND ma.record_id = 1 AND m.deleted_at IS NULL"""),
        }


def align_busy_week(url: str, now: datetime | None = None) -> int:
    """Move the "Busy week" meetings into this week (whole weeks, in the host's zone), so
    the scheduler opened today shows them. Returns the host's events in this week."""
    monday = current_monday(now)
    with psycopg.connect(plain_url(url)) as conn:
        first = conn.execute("SELECT min(start_at) FROM meetings WHERE host_id = 1 "
                             "AND title LIKE 'Busy week %%'").fetchone()[0]
        if first is None:
            raise SystemExit("no bench data: run python -m bench.datagen first")
        weeks = round((monday - current_monday(first)).total_seconds() / (7 * 86400))
        if weeks:
            conn.execute(f"""UPDATE meetings SET
                start_at = ((start_at AT TIME ZONE '{ZONE}') + interval '{weeks} weeks')
                           AT TIME ZONE '{ZONE}',
                end_at = ((end_at AT TIME ZONE '{ZONE}') + interval '{weeks} weeks')
                         AT TIME ZONE '{ZONE}'
                WHERE host_id = 1 AND title LIKE 'Busy week %%'""")
            conn.commit()
        return conn.execute("""SELECT count(*) FROM meetings WHERE account_id = 1
            AND deleted_at IS NULL AND start_at < %s AND end_at > %s
            AND (host_id = 1 OR id IN (SELECT meeting_id FROM attendees WHERE user_id = 1))""",
                            (monday + timedelta(days=7), monday)).fetchone()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.datagen")
    parser.add_argument("--db", required=True, help="postgresql://... (emptied first)")
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    args = parser.parse_args(argv)
    if not args.db.startswith(("postgresql://", "postgresql+psycopg://")):
        raise SystemExit("the generator needs PostgreSQL")
    print(f"migrating {args.db}")
    migrate(args.db)
    generate(args.db, args.scale)
    print(f"busy week events: {align_busy_week(args.db)}; subjects: {subjects(args.db)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
