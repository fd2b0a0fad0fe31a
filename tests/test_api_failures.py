"""The API after a failure: a committed create is never a 500, a retry with the same
Idempotency-Key never makes a second meeting, and the error page needs no database."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from tests.test_api import api, start_end  # noqa: F401  (fixture)
from webapp.api import operations as token_ops
from webapp.delivery.models import OutboxMessage
from webapp.extensions import db as _db
from webapp.meetings.models import Meeting

# Requests here commit on connections of their own (throttles, sessions, threads): the
# rows must really be there, so these tests commit and the tables are emptied after.
pytestmark = pytest.mark.committing


def body(api, title="Retry me"):  # noqa: F811
    start, end = start_end()
    contact = api["contact"]
    return {"title": title, "start": start, "end": end, "timezone": "America/New_York",
            "attendees": [{"contact_id": contact.id}]}


@pytest.fixture()
def caller(api, make):  # noqa: F811
    api["contact"] = make.contact(api["account"], email="guest@example.org")
    return api


def post(client, caller, json, key=None):
    headers = dict(caller["headers"])
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post("/api/v1/meetings", headers=headers, json=json)


def counts(db):
    return (db.session.scalar(sa.select(sa.func.count(Meeting.id))),
            db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))))


def test_a_retry_with_the_same_key_returns_the_same_meeting(client, caller, db):
    first = post(client, caller, body(caller), key="order-42")
    assert first.status_code == 201
    again = post(client, caller, body(caller), key="order-42")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json["id"] == first.json["id"]
    assert counts(db) == (1, 1)  # one meeting, one invitation
    other = post(client, caller, body(caller, "Another"), key="order-42")
    assert other.status_code == 422 and counts(db) == (1, 1)
    assert post(client, caller, body(caller), key="order-43").status_code == 201
    assert post(client, caller, body(caller)).status_code == 201  # no key: no dedup
    assert counts(db)[0] == 3
    assert post(client, caller, body(caller), key="k" * 201).status_code == 400


def test_keys_are_per_account(client, caller, make, db):
    other_account = make.account()
    user = make.user(other_account, seat_kind_id=make.seat(other_account).id)
    _row, token = token_ops.create_token(user, "t")
    contact = make.contact(other_account)
    db.session.commit()
    mine = post(client, caller, body(caller), key="shared")
    theirs = post(client, {"headers": {"Authorization": f"Bearer {token}"}},
                  {**body(caller), "attendees": [{"contact_id": contact.id}]},
                  key="shared")
    assert mine.status_code == theirs.status_code == 201
    assert mine.json["id"] != theirs.json["id"]


def test_parallel_retries_with_one_key_make_one_meeting(app, caller, db):
    statuses, ids = [], []
    lock = threading.Lock()
    start = threading.Barrier(8)
    payload = body(caller)

    def one():
        client = app.test_client()
        start.wait()
        r = post(client, caller, payload, key="parallel")
        with lock:
            statuses.append(r.status_code)
            ids.append((r.json or {}).get("id"))

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert statuses == [201] * 8, statuses
    assert len(set(ids)) == 1
    assert counts(db)[0] == 1


def test_a_create_that_committed_never_answers_500(app, client, caller, db, monkeypatch):
    """The database goes away right after the commit, and the relay fails: the meeting
    is saved, so the client gets its 201 (the sweep sends the invitation later)."""
    from webapp import jobs
    from webapp.api import meetings as routes
    broken = {"on": False}
    real_commit = _db.session.commit

    def commit_then_break():
        real_commit()
        broken["on"] = True

    def refuse(*_args, **_kwargs):
        if broken["on"]:
            raise OperationalError("SELECT", {}, Exception("server closed the connection"))

    def relay_fails():
        raise RuntimeError("queue away")

    monkeypatch.setattr(routes.db.session, "commit", commit_then_break)
    monkeypatch.setattr(jobs, "request_relay", relay_fails)
    sa.event.listen(_db.engine, "before_cursor_execute", refuse)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        r = post(client, caller, body(caller))
    finally:
        sa.event.remove(_db.engine, "before_cursor_execute", refuse)
        app.config["PROPAGATE_EXCEPTIONS"] = None
        monkeypatch.undo()
    assert r.status_code == 201, r.get_data(as_text=True)
    assert db.session.scalar(sa.select(Meeting.id)) == r.json["id"]
    assert jobs  # the sweep relays: nothing was lost


def test_the_error_page_works_without_the_database(app, client, make, login, db):
    login(make.user(make.account()))

    def refuse(*_args, **_kwargs):
        raise OperationalError("SELECT", {}, Exception("could not connect to server"))

    from flask import g
    g.pop("_login_user", None)
    sa.event.listen(_db.engine, "before_cursor_execute", refuse)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        r = client.get("/contacts")
    finally:
        sa.event.remove(_db.engine, "before_cursor_execute", refuse)
        app.config["PROPAGATE_EXCEPTIONS"] = None
    page = r.get_data(as_text=True)
    assert r.status_code == 500
    assert "Something went wrong" in page and "Reload the page" in page
