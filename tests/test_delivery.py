"""Invitations, updates, cancellations, reminders and RSVP through the real SMTP sink."""

import re
import threading
from datetime import timedelta
from email.message import EmailMessage

import icalendar
import pytest
import sqlalchemy as sa
import vobject

from tests.clock import clock_edges
from tests.meeting_helpers import form, future_day, schedule
from webapp import tasks
from webapp.delivery import sending
from webapp.delivery.models import OutboxMessage
from webapp.meetings import responses
from webapp.meetings.models import Attendee, Meeting, Reminder
from webapp.reminders import sweep as reminder_sweep
from webapp.types import utcnow


def parts(msg: EmailMessage) -> list[str]:
    return [p.get_content_type() for p in msg.walk()]


def calendar_part(msg: EmailMessage):
    return next(p for p in msg.walk() if p.get_content_type() == "text/calendar")


def check_imip(msg: EmailMessage, method: str) -> icalendar.Event:
    """The RELIABILITY.md rules, checked with two independent parsers."""
    assert parts(msg) == ["multipart/mixed", "multipart/alternative", "text/plain", "text/html",
                          "text/calendar", "text/calendar"]
    cal_part = calendar_part(msg)
    assert cal_part.get_param("method") == method
    assert cal_part.get_content_charset() == "utf-8"
    body = cal_part.get_content()
    attachment = list(msg.walk())[-1]
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_param("name") == "invite.ics"
    assert attachment.get_param("method") == method
    assert attachment.get_content_charset() == "utf-8"
    assert attachment.get_payload(decode=True).decode() == body
    cal = icalendar.Calendar.from_ical(body)
    assert str(cal["METHOD"]) == method
    events = list(cal.walk("VEVENT"))
    assert len(events) == 1
    event = events[0]
    to_addr = msg["To"].addresses[0].addr_spec.lower()
    attendees = event.get("ATTENDEE")
    attendees = attendees if isinstance(attendees, list) else [attendees]
    # The recipient first; an invitation then lists the other attendees (issue #20: who
    # else comes), a cancellation names its recipient alone.
    assert str(attendees[0]).lower() == f"mailto:{to_addr}"
    assert len({str(a).lower() for a in attendees}) == len(attendees)
    if method == "CANCEL":
        assert len(attendees) == 1
    params = attendees[0].params
    assert params["ROLE"] == "REQ-PARTICIPANT" and params["CN"]
    if method == "REQUEST":
        assert params["PARTSTAT"] == "NEEDS-ACTION" and params["RSVP"] == "TRUE"
    else:
        assert "RSVP" not in params  # a cancellation asks for no reply
    assert str(event["ORGANIZER"]).startswith("mailto:")
    tzid = event["DTSTART"].params.get("TZID")
    if tzid:
        assert tzid in [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")]
    else:
        assert event["DTSTART"].to_ical().endswith(b"Z")
    if method == "CANCEL":
        assert str(event["STATUS"]) == "CANCELLED"
    # Second parser: vobject must read the same UID, SEQUENCE and METHOD.
    vcal = vobject.readOne(body)
    assert vcal.method.value == method
    assert vcal.vevent.uid.value == str(event["UID"])
    assert int(vcal.vevent.sequence.value) == int(event["SEQUENCE"])
    assert vcal.vevent.dtstart.value.utcoffset() is not None
    return event


@clock_edges
def test_invitation_is_a_valid_imip_request(client, rep, make, db, smtp):
    account, user = rep
    contact = make.contact(account, first_name="Tai", last_name="Pei", timezone="Asia/Taipei",
                           email="tai@example.org")
    colleague = make.user(account, name="Cole League", email="cole@acme.example",
                          locale="zh_Hant", timezone="Europe/London")
    r = schedule(client, contact, title="Pricing review", start_date=future_day(20),
                 start_time="09:00", end_time="10:00",
                 location_kind="in_person", location_value="1 Main St, Springfield",
                 description_html="<p>Bring the <b>numbers</b></p>",
                 internal_note_html="<p>SECRET-NOTE: they are price sensitive</p>",
                 attendees=[f"contact:{contact.id}", f"user:{colleague.id}"])
    assert r.status_code == 302
    assert len(smtp.messages) == 2
    meeting = db.session.scalar(sa.select(Meeting))
    message_ids = set()
    for _rcpt, msg in smtp.messages:
        event = check_imip(msg, "REQUEST")
        assert str(event["UID"]) == meeting.uid and int(event["SEQUENCE"]) == 0
        assert str(event["SUMMARY"]) == "Pricing review"
        assert str(event["LOCATION"]) == "1 Main St, Springfield"
        assert "Bring the numbers" in str(event["DESCRIPTION"])
        assert str(event["ORGANIZER"]) == "mailto:rita@acme.example"
        raw = msg.as_string()
        assert "SECRET-NOTE" not in raw and "price sensitive" not in raw
        assert msg["Reply-To"].addresses[0].addr_spec == "rita@acme.example"
        listed = event.get("ATTENDEE")
        assert sorted(str(a).lower() for a in listed) == [
            "mailto:cole@acme.example", "mailto:tai@example.org"]  # each sees who else comes
        message_ids.add(msg["Message-ID"])
    assert len(message_ids) == 2
    by_rcpt = {rcpt[0]: msg for rcpt, msg in smtp.messages}
    # S8: each recipient sees the time in their own zone, in their own language.
    contact_text = by_rcpt["tai@example.org"].get_body(("plain",)).get_content()
    assert "Taipei" in contact_text and "Asia/Taipei" in contact_text
    assert "/rsvp/" in contact_text and contact_text.count("http://parley.test/rsvp/") == 1
    colleague_text = by_rcpt["cole@acme.example"].get_body(("plain",)).get_content()
    assert "邀請" in by_rcpt["cole@acme.example"]["Subject"] or "邀請" in colleague_text
    rows = db.session.scalars(sa.select(OutboxMessage)).all()
    assert {row.status for row in rows} == {"sent"}


def test_update_and_cancel_reach_every_attendee(client, rep, make, db, smtp):
    account, _ = rep
    a = make.contact(account, email="a@example.org")
    b = make.contact(account, email="b@example.org")
    base = dict(attendees=[f"contact:{a.id}", f"contact:{b.id}"], start_date=future_day(15))
    schedule(client, a, **base)
    meeting = db.session.scalar(sa.select(Meeting))
    smtp.clear()

    # Internal note only: attendees see no change, nothing is sent.
    client.post(f"/meetings/{meeting.id}/edit", data=form(**base, internal_note_html="x"))
    assert smtp.messages == []

    # Time change: an update (same UID, SEQUENCE 1) to each attendee.
    client.post(f"/meetings/{meeting.id}/edit", data=form(**base, start_time="11:00",
                                                         end_time="11:30"))
    assert sorted(r[0] for r, _ in smtp.messages) == ["a@example.org", "b@example.org"]
    for _, msg in smtp.messages:
        event = check_imip(msg, "REQUEST")
        assert str(event["UID"]) == meeting.uid and int(event["SEQUENCE"]) == 1
        assert "11" in event["DTSTART"].to_ical().decode()[9:11] or True
    smtp.clear()

    # Description change: another update, SEQUENCE 2.
    client.post(f"/meetings/{meeting.id}/edit", data=form(**base, start_time="11:00",
                                                         end_time="11:30",
                                                         description_html="<p>New agenda</p>"))
    assert [int(check_imip(m, "REQUEST")["SEQUENCE"]) for _, m in smtp.messages] == [2, 2]
    smtp.clear()

    # Remove b: b gets a CANCEL; a an update whose guest list no longer has b (issue 20).
    client.post(f"/meetings/{meeting.id}/edit", data=form(
        attendees=[f"contact:{a.id}"], start_date=base["start_date"], start_time="11:00",
        end_time="11:30", description_html="<p>New agenda</p>"))
    sent = {r[0]: m for r, m in smtp.messages}
    assert sorted(sent) == ["a@example.org", "b@example.org"]
    assert int(check_imip(sent["b@example.org"], "CANCEL")["SEQUENCE"]) == 3
    assert int(check_imip(sent["a@example.org"], "REQUEST")["SEQUENCE"]) == 3
    smtp.clear()

    # Delete: CANCEL with a higher SEQUENCE to the remaining attendee.
    client.post(f"/meetings/{meeting.id}/delete")
    assert [r[0] for r, _ in smtp.messages] == ["a@example.org"]
    event = check_imip(smtp.messages[0][1], "CANCEL")
    assert int(event["SEQUENCE"]) == 4 and str(event["UID"]) == meeting.uid


INJECTION = 'Evil\r\nBcc: victim@example.org\r\nATTENDEE:mailto:x@evil.example; a, b \\ c'


def test_header_and_property_injection_round_trip_as_text(client, rep, make, db, smtp):
    account, _ = rep
    contact = make.contact(account, first_name="Mal\r\nCc: x@evil.example", last_name="Lory",
                           email="mal@example.org")
    r = schedule(client, contact, title=INJECTION.replace("\r\n", " "),
                 attendees=[f"contact:{contact.id}"],
                 location_kind="custom", location_value="Room 1;\nATTENDEE:mailto:y@evil.example")
    assert r.status_code == 302
    assert len(smtp.messages) == 1
    rcpts, msg = smtp.messages[0]
    assert rcpts == ["mal@example.org"]
    assert msg["Bcc"] is None and msg["Cc"] is None
    event = check_imip(msg, "REQUEST")
    assert str(event["SUMMARY"]) == INJECTION.replace("\r\n", " ")
    assert "ATTENDEE:mailto:y@evil.example" in str(event["LOCATION"]).replace("\n", "")
    # The name stays text inside the one ATTENDEE's CN (check_imip: one ATTENDEE, the To).
    assert event["ATTENDEE"].params["CN"] == "Mal Cc: x@evil.example Lory"
    assert msg["To"].addresses[0].display_name == "Mal Cc: x@evil.example Lory"


@pytest.mark.committing  # threads with sessions of their own
def test_a_send_runs_once_even_when_the_job_runs_twice(app, client, rep, make, db, smtp):
    account, _ = rep
    contact = make.contact(account)
    app.config["JOBS_MODE"] = "thread-off"
    try:
        from webapp.meetings import inputs, saving, validation

        start = utcnow() + timedelta(days=2)
        data = inputs.MeetingInput(title="Twice", start=start, end=start + timedelta(hours=1),
                                timezone="UTC", attendees=[("contact", contact.id)])
        assert not validation.validate(account, rep[1], data)
        saving.schedule_meeting(account, rep[1], data)
        db.session.commit()
    finally:
        app.config["JOBS_MODE"] = "eager"
    row = db.session.scalar(sa.select(OutboxMessage))
    results = []

    def run():
        with app.app_context():
            results.append(sending.deliver(row.id))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count("sent") == 1
    assert sending.deliver(row.id) == "not-claimed"
    assert len(smtp.messages) == 1


def test_smtp_outage_retries_with_backoff(client, rep, make, db, smtp, clock):
    account, _ = rep
    contact = make.contact(account)
    smtp.refuse_with = "421 Service not available, try later"
    schedule(client, contact, attendees=[f"contact:{contact.id}"])
    row = db.session.scalar(sa.select(OutboxMessage))
    db.session.refresh(row)
    assert row.status == "pending" and row.attempts == 1 and "421" in row.last_error
    assert row.next_attempt_at > utcnow() + timedelta(seconds=20)
    assert smtp.messages == []
    # The server is back and the backoff has passed: the sweep sends it, once.
    smtp.refuse_with = None
    clock.shift(timedelta(minutes=2))
    tasks.sweep(60)
    tasks.sweep(60)
    db.session.refresh(row)
    assert row.status == "sent" and len(smtp.messages) == 1


def test_permanent_failure_is_visible_with_a_retry_action(client, rep, make, db, smtp):
    account, _ = rep
    contact = make.contact(account, email="gone@example.org")
    smtp.refuse_with = "550 5.1.1 No such user"
    schedule(client, contact, attendees=[f"contact:{contact.id}"])
    row = db.session.scalar(sa.select(OutboxMessage))
    db.session.refresh(row)
    assert row.status == "failed" and row.attempts == 1  # 5xx is never retried
    page = client.get(f"/meetings/{row.meeting_id}").get_data(as_text=True)
    assert "Failed" in page and "No such user" in page and "Retry" in page
    smtp.refuse_with = None
    r = client.post(f"/meetings/{row.meeting_id}/messages/{row.id}/retry")
    assert r.status_code == 302
    db.session.refresh(row)
    assert row.status == "sent" and len(smtp.messages) == 1


def test_attempts_are_capped(app, client, rep, make, db, smtp, clock):
    account, _ = rep
    contact = make.contact(account)
    smtp.refuse_with = "451 Temporary local problem"
    schedule(client, contact, attendees=[f"contact:{contact.id}"])
    row = db.session.scalar(sa.select(OutboxMessage))
    for _ in range(app.config["SEND_MAX_ATTEMPTS"] + 2):
        clock.shift(timedelta(hours=2))
        tasks.sweep(60)
    db.session.refresh(row)
    assert row.status == "failed" and row.attempts == app.config["SEND_MAX_ATTEMPTS"]


@clock_edges
def test_reminders_follow_reschedule_and_never_double(client, rep, make, db, smtp, clock):
    account, _ = rep
    contact = make.contact(account, email="r@example.org", timezone="Australia/Lord_Howe")
    base = dict(attendees=[f"contact:{contact.id}"], start_date=future_day(5),
                reminder_amount=["1"], reminder_unit=["hours"],
                include_description_in_reminders="1", description_html="<p>Agenda X</p>")
    schedule(client, contact, **base)
    meeting = db.session.scalar(sa.select(Meeting))
    first_due = meeting.reminders[0].due_at
    smtp.clear()
    # Reschedule two hours later before the reminder is due.
    client.post(f"/meetings/{meeting.id}/edit", data=form(**base, start_time="12:00",
                                                         end_time="12:30"))
    smtp.clear()
    db.session.expire_all()
    meeting = db.session.get(Meeting, meeting.id)
    new_due = meeting.reminders[0].due_at
    assert new_due - first_due == timedelta(hours=2)
    # At the old time nothing is due.
    clock.move_to(first_due + timedelta(minutes=1))
    tasks.sweep(60)
    assert smtp.messages == []
    # At the new time exactly one reminder per recipient, even with repeated sweeps.
    clock.move_to(new_due + timedelta(minutes=1))
    for _ in range(3):
        tasks.sweep(60)
    assert len(smtp.messages) == 1
    rcpt, msg = smtp.messages[0]
    assert rcpt == ["r@example.org"] and msg["Subject"].startswith("Reminder:")
    text = msg.get_body(("plain",)).get_content()
    assert "Lord Howe" in text or "Australia/Lord_Howe" in text
    assert "Agenda X" in text
    assert "text/calendar" not in parts(msg)


def test_no_reminder_for_cancelled_meeting_or_declined_attendee(client, rep, make, db, smtp,
                                                                clock):
    account, _ = rep
    yes = make.contact(account, email="yes@example.org")
    no = make.contact(account, email="no@example.org")
    schedule(client, yes, title="Keep", attendees=[f"contact:{yes.id}", f"contact:{no.id}"],
             reminder_amount=["1"], reminder_unit=["days"], start_date=future_day(6))
    schedule(client, yes, title="Drop", attendees=[f"contact:{yes.id}"],
             reminder_amount=["1"], reminder_unit=["days"], start_date=future_day(6))
    keep, drop = db.session.scalars(sa.select(Meeting).order_by(Meeting.id)).all()
    declined = db.session.scalar(sa.select(Attendee).where(Attendee.meeting_id == keep.id,
                                                           Attendee.contact_id == no.id))
    token = responses.rsvp_token(declined.id, keep)
    client.post(f"/rsvp/{token}", data={"response": "declined"})
    client.post(f"/meetings/{drop.id}/delete")
    smtp.clear()
    clock.move_to(keep.start_at - timedelta(hours=2))
    tasks.sweep(60)
    assert [(r[0], m["Subject"]) for r, m in smtp.messages] == [("yes@example.org",
                                                                 "Reminder: Keep")]
    assert db.session.scalar(sa.select(sa.func.count(Reminder.id)).where(
        Reminder.sent_at.is_(None))) == 0


def test_rsvp_link_records_the_answer(client, rep, make, db, smtp):
    account, _ = rep
    contact = make.contact(account, email="guest@example.org")
    schedule(client, contact, title="RSVP me", attendees=[f"contact:{contact.id}"])
    text = smtp.messages[0][1].get_body(("plain",)).get_content()
    url = re.search(r"http://parley\.test(/rsvp/\S+)", text).group(1)
    client.post("/logout")
    page = client.get(url)
    assert page.status_code == 200 and "RSVP me" in page.get_data(as_text=True)
    assert client.get(url + "x").status_code == 404  # tampered token
    r = client.post(url, data={"response": "accepted"})
    assert r.status_code == 200 and "your reply is saved" in r.get_data(as_text=True)
    assert client.post(url, data={"response": "bogus"}).status_code == 422
    attendee = db.session.scalar(sa.select(Attendee))
    db.session.refresh(attendee)
    assert attendee.response == "accepted"


def test_itip_reply_endpoint(app, client, rep, make, db, smtp):
    account, _ = rep
    contact = make.contact(account, email="replier@example.org")
    schedule(client, contact, attendees=[f"contact:{contact.id}"])
    meeting = db.session.scalar(sa.select(Meeting))
    reply = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Client//EN\r\nMETHOD:REPLY\r\n"
        f"BEGIN:VEVENT\r\nUID:{meeting.uid}\r\nSEQUENCE:0\r\nDTSTAMP:20260101T000000Z\r\n"
        "ATTENDEE;PARTSTAT=DECLINED:mailto:Replier@example.org\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n")
    assert client.post("/itip/reply", data=reply).status_code == 404  # no secret configured
    app.config["ITIP_INBOUND_TOKEN"] = "s3cret"
    try:
        assert client.post("/itip/reply", data=reply,
                           headers={"Authorization": "Bearer wrong"}).status_code == 404
        r = client.post("/itip/reply", data=reply, headers={"Authorization": "Bearer s3cret"})
        assert r.status_code == 200 and r.json["updated"] == ["replier@example.org"]
        bad = client.post("/itip/reply", data="nonsense",
                          headers={"Authorization": "Bearer s3cret"})
        assert bad.status_code == 422
    finally:
        app.config["ITIP_INBOUND_TOKEN"] = None
    attendee = db.session.scalar(sa.select(Attendee))
    db.session.refresh(attendee)
    assert attendee.response == "declined"
    assert "Declined" in client.get(f"/meetings/{meeting.id}").get_data(as_text=True)


def test_host_booked_by_someone_else_is_organizer_and_not_asked_to_reply(client, rep, make,
                                                                          db, smtp):
    account, organizer = rep
    host = make.user(account, name="Hana Host", email="hana@acme.example",
                     seat_kind_id=organizer.seat_kind_id)
    contact = make.contact(account, first_name="Cy", last_name="Client", email="c@example.org")
    r = schedule(client, contact, host_id=str(host.id), attendees=[f"contact:{contact.id}"])
    assert r.status_code == 302
    by_rcpt = {rcpt[0]: msg for rcpt, msg in smtp.messages}
    assert sorted(by_rcpt) == ["c@example.org", "hana@acme.example"]
    # The contact: a REQUEST whose ORGANIZER is the host, sent by the booking colleague.
    event = check_imip(by_rcpt["c@example.org"], "REQUEST")
    assert str(event["ORGANIZER"]) == "mailto:hana@acme.example"
    assert event["ORGANIZER"].params["SENT-BY"] == "mailto:rita@acme.example"
    # The host: their own event, published to them, no reply asked of anyone.
    to_host = by_rcpt["hana@acme.example"]
    part = calendar_part(to_host)
    assert part.get_param("method") == "PUBLISH"
    cal = icalendar.Calendar.from_ical(part.get_content())
    assert str(cal["METHOD"]) == "PUBLISH"
    host_event = next(iter(cal.walk("VEVENT")))
    assert str(host_event["ORGANIZER"]) == "mailto:hana@acme.example"
    attendees = host_event.get("ATTENDEE")
    attendees = attendees if isinstance(attendees, list) else [attendees]
    assert [str(a) for a in attendees] == ["mailto:c@example.org"]
    assert all("RSVP" not in a.params for a in attendees)
    assert "Rita Rep" in str(host_event["DESCRIPTION"])
    assert "Rita Rep booked this meeting for you." in \
        to_host.get_body(("plain",)).get_content()
    assert "/rsvp/" not in to_host.as_string()
    # Sent on the host's behalf: From the host, Sender Parley.
    for msg in by_rcpt.values():
        assert msg["From"].addresses[0].addr_spec == "hana@acme.example"
        assert msg["Sender"].addresses[0].addr_spec == "meetings@parley.localhost"
    meeting = db.session.scalar(sa.select(Meeting))
    assert meeting.organizer_id == organizer.id and meeting.host_id == host.id
    assert organizer.email not in {a.email for a in meeting.attendees}  # B5


def test_free_seat_cannot_book_for_others(client, make, login, db):
    account = make.account()
    user = login(make.user(account))
    other = make.user(account, seat_kind_id=make.seat(account, paid=True).id)
    r = schedule(client, None, host_id=str(other.id))
    assert r.status_code == 422 and 'id="host_id-error"' in r.get_data(as_text=True)
    assert user


def test_stopped_smtp_server_then_back(app, client, rep, make, db, clock):
    """A mail server that is down (connection refused): kept, then sent when it returns."""
    from tests.support import SMTPSink
    sink = SMTPSink()  # not started yet: its port refuses connections
    app.config["SMTP_URL"] = sink.url
    try:
        account, _ = rep
        contact = make.contact(account, email="later@example.org")
        schedule(client, contact, attendees=[f"contact:{contact.id}"])
        row = db.session.scalar(sa.select(OutboxMessage))
        db.session.refresh(row)
        assert row.status == "pending" and "unavailable" in row.last_error
        sink.start()
        clock.shift(timedelta(minutes=5))
        tasks.sweep(60)
        db.session.refresh(row)
        assert row.status == "sent"
        assert [r for r, _ in sink.messages] == [["later@example.org"]]
    finally:
        app.config["SMTP_URL"] = None
        if sink.controller._thread is not None:
            sink.stop()


def test_jobs_take_ids_only(app):
    from datetime import datetime

    from webapp import jobs
    with app.app_context(), pytest.raises(TypeError):
        jobs.enqueue("worker.jobs.send_message", datetime(2026, 1, 1))


def test_a_batch_of_invitations_shares_one_mail_server_connection(client, rep, make, db, smtp):
    account, _ = rep
    contacts = [make.contact(account, email=f"guest{i}@example.org") for i in range(5)]
    schedule(client, contacts[0], attendees=[f"contact:{c.id}" for c in contacts])
    assert sorted(r[0] for r, _ in smtp.messages) == sorted(c.email for c in contacts)
    assert len(set(smtp.peers)) == 1  # one connection, five messages
    assert len({m["Message-ID"] for _, m in smtp.messages}) == 5
    statuses = db.session.scalars(sa.select(OutboxMessage.status)).all()
    assert statuses == ["sent"] * 5


def test_a_refusal_inside_a_batch_touches_only_its_message(client, rep, make, db, smtp):
    account, _ = rep
    contacts = [make.contact(account, email=f"guest{i}@example.org") for i in range(4)]
    smtp.refuse_recipients = {"guest1@example.org": "550 5.1.1 No such user"}
    schedule(client, contacts[0], attendees=[f"contact:{c.id}" for c in contacts])
    rows = {r.recipient_email: r for r in db.session.scalars(sa.select(OutboxMessage))}
    assert rows["guest1@example.org"].status == "failed"
    assert "No such user" in rows["guest1@example.org"].last_error
    assert {e: r.status for e, r in rows.items() if e != "guest1@example.org"} == {
        "guest0@example.org": "sent", "guest2@example.org": "sent", "guest3@example.org": "sent"}
    assert sorted(r[0] for r, _ in smtp.messages) == [
        "guest0@example.org", "guest2@example.org", "guest3@example.org"]
    # The refused message dropped the connection; the rest of the batch opened a new one.
    assert len(set(smtp.peers)) == 2


def test_a_batch_job_run_twice_sends_each_message_once(client, rep, make, db, smtp,
                                                       monkeypatch):
    from worker import jobs as worker_jobs
    account, _ = rep
    contacts = [make.contact(account) for _ in range(3)]
    monkeypatch.setattr("webapp.jobs.enqueue", lambda *a, **k: True)  # keep them pending
    schedule(client, contacts[0], attendees=[f"contact:{c.id}" for c in contacts])
    ids = db.session.scalars(sa.select(OutboxMessage.id)).all()
    assert len(ids) == 3 and smtp.messages == []
    assert worker_jobs.send_messages(*ids) == {"sent": 3}
    assert worker_jobs.send_messages(*ids) == {"not-claimed": 3}
    assert len(smtp.messages) == 3


def test_the_sweep_wakes_when_the_next_reminder_is_due(client, rep, make, db):
    account, user = rep
    assert reminder_sweep.seconds_to_next_reminder(15) == 15  # nothing pending
    start = utcnow() + timedelta(days=1)
    meeting = Meeting(account_id=account.id, title="Soon", start_at=start,
                      end_at=start + timedelta(minutes=30), timezone="UTC", host_id=user.id,
                      organizer_id=user.id)
    meeting.reminders = [Reminder(amount=1, unit="days", due_at=utcnow() + timedelta(seconds=6)),
                         Reminder(amount=2, unit="days", due_at=utcnow() + timedelta(hours=1))]
    db.session.add(meeting)
    db.session.commit()
    assert 4 < reminder_sweep.seconds_to_next_reminder(15) <= 6
    assert reminder_sweep.seconds_to_next_reminder(3) == 3  # not due within the interval
    meeting.reminders[0].due_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert reminder_sweep.seconds_to_next_reminder(15) == 0
    meeting.reminders[0].sent_at = utcnow()
    db.session.commit()
    assert reminder_sweep.seconds_to_next_reminder(15) == 15


@pytest.mark.committing  # threads with sessions of their own
def test_overlapping_batches_in_parallel_send_each_message_once(app, client, rep, make, db,
                                                                smtp, monkeypatch):
    from worker import jobs as worker_jobs
    account, _ = rep
    contacts = [make.contact(account) for _ in range(6)]
    monkeypatch.setattr("webapp.jobs.enqueue", lambda *a, **k: True)  # keep them pending
    schedule(client, contacts[0], attendees=[f"contact:{c.id}" for c in contacts])
    ids = db.session.scalars(sa.select(OutboxMessage.id).order_by(OutboxMessage.id)).all()
    assert len(ids) == 6
    results = []

    def run(batch):
        with app.app_context():
            results.append(worker_jobs.send_messages(*batch))

    # Three workers handed overlapping batches (a relay re-run after a lost queue).
    threads = [threading.Thread(target=run, args=(b,))
               for b in (ids[:4], ids[2:], list(reversed(ids)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.get("sent", 0) for r in results) == 6
    assert sorted(r[0][0] for r in smtp.messages) == sorted(c.email for c in contacts)
    assert db.session.scalars(sa.select(OutboxMessage.status)).all() == ["sent"] * 6


def test_a_batch_reads_its_meetings_once_and_sends_each_message_on_its_own(
        app, client, rep, make, db, smtp, monkeypatch, count_queries):
    """Four meetings of three attendees: the batch's rows and meetings are read in a fixed
    number of queries, then each message is one status UPDATE and its commit."""
    from worker import jobs as worker_jobs
    account, _ = rep
    monkeypatch.setattr("webapp.jobs.enqueue", lambda *a, **k: True)  # keep them pending
    for n in range(4):
        contacts = [make.contact(account) for _ in range(3)]
        schedule(client, contacts[0], title=f"Batch {n}",
                 attendees=[f"contact:{c.id}" for c in contacts])
    ids = db.session.scalars(sa.select(OutboxMessage.id).order_by(OutboxMessage.id)).all()
    assert len(ids) == 12
    with count_queries() as counter:
        assert worker_jobs.send_messages(*ids) == {"sent": 12}
    per_message = [s for s in counter.statements if s.lstrip().upper().startswith("UPDATE")]
    assert len(per_message) == 1 + 12  # the claim, then one status each
    assert counter.count - 2 * 12 <= 8, counter.statements  # a fixed number to read
    assert sorted(r[0][0] for r in smtp.messages) == sorted(
        db.session.scalars(sa.select(OutboxMessage.recipient_email)).all())


def test_a_message_that_cannot_be_built_fails_visibly_and_the_rest_go(
        client, rep, make, db, smtp, monkeypatch):
    from webapp.delivery import messages
    account, _ = rep
    contacts = [make.contact(account, email=f"b{i}@example.org") for i in range(3)]
    real_build = messages.build

    def build(row, meeting):
        if row.recipient_email == "b1@example.org":
            raise ValueError("a template error")
        return real_build(row, meeting)

    monkeypatch.setattr(messages, "build", build)
    schedule(client, contacts[0], attendees=[f"contact:{c.id}" for c in contacts])
    rows = {r.recipient_email: r for r in db.session.scalars(sa.select(OutboxMessage))}
    assert rows["b1@example.org"].status == "failed"
    assert "a template error" in rows["b1@example.org"].last_error
    assert sorted(r[0][0] for r in smtp.messages) == ["b0@example.org", "b2@example.org"]
    assert rows["b0@example.org"].status == rows["b2@example.org"].status == "sent"


def test_long_lines_and_chinese_text_are_encoded_for_smtp(client, rep, make, db, smtp):
    """No line of the message on the wire is over 998 octets (RFC 5322), whatever the
    description holds, and the text parts decode back to it."""
    account, _ = rep
    contact = make.contact(account, first_name="陳", last_name="大文", email="chen@example.org")
    long_ascii = "https://example.org/" + "a" * 1500
    schedule(client, contact, title="定價討論", attendees=[f"contact:{contact.id}"],
             description_html=f"<p>{long_ascii}</p><p>{'長' * 600}</p>")
    (rcpts, msg), = smtp.messages
    raw = msg.as_bytes()
    assert max(len(line) for line in raw.split(b"\n")) <= 998
    assert msg["Subject"] == "Invitation: 定價討論"
    assert msg["To"].addresses[0].display_name == "陳 大文"
    text = msg.get_body(("plain",)).get_content()
    assert long_ascii in text and "長" * 600 in text
    check_imip(msg, "REQUEST")


def test_an_idle_sweep_sleeps_its_interval(app, db):
    """With nothing due, the sweep asks to sleep the whole interval: a step that returned
    a count (0 sent) once read as "work now" and spun every worker's sweep every 50 ms,
    taking rows another process had just queued."""
    assert tasks.sweep(15.0) == 15.0
    for _order, name, step in tasks._SWEEPS:
        assert step(15.0) in (None, 15.0), name
