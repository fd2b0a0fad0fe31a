"""Issue #20: invitations list every attendee (ATTENDEE lines, so each calendar shows who
else comes), unless the meeting hides its guest list; each message still goes to one
recipient with its own RSVP link."""

import icalendar
import sqlalchemy as sa

from tests.meeting_helpers import form, future_day, local_iso, schedule
from webapp.meetings.models import Meeting

#: The delivery tests' fixture: a seated rep in New York, logged in.


def _listed(msg) -> list[str]:
    part = next(p for p in msg.walk() if p.get_content_type() == "text/calendar")
    event = icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")[0]
    found = event.get("ATTENDEE")
    found = found if isinstance(found, list) else [found]
    return [str(a).lower().removeprefix("mailto:") for a in found]


def _people(make, account):
    return [make.contact(account, first_name=n, email=f"{n.lower()}@example.org")
            for n in ("Ann", "Bob", "Cho")] + [make.contact(account, first_name="NoMail",
                                                            email=None)]


def test_every_invitation_lists_every_invited_attendee(client, rep, make, db, smtp):
    account, _ = rep
    people = _people(make, account)
    r = schedule(client, people[0], attendees=[f"contact:{c.id}" for c in people])
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    assert len(smtp.messages) == 3  # one message per invited recipient
    tokens = set()
    for rcpt, msg in smtp.messages:
        listed = _listed(msg)
        assert listed[0] == rcpt[0]  # the recipient first: their own RSVP line
        assert sorted(listed) == ["ann@example.org", "bob@example.org", "cho@example.org"]
        text = msg.get_body(("plain",)).get_content()
        tokens.add(text.split("/rsvp/")[1].split()[0])
        others = sorted({"Ann", "Bob", "Cho"} - {rcpt[0].split("@")[0].title()})
        assert f"Also invited: {others[0]} Tester, {others[1]} Tester" in text
        assert "NoMail" not in text  # not invited (no address), not listed
    assert len(tokens) == 3  # each message its own RSVP link


def test_a_hidden_guest_list_names_only_the_recipient(client, rep, make, db, smtp):
    account, _ = rep
    people = _people(make, account)
    html = client.get("/meetings/new").get_data(as_text=True)
    assert 'name="hide_guest_list"' in html
    r = schedule(client, people[0], attendees=[f"contact:{c.id}" for c in people],
                 hide_guest_list="1")
    assert r.status_code == 302
    meeting = db.session.scalar(sa.select(Meeting))
    assert meeting.hide_guest_list
    assert len(smtp.messages) == 3
    for rcpt, msg in smtp.messages:
        assert _listed(msg) == [rcpt[0]]
        assert "Also invited" not in msg.get_body(("plain",)).get_content()
    # The edit form keeps the switch; an update (new time) still hides the list.
    assert 'name="hide_guest_list" value="1" checked' in client.get(
        f"/meetings/{meeting.id}/edit").get_data(as_text=True)
    smtp.clear()
    r = client.post(f"/meetings/{meeting.id}/edit", data=form(
        attendees=[f"contact:{c.id}" for c in people], hide_guest_list="1",
        start_date=future_day(11)))
    assert r.status_code == 302
    assert len(smtp.messages) == 3
    for rcpt, msg in smtp.messages:
        assert _listed(msg) == [rcpt[0]]


def test_the_phone_form_and_the_api_carry_the_switch(client, rep, make, db):
    from webapp.api import operations as token_ops
    account, user = rep
    contact = make.contact(account)
    html = client.get(f"/m/meetings/new?record_type=contact&record_id={contact.id}").get_data(
        as_text=True)
    assert 'name="hide_guest_list"' in html
    _row, token = token_ops.create_token(user, "tests")
    db.session.commit()
    day = future_day(9).isoformat()
    r = client.post("/api/v1/meetings", headers={"Authorization": f"Bearer {token}"}, json={
        "title": "Private", "start": local_iso(day, "10:00"), "end": local_iso(day, "10:30"),
        "timezone": "America/New_York", "hide_guest_list": True,
        "attendees": [{"contact_id": contact.id}]})
    assert r.status_code == 201, r.json
    assert r.json["hide_guest_list"] is True
