"""Issue #20: a guest list that is shown to attendees does not go stale. When attendees
are added or removed, those who stay get an update (REQUEST, SEQUENCE raised, the new
ATTENDEE list) naming who joined and who left; a removed attendee gets a CANCEL; a new one
an invitation. With the guest list hidden, those who stay are sent nothing. A logged
meeting sends nothing at all (tests/test_log_meetings.py edits its attendees too)."""

import icalendar
import sqlalchemy as sa

from tests import test_delivery
from tests.meeting_helpers import form, future_day, schedule
from tests.test_guest_list_20b import _listed
from webapp.meetings.models import Meeting

#: The delivery tests' fixture: a seated rep in New York, logged in.


def _people(make, account):
    return {n: make.contact(account, first_name=n, email=f"{n.lower()}@example.org")
            for n in ("Ann", "Bob", "Cho")}


def _by_recipient(smtp) -> dict:
    return {rcpt[0]: msg for rcpt, msg in smtp.messages}


def _schedule_then_edit(client, db, smtp, people, before, after, **extra):
    day = future_day(12)
    r = schedule(client, people["Ann"], start_date=day,
                 attendees=[f"contact:{people[n].id}" for n in before], **extra)
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    meeting = db.session.scalar(sa.select(Meeting))
    smtp.clear()
    r = client.post(f"/meetings/{meeting.id}/edit", data=form(
        start_date=day, attendees=[f"contact:{people[n].id}" for n in after], **extra))
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    return meeting


def test_those_who_stay_are_told_who_joined_and_who_left(client, rep, make, db, smtp):
    account, _ = rep
    people = _people(make, account)
    meeting = _schedule_then_edit(client, db, smtp, people, ("Ann", "Bob"), ("Ann", "Cho"))
    sent = _by_recipient(smtp)
    assert sorted(sent) == ["ann@example.org", "bob@example.org", "cho@example.org"]

    ann = test_delivery.check_imip(sent["ann@example.org"], "REQUEST")
    assert int(ann["SEQUENCE"]) == 1 and str(ann["UID"]) == meeting.uid
    assert sorted(_listed(sent["ann@example.org"])) == ["ann@example.org", "cho@example.org"]
    text = sent["ann@example.org"].get_body(("plain",)).get_content()
    assert "updated this meeting" in text
    assert "Now also invited: Cho Tester" in text and "No longer invited: Bob Tester" in text
    html = sent["ann@example.org"].get_body(("html",)).get_content()
    assert "Cho Tester" in html and "Bob Tester" in html

    bob = test_delivery.check_imip(sent["bob@example.org"], "CANCEL")
    assert int(bob["SEQUENCE"]) == 1
    cho = test_delivery.check_imip(sent["cho@example.org"], "REQUEST")
    assert int(cho["SEQUENCE"]) == 1
    assert sorted(_listed(sent["cho@example.org"])) == ["ann@example.org", "cho@example.org"]
    assert "Now also invited" not in sent["cho@example.org"].get_body(("plain",)).get_content()
    db.session.refresh(meeting)
    assert meeting.sequence == 1


def test_an_added_attendee_alone_updates_those_already_invited(client, rep, make, db, smtp):
    account, _ = rep
    people = _people(make, account)
    _schedule_then_edit(client, db, smtp, people, ("Ann", "Bob"), ("Ann", "Bob", "Cho"))
    sent = _by_recipient(smtp)
    assert sorted(sent) == ["ann@example.org", "bob@example.org", "cho@example.org"]
    for who in ("ann@example.org", "bob@example.org"):
        event = test_delivery.check_imip(sent[who], "REQUEST")
        assert int(event["SEQUENCE"]) == 1
        assert sorted(_listed(sent[who])) == ["ann@example.org", "bob@example.org",
                                              "cho@example.org"]
        text = sent[who].get_body(("plain",)).get_content()
        assert "Now also invited: Cho Tester" in text and "No longer invited" not in text
    assert "invited you" in sent["cho@example.org"].get_body(("plain",)).get_content()


def test_a_hidden_guest_list_tells_those_who_stay_nothing(client, rep, make, db, smtp):
    account, _ = rep
    people = _people(make, account)
    _schedule_then_edit(client, db, smtp, people, ("Ann", "Bob"), ("Ann", "Cho"),
                        hide_guest_list="1")
    sent = _by_recipient(smtp)
    assert sorted(sent) == ["bob@example.org", "cho@example.org"]  # nothing to Ann
    test_delivery.check_imip(sent["bob@example.org"], "CANCEL")
    assert _listed(sent["cho@example.org"]) == ["cho@example.org"]
    assert "Bob" not in sent["cho@example.org"].get_body(("plain",)).get_content()


def test_the_hosts_own_copy_lists_everyone_so_it_is_told_even_when_hidden(client, rep, make,
                                                                          db, smtp):
    """A meeting booked for a colleague: the host's copy (PUBLISH) lists every attendee,
    hidden list or not, so the host hears who joined and who left; attendees do not."""
    account, _ = rep
    people = _people(make, account)
    host = make.user(account, name="Hana Host", email="hana@acme.example",
                     timezone="America/New_York", seat_kind_id=make.seat(account, paid=True).id)
    _schedule_then_edit(client, db, smtp, people, ("Ann", "Bob"), ("Ann",),
                        hide_guest_list="1", host_id=str(host.id))
    sent = _by_recipient(smtp)
    assert sorted(sent) == ["bob@example.org", "hana@acme.example"]
    test_delivery.check_imip(sent["bob@example.org"], "CANCEL")
    part = test_delivery.calendar_part(sent["hana@acme.example"])
    assert part.get_param("method") == "PUBLISH"
    copy = icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")[0]
    assert int(copy["SEQUENCE"]) == 1
    assert sorted(_listed(sent["hana@acme.example"])) == ["ann@example.org"]
    assert "No longer invited: Bob Tester" in sent["hana@acme.example"].get_body(
        ("plain",)).get_content()
