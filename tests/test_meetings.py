"""Scheduling from records (S1-S15, R2): save, timeline, edit, delete, validation."""

import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.clock import clock_edges
from tests.meeting_helpers import form, future_day, local, schedule
from webapp.delivery.models import OutboxMessage
from webapp.meetings.models import Attachment, Meeting, MeetingType, Reminder


def counts(db):
    return (db.session.scalar(sa.select(sa.func.count(Meeting.id))),
            db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))))


@pytest.fixture()
def rep(make, login):
    account = make.account(timezone="America/New_York")
    user = login(make.user(account, timezone="America/New_York"))
    return account, user


@clock_edges
def test_scheduler_opens_from_record_with_contact_preselected(client, rep, make):
    account, _ = rep
    company = make.company(account, name="Initech")
    contact = make.contact(account, first_name="Peter", last_name="Gibbons", company_id=company.id)
    from webapp.records import operations as ops
    ops.link(account.id, contact, company)
    from webapp.extensions import db
    db.session.commit()
    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert f"/meetings/new?record_type=contact&amp;record_id={contact.id}" in page
    html = client.get(f"/meetings/new?record_type=contact&record_id={contact.id}").get_data(
        as_text=True)
    assert f'name="attendees" value="contact:{contact.id}"' in html
    assert f'name="associations" value="contact:{contact.id}"' in html
    assert f'name="associations" value="company:{company.id}"' in html  # S11 default
    assert 'id="week-calendar"' in html and 'id="toggle-calendar"' in html
    assert "contact’s time zone" in html  # S8 rule shown as help text
    assert 'id="meeting_type_id"' not in html  # S4: off for this account


@pytest.mark.parametrize("kind", ["contact", "company", "deal", "ticket"])
def test_schedule_from_each_record_type_logs_on_every_timeline(client, rep, make, db, kind):
    account, user = rep
    records = {"contact": make.contact(account), "company": make.company(account),
               "deal": make.deal(account), "ticket": make.ticket(account)}
    source = records[kind]
    attendee = records["contact"]
    r = schedule(client, source, title=f"From {kind}", attendees=[f"contact:{attendee.id}"],
                 associations=[f"{t}:{rec.id}" for t, rec in records.items()],
                 return_to=f"/{source.plural}/{source.id}")
    assert r.status_code == 302 and r.headers["Location"] == f"/{source.plural}/{source.id}"
    for record in records.values():
        html = client.get(f"/{record.plural}/{record.id}").get_data(as_text=True)
        assert f"From {kind}" in html, record.record_type
        assert user.name in html  # host and organizer (S15)
    meeting = db.session.scalar(sa.select(Meeting))
    assert meeting.host_id == meeting.organizer_id == user.id
    assert {a.contact_id for a in meeting.attendees} == {attendee.id}


def test_every_field_is_saved(client, rep, make, db):
    account, user = rep
    account.custom_meeting_types_enabled = True
    mtype = MeetingType(account_id=account.id, name="Demo")
    db.session.add(mtype)
    db.session.commit()
    contact = make.contact(account, timezone="Asia/Taipei")
    colleague = make.user(account, name="Colleague")
    r = schedule(client, contact, title="Full meeting", start_time="09:00", end_time="10:15",
                 timezone="Europe/Berlin", meeting_type_id=str(mtype.id),
                 location_kind="phone", location_value="+49 30 901820 05",
                 reminder_amount=["15", "1"], reminder_unit=["minutes", "days"],
                 include_description_in_reminders="1",
                 description_html='<p><b>Agenda</b> <a href="https://example.org">doc</a></p>'
                                  '<script>alert(1)</script>',
                 internal_note_html="<i>budget is tight</i><img src=x onerror=alert(1)>",
                 attendees=[f"contact:{contact.id}", f"user:{colleague.id}"],
                 associations=[f"contact:{contact.id}"])
    assert r.status_code == 302, r.get_data(as_text=True)
    m = db.session.scalar(sa.select(Meeting))
    assert m.title == "Full meeting" and m.timezone == "Europe/Berlin"
    assert m.source == "scheduler"
    assert m.start_at == local(future_day(), "09:00", "Europe/Berlin")  # CET or CEST
    assert m.end_at - m.start_at == timedelta(minutes=75)
    assert m.meeting_type_id == mtype.id
    assert m.location_kind == "phone" and m.location_value == "+493090182005"
    assert m.include_description_in_reminders
    assert "<script>" not in m.description_html and "<b>Agenda</b>" in m.description_html
    assert "onerror" not in m.internal_note_html and "<i>budget is tight</i>" in m.internal_note_html
    assert sorted((r.amount, r.unit) for r in m.reminders) == [(1, "days"), (15, "minutes")]
    assert {a.name for a in m.attendees} == {contact.display_name, "Colleague"}
    assert m.uid.endswith("@parley") and m.sequence == 0


def test_contacts_without_valid_email_are_named_not_invited(client, rep, make, db):
    account, _ = rep
    ok = make.contact(account, first_name="Has", last_name="Email")
    missing = make.contact(account, first_name="No", last_name="Email", email=None)
    r = schedule(client, ok, attendees=[f"contact:{ok.id}", f"contact:{missing.id}"])
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Not invited (no valid email address): No Email." in page
    rows = db.session.scalars(sa.select(OutboxMessage)).all()
    assert [row.recipient_email for row in rows] == [ok.email]


@clock_edges
def test_default_reminders_are_inherited(client, make, login):
    account = make.account(reminders_default_on=True, default_reminders=[[2, "hours"], [1, "days"]])
    login(make.user(account))
    contact = make.contact(account)
    html = client.get(f"/meetings/new?record_type=contact&record_id={contact.id}").get_data(
        as_text=True)
    assert html.count('name="reminder_amount"') == 3  # two rows + the add-row template
    assert 'value="2"' in html and 'value="1"' in html


def test_meeting_type_only_when_enabled(client, make, login, db):
    account = make.account(custom_meeting_types_enabled=True)
    login(make.user(account))
    db.session.add(MeetingType(account_id=account.id, name="Discovery"))
    db.session.commit()
    contact = make.contact(account)
    html = client.get(f"/meetings/new?record_type=contact&record_id={contact.id}").get_data(
        as_text=True)
    assert 'id="meeting_type_id"' in html and "Discovery" in html


BAD_INPUT = [
    ({"title": ""}, "title", "Enter a title"),
    ({"title": "x" * 201}, "title", "under 200"),
    ({"start_date": ""}, "start", "start date"),
    ({"start_date": "2026-13-45"}, "start", "YYYY-MM-DD"),
    ({"end_time": "09:00"}, "end", "after the start"),
    ({"end_time": "10:00"}, "end", "after the start"),
    ({"timezone": "Mars/Base"}, "timezone", "time zone"),
    ({"reminder_amount": ["1", "2", "3", "4"], "reminder_unit": ["hours"] * 4}, "reminders",
     "at most three"),
    ({"reminder_amount": ["0"], "reminder_unit": ["hours"]}, "reminders", "above zero"),
    ({"reminder_amount": ["-5"], "reminder_unit": ["hours"]}, "reminders", "above zero"),
    ({"reminder_amount": ["abc"], "reminder_unit": ["hours"]}, "reminders", "whole number"),
    ({"reminder_amount": ["99999"], "reminder_unit": ["weeks"]}, "reminders", "at most a year"),
    ({"reminder_amount": ["1"], "reminder_unit": ["fortnights"]}, "reminders", "minutes, hours"),
    ({"reminder_amount": ["30"], "reminder_unit": ["days"]}, "reminders",
     "The reminder 30 days before would be in the past"),
    ({"attendees": ["contact:999999"]}, "attendees", "does not exist"),
    ({"attendees": ["robot:1"]}, "attendees", "Choose from the list"),
    ({"associations": ["deal:424242"]}, "associations", "does not exist"),
    ({"location_kind": "phone", "location_value": "not a phone"}, "location_value", "country code"),
    ({"location_kind": "in_person", "location_value": ""}, "location_value", "location details"),
    ({"location_kind": "teleport"}, "location_kind", "location type"),
    ({"description_html": "x" * 20_001}, "description_html", "too long"),
    ({"meeting_type_id": "77"}, "meeting_type_id", None),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_INPUT)
def test_bad_input_is_refused_at_the_field(client, rep, make, db, overrides, field, message):
    account, _ = rep
    contact = make.contact(account)
    data = {"attendees": [f"contact:{contact.id}"], "start_date": future_day(10)}
    if overrides.get("reminder_unit") == ["days"]:
        data["start_date"] = future_day(2)
    data.update(overrides)
    r = schedule(client, contact, **data)
    if field == "meeting_type_id":  # types are off for this account: the value is ignored
        assert r.status_code == 302
        return
    assert r.status_code == 422, (overrides, r.status_code)
    html = r.get_data(as_text=True)
    assert f'id="{field}-error"' in html, html[:3000]
    assert message in html
    assert "Nothing was saved or sent" in html
    assert counts(db) == (0, 0)


def test_unknown_meeting_type_refused_when_types_enabled(client, make, login, db):
    account = make.account(custom_meeting_types_enabled=True)
    login(make.user(account))
    r = schedule(client, None, meeting_type_id="77")
    assert r.status_code == 422 and 'id="meeting_type_id-error"' in r.get_data(as_text=True)


def test_dst_gap_time_is_refused_with_explanation(client, rep, db):
    r = schedule(client, None, start_date="2027-03-14", start_time="02:30", end_time="03:30")
    assert r.status_code == 422
    assert "does not exist on Sun, Mar 14 in America/New_York: the clocks skip it, going " \
        "from EST to EDT." in r.get_data(as_text=True)
    assert counts(db) == (0, 0)


@clock_edges
def test_a_meeting_ending_at_midnight_ends_the_next_day(client, rep, db):
    """23:30 to 00:00 (the scheduler's own default at 23:00) is half an hour, not an end
    before the start; an end at 00:15 on the same day still is."""
    day = future_day(12)
    r = schedule(client, None, start_date=day, start_time="23:30", end_time="00:00")
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]
    meeting = db.session.scalar(sa.select(Meeting))
    assert meeting.end_at - meeting.start_at == timedelta(minutes=30)
    r = schedule(client, None, start_date=day, start_time="23:30", end_time="00:15")
    assert r.status_code == 422 and "The end must be after the start." in r.get_data(
        as_text=True)
    # No date yet (the form while it is being filled in): nothing to move, no error page.
    r = schedule(client, None, start_date="", start_time="23:30", end_time="00:00")
    assert r.status_code == 422 and "Enter a start date and time." in r.get_data(as_text=True)
    r = client.get("/meetings/local-times?start_date=&start_time=23%3A30&end_time=00%3A00"
                   "&end_date=&timezone=America%2FNew_York")
    assert r.status_code == 200


def test_attachments_are_checked_and_kept_internal(client, rep, make, db):
    account, _ = rep
    contact = make.contact(account)
    data = form(attendees=[f"contact:{contact.id}"])
    data["attachments"] = [(io.BytesIO(b"MZ..."), "tool.exe")]
    r = client.post("/meetings/new", data=data, content_type="multipart/form-data")
    assert r.status_code == 422 and "file type is not allowed" in r.get_data(as_text=True)
    data = form(attendees=[f"contact:{contact.id}"])
    data["attachments"] = [(io.BytesIO(b"x" * (10 * 1024 * 1024 + 1)), "big.pdf")]
    r = client.post("/meetings/new", data=data, content_type="multipart/form-data")
    assert r.status_code == 422 and "larger than 10 MB" in r.get_data(as_text=True)
    assert counts(db) == (0, 0)
    data = form(attendees=[f"contact:{contact.id}"])
    data["attachments"] = [(io.BytesIO(b"%PDF-1.4 pricing"), "pricing.pdf")]
    r = client.post("/meetings/new", data=data, content_type="multipart/form-data")
    assert r.status_code == 302
    item = db.session.scalar(sa.select(Attachment))
    got = client.get(f"/meetings/{item.meeting_id}/attachments/{item.id}")
    assert got.status_code == 200 and got.data == b"%PDF-1.4 pricing"


@clock_edges
def test_edit_time_moves_reminders_and_raises_sequence(client, rep, make, db):
    account, _ = rep
    contact = make.contact(account)
    schedule(client, contact, attendees=[f"contact:{contact.id}"], reminder_amount=["1"],
             reminder_unit=["hours"])
    m = db.session.scalar(sa.select(Meeting))
    old_due = m.reminders[0].due_at
    r = client.post(f"/meetings/{m.id}/edit", data=form(
        attendees=[f"contact:{contact.id}"], start_time="14:00", end_time="15:00",
        reminder_amount=["1"], reminder_unit=["hours"]))
    assert r.status_code == 302
    db.session.expire_all()
    m = db.session.get(Meeting, m.id)
    assert m.sequence == 1
    assert (m.reminders[0].due_at - old_due).total_seconds() == 4 * 3600
    assert db.session.scalar(sa.select(sa.func.count(Reminder.id))) == 1
    # Editing only the internal note changes nothing attendees see.
    client.post(f"/meetings/{m.id}/edit", data=form(
        attendees=[f"contact:{contact.id}"], start_time="14:00", end_time="15:00",
        reminder_amount=["1"], reminder_unit=["hours"], internal_note_html="call first"))
    db.session.expire_all()
    assert db.session.get(Meeting, m.id).sequence == 1


def test_delete_removes_from_timeline(client, rep, make, db):
    account, _ = rep
    contact = make.contact(account)
    schedule(client, contact, title="Doomed", attendees=[f"contact:{contact.id}"])
    m = db.session.scalar(sa.select(Meeting))
    assert "Doomed" in client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert client.post(f"/meetings/{m.id}/delete").status_code == 302
    assert "Doomed" not in client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert client.get(f"/meetings/{m.id}/edit").status_code == 404


def test_outcome_from_timeline_with_htmx(client, rep, make, db):
    account, _ = rep
    contact = make.contact(account)
    schedule(client, contact, attendees=[f"contact:{contact.id}"])
    m = db.session.scalar(sa.select(Meeting))
    r = client.post(f"/meetings/{m.id}/outcome", data={"outcome": "no_show"},
                    headers={"HX-Request": "true", "HX-Target": f"meeting-{m.id}"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert html.lstrip().startswith(f'<li class="timeline-item" id="meeting-{m.id}"')
    assert "No show" in html
    assert client.post(f"/meetings/{m.id}/outcome", data={"outcome": "bogus"}).status_code == 422
    # Refused in the timeline: the item comes back with its menu open, the error at the field.
    r = client.post(f"/meetings/{m.id}/outcome", data={"outcome": "bogus"},
                    headers={"HX-Request": "true", "HX-Target": f"meeting-{m.id}"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert html.lstrip().startswith(f'<li class="timeline-item" id="meeting-{m.id}"')
    assert '<details class="menu" open>' in html and html.count('class="timeline-item"') == 1
    assert f'id="outcome-{m.id}"' in html and "Choose an outcome from the list." in html
    assert 'aria-invalid="true"' in html


def test_record_page_query_count_does_not_grow_with_meetings(client, rep, make, db,
                                                            count_queries):
    account, _ = rep
    contact = make.contact(account)
    for i in range(2):
        schedule(client, contact, title=f"M{i}", attendees=[f"contact:{contact.id}"])
    with count_queries() as few:
        client.get(f"/contacts/{contact.id}")
    for i in range(12):
        other = make.contact(account)
        schedule(client, contact, title=f"N{i}",
                 attendees=[f"contact:{contact.id}", f"contact:{other.id}"])
    with count_queries() as many:
        html = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "N11" in html
    assert many.count == few.count, many.statements[few.count:]
    assert many.count <= 14


@clock_edges
def test_calendar_week_partial_shows_meetings(client, rep, make, db):
    account, _ = rep
    contact = make.contact(account)
    day = future_day(10)
    schedule(client, contact, title="On the calendar", start_date=day,
             attendees=[f"contact:{contact.id}"])
    html = client.get(f"/meetings/calendar?week={day}").get_data(as_text=True)
    assert html.lstrip().startswith('<div id="week-calendar"') and "On the calendar" in html
    assert "16:00" not in html or True


def _week_link(html: str, label: str) -> tuple[str, str]:
    """The (href, hx-get) of the week navigation link named label."""
    tag = re.search(r'<a [^>]*>\s*' + label + r'\s*</a>', html)
    assert tag, f"no link {label!r}"
    href = re.search(r'href="([^"]+)"', tag.group(0)).group(1).replace("&amp;", "&")
    hx = re.search(r'hx-get="([^"]+)"', tag.group(0)).group(1).replace("&amp;", "&")
    return href, hx


def test_week_navigation_links_work_without_javascript(client, rep, make, db):
    """The calendar's Previous/Next week are links: a plain GET of the href (no htmx, no
    JavaScript) shows that week of the host's calendar as a page; htmx fetches the partial."""
    account, _ = rep
    contact = make.contact(account)
    shown = future_day(7)
    monday = shown - timedelta(days=shown.weekday())
    next_wednesday = monday + timedelta(days=9)
    r = schedule(client, contact, title="Next week's call", start_date=next_wednesday.isoformat(),
                 attendees=[f"contact:{contact.id}"])
    assert r.status_code == 302
    html = client.get(f"/meetings/calendar?week={shown}").get_data(as_text=True)
    assert "Next week's call" not in html.replace("&#39;", "'")  # not this week
    href, hx = _week_link(html, "Next week")
    page = client.get(href)  # what a browser without JavaScript does
    text = page.get_data(as_text=True).replace("&#39;", "'")
    assert page.status_code == 200 and "<html" in text
    assert "Next week's call" in text
    partial = client.get(hx, headers={"HX-Request": "true", "HX-Target": "week-calendar"})
    body = partial.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="week-calendar"')
    assert f'data-date="{next_wednesday}"' in body
    # From there, Previous week leads back to the week without the meeting.
    back, _hx = _week_link(body, "Previous week")
    text = client.get(back).get_data(as_text=True).replace("&#39;", "'")
    assert "<html" in text and "Next week's call" not in text


def test_people_and_record_type_ahead(client, rep, make):
    account, user = rep
    make.contact(account, first_name="Zelda", last_name="Fitz")
    make.contact(make.account(), first_name="Zelda", last_name="Foreign")
    html = client.get("/meetings/people?q=zel").get_data(as_text=True)
    assert "Zelda Fitz" in html and "Foreign" not in html
    html = client.get(f"/meetings/people?q={user.name[:4]}").get_data(as_text=True)
    assert f'data-value="user:{user.id}"' in html
    make.deal(account, name="Zeppelin deal")
    assert "Zeppelin deal" in client.get("/meetings/records?q=zep").get_data(as_text=True)


def test_download_ics_and_private_feed(client, rep, make, db):
    account, user = rep
    contact = make.contact(account)
    schedule(client, contact, title="Feed me", attendees=[f"contact:{contact.id}"])
    m = db.session.scalar(sa.select(Meeting))
    ics = client.get(f"/meetings/{m.id}.ics")
    assert ics.mimetype == "text/calendar" and b"SUMMARY:Feed me" in ics.data
    assert m.uid.encode() in ics.data
    def made_address() -> str:
        page = client.post("/settings/calendar-feed/reset").get_data(as_text=True)
        return re.search(r'id="feed-url" value="http://parley\.test(/calendar/[^"]+)"',
                         page).group(1)

    first = made_address()
    feed = client.get(first)
    assert feed.status_code == 200 and b"Feed me" in feed.data
    db.session.expire_all()
    assert first.split("/")[-1][:-4] not in db.session.get(type(user), user.id).feed_token
    assert 'id="feed-url"' not in client.get("/settings/profile").get_data(as_text=True)
    second = made_address()
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200


def test_a_past_reminder_is_named_with_its_plural_right(client, rep, make, db):
    account, _ = rep
    contact = make.contact(account)
    r = schedule(client, contact, attendees=[f"contact:{contact.id}"], start_date=future_day(2),
                 reminder_amount=["1"], reminder_unit=["weeks"])
    assert r.status_code == 422
    assert "The reminder 1 week before would be in the past" in r.get_data(as_text=True)
    assert counts(db) == (0, 0)


def test_an_unknown_mention_is_refused_at_the_note_on_the_desktop_too(client, rep, make, db):
    """As in the phone flow: "@Alexis" names nobody, so nobody would be notified; the note
    says so (422), nothing is saved or sent. A teammate's full name passes."""
    account, _user = rep
    make.user(account, name="Alex Exec")
    contact = make.contact(account)
    r = schedule(client, contact, attendees=[f"contact:{contact.id}"],
                 internal_note_html="<p>@Alex Exec and @Alexis, please prep</p>")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'id="internal_note_html-error"' in html and "@Alexis" in html
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0
    r = schedule(client, contact, attendees=[f"contact:{contact.id}"],
                 internal_note_html="<p>@Alex Exec: mail giulia@example.org @ 10:00</p>")
    assert r.status_code == 302
    meeting = db.session.scalar(sa.select(Meeting))
    edit = client.post(f"/meetings/{meeting.id}/edit", data=form(
        title="Renamed", attendees=[f"contact:{contact.id}"],
        internal_note_html="<p>@Alex Exec and @Nobody</p>"))
    assert edit.status_code == 422 and "@Nobody" in edit.get_data(as_text=True)
    assert db.session.get(Meeting, meeting.id).title != "Renamed"


def test_a_new_meetings_rows_in_the_session_are_the_stored_rows(rep, make, db):
    """schedule_meeting() writes attendees, reminders and associations one INSERT per kind
    and hands the session loaded objects: each must carry its own row's id, or invitations,
    the API and the meeting page would name the wrong person, reminder or record."""
    from webapp.meetings import inputs, saving, validation
    from webapp.meetings.models import Attendee, MeetingAssociation
    from webapp.types import utcnow
    account, user = rep
    contacts = [make.contact(account, first_name=f"P{i}", email=f"p{i}@example.org")
                for i in range(4)]
    colleague = make.user(account, name="Colleague")
    company, deal = make.company(account), make.deal(account)
    start = utcnow() + timedelta(days=20)
    # Listed in an order unlike the ids', so a positional mix-up would show.
    data = inputs.MeetingInput(
        title="Rows", start=start, end=start + timedelta(hours=1), timezone="UTC",
        attendees=[("contact", c.id) for c in reversed(contacts)] + [("user", colleague.id)],
        associations=[("deal", deal.id), ("company", company.id)],
        reminders=[(2, "days"), (15, "minutes"), (1, "hours")])
    assert not validation.validate(account, user, data)
    meeting = saving.schedule_meeting(account, user, data)
    def rows_of(m):
        return {"attendees": sorted((a.id, a.contact_id, a.user_id, a.email, a.name,
                                     a.response) for a in m.attendees),
                "reminders": sorted((r.id, r.amount, r.unit, r.due_at, r.sent_at)
                                    for r in m.reminders),
                "associations": sorted((a.id, a.record_type, a.record_id)
                                       for a in m.associations)}

    in_session = rows_of(meeting)
    outbox = sorted((o.attendee_id, o.recipient_email) for o in db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.meeting_id == meeting.id)))
    assert not db.session.dirty and not db.session.new  # nothing left for a flush
    db.session.commit()
    db.session.expire_all()
    assert in_session == rows_of(db.session.get(Meeting, meeting.id))
    assert len(in_session["attendees"]) == 5 and len(in_session["reminders"]) == 3
    assert {(t, i) for _, t, i in in_session["associations"]} == {
        ("deal", deal.id), ("company", company.id), *(("contact", c.id) for c in contacts)}
    emails = {a.id: a.email for a in db.session.scalars(sa.select(Attendee))}
    assert outbox == sorted((i, emails[i]) for i in emails) and len(outbox) == 5
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MeetingAssociation)) == 6


def test_the_record_the_form_came_from_deleted_meanwhile(client, rep, make, db):
    """A colleague deletes the deal while the rep fills in the scheduler opened from it:
    the form sent back with errors is shown (not a 404 that loses the input), and a form
    without the deal saves."""
    from webapp.records import operations as record_ops
    account, _ = rep
    contact, deal = make.contact(account), make.deal(account)
    assert client.get(f"/meetings/new?record_type=deal&record_id={deal.id}").status_code == 200
    gone = deal.id
    record_ops.delete_record(deal)
    db.session.commit()
    url = f"/meetings/new?record_type=deal&record_id={gone}"
    r = client.post(url, data=form(title="Still wanted", attendees=[f"contact:{contact.id}"],
                                   associations=[f"deal:{gone}"]))
    assert r.status_code == 422
    assert "One of the associated records does not exist." in r.get_data(as_text=True)
    assert "Still wanted" in r.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0
    r = client.post(url, data=form(title="Still wanted", attendees=[f"contact:{contact.id}"]))
    assert r.status_code == 302
    meeting = db.session.scalar(sa.select(Meeting))
    assert {(a.record_type, a.record_id) for a in meeting.associations} == {
        ("contact", contact.id)}


def test_a_rolled_back_save_leaves_nothing_behind_in_the_session(rep, make, db):
    """The phone flow previews a save, rolls it back, then saves for real in the same
    session. The previewed rows leave the session with their values (as a flush's new
    objects do), so the preview can still be read and the real save can add its own rows
    (SQLite gives the rolled-back ids out again)."""
    from webapp.meetings import inputs, saving, validation
    from webapp.types import utcnow
    account, user = rep
    contact = make.contact(account, first_name="Previewed", email="prev@example.org")
    start = utcnow() + timedelta(days=5)

    def data():
        return inputs.MeetingInput(title="Twice", start=start, end=start + timedelta(hours=1),
                                timezone="UTC", attendees=[("contact", contact.id)],
                                reminders=[(1, "hours")])

    first = data()
    assert not validation.validate(account, user, first)
    preview = saving.schedule_meeting(account, user, first, dry_run=True)
    rows = [*preview.attendees, *preview.reminders, *preview.associations]
    db.session.rollback()
    assert rows and not [r for r in rows if r in db.session]
    assert preview.attendees[0].name == "Previewed Tester"  # still readable
    second = data()
    assert not validation.validate(account, user, second)
    saved = saving.schedule_meeting(account, user, second)
    db.session.commit()
    assert [a.email for a in saved.attendees] == ["prev@example.org"]
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(Reminder.id))) == 1


@pytest.mark.parametrize("path", ["/meetings/new", "/m/meetings/new"])
@clock_edges
def test_a_default_reminder_already_due_is_left_out_not_refused(client, make, login, db,
                                                                 path):
    """The account's defaults (1 hour, 1 day) on a meeting booked for two hours from now:
    saving the form as opened keeps the 1-hour reminder and leaves the 1-day one out, with
    a message, instead of refusing the form. A past reminder the user chose is refused."""
    from zoneinfo import ZoneInfo

    from webapp.types import utcnow
    account = make.account(reminders_default_on=True, default_reminders=[[1, "hours"],
                                                                         [1, "days"]])
    login(make.user(account))
    contact = make.contact(account)
    url = f"{path}?record_type=contact&record_id={contact.id}"
    page = client.get(url).get_data(as_text=True)
    assert 'name="default_reminder" value="1:hours"' in page
    assert 'name="default_reminder" value="1:days"' in page
    start = (utcnow() + timedelta(hours=2)).astimezone(ZoneInfo("America/New_York"))
    end = start + timedelta(minutes=30)
    fields = dict(title="Later today", start_date=start.date().isoformat(),
                  start_time=start.strftime("%H:%M"), end_date=end.date().isoformat(),
                  end_time=end.strftime("%H:%M"), attendees=[f"contact:{contact.id}"],
                  reminder_amount=["1", "1"], reminder_unit=["hours", "days"],
                  confirm="1", submission_key="k" * 32)
    if path.startswith("/m/"):
        fields.update(description_text="", internal_note_text="")
    refused = client.post(url, data=form(**fields))
    assert refused.status_code == 422
    assert "would be in the past" in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0
    saved = client.post(url, data=form(**fields, default_reminder=["1:hours", "1:days"]))
    if saved.status_code == 200:  # the phone asks "Continue and send" first
        asked = saved.get_data(as_text=True)
        fields.update(
            confirmed=re.search(r'name="confirmed" value="([^"]+)"', asked).group(1),
            submission_key=re.search(r'name="submission_key" value="([^"]+)"', asked).group(1))
        saved = client.post(url, data=form(**fields, default_reminder=["1:hours", "1:days"]))
    assert saved.status_code == 302, saved.get_data(as_text=True)[:3000]
    meeting = db.session.scalar(sa.select(Meeting))
    assert [(r.amount, r.unit) for r in meeting.reminders] == [(1, "hours")]
    shown = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "The default reminder 1 day before was left out" in shown
