"""Fixtures of the unit and integration tests: client, login, count_queries.

app, db, make, clock and smtp come from conftest.py at the repository root (shared with
the browser tests); helpers that are not fixtures from tests/support.py.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from webapp.auth.models import User
from webapp.extensions import db as _db


@pytest.fixture()
def client(app, db):
    return app.test_client()


@pytest.fixture()
def login(client):
    """login(user) logs the test client in as user."""

    def do(user: User, password: str = "pw"):
        response = client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return do


@pytest.fixture()
def count_queries(app):
    """with count_queries() as counter: ...; counter.count is the number of SQL statements."""

    class Counter:
        def __init__(self):
            self.count = 0
            self.statements: list[str] = []

        def __call__(self, conn, cursor, statement, *args):
            if not re.match(r"\s*(SAVEPOINT|RELEASE|ROLLBACK)", statement):
                self.count += 1
                self.statements.append(statement)

        def __enter__(self):
            # The engine, or the test's connection (conftest.py's db fixture).
            self.target = _db.engine
            sa.event.listen(self.target, "before_cursor_execute", self)
            return self

        def __exit__(self, *exc):
            sa.event.remove(self.target, "before_cursor_execute", self)

    return Counter
