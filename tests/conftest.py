"""Fixtures of the unit and integration tests: client, login, count_queries, snapshot.

app, db, make, clock and smtp come from conftest.py at the repository root (shared with
the browser tests); helpers that are not fixtures from tests/support.py.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

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
def rep(make, login, db):
    """Rita, a logged-in rep with a paid seat in an account in New York: (account, user).
    Test modules that need another rep define their own `rep`."""
    account = make.account(timezone="America/New_York")
    seat = make.seat(account, paid=True)
    user = login(make.user(account, name="Rita Rep", email="rita@acme.example",
                           timezone="America/New_York", seat_kind_id=seat.id))
    return account, user


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


SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"


@pytest.fixture()
def snapshot(request):
    """snapshot(name, text): text must equal the reviewed file tests/snapshots/<name>.

    `pytest --snapshot-update` (or SNAPSHOT_UPDATE=1) writes the files instead; review
    their diff before committing."""
    update = request.config.getoption("--snapshot-update") or \
        os.environ.get("SNAPSHOT_UPDATE") == "1"

    def check(name: str, text: str) -> None:
        path = SNAPSHOTS / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="")
            return
        if not path.exists():
            pytest.fail(f"no snapshot {path.relative_to(SNAPSHOTS.parent.parent)}: run "
                        "pytest --snapshot-update, then review and commit it")
        with open(path, encoding="utf-8", newline="") as f:
            expected = f.read()
        if text != expected:
            diff = "".join(difflib.unified_diff(
                expected.splitlines(keepends=True), text.splitlines(keepends=True),
                f"{name} (reviewed)", f"{name} (this run)"))
            pytest.fail(f"{name} differs from its snapshot (pytest --snapshot-update "
                        f"rewrites it):\n{diff}", pytrace=False)

    return check
