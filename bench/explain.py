"""EXPLAIN (ANALYZE, BUFFERS) of the SQL the pages and the worker's sweep really run.

The statements are captured from real requests (the product app in this process, a
logged-in test client) and from one sweep pass (commits and enqueues disabled), then
explained with the same parameters. Sequential scans of the big tables are flagged.

    python -m bench.explain --db postgresql://postgres@127.0.0.1:5432/parley_bench_big
"""

from __future__ import annotations

import argparse
import os
import re

import sqlalchemy as sa

from bench import datagen
from bench.harness import BIG_DB, RESULTS, SECRET, Report
from bench.web import RECORD_PATH, SCHEDULER_PATH, week_path

BIG_TABLES = ("meetings", "attendees", "meeting_associations", "contacts", "reminders",
              "outbox_messages", "record_links", "companies", "deals")


def capture(app, fn) -> list[tuple[str, object]]:
    """Statements (with parameters) executed while fn runs."""
    from webapp.extensions import db
    seen: list[tuple[str, object]] = []

    def listener(conn, cursor, statement, params, context, executemany):
        seen.append((statement, params))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        fn()
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    return seen


def explain(app, statements) -> list[dict]:
    from webapp.extensions import db
    out = []
    with app.app_context(), db.engine.connect() as conn:
        for statement, params in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            sql = re.sub(r"\s+FOR UPDATE SKIP LOCKED\s*$", "", statement.strip())
            for _ in range(2):  # the second run is the one kept: warm cache, as in service
                rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).all()
            plan = "\n".join(r[0] for r in rows)
            seq = sorted({t for t in BIG_TABLES if re.search(rf"Seq Scan on {t}\b", plan)})
            ms = re.search(r"Execution Time: ([\d.]+) ms", plan)
            out.append({"sql": " ".join(statement.split()), "params": str(params)[:300],
                        "plan": plan, "seq_scans_on_big_tables": seq,
                        "execution_ms": float(ms.group(1)) if ms else None})
            conn.rollback()
    return out


def fk_deletes(app) -> dict:
    """What editing a meeting pays to delete one reminder and one attendee (both are
    referenced by the outbox, ON DELETE SET NULL), rolled back afterwards."""
    from webapp.extensions import db
    out = {}
    with app.app_context(), db.engine.connect() as conn:
        for table in ("reminders", "attendees"):
            row_id = conn.exec_driver_sql(f"SELECT max(id) FROM {table}").scalar()
            if row_id is None:
                continue
            rows = conn.exec_driver_sql(f"EXPLAIN (ANALYZE) DELETE FROM {table} WHERE id = %(i)s",
                                        {"i": row_id}).all()
            conn.rollback()
            plan = "\n".join(r[0] for r in rows)
            ms = re.search(r"Execution Time: ([\d.]+) ms", plan)
            out[table] = {"plan": plan, "execution_ms": float(ms.group(1)) if ms else None}
    return out


def run(db_url: str) -> dict:
    os.environ.setdefault("SECRET_KEY", SECRET)
    from webapp import create_app
    from webapp.delivery import sending
    from webapp.extensions import db
    from webapp.reminders import sweep as reminder_sweep

    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url.replace(
        "postgresql://", "postgresql+psycopg://"), "WTF_CSRF_ENABLED": False,
        "JOBS_MODE": "eager", "SESSION_COOKIE_SECURE": False})
    datagen.align_busy_week(db_url)
    client = app.test_client()
    assert client.post("/login", data={"email": datagen.BENCH_EMAIL,
                                       "password": datagen.BENCH_PASSWORD}).status_code == 302
    pages = {}
    week = week_path(client.get(SCHEDULER_PATH).get_data())
    for name, path in (("record", RECORD_PATH), ("record_page_25", older_page(client, 25)),
                       ("scheduler", SCHEDULER_PATH), ("scheduler_week", week)):
        client.get(path)  # warm the pool and caches
        stmts = capture(app, lambda p=path: client.get(p))
        pages[name] = explain(app, stmts)

    def one_sweep():
        with app.app_context():
            saved = db.session.commit
            db.session.commit = db.session.flush  # look, don't change anything
            try:
                reminder_sweep.queue_due_reminders()
                sending.relay()
            finally:
                db.session.commit = saved
                db.session.rollback()

    pages["worker_sweep"] = explain(app, capture(app, one_sweep))
    fk = fk_deletes(app)
    return {"db": db_url.rsplit("/", 1)[-1], "explains": pages, "fk_deletes": fk,
            "seq_scans": {k: sorted({t for e in v for t in e["seq_scans_on_big_tables"]})
                          for k, v in pages.items()},
            "total_sql_ms": {k: round(sum(e["execution_ms"] or 0 for e in v), 2)
                             for k, v in pages.items()}}


def older_page(client, page: int) -> str:
    """The record page opened on its timeline's page `page` ("Older activities" followed
    page after page: the pages are read by keyset, #24)."""
    html = client.get(RECORD_PATH).get_data(as_text=True)
    cursor = None
    for _ in range(page - 1):
        found = re.search(r"\?before=([\d-]+)#timeline", html)
        if found is None:
            break
        cursor = found.group(1)
        html = client.get(f"{RECORD_PATH}/timeline?before={cursor}").get_data(as_text=True)
    return f"{RECORD_PATH}?before={cursor}" if cursor else RECORD_PATH


def write_text(result: dict, path) -> None:
    """A readable file of every plan, for docs and review."""
    lines = [f"# EXPLAIN (ANALYZE, BUFFERS) on {result['db']}", ""]
    for page, entries in result["explains"].items():
        lines += [f"## {page}", ""]
        for e in entries:
            lines += [f"-- {e['sql'][:400]}", f"-- params: {e['params']}", e["plan"], ""]
    lines += ["## deleting one row referenced by the outbox (every meeting edit does)", ""]
    for table, e in result.get("fk_deletes", {}).items():
        lines += [f"-- DELETE FROM {table} WHERE id = ...", e["plan"], ""]
    path.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.explain")
    parser.add_argument("--db", default=BIG_DB)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    result = run(args.db)
    name = args.out or f"explain-{result['db']}"
    Report(name, result).save()
    write_text(result, RESULTS / f"{name}.txt")
    for table, e in result["fk_deletes"].items():
        print(f"delete one row of {table}: {e['execution_ms']} ms")
    for page, entries in result["explains"].items():
        print(f"{page}: {len(entries)} SELECTs, {result['total_sql_ms'][page]} ms in SQL, "
              f"seq scans on big tables: {result['seq_scans'][page] or 'none'}")
        for e in entries:
            print(f"   {e['execution_ms']:8.3f} ms  {e['sql'][:110]}")
    print(f"plans in {RESULTS / (name + '.txt')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
