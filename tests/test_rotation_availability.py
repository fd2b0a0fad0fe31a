"""Rotations that only pick a free host (#21): availability, weights, head starts, the
ledger, and concurrency when members are busy."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.meeting_helpers import future_day, local
from tests.support import at_once
from tests.test_rotations import PAID, T0, book, counts, member, team  # noqa: F401
from webapp.auth.models import Account, User
from webapp.availability import settings as availability
from webapp.availability.models import AvailabilityProfile
from webapp.meetings import inputs, saving, validation
from webapp.meetings.models import Meeting
from webapp.rotations import operations as ops
from webapp.rotations.models import Rotation, RotationMember, RotationPick


def own_meeting(db, user, day, start: str, end: str) -> None:
    """A meeting the user hosts outside the rotation (committed)."""
    db.session.add(Meeting(account_id=user.account_id, title=f"{user.name}'s own",
                           host_id=user.id, organizer_id=user.id, start_at=local(day, start),
                           end_at=local(day, end), timezone="America/New_York", sequence=0,
                           outcome="scheduled"))
    db.session.commit()


def last_host(db) -> int:
    return db.session.scalar(sa.select(Meeting.host_id).order_by(Meeting.id.desc()).limit(1))


# --- the pick rule, on plain objects ---------------------------------------------------------

def test_weights_give_two_to_one_over_300_picks():
    a, b = member(1, 0), member(2, 0)
    a.weight, b.weight, a.head_start, b.head_start = 2, 1, 0, 0
    got = Counter()
    for n in range(300):
        chosen = ops.pick([a, b])
        chosen.booked_count += 1
        chosen.last_booked_at = T0 + timedelta(minutes=n)
        got[chosen.id] += 1
    assert got == {1: 200, 2: 100}


def test_pick_skips_members_who_are_not_free():
    members = [member(1, 0), member(2, 5, T0), member(3, 9, T0)]
    assert ops.pick(members, {1: ["busy"]}).id == 2
    assert ops.pick(members, {1: ["busy"], 2: ["outside_hours"], 3: ["day_cap"]}) is None


# --- through the scheduler ---------------------------------------------------------------------

def test_a_member_busy_at_the_slot_is_skipped(client, team, db, make):  # noqa: F811
    day = future_day()
    # Ana (fewest bookings, joined first) hosts another meeting at 10:15 that day.
    own_meeting(db, team.ana, day, "10:15", "10:45")
    r = book(client, team)  # 10:00-10:30
    assert r.status_code == 302, r.get_data(as_text=True)[-400:]
    assert last_host(db) == team.ben.id
    pick = db.session.scalar(sa.select(RotationPick).order_by(RotationPick.id.desc()))
    why = {row["name"]: row["skipped"] for row in pick.detail["members"]}
    assert why == {"Ana Able": ["busy"], "Ben Baker": None}
    assert pick.kind == "pick" and pick.meeting_id is not None
    # At 11:00 Ana is free again and has fewer bookings.
    r = book(client, team, start_time="11:00", end_time="11:30")
    assert r.status_code == 302 and last_host(db) == team.ana.id


def test_working_hours_buffers_and_cap_skip_members(client, team, db):  # noqa: F811
    # Ana works 13:00-17:00 only; Ben keeps 30 minutes after meetings and books 1 a day.
    availability.save_profile(team.ana, {"use_hours": "1", **{f"day_{d}": "13:00-17:00"
                                                              for d in range(7)}})
    availability.save_profile(team.ben, {"buffer_after": "30", "max_per_day": "1"})
    db.session.commit()
    assert book(client, team).status_code == 302  # 10:00: Ana is outside her hours
    assert last_host(db) == team.ben.id
    r = book(client, team, start_time="10:30", end_time="11:00")  # Ben: buffer; Ana: hours
    assert r.status_code == 422
    assert "No one in this meeting rotation is free" in r.get_data(as_text=True)
    assert book(client, team, start_time="14:00", end_time="14:30").status_code == 302
    assert last_host(db) == team.ana.id
    r = book(client, team, start_time="15:00", end_time="15:30")
    assert r.status_code == 302 and last_host(db) == team.ana.id  # Ben's cap is reached
    pick = db.session.scalar(sa.select(RotationPick).order_by(RotationPick.id.desc()))
    assert {row["name"]: row["skipped"] for row in pick.detail["members"]} == {
        "Ana Able": None, "Ben Baker": ["day_cap"]}


def test_a_new_member_starts_at_the_minimum_share(client, team, db):  # noqa: F811
    for hour in range(4):
        assert book(client, team, start_time=f"{10 + hour}:00",
                    end_time=f"{10 + hour}:30").status_code == 302
    assert counts(db, team.rotation) == {"Ana": 2, "Ben": 2}
    url = f"/settings/rotations/{team.rotation.id}"
    assert client.post(f"{url}/members", data={"user_id": str(team.carl.id)}).status_code == 302
    db.session.expire_all()
    carl = db.session.scalar(sa.select(RotationMember).where(
        RotationMember.user_id == team.carl.id))
    assert (carl.booked_count, carl.head_start) == (0, 2)
    hosts = []
    for hour in range(3):
        assert book(client, team, start_time=f"{15 + hour}:00",
                    end_time=f"{15 + hour}:30").status_code == 302
        hosts.append(last_host(db))
    # Not three in a row for the newcomer: one turn each.
    assert sorted(hosts) == sorted([team.ana.id, team.ben.id, team.carl.id])


def test_weights_are_set_by_admins_and_the_ledger_explains_each_pick(client, team, db):  # noqa: F811
    url = f"/settings/rotations/{team.rotation.id}"
    ana = team.rotation.members[0]
    assert client.post(f"{url}/members/{ana.id}/weight", data={"weight": "2"}).status_code == 302
    assert client.post(f"{url}/members/{ana.id}/weight", data={"weight": "0"}).status_code == 422
    hosts = []
    for hour in range(6):
        assert book(client, team, start_time=f"{9 + hour:02d}:00",
                    end_time=f"{9 + hour:02d}:30").status_code == 302
        hosts.append(last_host(db))
    assert Counter(hosts) == {team.ana.id: 4, team.ben.id: 2}
    rows = db.session.scalars(sa.select(RotationPick).order_by(RotationPick.id)).all()
    assert len(rows) == 6 and all(r.meeting_id for r in rows)
    assert rows[0].detail["members"][0]["weight"] == 2
    # An override is in the ledger too.
    r = book(client, team, start_time="16:00", end_time="16:30",
             host_id=str(team.ben.id), suggested_host_id=str(team.ana.id))
    assert r.status_code == 302
    last = db.session.scalar(sa.select(RotationPick).order_by(RotationPick.id.desc()))
    assert last.kind == "override" and last.user_id == team.ben.id
    page = client.get(url).get_data(as_text=True)
    assert "Why this host" in page and "chosen by the organizer" in page
    assert "picked by the rule" in page and "weight 2" in page


# --- under concurrency --------------------------------------------------------------------------

@pytest.mark.committing  # threads with sessions of their own
def test_concurrent_bookings_at_one_time_give_each_member_one_and_refuse_the_rest(app, make, db):
    """20 bookings of the same half hour at once through a rotation of 5: each member hosts
    exactly one (they are busy after it), the other 15 are refused, nobody is double-booked."""
    account = make.account()
    seat = make.seat(account, paid=True)
    organizer = make.user(account, seat_kind_id=seat.id)
    members = [make.user(account, seat_kind_id=seat.id, name=f"Member {i}") for i in range(5)]
    rotation, _ = ops.create_rotation(account, "Busy round robin", [u.id for u in members])
    db.session.commit()
    ids = (account.id, organizer.id, rotation.id)
    start = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(days=4)

    def book_one(n: int) -> str:
        with app.app_context():
            from webapp.extensions import db as session_db
            try:
                acc = session_db.session.get(Account, ids[0])
                actor = session_db.session.get(User, ids[1])
                data = inputs.MeetingInput(title=f"Call {n}", start=start,
                                           end=start + timedelta(minutes=30), timezone="UTC",
                                           rotation_id=ids[2])
                if validation.validate(acc, actor, data):
                    return "refused early"
                saving.schedule_meeting(acc, actor, data)
                session_db.session.commit()
                return "booked"
            except ops.RotationError as exc:
                session_db.session.rollback()
                return "refused at the lock" if "free" in exc.message else exc.message
            except BaseException:
                session_db.session.rollback()
                raise
            finally:
                session_db.session.remove()

    outcomes = at_once(20, book_one, timeout=120)
    assert outcomes.count("booked") == 5
    assert len(outcomes) == 20 and set(outcomes) <= {"booked", "refused early",
                                                     "refused at the lock"}
    db.session.expire_all()
    hosted = dict(db.session.execute(sa.select(Meeting.host_id, sa.func.count(Meeting.id))
                                     .where(Meeting.rotation_id == rotation.id)
                                     .group_by(Meeting.host_id)).all())
    assert hosted == {u.id: 1 for u in members}
    assert db.session.get(Rotation, rotation.id).booked_count == 5
    assert db.session.scalar(sa.select(sa.func.count(RotationPick.id)).where(
        RotationPick.rotation_id == rotation.id)) == 5


def test_new_users_start_with_the_account_default_hours(make, db):
    account = make.account()
    user = make.user(account)
    profile = availability.start_new_user(user)
    assert profile.hours.weekly[0] == ((540, 1020),) and 5 not in profile.hours.weekly
    assert availability.save_account_default(account.id, {"day_5": "10:00-14:00"}) == {}
    other = availability.start_new_user(make.user(account))
    assert other.hours.weekly == {5: ((600, 840),)}
    assert db.session.get(AvailabilityProfile, user.id).hours.weekly[0] == ((540, 1020),)


def test_the_suggestion_is_a_member_free_at_the_chosen_time(client, team, db):  # noqa: F811
    day = future_day()
    own_meeting(db, team.ana, day, "10:00", "11:00")
    base = f"/meetings/rotation-host?rotation_id={team.rotation.id}"
    slot = f"&start_date={day.isoformat()}&timezone=America/New_York"
    html = client.get(f"{base}{slot}&start_time=10:00&end_time=10:30").get_data(as_text=True)
    assert f'name="suggested_host_id" value="{team.ben.id}"' in html
    html = client.get(f"{base}{slot}&start_time=11:00&end_time=11:30").get_data(as_text=True)
    assert f'name="suggested_host_id" value="{team.ana.id}"' in html
    html = client.get(base).get_data(as_text=True)  # no time: by counts only
    assert f'name="suggested_host_id" value="{team.ana.id}"' in html
    availability.save_profile(team.ben, {"use_hours": "1", "day_0": "13:00-14:00"})
    db.session.commit()
    r = client.get(f"{base}{slot}&start_time=10:00&end_time=10:30")
    assert r.status_code == 422 and "free at this time" in r.get_data(as_text=True)
