"""A request that only read commits its transaction (psycopg then keeps its prepared
statements, #24); one that wrote and did not commit is still rolled back."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from webapp import readonly
from webapp.records.models import Company

pytestmark = pytest.mark.committing


def _end_request(db, exc=None):
    """What the end of a request does: this app's teardown, then Flask-SQLAlchemy's."""
    readonly._end_read_only(exc)
    ended = not db.session().in_transaction()
    db.session.remove()
    return ended


def _kept_company(db, make):
    """An account with one company, "Kept", committed: what each request below reads."""
    make.company(make.account(), name="Kept")
    db.session.commit()


def _names(db):
    return set(db.session.scalars(sa.select(Company.name)))


def test_a_request_that_only_read_ends_in_a_commit(db, make):
    _kept_company(db, make)
    assert _names(db) == {"Kept"}
    assert _end_request(db)  # committed: nothing left for the session's rollback


def test_what_a_request_wrote_without_committing_is_rolled_back(db, make):
    account = make.account()
    company = make.company(account, name="Kept")
    db.session.commit()
    account_id, company_id = account.id, company.id
    # Flushed, not committed (a route that failed after its operations flushed).
    db.session.add(Company(account_id=account_id, name="Flushed"))
    db.session.flush()
    assert not _end_request(db)
    assert _names(db) == {"Kept"}
    # Changed, not flushed: a commit would flush it.
    db.session.get(Company, company_id).name = "Renamed"
    assert not _end_request(db)
    assert _names(db) == {"Kept"}
    # A statement outside the ORM.
    db.session.execute(sa.update(Company).values(name="Updated"))
    assert not _end_request(db)
    assert _names(db) == {"Kept"}
    # An unhandled error: rolled back even after reads only.
    assert _names(db) == {"Kept"}
    assert not _end_request(db, RuntimeError("boom"))


def test_psycopg_keeps_its_prepared_statements_across_requests(db, make):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: pg_prepared_statements and psycopg's prepare cache do not exist on SQLite; CI runs it on PostgreSQL")
    _kept_company(db, make)
    db.session.remove()
    # One connection in the pool, as a sync worker serving one request at a time has: the
    # pool hands its idle connections out in turn, so after earlier tests the 8 requests
    # below would be spread over several, and pg_prepared_statements is per connection.
    db.engine.dispose()
    for _ in range(8):  # psycopg prepares a statement at its 5th execution
        assert _names(db) == {"Kept"}
        assert _end_request(db)
    prepared = db.session.execute(sa.text(
        "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%companies.name%'"))
    assert prepared.scalar() >= 1


def test_a_request_that_read_through_a_with_still_commits(db, make):
    """The week grid reads its meetings with a common table expression (#21): the request
    only read, so it ends in a commit and keeps its prepared statements."""
    _kept_company(db, make)
    cte = sa.select(Company.id, Company.name).cte("named")
    assert set(db.session.scalars(sa.select(cte.c.name))) == {"Kept"}
    assert _end_request(db)


def test_a_with_that_writes_is_rolled_back(db, make):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no DELETE in a WITH; CI runs it on PostgreSQL")
    _kept_company(db, make)
    deleted = sa.delete(Company).returning(Company.id).cte("gone")
    db.session.execute(sa.select(sa.func.count()).select_from(deleted)).scalar()
    assert not _end_request(db)
    assert _names(db) == {"Kept"}


@pytest.mark.parametrize(("statement", "reads"), [
    ("SELECT 1", True),
    ("  select id from companies", True),
    ("WITH x AS MATERIALIZED (SELECT id FROM attendees) SELECT * FROM x", True),
    ("WITH x AS (SELECT deleted_at, updated_at FROM meetings) SELECT * FROM x", True),
    ("WITH x AS (DELETE FROM companies RETURNING id) SELECT count(*) FROM x", False),
    ("with x as (select 1) update companies set name = 'a'", False),
    ("with x as (select 1) insert into companies select * from x", False),
    ("UPDATE companies SET name = 'a'", False),
    ("INSERT INTO companies (name) VALUES ('a')", False),
])
def test_which_statements_read_only(statement, reads):
    assert readonly.reads_only(statement) is reads
