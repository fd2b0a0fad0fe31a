"""Statements over several users' meetings keep their plan when PostgreSQL plans them once
for any values (#21): psycopg prepares a statement at its 5th execution, and after five
more PostgreSQL may use a generic plan. Without their values it guessed the users'
attendee rows many and the range narrow, and read the account's meetings of the range
first (20 ms a view of the overlay on the benchmark's million meetings); these statements
start from the users' attendee rows whatever the plan."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy.dialects import postgresql

from webapp.availability import changes
from webapp.meetings import queries
from webapp.types import utcnow


def _generic_plan(db, statement, params: dict) -> str:
    """EXPLAIN of statement as PostgreSQL runs it once prepared for any values."""
    compiled = statement.compile(dialect=postgresql.psycopg.dialect())
    sql = str(compiled)
    names: list[str] = []

    def number(match):
        names.append(match.group(1))
        return f"${len(names)}"
    expanded = {}
    for key, value in params.items():
        if isinstance(value, list) and f"__[POSTCOMPILE_{key}]" in sql:
            expanded.update({f"{key}_{i + 1}": v for i, v in enumerate(value)})
            sql = sql.replace(f"(__[POSTCOMPILE_{key}])",
                              "(" + ", ".join(f"%({key}_{i + 1})s" for i in range(len(value)))
                              + ")")
        else:
            expanded[key] = value
    sql = re.sub(r"%\((\w+)\)s", number, sql)
    conn = db.session.connection()
    conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    conn.exec_driver_sql(f"PREPARE parley_generic AS {sql}")
    try:
        literals = ", ".join(
            str(expanded[n]) if isinstance(expanded[n], int)
            else "'{" + ",".join(map(str, expanded[n])) + "}'" if isinstance(expanded[n], list)
            else f"'{expanded[n].isoformat()}'" for n in names)
        rows = conn.exec_driver_sql(f"EXPLAIN EXECUTE parley_generic({literals})").all()
    finally:
        conn.exec_driver_sql("DEALLOCATE parley_generic")
    return "\n".join(r[0] for r in rows)


@pytest.mark.parametrize("which", ["stamp", "users_meetings", "users_meetings_array"])
def test_several_users_meetings_start_from_their_attendee_rows(db, make, which):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite prepares nothing; CI runs it on PostgreSQL")
    account = make.account()
    users = [make.user(account) for _ in range(3)]
    db.session.flush()
    now = utcnow()
    if which == "stamp":
        statement = changes._statement()
        params = {"account": account.id, "hosts": [u.id for u in users],
                  "since": now - timedelta(days=9), "until": now + timedelta(days=7)}
    else:
        # On PostgreSQL the user ids are one array parameter (what fetch_binary runs); the
        # IN list is SQLite's.
        statement = queries._users_meetings_statement(
            any_of_array=which == "users_meetings_array")
        params = {"account_id": account.id, "user_ids": [u.id for u in users],
                  "since": now - timedelta(days=9), "start": now, "end": now + timedelta(days=7)}
    plan = _generic_plan(db, statement, params)
    # The users' attendee rows are read by themselves, then their meetings by id.
    assert "CTE Scan" in plan, plan
    cte = plan.split("CTE ", 1)[1]
    assert re.search(r"on attendees\b", cte) and "user_id" in cte, plan
