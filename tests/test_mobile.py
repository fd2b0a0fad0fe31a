"""The phone flow (M1-M3), "Continue and send?", @mentions and notifications, availability,
attendees' local times (X8), video conferences on the phone (X4: the confirmation step
never calls a provider) and the guard against a double "Continue and send"."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests import test_conferencing
from tests.clock import clock_edges
from tests.meeting_helpers import future_day, schedule
from tests.test_conferencing import ext_app, google_connect, texts, unfold, zoom_connect
from webapp.conferencing.models import ConferenceTask, ZoomConnection
from webapp.delivery.models import OutboxMessage
from webapp.mail.models import CapturedMail
from webapp.meetings.models import Meeting, MeetingSubmission, MeetingType
from webapp.notifications import emails as notification_emails
from webapp.notifications import operations as notify_ops
from webapp.notifications.models import Notification
from webapp.types import utcnow

#: The video stand-ins (Zoom, Google, the README's extension app) of the conferencing tests.
servers, vc = test_conferencing.servers, test_conferencing.vc


def counts(db):
    return tuple(db.session.scalar(sa.select(sa.func.count(model.id)))
                 for model in (Meeting, OutboxMessage, Notification, CapturedMail))


@pytest.fixture()
def team(make, login):
    account = make.account(timezone="America/New_York", custom_meeting_types_enabled=True)
    rep = login(make.user(account, name="Rita Rep", email="rita@acme.example",
                          timezone="America/New_York"))
    alex = make.user(account, name="Alex Account-Exec", email="alex@acme.example",
                     timezone="Asia/Taipei", locale="zh_Hant")
    contact = make.contact(account, first_name="Giulia", last_name="Rossi",
                           email="giulia@example.org", timezone="Europe/Berlin")
    return account, rep, alex, contact


def phone_form(contact, **overrides) -> dict:
    day = future_day(10).isoformat()
    data = {"title": "Kick-off", "description_text": "Agenda:\nintro\n\nnext steps",
            "description_text_orig": "", "description_html_orig": "",
            "internal_note_text": "", "internal_note_text_orig": "", "internal_note_html_orig": "",
            "start_date": day, "start_time": "10:00", "end_date": day, "end_time": "10:30",
            "timezone": "America/New_York", "location_kind": "none", "location_value": "",
            "attendees": [f"contact:{contact.id}"], "associations": [f"contact:{contact.id}"],
            "reminder_amount": ["", "", ""], "reminder_unit": ["hours"] * 3}
    data.update(overrides)
    return data


def new_url(contact) -> str:
    return f"/m/meetings/new?record_type=contact&record_id={contact.id}"


def digest_of(html: str) -> str:
    return re.search(r'name="confirmed" value="([0-9a-f]+)"', html).group(1)


def confirmation(html: str) -> dict:
    """What "Continue and send" posts besides the form: the recipients' digest and the
    page's idempotency key."""
    key = re.search(r'name="submission_key" value="([\w-]+)"', html).group(1)
    return {"confirm": "1", "confirmed": digest_of(html), "submission_key": key}


def test_record_page_offers_more_then_meeting_on_phones(client, team):
    _account, _rep, _alex, contact = team
    html = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert 'class="menu more-menu only-phone"' in html
    assert f'href="/m/meetings/new?record_type=contact&amp;record_id={contact.id}"' in html
    # The desktop keeps its scheduler button (hidden below 800 px by CSS).
    assert 'class="btn btn-primary only-desktop" id="schedule-meeting"' in html


@clock_edges
def test_phone_form_has_native_pickers_and_defaults(client, team):
    _account, _rep, _alex, contact = team
    html = client.get(new_url(contact)).get_data(as_text=True)
    for name, kind in (("start_date", "date"), ("start_time", "time"), ("end_date", "date"),
                       ("end_time", "time")):
        assert re.search(rf'id="{name}" name="{name}" type="{kind}"', html), name
    assert f'name="attendees" value="contact:{contact.id}"' in html  # the record's contact
    assert f'name="associations" value="contact:{contact.id}"' in html
    assert 'id="meeting_type_id"' in html  # types are on for this account
    assert 'id="check-availability"' in html and 'id="internal_note_text"' in html
    for label in ("Title", "Description", "Location details", "Internal note"):
        assert f">{label}</label>" in html, label


@clock_edges
def test_save_asks_continue_and_send_and_sends_nothing_until_confirmed(client, team, db):
    account, rep, alex, contact = team
    data = phone_form(contact, internal_note_text="@Alex Account-Exec please join")
    first = client.post(new_url(contact), data=data)
    assert first.status_code == 200
    html = first.get_data(as_text=True)
    assert "Continue and send?" in html and "Nothing has been saved or sent yet." in html
    assert "Giulia Rossi" in html and "giulia@example.org" in html
    assert "Alex Account-Exec" in html  # named as mentioned
    assert counts(db) == (0, 0, 0, 0)

    # "Back to edit" re-opens the form with what was typed; still nothing saved.
    back = client.post(new_url(contact), data={**data, "back": "1"})
    assert back.status_code == 200 and 'value="Kick-off"' in back.get_data(as_text=True)
    assert counts(db) == (0, 0, 0, 0)

    # Cancel is a link back to the record: it posts nothing.
    assert f'href="/contacts/{contact.id}" id="confirm-cancel"' in html

    # Confirm: saved, invitation queued and sent (eager jobs, dev mailbox), Alex notified.
    done = client.post(new_url(contact), data={**data, **confirmation(html)})
    assert done.status_code == 302 and done.headers["Location"] == f"/contacts/{contact.id}"
    meeting = db.session.scalar(sa.select(Meeting))
    assert meeting.title == "Kick-off" and meeting.source == "phone"
    assert meeting.description_html == "<p>Agenda:<br>intro</p><p>next steps</p>"
    assert [r.recipient_email for r in db.session.scalars(sa.select(OutboxMessage))] == [
        "giulia@example.org"]
    mails = db.session.scalars(sa.select(CapturedMail).order_by(CapturedMail.id)).all()
    assert sorted(m.recipients for m in mails) == [
        "Alex Account-Exec <alex@acme.example>", "Giulia Rossi <giulia@example.org>"]
    note = db.session.scalar(sa.select(Notification))
    assert (note.user_id, note.actor_id, note.meeting_id) == (alex.id, rep.id, meeting.id)
    assert note.email_status == "sent"
    mention_mail = next(m for m in mails if "alex@" in m.recipients)
    assert "Rita Rep" in mention_mail.subject and "Kick-off" in mention_mail.subject
    assert "提及" in mention_mail.subject  # Alex reads Traditional Chinese


def test_confirmation_with_a_stale_recipient_list_asks_again(client, team, db):
    account, _rep, _alex, contact = team
    data = phone_form(contact)
    html = client.post(new_url(contact), data=data).get_data(as_text=True)
    other = type(contact)(account_id=account.id, first_name="Late", last_name="Comer",
                          email="late@example.org")
    db.session.add(other)
    db.session.commit()
    again = client.post(new_url(contact), data={
        **data, "attendees": [f"contact:{contact.id}", f"contact:{other.id}"],
        **confirmation(html)})
    assert again.status_code == 200
    text = again.get_data(as_text=True)
    assert "changed since you last looked" in text and "late@example.org" in text
    assert counts(db) == (0, 0, 0, 0)


def test_bad_input_is_refused_at_the_field(client, team, db):
    _account, _rep, _alex, contact = team
    r = client.post(new_url(contact), data=phone_form(contact, title="", end_time="09:00"))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'id="title-error"' in html and 'id="end-error"' in html
    assert "Nothing was saved or sent" in html
    assert counts(db) == (0, 0, 0, 0)
    r = client.post(new_url(contact), data=phone_form(contact, confirm="1", confirmed="x",
                                                      location_kind="phone",
                                                      location_value="not a number"))
    assert r.status_code == 422 and 'id="location_value-error"' in r.get_data(as_text=True)
    assert counts(db) == (0, 0, 0, 0)


def test_an_unknown_mention_is_refused_at_the_note(client, team, db):
    """A typo in an @mention would notify nobody without a word: the note says so, 422,
    nothing saved or sent. A known name, an email address or a plain "@ 10:00" pass."""
    _account, _rep, _alex, contact = team
    r = client.post(new_url(contact), data=phone_form(
        contact, internal_note_text="@Alex Account-Exec and @Alexis, please prep"))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'id="internal_note_html-error"' in html and "@Alexis" in html
    assert "Nothing was saved or sent" in html
    assert 'aria-invalid="true" aria-describedby="note-help internal_note_html-error"' in html
    assert counts(db) == (0, 0, 0, 0)
    r = client.post(new_url(contact), data=phone_form(
        contact, internal_note_text="@Alex Account-Exec: mail giulia@example.org @ 10:00"))
    assert r.status_code == 200 and "Continue and send?" in r.get_data(as_text=True)
    assert counts(db) == (0, 0, 0, 0)


def test_a_text_box_with_help_names_its_error_too(client, team, db):
    """The description and the note have a help line: an error must join it in the one
    aria-describedby (a second attribute is dropped by the browser, so a screen reader
    would never hear the error)."""
    _account, _rep, _alex, contact = team
    r = client.post(new_url(contact), data=phone_form(
        contact, internal_note_text="ask @Nobody", description_text="x" * 20_001))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    for box, help_id, error_id in (("internal_note_text", "note-help", "internal_note_html-error"),
                                   ("description_text", "description-help",
                                    "description_html-error")):
        tag = re.search(rf'<textarea id="{box}"[^>]*>', html).group(0)
        assert tag.count("aria-describedby=") == 1, tag
        described = re.search(r'aria-describedby="([^"]*)"', tag).group(1).split()
        assert help_id in described and error_id in described, tag
        assert f'id="{error_id}"' in html


def test_an_unknown_mention_already_in_the_note_does_not_block_an_edit(client, team, db):
    _account, _rep, _alex, contact = team
    r = schedule(client, contact, attendees=[], internal_note_html="<p>ask</p>")
    assert r.status_code == 302
    meeting = db.session.scalar(sa.select(Meeting))
    meeting.internal_note_html = "<p>ask @Former Colleague</p>"  # who has left the account
    db.session.commit()
    html = client.get(f"/m/meetings/{meeting.id}/edit").get_data(as_text=True)
    form = dict(re.findall(r'<input type="hidden" name="(\w+_orig)" value="([^"]*)"', html))
    form = {k: v.replace("&lt;", "<").replace("&gt;", ">") for k, v in form.items()}
    data = phone_form(contact, attendees=[], title="Renamed",
                      internal_note_text="ask @Former Colleague", **form)
    r = client.post(f"/m/meetings/{meeting.id}/edit", data=data)
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]
    assert db.session.get(Meeting, meeting.id).title == "Renamed"
    data["internal_note_text"] = "ask @Former Colleague and @Nobody"
    r = client.post(f"/m/meetings/{meeting.id}/edit", data=data)
    assert r.status_code == 422 and "@Nobody" in r.get_data(as_text=True)

def test_meeting_without_recipients_is_saved_without_asking(client, team, db):
    _account, _rep, _alex, contact = team
    r = client.post(new_url(contact), data=phone_form(contact, attendees=[]))
    assert r.status_code == 302
    assert counts(db)[:2] == (1, 0)


def schedule_on_phone(client, contact, **overrides) -> Meeting:
    data = phone_form(contact, **overrides)
    r = client.post(new_url(contact), data=data)
    if r.status_code == 200:  # "Continue and send?"
        r = client.post(new_url(contact),
                        data={**data, **confirmation(r.get_data(as_text=True))})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    from webapp.extensions import db
    return db.session.scalar(sa.select(Meeting).order_by(Meeting.id.desc()))


def test_edit_on_phone_keeps_desktop_formatting_and_confirms_updates(client, team, db):
    account, _rep, _alex, contact = team
    r = schedule(client, contact, attendees=[f"contact:{contact.id}"],
                 description_html="<p><b>Bold</b> agenda</p>")
    assert r.status_code == 302
    meeting = db.session.scalar(sa.select(Meeting))
    page = client.get(f"/m/meetings/{meeting.id}/edit?return_to=/contacts/{contact.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'value="Kick-off"' in html
    form = {
        "title": "Kick-off", "description_text": "Bold agenda",
        "description_text_orig": "Bold agenda", "description_html_orig": "<p><b>Bold</b> agenda</p>",
        "internal_note_text": "", "internal_note_text_orig": "", "internal_note_html_orig": "",
        "start_date": future_day().isoformat(), "start_time": "10:00",
        "end_date": future_day().isoformat(),
        "end_time": "10:30", "timezone": "America/New_York", "location_kind": "none",
        "attendees": [f"contact:{contact.id}"], "associations": [f"contact:{contact.id}"],
        "return_to": f"/contacts/{contact.id}"}
    before = counts(db)
    # Nothing attendees see changed: saved at once, no confirmation, nothing sent.
    r = client.post(f"/m/meetings/{meeting.id}/edit", data=form)
    assert r.status_code == 302 and r.headers["Location"] == f"/contacts/{contact.id}"
    db.session.expire_all()
    meeting = db.session.get(Meeting, meeting.id)
    assert meeting.description_html == "<p><b>Bold</b> agenda</p>" and meeting.sequence == 0
    assert counts(db) == before
    # A new time: "Continue and send?" names the update's recipient; then it is sent.
    moved = {**form, "start_time": "14:00", "end_time": "15:00"}
    html = client.post(f"/m/meetings/{meeting.id}/edit", data=moved).get_data(as_text=True)
    assert "Continue and send?" in html and "giulia@example.org" in html and "Update" in html
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).sequence == 0
    r = client.post(f"/m/meetings/{meeting.id}/edit",
                    data={**moved, **confirmation(html)})
    assert r.status_code == 302
    db.session.expire_all()
    meeting = db.session.get(Meeting, meeting.id)
    assert meeting.sequence == 1 and meeting.start_at.astimezone().hour is not None
    kinds = [m.kind for m in db.session.scalars(sa.select(OutboxMessage).order_by(
        OutboxMessage.id))]
    assert kinds == ["invite", "update"]


def test_outcome_on_phone(client, team, db):
    _account, _rep, _alex, contact = team
    meeting = schedule_on_phone(client, contact)
    html = client.get(f"/m/meetings/{meeting.id}/outcome").get_data(as_text=True)
    assert 'type="radio" name="outcome" value="completed"' in html
    r = client.post(f"/m/meetings/{meeting.id}/outcome",
                    data={"outcome": "completed", "return_to": f"/contacts/{contact.id}"})
    assert r.status_code == 302 and r.headers["Location"] == f"/contacts/{contact.id}"
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).outcome == "completed"
    r = client.post(f"/m/meetings/{meeting.id}/outcome", data={"outcome": "bogus"})
    assert r.status_code == 422 and 'id="outcome-error"' in r.get_data(as_text=True)
    # The timeline item's menu, loaded when it is opened (#24), leads to both phone pages.
    timeline = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    menu_url = f"/meetings/{meeting.id}/actions?return_to=/contacts/{contact.id}"
    assert f'hx-get="{menu_url}"' in timeline
    menu = client.get(menu_url).get_data(as_text=True)
    assert f"/m/meetings/{meeting.id}/edit?return_to=/contacts/{contact.id}" in menu
    assert f"/m/meetings/{meeting.id}/outcome?return_to=/contacts/{contact.id}" in menu


@clock_edges
def test_availability_lists_the_week_and_flags_conflicts(client, team, make, db):
    account, rep, _alex, contact = team
    day = future_day(10)
    schedule(client, contact, title="Existing call", start_date=day, start_time="10:00",
             end_time="11:00", attendees=[f"contact:{contact.id}"])
    query = f"start_date={day}&start_time=10:30&end_date={day}&end_time=11:30" \
            "&timezone=America/New_York"
    r = client.get(f"/m/meetings/availability?{query}",
                   headers={"HX-Request": "true", "HX-Target": "availability"})
    html = r.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="availability"')
    assert "Existing call" in html and 'id="availability-conflict"' in html
    free = client.get(f"/m/meetings/availability?start_date={day}&start_time=15:00"
                      f"&end_date={day}&end_time=15:30&timezone=America/New_York",
                      headers={"HX-Request": "true", "HX-Target": "availability"})
    assert 'id="availability-free"' in free.get_data(as_text=True)
    # Without htmx it is a whole page.
    assert "<html" in client.get(f"/m/meetings/availability?{query}").get_data(as_text=True)
    # Another account's user is not a host one may look at.
    stranger = make.user(make.account())
    assert client.get(f"/m/meetings/availability?host_id={stranger.id}").status_code == 404


def test_mention_type_ahead_lists_only_this_accounts_users(client, team, make):
    _account, _rep, alex, _contact = team
    make.user(make.account(), name="Alexandra Elsewhere")
    html = client.get("/meetings/mentions?mention_q=alex").get_data(as_text=True)
    assert 'data-name="Alex Account-Exec"' in html and "Elsewhere" not in html
    assert html.lstrip().startswith('<div id="mention-results"')


def test_mentions_match_full_names_longest_first(team, make, db):
    account, rep, alex, _contact = team
    dana = make.user(account, name="Dana")
    make.user(account, name="Dana Demo")
    found = notify_ops.mentioned_users(account.id, "<p>ask @dana demo and @Alex Account-Exec, "
                                                   "not @Alexis or alex@acme.example</p>")
    assert [u.name for u in found] == ["Dana Demo", "Alex Account-Exec"]
    assert [u.id for u in notify_ops.mentioned_users(account.id, "hi @Dana!")] == [dana.id]


def test_local_times_warn_outside_working_hours(client, team, make):
    account, _rep, _alex, contact = team
    tokyo = make.contact(account, first_name="Kenji", last_name="Ito", timezone="Asia/Tokyo")
    nozone = make.contact(account, first_name="No", last_name="Zone", timezone=None)
    foreign = make.contact(make.account(), first_name="Not", last_name="Mine")
    day = future_day(10)
    query = (f"start_date={day}&start_time=10:00&end_time=10:30&timezone=America/New_York"
             f"&attendees=contact:{contact.id}&attendees=contact:{tokyo.id}"
             f"&attendees=contact:{nozone.id}&attendees=contact:{foreign.id}")
    html = client.get(f"/meetings/local-times?{query}").get_data(as_text=True)
    assert html.lstrip().startswith('<div id="attendee-local-times"')
    items = re.findall(r'<li class="local-time( outside-hours)?" data-contact="(\d+)"', html)
    # Berlin 16:00 is fine; Tokyo is 23:00 or midnight; the account zone is assumed for
    # a contact without one; another account's contact is not shown.
    assert items == [("", str(contact.id)), (" outside-hours", str(tokyo.id)),
                     ("", str(nozone.id))]
    assert "Outside Kenji Ito’s working hours (08:00–20:00)" in html
    assert "account time zone assumed" in html and "Not Mine" not in html
    # No slot yet: a hint, no times.
    hint = client.get(f"/meetings/local-times?attendees=contact:{contact.id}").get_data(
        as_text=True)
    assert "local time" in hint and "data-contact" not in hint


def test_desktop_scheduler_shows_local_times_and_notifies_mentions(client, team, db):
    _account, rep, alex, contact = team
    html = client.get(f"/meetings/new?record_type=contact&record_id={contact.id}").get_data(
        as_text=True)
    assert 'id="attendee-local-times"' in html and "/meetings/local-times" in html
    schedule(client, contact, attendees=[f"contact:{contact.id}"],
             internal_note_html="<p>@Alex Account-Exec FYI</p>")
    meeting = db.session.scalar(sa.select(Meeting))
    assert [(n.user_id, n.meeting_id) for n in db.session.scalars(sa.select(Notification))] == [
        (alex.id, meeting.id)]
    # Mentioning again on an edit does not notify twice; yourself never.
    notify_ops.notify_mentions(meeting, rep, meeting.internal_note_html)
    meeting.internal_note_html = "<p>@Alex Account-Exec @Rita Rep</p>"
    assert notify_ops.notify_mentions(meeting, rep, "<p>@Alex Account-Exec FYI</p>") == []


def test_bell_notifications_page_and_open(client, team, make, login, db):
    account, rep, alex, contact = team
    meeting = schedule_on_phone(client, contact,
                                internal_note_text="@Alex Account-Exec see this")
    client.post("/logout")
    login(alex)
    page = client.get("/contacts").get_data(as_text=True)
    assert 'id="notification-bell"' in page and 'class="bell-count" aria-hidden="true">1<' in page
    html = client.get("/notifications").get_data(as_text=True)
    note = db.session.scalar(sa.select(Notification))
    assert "Rita Rep" in html and "Kick-off" in html
    r = client.post(f"/notifications/{note.id}/open")
    assert r.status_code == 302 and r.headers["Location"] == f"/meetings/{meeting.id}"
    db.session.expire_all()
    assert db.session.get(Notification, note.id).read_at is not None
    assert "bell-count" not in client.get("/contacts").get_data(as_text=True)
    # A teammate in the same account cannot open Alex's notification.
    client.post("/logout")
    login(make.user(account))
    assert client.post(f"/notifications/{note.id}/open").status_code == 404
    client.post("/notifications/read")
    db.session.expire_all()


def test_notification_email_is_sent_once_and_retried_by_the_sweep(app, client, team, db, smtp):
    _account, _rep, alex, contact = team
    smtp.refuse_with = "451 try later"
    schedule_on_phone(client, contact, attendees=[],
                      internal_note_text="@Alex Account-Exec hello")
    note = db.session.scalar(sa.select(Notification))
    assert note.email_status == "pending" and note.email_attempts == 1
    smtp.refuse_with = None
    note.email_next_attempt_at = note.created_at  # due now
    db.session.commit()
    assert notification_emails.sweep_emails() == 1
    assert notification_emails.send_email(note.id) == "not-claimed"  # already sent: never twice
    assert notification_emails.sweep_emails() == 0
    got = [(rcpt, msg["Subject"]) for rcpt, msg in smtp.messages]
    assert len(got) == 1 and got[0][0] == ["alex@acme.example"]
    body = smtp.messages[0][1].get_body(("plain",)).get_content()
    assert "http://parley.test/meetings/" in body and "hello" in body
    # Alex's zone and language, worded as the invitations are: no seconds, the zone once.
    assert "(Asia/Taipei, GMT+08:00)" in body and body.count("Asia/Taipei") == 1
    assert not re.search(r"\d:\d\d:\d\d", body), body


def test_meeting_type_is_saved_from_the_phone(client, team, db):
    account, _rep, _alex, contact = team
    mtype = MeetingType(account_id=account.id, name="Demo")
    db.session.add(mtype)
    db.session.commit()
    meeting = schedule_on_phone(client, contact, meeting_type_id=str(mtype.id),
                                location_kind="in_person", location_value="1 Main St")
    assert meeting.meeting_type_id == mtype.id and meeting.location_value == "1 Main St"


# --- X4: video conferences on the phone ------------------------------------------------------

@pytest.fixture()
def video_team(make, login):
    """A rep whose address the video stand-ins know, a contact and a colleague."""
    account = make.account(timezone="America/New_York")
    rep = login(make.user(account, name="Rita Rep", email="rep@acme.example",
                          timezone="America/New_York", role="admin"))
    contact = make.contact(account, first_name="Giulia", last_name="Rossi",
                           email="giulia@example.org", timezone="Europe/Berlin")
    colleague = make.user(account, name="Cole League", email="cole@acme.example")
    return account, rep, contact, colleague


def video_form(contact, provider: str, **overrides) -> dict:
    return phone_form(contact, location_kind="video", video_provider=provider, **overrides)


def ask(client, url: str, data: dict) -> str:
    """The first POST: the "Continue and send?" page."""
    r = client.post(url, data=data)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Continue and send?" in html, html[:3000]
    return html


def creates(ext) -> int:
    return ext.paths().count("/create")


def test_phone_form_offers_video_with_the_hosts_providers(client, video_team, vc, db):
    account, _rep, contact, _colleague = video_team
    app = ext_app(db, account, vc["ext_url"])
    html = client.get(new_url(contact)).get_data(as_text=True)
    assert '<option value="video" >Video conference</option>' in html
    assert 'id="video-options" data-video-options hidden' in html  # until video is chosen
    assert '<option value="jitsi" >Jitsi Meet</option>' in html
    assert f'<option value="app:{app.id}" >Acme Video</option>' in html
    assert 'value="zoom"' not in html  # not connected
    zoom_connect(client)
    assert 'value="zoom"' in client.get(new_url(contact)).get_data(as_text=True)
    # Back to edit with video chosen: the select shows, the free-text location hides.
    back = client.post(new_url(contact), data={**video_form(contact, "jitsi"), "back": "1"})
    page = back.get_data(as_text=True)
    assert 'data-video-options >' in page and 'data-location-text hidden' in page
    assert '<option value="jitsi" selected>' in page


def test_confirmation_never_calls_the_provider_and_confirm_creates_once(
        client, video_team, vc, db, smtp):
    account, _rep, contact, colleague = video_team
    ext = vc["ext"]
    app = ext_app(db, account, vc["ext_url"])
    data = video_form(contact, f"app:{app.id}",
                      attendees=[f"contact:{contact.id}", f"user:{colleague.id}"])
    html = ask(client, new_url(contact), data)
    # S16 is checked (a verify call); nothing is created, so nothing can leak.
    assert ext.paths() == ["/verify"]
    assert "Video conference (Acme Video)" in html
    assert "The video link will be created when you send" in html
    assert counts(db) == (0, 0, 0, 0)
    assert db.session.scalar(sa.select(sa.func.count(ConferenceTask.id))) == 0
    assert smtp.messages == []

    done = client.post(new_url(contact), data={**data, **confirmation(html)})
    assert done.status_code == 302 and done.headers["Location"] == f"/contacts/{contact.id}"
    assert creates(ext) == 1 and "/delete" not in ext.paths()
    meeting = db.session.scalar(sa.select(Meeting))
    url = meeting.conference_url
    assert meeting.conference_status == "ready" and meeting.location_value == url
    assert url.startswith("https://video.example.com/")
    # The join link everywhere, as on the desktop: invitations, meeting page, timeline.
    sent = texts(smtp)
    assert sorted(t[0] for t in sent) == ["cole@acme.example", "giulia@example.org"]
    for _rcpt, text, ics in sent:
        assert f"Join the video conference: {url}" in text and f"LOCATION:{url}" in unfold(ics)
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert f'id="join-link" href="{url}"' in page and "Acme Video" in page
    timeline = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert f'class="join-link" href="{url}"' in timeline


def test_zoom_dry_run_creates_updates_and_deletes_nothing(client, video_team, vc, db, smtp):
    _account, _rep, contact, _colleague = video_team
    zoom = vc["zoom"]
    zoom_connect(client)

    def writes():
        return [(c[0], c[1]) for c in zoom.calls if c[0] != "GET"]

    data = video_form(contact, "zoom")
    html = ask(client, new_url(contact), data)
    assert writes() == [] and zoom.events == {}
    assert ("GET", "/v2/users/me") in [(c[0], c[1]) for c in zoom.calls]  # S16 verify
    assert "Video conference (Zoom)" in html
    client.post(new_url(contact), data={**data, **confirmation(html)})
    assert writes() == [("POST", "/v2/users/me/meetings")] and len(zoom.events) == 1
    meeting = db.session.scalar(sa.select(Meeting))
    assert meeting.location_value.startswith("https://zoom.example/j/")
    zoom_id, edit_url = meeting.conference_id, f"/m/meetings/{meeting.id}/edit"
    form = client.get(edit_url).get_data(as_text=True)
    assert '<option value="video" selected>' in form and '<option value="zoom" selected>' in form
    assert 'data-location-text hidden' in form

    # Moving it: the confirmation names the update and changes nothing at Zoom...
    moved = {**data, "start_time": "14:00", "end_time": "15:00"}
    html = ask(client, edit_url, moved)
    assert writes() == [("POST", "/v2/users/me/meetings")]
    assert meeting.location_value in html  # the existing link stays
    # ...confirming moves the Zoom meeting once (the update task, after the commit).
    client.post(edit_url, data={**moved, **confirmation(html)})
    assert writes()[1:] == [("PATCH", f"/v2/meetings/{zoom_id}")]

    # Switching to Jitsi: the old Zoom meeting is deleted only once confirmed.
    switched = {**moved, "video_provider": "jitsi"}
    html = ask(client, edit_url, switched)
    assert len(writes()) == 2 and len(zoom.events) == 1
    assert "Video conference (Jitsi Meet)" in html and "will be created when you send" in html
    client.post(edit_url, data={**switched, **confirmation(html)})
    assert writes()[2:] == [("DELETE", f"/v2/meetings/{zoom_id}")]
    assert zoom.events == {}
    db.session.expire_all()
    meeting = db.session.get(Meeting, meeting.id)
    assert meeting.conference_provider == "jitsi"
    assert meeting.location_value.startswith("https://meet.jit.si/Parley-")


@pytest.mark.committing  # the grant store commits on a connection of its own (webapp/grants.py)
def test_a_token_refreshed_during_the_check_is_kept(client, video_team, vc, db):
    """The dry run is rolled back; a Zoom token validation refreshed must not be."""
    _account, _rep, contact, _colleague = video_team
    zoom = vc["zoom"]
    zoom_connect(client)
    conn = db.session.scalar(sa.select(ZoomConnection))
    conn.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    data = video_form(contact, "zoom")
    html = ask(client, new_url(contact), data)
    assert zoom.refresh_calls == 1
    client.post(new_url(contact), data={**data, **confirmation(html)})
    assert zoom.refresh_calls == 1 and len(zoom.events) == 1


def test_google_meet_dry_run_writes_no_calendar_event(client, video_team, vc, db):
    _account, _rep, contact, _colleague = video_team
    google = vc["google"]
    google_connect(client)
    data = video_form(contact, "google_meet")
    html = ask(client, new_url(contact), data)
    assert google.events == {} and not [c for c in google.calls if c[0] != "GET"]
    client.post(new_url(contact), data={**data, **confirmation(html)})
    assert len(google.events) == 1 and len(google.conferences) == 1


def test_a_refused_link_at_confirm_saves_nothing_and_can_be_retried(client, video_team, vc,
                                                                     db, smtp):
    account, _rep, contact, _colleague = video_team
    ext = vc["ext"]
    app = ext_app(db, account, vc["ext_url"])
    data = video_form(contact, f"app:{app.id}")
    html = ask(client, new_url(contact), data)
    ext.mode = "http"  # the link it answers with is not https
    r = client.post(new_url(contact), data={**data, **confirmation(html)})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "not https" in page and 'id="video_provider-error"' in page
    assert counts(db) == (0, 0, 0, 0) and smtp.messages == []
    assert db.session.scalar(sa.select(sa.func.count(MeetingSubmission.id))) == 0
    # The key was not used up: the same confirmation goes through once the app is fixed.
    ext.mode = None
    r = client.post(new_url(contact), data={**data, **confirmation(html)})
    assert r.status_code == 302 and counts(db)[0] == 1 and len(smtp.messages) == 1


# --- A double "Continue and send" ----------------------------------------------------------

def test_a_second_confirm_of_the_same_page_saves_and_sends_nothing(client, video_team, vc,
                                                                   db, smtp):
    account, _rep, contact, colleague = video_team
    ext = vc["ext"]
    app = ext_app(db, account, vc["ext_url"])
    data = video_form(contact, f"app:{app.id}",
                      attendees=[f"contact:{contact.id}", f"user:{colleague.id}"])
    confirm = {**data, **confirmation(ask(client, new_url(contact), data))}
    first = client.post(new_url(contact), data=confirm)
    second = client.post(new_url(contact), data=confirm)  # a double tap, a retried request
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    meeting = db.session.scalar(sa.select(Meeting))
    assert counts(db)[:2] == (1, 2) and creates(ext) == 1
    assert sorted(rcpts[0] for rcpts, _msg in smtp.messages) == [
        "cole@acme.example", "giulia@example.org"]
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "already saved. Nothing was sent a second time." in page
    submission = db.session.scalar(sa.select(MeetingSubmission))
    assert (submission.meeting_id, submission.account_id) == (meeting.id, account.id)
    # Without a return address it goes to the meeting that was saved.
    bare = {k: v for k, v in confirm.items() if k != "return_to"}
    r = client.post("/m/meetings/new", data=bare)
    assert r.status_code == 302 and r.headers["Location"] == f"/meetings/{meeting.id}"

    # An edit confirmed twice sends one update.
    edit_url = f"/m/meetings/{meeting.id}/edit"
    moved = {**data, "start_time": "14:00", "end_time": "15:00"}
    confirm = {**moved, **confirmation(ask(client, edit_url, moved))}
    smtp.clear()
    assert client.post(edit_url, data=confirm).status_code == 302
    assert client.post(edit_url, data=confirm).status_code == 302
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).sequence == 1
    assert len(smtp.messages) == 2 and counts(db)[:2] == (1, 4)


def test_a_confirm_without_the_pages_key_is_asked_again(client, team, db):
    _account, _rep, _alex, contact = team
    data = phone_form(contact)
    html = ask(client, new_url(contact), data)
    for key in (None, "short", "x" * 65, "<script>alert(1)</script>-padding"):
        fields = {**data, **confirmation(html)}
        if key is None:
            fields.pop("submission_key")
        else:
            fields["submission_key"] = key
        again = client.post(new_url(contact), data=fields)
        assert again.status_code == 200 and "Continue and send?" in again.get_data(as_text=True)
        assert "changed since you last looked" not in again.get_data(as_text=True)
    assert counts(db) == (0, 0, 0, 0)
    # Each confirmation page carries a new key.
    assert confirmation(html)["submission_key"] != confirmation(
        ask(client, new_url(contact), data))["submission_key"]


def test_another_users_key_is_not_theirs(client, team, make, login, db):
    account, _rep, _alex, contact = team
    data = phone_form(contact)
    confirm = {**data, **confirmation(ask(client, new_url(contact), data))}
    assert client.post(new_url(contact), data=confirm).status_code == 302
    client.post("/logout")
    login(make.user(account, email="other@acme.example"))
    # Same key, another user: a meeting of their own, not a redirect to the first one.
    confirm = {**confirm, "confirmed": digest_of(ask(client, new_url(contact), data))}
    assert client.post(new_url(contact), data=confirm).status_code == 302
    assert counts(db)[0] == 2


@pytest.mark.committing  # threads with sessions of their own
def test_two_confirms_at_once_save_one_meeting(app, client, video_team, vc, db, smtp,
                                              monkeypatch):
    """Both POSTs are in flight together (the provider takes 1.2 s a call): the second got
    past the look-up before the first committed, waits on the key's unique constraint and
    is sent to the first one's meeting."""
    from webapp.meetings import submissions

    account, _rep, contact, colleague = video_team
    refused = []
    real_claim = submissions.claim_submission

    def claim(*args):
        try:
            return real_claim(*args)
        except submissions.DuplicateSubmission:
            refused.append(args)
            raise

    monkeypatch.setattr(submissions, "claim_submission", claim)
    ext = vc["ext"]
    ext_link = ext_app(db, account, vc["ext_url"])
    app.config["CONFERENCE_INLINE_TIMEOUT"] = 5
    data = video_form(contact, f"app:{ext_link.id}",
                      attendees=[f"contact:{contact.id}", f"user:{colleague.id}"])
    confirm = {**data, **confirmation(ask(client, new_url(contact), data))}
    ext.mode = "slow"
    session = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    clients = [app.test_client(), app.test_client()]
    for c in clients:  # the same user on two connections
        c.set_cookie(app.config["SESSION_COOKIE_NAME"], session)
    barrier = threading.Barrier(2)
    results: list = []
    url, record_url = new_url(contact), f"/contacts/{contact.id}"

    def post(c):
        barrier.wait()
        r = c.post(url, data=confirm)
        results.append((r.status_code, r.headers.get("Location")))

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    ext.mode = None
    assert results == [(302, record_url)] * 2 and len(refused) == 1
    db.session.expire_all()
    assert counts(db)[:2] == (1, 2) and creates(ext) == 1
    assert sorted(rcpts[0] for rcpts, _msg in smtp.messages) == [
        "cole@acme.example", "giulia@example.org"]
