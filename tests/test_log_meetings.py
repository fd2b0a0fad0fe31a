"""Log a meeting (issue 20): a held meeting is recorded through the one save pipeline with
log_only, and nothing is ever sent or synced for it, also after edits; a new scheduled
meeting with a past start is refused (a choice to log it instead), on the desktop form,
the phone form and the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests import test_query_counts
from tests.meeting_helpers import form, future_day, local_iso
from tests.support import drain
from webapp.api import operations as token_ops
from webapp.calendars.models import CalendarConnection, CalendarSync
from webapp.conferencing.models import ConferenceTask
from webapp.delivery.models import OutboxMessage
from webapp.meetings.models import Meeting, Reminder
from webapp.meetings.queries import user_feed_events
from webapp.types import utcnow

ZONE = "America/New_York"
#: An account with a logged-in rep and a colleague (shared with the query-count tests).
team = test_query_counts.team


@pytest.fixture()
def rep(team):
    """An account and its logged-in rep (test_query_counts.team)."""
    return team[0], team[1]


def past_day(days: int = 1):
    return future_day(-days)


def _only_meeting(db) -> Meeting:
    db.session.rollback()
    return db.session.scalars(sa.select(Meeting)).one()


def _sent_or_owed(db) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count(OutboxMessage.id)))


def test_log_a_meeting_from_the_desktop_form_sends_nothing(client, rep, make, db, app, smtp):
    account, user = rep
    contact = make.contact(account)
    colleague = make.user(account, name="Colleague")
    page = client.get(f"/meetings/log?record_type=contact&record_id={contact.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Log a meeting" in html
    assert 'name="reminder_amount"' not in html and 'id="outcome"' in html
    response = client.post(
        f"/meetings/log?record_type=contact&record_id={contact.id}",
        data=form(title="Held call", start_date=past_day(), attendees=[
            f"contact:{contact.id}", f"user:{colleague.id}"],
            associations=[f"contact:{contact.id}"], description_html="<p>We talked</p>",
            internal_note_html="<p>Went well</p>", reminder_amount=["1"],
            reminder_unit=["hours"]))
    assert response.status_code == 302, response.get_data(as_text=True)
    meeting = _only_meeting(db)
    assert meeting.log_only and meeting.outcome == "completed"
    assert {a.name for a in meeting.attendees} == {contact.display_name, "Colleague"}
    assert meeting.reminders == [] and meeting.sequence == 0
    assert "Went well" in meeting.internal_note_html
    drain(app)
    assert _sent_or_owed(db) == 0 and smtp.messages == []
    timeline = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "Held call" in timeline and "Completed" in timeline
    shown = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert 'id="logged-badge"' in shown


def test_a_logged_meeting_edited_three_ways_sends_nothing(client, rep, make, db, app, smtp):
    """Bad input (issue 20): time, attendees and description changed, then deleted:
    zero messages after draining, no calendar sync, no reminders, no conference."""
    account, user = rep
    contact, other = make.contact(account), make.contact(account)
    # A connected calendar, to prove that no sync row is written either.
    db.session.add(CalendarConnection(account_id=account.id, user_id=user.id,
                                      provider="caldav", status="active", sync_on=True,
                                      caldav_url="http://127.0.0.1:9/dav"))
    db.session.commit()
    day = past_day(2)
    assert client.post("/meetings/log", data=form(
        title="Logged", start_date=day, attendees=[f"contact:{contact.id}"],
        location_kind="video", video_provider="jitsi")).status_code == 302
    meeting = _only_meeting(db)
    edit = f"/meetings/{meeting.id}/edit"
    fields = {"title": "Logged", "start_date": day, "attendees": [f"contact:{contact.id}"]}
    for change in ({"start_time": "11:00", "end_time": "11:45"},
                   {"attendees": [f"contact:{contact.id}", f"contact:{other.id}"]},
                   {"description_html": "<p>New notes</p>", "reminder_amount": ["1"],
                    "reminder_unit": ["days"]}):
        fields.update(change)
        response = client.post(edit, data=form(**fields))
        assert response.status_code == 302, response.get_data(as_text=True)
    drain(app)
    meeting = _only_meeting(db)
    assert meeting.log_only and meeting.sequence == 0 and "New notes" in meeting.description_html
    assert meeting.conference_status is None
    assert client.post(f"/meetings/{meeting.id}/delete").status_code == 302
    drain(app)
    assert _sent_or_owed(db) == 0 and smtp.messages == []
    for model in (CalendarSync, Reminder, ConferenceTask):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0, model


def test_a_logged_meeting_cannot_start_in_the_future(client, rep, db):
    response = client.post("/meetings/log", data=form(start_date=future_day(1)))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "cannot be in the future" in html
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0


def test_a_past_start_is_refused_with_a_choice_to_log_it(client, rep, make, db, app, smtp):
    account, user = rep
    contact = make.contact(account)
    data = form(title="Yesterday", start_date=past_day(), attendees=[f"contact:{contact.id}"])
    url = f"/meetings/new?record_type=contact&record_id={contact.id}"
    response = client.post(url, data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "This start is in the past" in html and 'id="log-instead-button"' in html
    assert f'formaction="/meetings/log?record_type=contact&amp;record_id={contact.id}"' in html
    drain(app)
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0
    assert _sent_or_owed(db) == 0 and smtp.messages == []
    # The choice: the same form, posted to the log URL.
    response = client.post(f"/meetings/log?record_type=contact&record_id={contact.id}",
                           data={**data, "log_only": "1"})
    assert response.status_code == 302
    assert _only_meeting(db).log_only
    drain(app)
    assert _sent_or_owed(db) == 0 and smtp.messages == []


def test_phone_past_start_offers_logging_and_logs_without_confirmation(client, rep, make,
                                                                      db, app, smtp):
    account, user = rep
    contact = make.contact(account)
    data = form(title="Phone held", start_date=past_day(), end_date=past_day(),
                attendees=[f"contact:{contact.id}"])
    response = client.post(f"/m/meetings/new?record_type=contact&record_id={contact.id}",
                           data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="log-instead-button"' in html and "/m/meetings/log?" in html
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0
    page = client.get(f"/m/meetings/log?record_type=contact&record_id={contact.id}")
    assert page.status_code == 200 and 'name="log_only"' in page.get_data(as_text=True)
    response = client.post(f"/m/meetings/log?record_type=contact&record_id={contact.id}",
                           data={**data, "outcome": "no_show"})
    assert response.status_code == 302, response.get_data(as_text=True)
    meeting = _only_meeting(db)
    assert meeting.log_only and meeting.outcome == "no_show"
    drain(app)
    assert _sent_or_owed(db) == 0 and smtp.messages == []


def test_record_page_offers_log_meeting(client, rep, make):
    account, _user = rep
    contact = make.contact(account)
    html = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert f'href="/meetings/log?record_type=contact&amp;record_id={contact.id}"' in html
    assert f'href="/m/meetings/log?record_type=contact&amp;record_id={contact.id}"' in html


def test_editing_a_scheduled_meeting_of_the_past_still_works(client, rep, make, db, clock):
    """Only a new meeting is refused a past start: notes of a held meeting can change."""
    account, _user = rep
    assert client.post("/meetings/new", data=form(start_date=future_day(1))).status_code == 302
    meeting = _only_meeting(db)
    clock.shift(timedelta(days=3))
    response = client.post(f"/meetings/{meeting.id}/edit", data=form(
        start_date=future_day(-2), title="Kick-off, renamed"))
    assert response.status_code == 302, response.get_data(as_text=True)


# --- the API ---------------------------------------------------------------------------

@pytest.fixture()
def api(make, db):
    account = make.account(timezone=ZONE)
    seat = make.seat(account, paid=True)
    user = make.user(account, seat_kind_id=seat.id, email="api@acme.example")
    _row, token = token_ops.create_token(user, "tests")
    db.session.commit()
    return {"account": account, "user": user, "headers": {"Authorization": f"Bearer {token}"}}


def _iso(day, hhmm):
    return local_iso(day.isoformat(), hhmm)


def test_api_log_only_is_201_and_sends_nothing_ever(client, api, make, db, app, smtp):
    contact = make.contact(api["account"])
    day = past_day(3)
    r = client.post("/api/v1/meetings", headers=api["headers"], json={
        "title": "Logged by API", "start": _iso(day, "09:00"), "end": _iso(day, "09:30"),
        "timezone": ZONE, "log_only": True, "attendees": [{"contact_id": contact.id}],
        "reminders": [{"amount": 1, "unit": "hours"}],
        "associations": [{"type": "contact", "id": contact.id}],
        "internal_note_html": "<p>notes</p>"})
    assert r.status_code == 201, r.json
    body = r.json
    assert body["log_only"] is True and body["outcome"] == "completed"
    assert body["reminders"] == [] and body["attendees"][0]["delivery"] == []
    r = client.patch(f"/api/v1/meetings/{body['id']}", headers=api["headers"], json={
        "start": _iso(day, "10:00"), "end": _iso(day, "11:00"),
        "description_html": "<p>changed</p>"})
    assert r.status_code == 200, r.json
    assert r.json["log_only"] is True and r.json["sequence"] == 0
    drain(app)
    assert _sent_or_owed(db) == 0 and smtp.messages == []


def test_api_refuses_a_past_start_without_log_only(client, api, db, app, smtp):
    day = past_day(1)
    r = client.post("/api/v1/meetings", headers=api["headers"], json={
        "title": "Too late", "start": _iso(day, "09:00"), "end": _iso(day, "09:30"),
        "timezone": ZONE})
    assert r.status_code == 422
    errors = r.json["errors"]
    assert [e["field"] for e in errors] == ["start"]
    assert "in the past" in errors[0]["message"] and '"log_only": true' in errors[0]["message"]
    drain(app)
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0
    assert smtp.messages == []


def test_api_refuses_a_logged_meeting_in_the_future(client, api, db):
    day = future_day(2)
    r = client.post("/api/v1/meetings", headers=api["headers"], json={
        "title": "Not yet", "start": _iso(day, "09:00"), "end": _iso(day, "09:30"),
        "timezone": ZONE, "log_only": True, "outcome": "no_show"})
    assert r.status_code == 422
    assert [e["field"] for e in r.json["errors"]] == ["start"]
    r = client.post("/api/v1/meetings", headers=api["headers"], json={
        "title": "Odd outcome", "start": _iso(past_day(), "09:00"),
        "end": _iso(past_day(), "09:30"), "timezone": ZONE, "log_only": True,
        "outcome": "nonsense"})
    assert r.status_code == 422
    assert [e["field"] for e in r.json["errors"]] == ["outcome"]


def test_a_logged_meeting_is_not_in_the_private_calendar_feed(client, rep, db):
    account, user = rep
    assert client.post("/meetings/log", data=form(title="Held",
                                                  start_date=past_day())).status_code == 302
    assert client.post("/meetings/new", data=form(title="Upcoming")).status_code == 302
    titles = [e.title for e in user_feed_events(user, utcnow() - timedelta(days=30))]
    assert titles == ["Upcoming"]
