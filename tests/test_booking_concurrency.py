"""No double booking (#22): 20 visitors submit one slot at the same moment; exactly one
meeting is made, the 19 others are told the time was just taken (409). Run on SQLite
(`env -u DATABASE_URL -u REDIS_URL`) and on PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.meeting_helpers import future_day, local
from tests.support import at_once
from webapp.api import operations as token_ops
from webapp.booking.models import Booking
from webapp.meetings.models import Meeting
from webapp.rotations import operations as rotation_ops
from webapp.rotations.models import RotationMember

API = "/api/v1/scheduling-pages"


def weekday(days: int = 10):
    day = future_day(days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def submit_at_once(app, slug: str, start, n: int = 20) -> list[int]:
    def one(i: int) -> int:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.20.{i}.1"
        r = client.post(f"{API}/{slug}/bookings", json={
            "start": start.isoformat(), "duration": 30, "timezone": "America/New_York",
            "name": f"Visitor {i}", "email": f"visitor{i}@example.org"})
        return r.status_code

    return at_once(n, one)


def new_page(app, db, body: dict, user) -> None:
    _row, token = token_ops.create_token(user, "tests")
    db.session.commit()
    r = app.test_client().post(API, json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.json


@pytest.mark.committing  # threads with sessions of their own
def test_twenty_submissions_of_one_slot_make_one_meeting(app, make, db):
    account = make.account(timezone="America/New_York")
    seat = make.seat(account, paid=True)
    ana = make.user(account, name="Ana", timezone="America/New_York", seat_kind_id=seat.id)
    new_page(app, db, {"title": "Intro", "slug": "race-one", "kind": "one_on_one",
                       "durations": [30]}, ana)
    start = local(weekday(), "10:00")
    codes = submit_at_once(app, "race-one", start)
    assert sorted(codes) == [201] + [409] * 19, codes
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 1


@pytest.mark.committing
def test_twenty_submissions_through_a_round_robin_of_two_make_two(app, make, db):
    """Two members free at the slot: two meetings (one each), 18 taken; the counts add up."""
    account = make.account(timezone="America/New_York")
    seat = make.seat(account, paid=True)
    owner = make.user(account, name="Owner", timezone="America/New_York", role="admin",
                      seat_kind_id=seat.id)
    members = [make.user(account, name=f"M{i}", timezone="America/New_York",
                         seat_kind_id=seat.id) for i in range(2)]
    rotation, errors = rotation_ops.create_rotation(account, "Sales", [u.id for u in members])
    assert not errors
    db.session.commit()
    new_page(app, db, {"title": "Sales call", "slug": "race-rr", "kind": "round_robin",
                       "rotation_id": rotation.id, "durations": [30]}, owner)
    start = local(weekday(), "11:00")
    codes = submit_at_once(app, "race-rr", start)
    assert sorted(codes) == [201] * 2 + [409] * 18, codes
    db.session.expire_all()
    hosts = sorted(db.session.scalars(sa.select(Meeting.host_id)))
    assert hosts == sorted(u.id for u in members)
    counts = sorted(db.session.scalars(sa.select(RotationMember.booked_count).where(
        RotationMember.rotation_id == rotation.id)))
    assert counts == [1, 1]


@pytest.mark.committing
def test_one_idempotency_key_sent_five_times_at_once_is_one_booking(app, make, db):
    account = make.account(timezone="America/New_York")
    seat = make.seat(account, paid=True)
    ana = make.user(account, name="Ana", timezone="America/New_York", seat_kind_id=seat.id)
    new_page(app, db, {"title": "Intro", "slug": "race-key", "kind": "one_on_one",
                       "durations": [30]}, ana)
    start = local(weekday(), "10:00")
    def one(i: int) -> tuple:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.30.{i}.1"
        r = client.post(f"{API}/race-key/bookings", headers={"Idempotency-Key": "k-1"},
                        json={"start": start.isoformat(), "duration": 30,
                              "timezone": "America/New_York", "name": "Vera",
                              "email": "vera@example.org"})
        return r.status_code, r.json.get("id")

    answers = at_once(5, one)
    assert len(answers) == 5 and {code for code, _id in answers} == {201}, answers
    assert len({booking_id for _code, booking_id in answers}) == 1
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 1
