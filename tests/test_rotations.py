"""Meeting rotations (B2, B3), hosts for other users (B1, B4-B9) and the sandbox rule (A1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from tests.meeting_helpers import form, future_day, local_iso, schedule
from tests.support import at_once
from webapp.auth.models import Account, SeatKind, User
from webapp.delivery.models import OutboxMessage
from webapp.meetings import inputs, saving, validation
from webapp.meetings.models import Meeting
from webapp.rotations import operations as ops
from webapp.rotations.models import Rotation, RotationMember

# --- the pick rule, on plain objects ------------------------------------------------------

PAID = SeatKind(name="Pro", is_paid=True)
FREE = SeatKind(name="Core", is_paid=False)
T0 = datetime(2027, 1, 1, 9, tzinfo=UTC)


def member(ident: int, count: int, last: datetime | None = None, available: bool = True,
           seat: SeatKind = PAID) -> RotationMember:
    user = User(id=100 + ident, name=f"U{ident}", account_id=1, seat_kind=seat)
    return RotationMember(id=ident, user_id=user.id, user=user, booked_count=count,
                          last_booked_at=last, available=available)


def test_pick_takes_the_member_with_the_fewest_meetings():
    members = [member(1, 3, T0), member(2, 1, T0), member(3, 2, T0)]
    assert ops.pick(members).id == 2


def test_pick_tie_goes_to_the_member_booked_least_recently():
    members = [member(1, 2, T0 + timedelta(hours=2)), member(2, 2, T0),
               member(3, 2, T0 + timedelta(hours=1))]
    assert ops.pick(members).id == 2
    # Never booked is the least recent of all.
    assert ops.pick([*members, member(4, 2, None)]).id == 4
    # A full tie goes to the member who joined first, so the pick is stable.
    assert ops.pick([member(5, 0), member(6, 0)]).id == 5


def test_pick_skips_unavailable_members_and_members_without_a_paid_seat():
    members = [member(1, 0, available=False), member(2, 0, seat=FREE), member(3, 5, T0)]
    assert ops.pick(members).id == 3
    assert ops.pick([member(1, 0, available=False), member(2, 0, seat=FREE)]) is None
    assert ops.pick([]) is None


def test_override_is_kept_only_for_an_available_member():
    members = [member(1, 0), member(2, 9, T0), member(3, 0, available=False)]
    assert ops._override_error(members, 1, 102) is None  # more meetings, still allowed
    assert "unavailable" in str(ops._override_error(members, 1, 103))
    assert "member of this meeting rotation" in str(ops._override_error(members, 1, 999))
    assert "paid seat" in str(ops._override_error([member(4, 0, seat=FREE)], 1, 104))


# --- fixtures -----------------------------------------------------------------------------

@pytest.fixture()
def team(make, login, db):
    """An account with a seated admin organizer, two seated members in a rotation, a seated
    non-member, a user without a paid seat and a contact; the organizer is logged in."""
    account = make.account(timezone="America/New_York")
    paid, free = make.seat(account, paid=True), make.seat(account, paid=False)
    organizer = make.user(account, name="Olivia Organizer", email="olivia@acme.example",
                          seat_kind_id=paid.id, role="admin", timezone="America/New_York")
    ana = make.user(account, name="Ana Able", email="ana@acme.example", seat_kind_id=paid.id)
    ben = make.user(account, name="Ben Baker", email="ben@acme.example", seat_kind_id=paid.id)
    carl = make.user(account, name="Carl Outside", seat_kind_id=paid.id)
    frank = make.user(account, name="Frank Free", seat_kind_id=free.id)
    rotation, errors = ops.create_rotation(account, "Inbound sales", [ana.id, ben.id])
    assert not errors
    contact = make.contact(account, first_name="Cora", last_name="Client",
                           email="cora@example.org")
    db.session.commit()
    login(organizer)
    return SimpleNamespace(account=account, organizer=organizer, ana=ana, ben=ben, carl=carl,
                           frank=frank, rotation=rotation, contact=contact, paid=paid)


def switch(client, login, user):
    """Log the test client in as another user."""
    client.post("/logout")
    return login(user)


def counts(db, rotation) -> dict[str, int]:
    db.session.expire_all()
    rows = db.session.scalars(sa.select(RotationMember).where(
        RotationMember.rotation_id == rotation.id).order_by(RotationMember.id))
    return {m.user.name.split()[0]: m.booked_count for m in rows}


def meetings_count(db) -> int:
    return db.session.scalar(sa.select(sa.func.count(Meeting.id)))


def book(client, team, **overrides):
    """Post the scheduler as the browser does after choosing the rotation."""
    return schedule(client, team.contact, rotation_id=str(team.rotation.id),
                    attendees=[f"contact:{team.contact.id}"], **overrides)


def suggestion(client, rotation_id) -> int:
    html = client.get(f"/meetings/rotation-host?rotation_id={rotation_id}").get_data(
        as_text=True)
    import re
    return int(re.search(r'name="suggested_host_id" value="(\d+)"', html).group(1))


# --- the scheduler ------------------------------------------------------------------------

def test_scheduler_offers_rotations_only_to_paid_seats(client, team, make, login):
    html = client.get(f"/meetings/new?record_type=contact&record_id={team.contact.id}").get_data(
        as_text=True)
    assert 'id="rotation_id"' in html and "Inbound sales" in html
    # B1: the host dropdown lists seated users of the account, not the free seat.
    assert 'id="host_id"' in html and "Carl Outside" in html and "Frank Free" not in html
    switch(client, login, team.frank)
    html = client.get("/meetings/new").get_data(as_text=True)
    assert 'id="rotation_id"' not in html and 'id="host_id"' not in html
    # An account without rotations shows no rotation select, even to a paid seat.
    other = make.account()
    switch(client, login, make.user(other, seat_kind_id=make.seat(other, paid=True).id))
    assert 'id="rotation_id"' not in client.get("/meetings/new").get_data(as_text=True)


def test_choosing_a_rotation_fills_the_host_and_reloads_the_calendar(client, team, db):
    r = client.get(f"/meetings/rotation-host?rotation_id={team.rotation.id}",
                   headers={"HX-Request": "true", "HX-Target": "host-field"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and html.lstrip().startswith('<div id="host-field">')
    assert f'<option value="{team.ana.id}" selected>Ana Able</option>' in html
    assert f'<option value="{team.ben.id}" >Ben Baker</option>' in html
    assert "Carl Outside" not in html and "Olivia Organizer" not in html  # members only
    assert f'name="suggested_host_id" value="{team.ana.id}"' in html
    assert 'hx-trigger="load, change"' in html  # the week calendar follows the new host
    assert "Ana Able, fewest meetings booked through it" in html
    # Ana booked once: Ben is suggested next.
    assert book(client, team).status_code == 302
    assert suggestion(client, team.rotation.id) == team.ben.id
    # Back to "no rotation": every allowed host again, yourself selected.
    html = client.get("/meetings/rotation-host?rotation_id=").get_data(as_text=True)
    assert "Carl Outside" in html and f'<option value="{team.organizer.id}" selected>' in html
    assert "suggested_host_id" not in html


def test_suggestion_refuses_bad_rotations(client, team, make, login, db):
    ops.set_available(team.rotation.members[0], False)
    ops.set_available(team.rotation.members[1], False)
    db.session.commit()
    r = client.get(f"/meetings/rotation-host?rotation_id={team.rotation.id}")
    assert r.status_code == 422 and "No one in this meeting rotation is available" in r.get_data(
        as_text=True)
    ops.delete_rotation(team.rotation)
    db.session.commit()
    r = client.get(f"/meetings/rotation-host?rotation_id={team.rotation.id}")
    assert r.status_code == 422 and "was deleted" in r.get_data(as_text=True)
    assert client.get("/meetings/rotation-host?rotation_id=999999").status_code == 404
    other = make.account()
    foreign, _ = ops.create_rotation(other, "Theirs", [])
    db.session.commit()
    assert client.get(f"/meetings/rotation-host?rotation_id={foreign.id}").status_code == 404
    switch(client, login, team.frank)
    fresh, _ = ops.create_rotation(team.account, "Fresh", [team.ana.id])
    db.session.commit()
    assert client.get(f"/meetings/rotation-host?rotation_id={fresh.id}").status_code == 403


# --- booking, counting, deleting ------------------------------------------------------------

def test_bookings_alternate_and_count(client, team, db):
    hosts = []
    for hour in range(4):  # one after another: a member's own meeting makes them busy (#21)
        r = book(client, team, start_time=f"{10 + hour}:00", end_time=f"{10 + hour}:30")
        assert r.status_code == 302, r.get_data(as_text=True)
        hosts.append(db.session.scalar(sa.select(Meeting.host_id).order_by(
            Meeting.id.desc()).limit(1)))
    assert hosts == [team.ana.id, team.ben.id, team.ana.id, team.ben.id]
    assert counts(db, team.rotation) == {"Ana": 2, "Ben": 2}
    rotation = db.session.get(Rotation, team.rotation.id)
    assert rotation.booked_count == 4
    for m in rotation.members:
        assert m.last_booked_at is not None
    meeting = db.session.scalar(sa.select(Meeting).order_by(Meeting.id.desc()).limit(1))
    assert meeting.rotation_id == rotation.id and meeting.organizer_id == team.organizer.id
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Booked through Inbound sales with Ben Baker as host." in page
    assert "<dt>Meeting rotation</dt><dd>Inbound sales</dd>" in page


def test_a_kept_suggestion_is_picked_again_at_save(client, team, db, app):
    suggested = suggestion(client, team.rotation.id)
    assert suggested == team.ana.id
    # Meanwhile a colleague books Ana through the rotation.
    data = inputs.MeetingInput(title="Faster", start=datetime.now(UTC) + timedelta(days=3),
                                    end=datetime.now(UTC) + timedelta(days=3, hours=1),
                                    timezone="UTC", rotation_id=team.rotation.id)
    assert not validation.validate(team.account, team.organizer, data)
    saving.schedule_meeting(team.account, team.organizer, data)
    db.session.commit()
    r = book(client, team, host_id=str(suggested), suggested_host_id=str(suggested))
    assert r.status_code == 302
    latest = db.session.scalar(sa.select(Meeting).order_by(Meeting.id.desc()).limit(1))
    assert latest.host_id == team.ben.id  # picked again on the counts at save time
    assert counts(db, team.rotation) == {"Ana": 1, "Ben": 1}


def test_the_user_may_override_the_pick_with_another_member(client, team, db):
    r = book(client, team, host_id=str(team.ben.id), suggested_host_id=str(team.ana.id))
    assert r.status_code == 302
    assert db.session.scalar(sa.select(Meeting.host_id)) == team.ben.id
    assert counts(db, team.rotation) == {"Ana": 0, "Ben": 1}
    # Ben again, by choice, although he has more meetings now.
    r = book(client, team, host_id=str(team.ben.id), suggested_host_id=str(team.ana.id))
    assert r.status_code == 302 and counts(db, team.rotation) == {"Ana": 0, "Ben": 2}


@pytest.mark.parametrize(("who", "message"), [
    ("carl", "Choose a host who is a member of this meeting rotation."),
    ("ben_away", "Ben Baker is marked unavailable in this meeting rotation."),
    ("ben_unseated", "Ben Baker has no paid seat, so they cannot host."),
])
def test_a_bad_override_is_refused(client, team, db, smtp, make, who, message):
    host = team.carl if who == "carl" else team.ben
    if who == "ben_away":
        ops.set_available(team.rotation.members[1], False)
    if who == "ben_unseated":
        team.ben.seat_kind_id = make.seat(team.account, paid=False).id
    db.session.commit()
    r = book(client, team, host_id=str(host.id), suggested_host_id=str(team.ana.id))
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="host_id-error"' in html and message in html
    assert meetings_count(db) == 0 and smtp.messages == []
    assert counts(db, team.rotation) == {"Ana": 0, "Ben": 0}


def test_no_available_member_and_deleted_rotation_are_refused(client, team, db, smtp):
    for m in team.rotation.members:
        ops.set_available(m, False)
    db.session.commit()
    r = book(client, team)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="rotation_id-error"' in html
    assert "No one in this meeting rotation is available" in html
    ops.delete_rotation(db.session.get(Rotation, team.rotation.id))
    db.session.commit()
    r = book(client, team)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "This meeting rotation was deleted." in html
    assert "Nothing was saved or sent" in html
    r = schedule(client, team.contact, rotation_id="soon")
    assert r.status_code == 422 and "Choose a meeting rotation from the list." in r.get_data(
        as_text=True)
    assert meetings_count(db) == 0 and smtp.messages == []


def test_rotation_changed_between_the_checks_and_the_lock(team, db):
    """Members turned unavailable after validation: the booking under the lock refuses."""
    start = datetime.now(UTC) + timedelta(days=2)
    data = inputs.MeetingInput(title="Race", start=start, end=start + timedelta(hours=1),
                                    timezone="UTC", rotation_id=team.rotation.id)
    assert not validation.validate(team.account, team.organizer, data)
    assert data.host_id == team.ana.id
    db.session.execute(sa.update(RotationMember).values(available=False))
    with pytest.raises(ops.RotationError) as caught:
        saving.schedule_meeting(team.account, team.organizer, data)
    assert caught.value.field == "rotation_id"
    db.session.rollback()
    assert meetings_count(db) == 0


def test_a_late_refusal_reaches_the_form_and_the_api(client, team, db, smtp, monkeypatch,
                                                    api_headers):
    """When the pick under the lock fails, the user sees why and nothing is saved or sent."""
    def refuse(account, data):
        raise ops.RotationError("rotation_id", ops.NO_ONE_AVAILABLE)

    monkeypatch.setattr(ops, "book", refuse)
    r = book(client, team)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="rotation_id-error"' in html
    assert "No one in this meeting rotation is available" in html
    r = client.post("/api/v1/meetings", headers=api_headers,
                    json=api_body(team, rotation_id=team.rotation.id))
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "rotation_id"
    assert meetings_count(db) == 0 and smtp.messages == []
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0


def test_free_seat_cannot_book_through_a_rotation(client, team, login, db):
    switch(client, login, team.frank)
    r = book(client, team)
    assert r.status_code == 422
    assert "Only users with a paid seat can book through a meeting rotation." in r.get_data(
        as_text=True)
    assert meetings_count(db) == 0


def test_deleting_a_meeting_gives_the_turn_back(client, team, db):
    book(client, team)
    book(client, team)
    assert counts(db, team.rotation) == {"Ana": 1, "Ben": 1}
    ana_meeting = db.session.scalar(sa.select(Meeting).where(Meeting.host_id == team.ana.id))
    r = client.post(f"/meetings/{ana_meeting.id}/delete")
    assert r.status_code == 302
    assert counts(db, team.rotation) == {"Ana": 0, "Ben": 1}
    assert db.session.get(Rotation, team.rotation.id).booked_count == 1
    client.post(f"/meetings/{ana_meeting.id}/delete")  # twice changes nothing
    assert counts(db, team.rotation) == {"Ana": 0, "Ben": 1}
    book(client, team)
    assert db.session.scalar(sa.select(Meeting.host_id).order_by(Meeting.id.desc()).limit(1)) \
        == team.ana.id


def test_changing_the_host_moves_the_count(client, team, db):
    book(client, team)
    meeting = db.session.scalar(sa.select(Meeting))
    assert meeting.host_id == team.ana.id
    values = form(title="Moved", attendees=[f"contact:{team.contact.id}"],
                  host_id=str(team.ben.id))
    assert client.post(f"/meetings/{meeting.id}/edit", data=values).status_code == 302
    assert counts(db, team.rotation) == {"Ana": 0, "Ben": 1}
    # To someone outside the rotation: the meeting leaves it.
    values["host_id"] = str(team.carl.id)
    assert client.post(f"/meetings/{meeting.id}/edit", data=values).status_code == 302
    assert counts(db, team.rotation) == {"Ana": 0, "Ben": 0}
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).rotation_id is None
    assert db.session.get(Rotation, team.rotation.id).booked_count == 0


# --- B1 hosts, B4-B9 through a rotation booking, A1 sandbox -----------------------------------

def test_host_rules_are_enforced_by_the_server(client, team, make, db, smtp):
    other = make.account()
    stranger = make.user(other, seat_kind_id=make.seat(other, paid=True).id)
    for host, message in ((team.frank, "Only users with a paid seat can book for another"),
                          (stranger, "Choose a host from your account.")):
        r = schedule(client, team.contact, host_id=str(host.id))
        html = r.get_data(as_text=True)
        assert r.status_code == 422 and message in html and 'id="host_id-error"' in html
    assert meetings_count(db) == 0 and smtp.messages == []


def test_booking_through_a_rotation_invites_contact_and_host(client, team, db, smtp):
    r = book(client, team, title="Intro call")
    assert r.status_code == 302
    meeting = db.session.scalar(sa.select(Meeting))
    assert meeting.host_id == team.ana.id and meeting.organizer_id == team.organizer.id
    # B6: the contact and the host; B5: the organizer is not an attendee.
    assert sorted(rcpt[0] for rcpt, _ in smtp.messages) == ["ana@acme.example",
                                                             "cora@example.org"]
    assert "olivia@acme.example" not in {a.email for a in meeting.attendees}
    assert {row.status for row in db.session.scalars(sa.select(OutboxMessage))} == {"sent"}
    # B7: timeline and meeting page name organizer and host separately.
    for url in (f"/contacts/{team.contact.id}", f"/meetings/{meeting.id}"):
        html = client.get(url).get_data(as_text=True)
        assert "<dt>Host</dt><dd>Ana Able</dd>" in html
        assert "<dt>Organizer</dt><dd>Olivia Organizer</dd>" in html


def test_host_calendar_reads_busy_to_the_organizer(client, team, db, login):
    day = future_day(5)
    book(client, team, title="Secret strategy", start_date=day)
    meeting = db.session.scalar(sa.select(Meeting))
    url = f"/meetings/calendar?host_id={meeting.host_id}&week={day}"
    html = client.get(url).get_data(as_text=True)
    assert "Ana Able&#39;s calendar" in html or "Ana Able's calendar" in html
    assert "Busy" in html and "Secret strategy" not in html  # B9
    switch(client, login, team.ana)
    html = client.get(url).get_data(as_text=True)
    assert "Secret strategy" in html and "Busy" not in html


def test_sandbox_books_only_with_its_own_users(client, make, login, db):
    parent = make.account(name="Acme")
    parent_user = make.user(parent, seat_kind_id=make.seat(parent, paid=True).id)
    parent_contact = make.contact(parent)
    sandbox = make.account(name="Acme Sandbox", is_sandbox=True)
    seat = make.seat(sandbox, paid=True)
    tester = login(make.user(sandbox, seat_kind_id=seat.id, role="admin"))
    mate = make.user(sandbox, seat_kind_id=seat.id)
    # Rotation members: only the sandbox's own users.
    rotation, errors = ops.create_rotation(sandbox, "Sandbox team", [mate.id, parent_user.id])
    assert rotation is None and "members" in errors
    r = client.post("/settings/rotations", data={"name": "Sandbox team",
                                                 "members": [str(parent_user.id)]})
    assert r.status_code == 422
    rotation, errors = ops.create_rotation(sandbox, "Sandbox team", [mate.id])
    db.session.commit()
    assert ops.add_member(rotation, parent_user.id)
    # Host and attendees: only the sandbox's own users and contacts.
    r = schedule(client, None, host_id=str(parent_user.id))
    assert r.status_code == 422 and "Choose a host from your account." in r.get_data(as_text=True)
    r = schedule(client, None, attendees=[f"user:{parent_user.id}"])
    assert r.status_code == 422
    r = schedule(client, None, attendees=[f"contact:{parent_contact.id}"])
    assert r.status_code == 422
    r = schedule(client, None, rotation_id=str(rotation.id), host_id=str(parent_user.id),
                 suggested_host_id=str(mate.id))
    assert r.status_code == 422
    assert meetings_count(db) == 0
    r = schedule(client, None, rotation_id=str(rotation.id))
    assert r.status_code == 302
    assert db.session.scalar(sa.select(Meeting.host_id)) == mate.id
    assert tester


# --- account settings -------------------------------------------------------------------------

def test_rotation_settings_are_for_admins_only(client, team, login):
    assert client.get("/settings/rotations").status_code == 200
    switch(client, login, team.ana)  # a member, not an admin
    assert client.get("/settings/rotations").status_code == 403
    assert client.post("/settings/rotations", data={"name": "Mine"}).status_code == 403
    assert client.get(f"/settings/rotations/{team.rotation.id}").status_code == 403
    member = team.rotation.members[0]
    r = client.post(f"/settings/rotations/{team.rotation.id}/members/{member.id}/availability",
                    data={"available": "0"})
    assert r.status_code == 403 and member.available
    assert client.post(f"/settings/rotations/{team.rotation.id}/delete").status_code == 403


def test_admin_creates_and_edits_a_rotation(client, team, make, db):
    page = client.get("/settings/rotations").get_data(as_text=True)
    assert "Inbound sales" in page and "Frank Free" not in page  # only paid seats offered
    # Bad input: a clear message, nothing saved.
    for data, message in (
            ({"name": "", "members": [str(team.ana.id)]}, "Enter a name for the rotation."),
            ({"name": "inbound SALES"}, "Another rotation already has this name."),
            ({"name": "x" * 81}, "Keep the name under 80 characters."),
            ({"name": "Free", "members": [str(team.frank.id)]}, "Members must be users"),
            ({"name": "Junk", "members": ["abc"]}, "Members must be users")):
        r = client.post("/settings/rotations", data=data)
        assert r.status_code == 422 and message in r.get_data(as_text=True), data
    assert db.session.scalar(sa.select(sa.func.count(Rotation.id))) == 1
    r = client.post("/settings/rotations", data={"name": "Support",
                                                 "members": [str(team.ana.id), str(team.carl.id)]})
    assert r.status_code == 302
    rotation = db.session.scalar(sa.select(Rotation).where(Rotation.name == "Support"))
    assert [m.user_id for m in rotation.members] == [team.ana.id, team.carl.id]
    url = f"/settings/rotations/{rotation.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Ana Able" in page and "Carl Outside" in page and 'role="switch"' in page

    # Availability switch with htmx: only the row comes back.
    ana = rotation.members[0]
    r = client.post(f"{url}/members/{ana.id}/availability", data={"available": "0"},
                    headers={"HX-Request": "true", "HX-Target": f"member-{ana.id}"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and html.startswith(f'<tr id="member-{ana.id}">')
    assert 'aria-checked="false"' in html and "Unavailable" in html
    db.session.expire_all()
    assert db.session.get(RotationMember, ana.id).available is False
    assert client.post(f"{url}/members/{ana.id}/availability",
                       data={"available": "maybe"}).status_code == 422

    # Rename, add, remove.
    assert client.post(url, data={"name": "Inbound sales"}).status_code == 422
    assert client.post(url, data={"name": "Support desk"}).status_code == 302
    r = client.post(f"{url}/members", data={"user_id": str(team.frank.id)})
    assert r.status_code == 422 and "paid seat" in r.get_data(as_text=True)
    r = client.post(f"{url}/members", data={"user_id": str(team.ana.id)})
    assert r.status_code == 422 and "Ana Able is already a member." in r.get_data(as_text=True)
    assert client.post(f"{url}/members", data={"user_id": ""}).status_code == 422
    assert client.post(f"{url}/members", data={"user_id": str(team.ben.id)}).status_code == 302
    carl = next(m for m in db.session.get(Rotation, rotation.id).members
                if m.user_id == team.carl.id)
    assert client.post(f"{url}/members/{carl.id}/remove").status_code == 302
    db.session.expire_all()
    rotation = db.session.get(Rotation, rotation.id)
    assert rotation.name == "Support desk"
    assert sorted(m.user.name for m in rotation.members) == ["Ana Able", "Ben Baker"]
    assert client.post(f"{url}/members/{carl.id}/remove").status_code == 404

    # Delete: gone from the list and from the scheduler; its page answers 404.
    assert client.post(f"{url}/delete").status_code == 302
    listing = client.get("/settings/rotations").get_data(as_text=True)
    assert "Support desk" not in listing.split('id="rotation-list"')[1]
    assert "Support desk" not in client.get("/meetings/new").get_data(as_text=True)
    assert client.get(url).status_code == 404


def test_a_member_added_again_keeps_the_meetings_they_host(client, team, db):
    book(client, team)
    ana = team.rotation.members[0]
    url = f"/settings/rotations/{team.rotation.id}"
    assert client.post(f"{url}/members/{ana.id}/remove").status_code == 302
    assert client.post(f"{url}/members", data={"user_id": str(team.ana.id)}).status_code == 302
    assert counts(db, team.rotation) == {"Ben": 0, "Ana": 1}


# --- JSON API ---------------------------------------------------------------------------------

@pytest.fixture()
def api_headers(team, db):
    from webapp.api import operations as token_ops
    _row, token = token_ops.create_token(team.organizer, "tests")
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def api_body(team, **extra) -> dict:
    day = future_day(8)
    return {"title": "API booking", "start": local_iso(day, "10:00"),
            "end": local_iso(day, "10:30"), "timezone": "America/New_York",
            "attendees": [{"contact_id": team.contact.id}], **extra}


def test_api_books_through_a_rotation(client, team, api_headers, db):
    r = client.post("/api/v1/meetings", headers=api_headers,
                    json=api_body(team, rotation_id=team.rotation.id))
    assert r.status_code == 201, r.json
    assert r.json["host_user_id"] == team.ana.id and r.json["rotation_id"] == team.rotation.id
    assert r.json["organizer_user_id"] == team.organizer.id
    r = client.post("/api/v1/meetings", headers=api_headers,
                    json=api_body(team, rotation_id=team.rotation.id, host_user_id=team.ana.id))
    assert r.status_code == 201 and r.json["host_user_id"] == team.ana.id  # override
    assert counts(db, team.rotation) == {"Ana": 2, "Ben": 0}
    r = client.post("/api/v1/meetings", headers=api_headers,
                    json=api_body(team, rotation_id=team.rotation.id, host_user_id=team.carl.id))
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "host_user_id"
    meeting_id = r.json and db.session.scalar(sa.select(Meeting.id).order_by(Meeting.id))
    r = client.patch(f"/api/v1/meetings/{meeting_id}", headers=api_headers,
                     json={"rotation_id": 999})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "rotation_id"
    assert client.delete(f"/api/v1/meetings/{meeting_id}", headers=api_headers).status_code == 204
    assert counts(db, team.rotation) == {"Ana": 1, "Ben": 0}
    ops.delete_rotation(db.session.get(Rotation, team.rotation.id))
    db.session.commit()
    r = client.post("/api/v1/meetings", headers=api_headers,
                    json=api_body(team, rotation_id=team.rotation.id))
    assert r.status_code == 422 and "deleted" in r.json["errors"][0]["message"]
    assert meetings_count(db) == 2


# --- B3 under concurrency ---------------------------------------------------------------------

@pytest.mark.committing  # threads with sessions of their own
def test_fifty_concurrent_bookings_through_a_rotation_of_five(app, make, db):
    """50 bookings at once through a rotation of 5 end 10 each, 50 in all.

    Each thread has its own app context, session and connection; on PostgreSQL (CI) the
    rotation row's lock serializes the picks, on SQLite its write lock does.
    """
    account = make.account()
    seat = make.seat(account, paid=True)
    organizer = make.user(account, seat_kind_id=seat.id)
    members = [make.user(account, seat_kind_id=seat.id, name=f"Member {i}") for i in range(5)]
    rotation, _ = ops.create_rotation(account, "Round robin", [u.id for u in members])
    db.session.commit()
    ids = (account.id, organizer.id, rotation.id)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=4)

    def book_one(n: int) -> None:
        with app.app_context():
            from webapp.extensions import db as session_db
            try:
                acc = session_db.session.get(Account, ids[0])
                actor = session_db.session.get(User, ids[1])
                # Half-hour meetings one after another: since #21 a member's own meeting
                # makes them busy, so overlapping ones could not all be booked.
                data = inputs.MeetingInput(
                    title=f"Call {n}", start=start + timedelta(minutes=30 * n),
                    end=start + timedelta(minutes=30 * n + 30), timezone="UTC",
                    rotation_id=ids[2])
                errors = validation.validate(acc, actor, data)
                assert not errors, errors
                saving.schedule_meeting(acc, actor, data)
                session_db.session.commit()
            except BaseException:
                session_db.session.rollback()
                raise
            finally:
                session_db.session.remove()

    at_once(50, book_one, timeout=120)
    db.session.expire_all()
    per_member = db.session.execute(sa.select(RotationMember.user_id, RotationMember.booked_count)
                                    .where(RotationMember.rotation_id == rotation.id)).all()
    assert sorted(count for _user, count in per_member) == [10] * 5
    assert db.session.get(Rotation, rotation.id).booked_count == 50
    hosted = dict(db.session.execute(sa.select(Meeting.host_id, sa.func.count(Meeting.id))
                                     .where(Meeting.rotation_id == rotation.id)
                                     .group_by(Meeting.host_id)).all())
    assert hosted == {u.id: 10 for u in members}


def test_rotation_pages_in_traditional_chinese(client, team, db):
    team.organizer.locale = "zh_Hant"
    db.session.commit()
    page = client.get("/settings/rotations").get_data(as_text=True)
    assert "會議輪值" in page and "建立輪值" in page
    html = client.get(f"/meetings/rotation-host?rotation_id={team.rotation.id}").get_data(
        as_text=True)
    assert "主持人" in html and "建議" in html
