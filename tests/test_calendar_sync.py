"""Two-way calendar sync (issue 23): changes made in the host's calendar come back to
Parley. CalDAV against a real Radicale server, changed by another CalDAV client (the
caldav library); Google and Graph through the stand-ins (syncToken, delta, 410)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import caldav
import icalendar
import pytest
import sqlalchemy as sa

from tests.meeting_helpers import form, future_day, local, schedule
from tests.support import drain
from tests.test_calendars import cal, oauth_connect, radicale, rep, standins  # noqa: F401
from webapp.calendars import inbound
from webapp.calendars import sync as calendar_sync
from webapp.calendars.models import (
    CalendarConnection,
    CalendarSync,
    CalendarSyncState,
    MeetingCalendarChange,
)
from webapp.meetings.models import Meeting, Reminder
from webapp.notifications.models import Notification

pytestmark = pytest.mark.committing


def itip(smtp) -> list[tuple[str, str, int, icalendar.Event]]:
    """(recipient, METHOD, SEQUENCE, VEVENT) of every message at the sink."""
    out = []
    for rcpts, msg in smtp.messages:
        part = next(p for p in msg.walk() if p.get_content_type() == "text/calendar")
        parsed = icalendar.Calendar.from_ical(part.get_payload(decode=True))
        event = next(iter(parsed.walk("VEVENT")))
        out.append((rcpts[0], str(parsed["METHOD"]), int(event["SEQUENCE"]), event))
    return out


@pytest.fixture()
def dav(client, rep, radicale, db, make):  # noqa: F811
    """A CalDAV connection to a fresh calendar of alice's, and another client on it."""
    import uuid
    other = caldav.DAVClient(url=radicale, username="alice", password="wonderland")
    calendar = other.principal().make_calendar(name=f"Work {uuid.uuid4().hex[:6]}")
    ok = client.post("/calendars/caldav", data={"url": radicale, "username": "alice",
                                                "password": "wonderland"})
    assert ok.status_code == 302
    conn = db.session.scalar(sa.select(CalendarConnection))
    conn.caldav_calendar_url = str(calendar.url)
    db.session.commit()
    return conn, calendar


def sync_once(db, conn) -> str:
    state = inbound.sync_now(conn)
    db.session.commit()
    result = calendar_sync.run_inbound(state.id)
    db.session.expire_all()
    return result


def booked(client, db, make, account, **extra) -> Meeting:
    contacts = [make.contact(account, email=f"guest{i}@example.org") for i in (1, 2)]
    day = future_day(12)
    schedule(client, contacts[0], title="Quarterly review", start_date=day, start_time="09:00",
             end_time="10:00", attendees=[f"contact:{c.id}" for c in contacts],
             reminder_amount=["1"], reminder_unit=["hours"], **extra)
    return db.session.scalar(sa.select(Meeting))


def test_moved_in_another_caldav_client_is_a_reschedule(client, rep, db, make, dav, smtp,  # noqa: F811
                                                        app):
    conn, calendar = dav
    account, _user = rep
    meeting = booked(client, db, make, account)
    sync = db.session.scalar(sa.select(CalendarSync))
    assert sync.status == "synced" and sync.etag, sync.last_error
    assert sync_once(db, conn) == "synced"  # the first sync: versions recorded
    drain(app)
    assert sorted(m for _r, m, _s, _e in itip(smtp)) == ["REQUEST", "REQUEST"]
    first_sequence = meeting.sequence
    smtp.clear()

    # The SEQUENCE stored is Parley's own (the library used to raise it on every save).
    stored = calendar.event_by_uid(meeting.uid)
    assert int(stored.icalendar_component["SEQUENCE"]) == first_sequence

    # Another client moves it two hours later (the caldav library raises SEQUENCE).
    day = future_day(12)
    component = stored.icalendar_component
    component["DTSTART"].dt = local(day, "11:00")
    component["DTEND"].dt = local(day, "12:00")
    stored.save()

    assert sync_once(db, conn) == "synced"
    drain(app)
    meeting = db.session.get(Meeting, meeting.id)
    assert meeting.start_at == local(day, "11:00") and meeting.end_at == local(day, "12:00")
    assert meeting.outcome == "rescheduled"
    reminder = db.session.scalar(sa.select(Reminder).where(Reminder.meeting_id == meeting.id))
    assert reminder.due_at == local(day, "10:00")
    sent = itip(smtp)
    assert sorted(r for r, *_ in sent) == ["guest1@example.org", "guest2@example.org"]
    assert {m for _r, m, _s, _e in sent} == {"REQUEST"}
    assert all(s == meeting.sequence > first_sequence for _r, _m, s, _e in sent)
    assert all(e.decoded("DTSTART") == local(day, "11:00") for *_, e in sent)
    change = db.session.scalar(sa.select(MeetingCalendarChange))
    assert change.kind == "moved" and change.provider == "caldav"
    assert "Moved in CalDAV by the host" in client.get(f"/meetings/{meeting.id}").get_data(
        as_text=True)

    # Parley wrote the meeting back with its own SEQUENCE; that write comes back in the
    # next sync and changes nothing.
    assert int(calendar.event_by_uid(meeting.uid).icalendar_component["SEQUENCE"]) == \
        meeting.sequence
    smtp.clear()
    sequence = meeting.sequence
    assert sync_once(db, conn) == "synced"
    drain(app)
    assert smtp.messages == []
    assert db.session.get(Meeting, meeting.id).sequence == sequence
    assert db.session.scalar(sa.select(sa.func.count(MeetingCalendarChange.id))) == 1
    state = db.session.scalar(sa.select(CalendarSyncState))
    assert state.changes_in == 1 and state.last_success_at and state.failures == 0


def test_title_location_description_taken_in(client, rep, db, make, dav, smtp, app):  # noqa: F811
    conn, calendar = dav
    account, _user = rep
    meeting = booked(client, db, make, account)
    sync_once(db, conn)
    drain(app)
    smtp.clear()
    stored = calendar.event_by_uid(meeting.uid)
    component = stored.icalendar_component
    component["SUMMARY"] = "Review, renamed"
    component["LOCATION"] = "Room 4"
    component["DESCRIPTION"] = "Bring the figures"
    stored.save()
    sync_once(db, conn)
    drain(app)
    meeting = db.session.get(Meeting, meeting.id)
    assert meeting.title == "Review, renamed" and meeting.location_value == "Room 4"
    assert "Bring the figures" in meeting.description_html
    assert meeting.outcome == "scheduled"  # not a reschedule
    assert sorted(m for _r, m, _s, _e in itip(smtp)) == ["REQUEST", "REQUEST"]


@pytest.mark.parametrize("setting", ["cancel", "flag"])
def test_deleted_in_another_client_cancels_once_or_flags(client, rep, db, make, dav, smtp,  # noqa: F811
                                                         app, setting):
    conn, calendar = dav
    account, _user = rep
    meeting = booked(client, db, make, account)
    state = inbound.sync_now(conn)
    state.on_remote_delete = setting
    db.session.commit()
    sync_once(db, conn)
    drain(app)
    smtp.clear()
    calendar.event_by_uid(meeting.uid).delete()
    sync_once(db, conn)
    sync_once(db, conn)  # nothing twice
    drain(app)
    meeting = db.session.get(Meeting, meeting.id)
    change = db.session.scalar(sa.select(MeetingCalendarChange))
    if setting == "cancel":
        assert meeting.outcome == "canceled"
        sent = itip(smtp)
        assert sorted((r, m) for r, m, _s, _e in sent) == [
            ("guest1@example.org", "CANCEL"), ("guest2@example.org", "CANCEL")]
        assert change.kind == "canceled"
        assert not meeting.reminders
    else:
        assert meeting.outcome == "scheduled" and smtp.messages == []
        assert change.kind == "flagged"
    # Parley's next edit does not recreate the event deleted in the calendar.
    client.post(f"/meetings/{meeting.id}/edit", data=form(
        title="Edited after", start_date=future_day(12), start_time="09:00",
        end_time="10:00"))
    with pytest.raises(caldav.lib.error.NotFoundError):
        calendar.event_by_uid(meeting.uid)


def test_first_sync_of_a_busy_calendar_sends_nothing(client, rep, db, make, dav, smtp, app):  # noqa: F811
    conn, calendar = dav
    account, _user = rep
    meeting = booked(client, db, make, account)
    start = local(future_day(-30), "08:00")
    for i in range(200):
        calendar.save_event(dtstart=start + timedelta(hours=i), dtend=start + timedelta(
            hours=i, minutes=30), summary=f"Old event {i}", uid=f"old-{i}@elsewhere")
    # Parley's own event changed before the first sync: recorded, not taken in.
    stored = calendar.event_by_uid(meeting.uid)
    stored.icalendar_component["SUMMARY"] = "Changed before the first sync"
    stored.save()
    assert sync_once(db, conn) == "synced"  # the first sync (before any sweep)
    drain(app)
    # The two invitations of the booking, and nothing else.
    assert sorted((r, m, s) for r, m, s, _e in itip(smtp)) == [
        ("guest1@example.org", "REQUEST", 0), ("guest2@example.org", "REQUEST", 0)]
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 1
    assert db.session.get(Meeting, meeting.id).title == "Quarterly review"


def test_radicale_down_shows_the_error_and_the_next_sync_catches_up(client, rep, db, make,  # noqa: F811
                                                                     dav, smtp, app):
    conn, calendar = dav
    account, user = rep
    meeting = booked(client, db, make, account)
    sync_once(db, conn)
    drain(app)
    smtp.clear()
    stored = calendar.event_by_uid(meeting.uid)
    stored.icalendar_component["SUMMARY"] = "Renamed while Parley could not see"
    stored.save()
    good_url = conn.caldav_calendar_url
    from tests.support import free_port
    down = f"http://127.0.0.1:{free_port()}/alice/x/"
    for _ in range(3):
        db.session.get(CalendarConnection, conn.id).caldav_calendar_url = down
        db.session.commit()
        assert sync_once(db, conn) == "failed"
    drain(app)
    state = db.session.scalar(sa.select(CalendarSyncState))
    assert state.failures == 3 and "unreachable" in state.last_error
    assert db.session.get(Meeting, meeting.id).title == "Quarterly review"
    assert smtp.messages == []
    page = client.get("/settings/profile/calendar").get_data(as_text=True)
    assert "unreachable" in page and "3" in page
    note = db.session.scalar(sa.select(Notification).where(Notification.kind == "calendar_sync"))
    assert note is not None and note.user_id == user.id
    assert "keeps failing to sync" in client.get("/notifications").get_data(as_text=True)
    scheduler = client.get("/meetings/new").get_data(as_text=True)
    assert 'id="calendar-sync-stale"' in scheduler and "unreachable" in scheduler

    db.session.get(CalendarConnection, conn.id).caldav_calendar_url = good_url
    db.session.commit()
    assert sync_once(db, conn) == "synced"
    drain(app)
    assert db.session.get(Meeting, meeting.id).title == "Renamed while Parley could not see"
    state = db.session.scalar(sa.select(CalendarSyncState))
    assert state.failures == 0 and state.last_error is None
    assert len(smtp.messages) == 2
    assert 'id="calendar-sync-stale"' not in client.get("/meetings/new").get_data(as_text=True)


def test_parley_edit_after_a_change_in_the_calendar_takes_it_in_first(client, rep, db, make,  # noqa: F811
                                                                        dav, smtp, app, clock):
    """A write refused with 412 (the event changed since Parley read it): the server's
    change is taken in, then the later change wins; the other stays in the history."""
    conn, calendar = dav
    account, _user = rep
    meeting = booked(client, db, make, account)
    sync_once(db, conn)
    drain(app)
    clock.shift(timedelta(minutes=5))
    # The calendar renames it; Parley has not synced yet, and the rep then moves it.
    stored = calendar.event_by_uid(meeting.uid)
    stored.icalendar_component["SUMMARY"] = "Renamed in the calendar"
    stored.save()
    clock.shift(timedelta(minutes=5))
    day = future_day(12)
    client.post(f"/meetings/{meeting.id}/edit", data=form(
        title="Quarterly review", start_date=day, start_time="14:00", end_time="15:00"))
    db.session.expire_all()
    sync = db.session.scalar(sa.select(CalendarSync))
    assert sync.status == "synced", sync.last_error
    data = calendar.event_by_uid(meeting.uid).icalendar_component
    # Parley's change was the later one: it stands; the calendar's rename is in history.
    assert data.decoded("DTSTART") == local(day, "14:00")
    change = db.session.scalar(sa.select(MeetingCalendarChange))
    assert change.kind == "conflict" and change.details["kept"] == "parley"
    assert change.details["title"][1] == "Renamed in the calendar"
    assert db.session.scalar(sa.select(CalendarSyncState)).conflicts == 1


def test_sweep_runs_the_inbound_sync_every_interval(client, rep, db, make, dav, app, clock):  # noqa: F811
    conn, calendar = dav
    app.config["CALENDAR_SYNC_INTERVAL_SECONDS"] = 120
    drain(app)  # the sweep makes the connection's state and syncs it
    state = db.session.scalar(sa.select(CalendarSyncState))
    assert state.last_success_at is not None
    first = state.last_success_at
    drain(app)
    db.session.expire_all()
    assert db.session.scalar(sa.select(CalendarSyncState)).last_success_at == first
    clock.shift(timedelta(seconds=121))
    drain(app)
    db.session.expire_all()
    assert db.session.scalar(sa.select(CalendarSyncState)).last_success_at > first


def test_sync_now_button(client, rep, db, dav):  # noqa: F811
    conn, _calendar = dav
    response = client.post("/calendars/sync-now")
    assert response.status_code == 302
    state = db.session.scalar(sa.select(CalendarSyncState))
    assert state.last_success_at is not None
    page = client.get("/settings/profile/calendar").get_data(as_text=True)
    assert "Sync now" in page and "Last synced" in page


def test_run_sync_keeps_the_stored_etag(client, rep, db, make, dav):  # noqa: F811
    conn, calendar = dav
    account, _ = rep
    meeting = booked(client, db, make, account)
    row = db.session.scalar(sa.select(CalendarSync))
    first = row.etag
    client.post(f"/meetings/{meeting.id}/edit", data=form(
        title="Renamed in Parley", start_date=future_day(12), start_time="09:00",
        end_time="10:00"))
    db.session.expire_all()
    row = db.session.scalar(sa.select(CalendarSync))
    assert row.etag and row.etag != first
    assert calendar_sync.run_sync(row.id) == "not-claimed"


# --- Google and Microsoft Graph through the stand-ins --------------------------------------

def test_google_moved_deleted_410_and_duplicate_delivery(client, rep, cal, db, make, smtp,  # noqa: F811
                                                         app):
    google, _ = cal
    oauth_connect(client, "google")
    account, _user = rep
    meeting = booked(client, db, make, account)
    conn = db.session.scalar(sa.select(CalendarConnection))
    assert sync_once(db, conn) == "synced"  # first sync: full listing, nothing taken in
    drain(app)
    smtp.clear()
    row = db.session.scalar(sa.select(CalendarSync))
    assert row.etag == google.events[row.external_id]["etag"]
    first_sequence = meeting.sequence

    # Moved in Google Calendar, and the change delivered twice: applied once.
    day = future_day(12)
    google.edit(row.external_id, start={"dateTime": local(day, "13:00").isoformat()},
                end={"dateTime": local(day, "14:00").isoformat()})
    google.duplicate = True
    assert sync_once(db, conn) == "synced"
    assert sync_once(db, conn) == "synced"  # the same change again
    drain(app)
    meeting = db.session.get(Meeting, meeting.id)
    assert meeting.start_at == local(day, "13:00") and meeting.outcome == "rescheduled"
    sent = itip(smtp)
    assert sorted((r, m) for r, m, _s, _e in sent) == [
        ("guest1@example.org", "REQUEST"), ("guest2@example.org", "REQUEST")]
    assert all(s == meeting.sequence > first_sequence for _r, _m, s, _e in sent)
    assert google.events[row.external_id]["sequence"] == meeting.sequence  # written back
    assert [c.kind for c in db.session.scalars(sa.select(MeetingCalendarChange))] == ["moved"]
    assert "Moved in Google Calendar by the host" in client.get(
        f"/meetings/{meeting.id}").get_data(as_text=True)
    incremental = [c for c in google.calls if c[1].endswith("/events") and c[0] == "GET"]
    assert "syncToken" in incremental[-1][2]

    # The token expires: 410, then a full sync; nothing is taken in twice.
    smtp.clear()
    google.oldest_token = len(google.change_log) + 1
    assert sync_once(db, conn) == "synced"
    drain(app)
    assert smtp.messages == []

    # Deleted in Google Calendar: one CANCEL each, outcome Canceled.
    google.oldest_token = 0
    google.remove(row.external_id)
    assert sync_once(db, conn) == "synced"
    drain(app)
    meeting = db.session.get(Meeting, meeting.id)
    assert meeting.outcome == "canceled"
    assert sorted((r, m) for r, m, _s, _e in itip(smtp)) == [
        ("guest1@example.org", "CANCEL"), ("guest2@example.org", "CANCEL")]
    assert google.events == {}  # not recreated


def test_google_write_with_a_stale_etag_takes_the_change_in_first(client, rep, cal, db,  # noqa: F811
                                                                   make, smtp, app, clock):
    google, _ = cal
    oauth_connect(client, "google")
    account, _user = rep
    meeting = booked(client, db, make, account)
    conn = db.session.scalar(sa.select(CalendarConnection))
    sync_once(db, conn)
    row = db.session.scalar(sa.select(CalendarSync))
    clock.shift(timedelta(minutes=5))
    # Renamed in Google after Parley's edit was made but before it was written: the
    # calendar's change is the later one and wins; Parley's title stays in the history.
    google.faults.add("/events/", 503)
    day = future_day(12)
    client.post(f"/meetings/{meeting.id}/edit", data=form(
        title="Renamed in Parley", start_date=day, start_time="09:00", end_time="10:00"))
    clock.shift(timedelta(minutes=5))
    google.edit(row.external_id, summary="Renamed in Google")
    clock.shift(timedelta(minutes=5))
    db.session.expire_all()
    row = db.session.scalar(sa.select(CalendarSync))
    assert row.status == "pending"
    calls = len(google.calls)
    assert calendar_sync.run_sync(row.id) == "synced"
    assert any(c[0] == "GET" for c in google.calls[calls:])  # read the server's version
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).title == "Renamed in Google"
    assert google.events[row.external_id]["summary"] == "Renamed in Google"
    change = db.session.scalar(sa.select(MeetingCalendarChange))
    assert change.kind == "conflict" and change.details["kept"] == "calendar"
    assert change.details["title"][0] == "Renamed in Parley"


def test_graph_delta_moved_and_deleted_mail_nothing_from_parley(client, rep, cal, db, make,  # noqa: F811
                                                                smtp, app):
    _, ms = cal
    oauth_connect(client, "microsoft")
    account, _user = rep
    meeting = booked(client, db, make, account)
    conn = db.session.scalar(sa.select(CalendarConnection))
    assert sync_once(db, conn) == "synced"
    row = db.session.scalar(sa.select(CalendarSync))
    assert row.etag == ms.events[row.external_id]["changeKey"]
    patches = sum(1 for c in ms.calls if c[0] == "PATCH")
    ms.edit(row.external_id, start={"dateTime": "2031-05-06T15:00:00", "timeZone": "UTC"},
            end={"dateTime": "2031-05-06T16:00:00", "timeZone": "UTC"})
    ms.duplicate = True
    assert sync_once(db, conn) == "synced"
    assert sync_once(db, conn) == "synced"
    drain(app)
    meeting = db.session.get(Meeting, meeting.id)
    assert meeting.start_at.isoformat() == "2031-05-06T15:00:00+00:00"
    assert meeting.outcome == "rescheduled"
    assert smtp.messages == []  # Microsoft mails the attendees; Parley does not
    assert sum(1 for c in ms.calls if c[0] == "PATCH") == patches  # and does not PATCH back
    delta = [c for c in ms.calls if c[1].endswith("/calendarView/delta")]
    assert "$deltatoken" in delta[-1][2]
    # 410: a new round (full), nothing taken in twice.
    ms.oldest_token = len(ms.change_log) + 1
    assert sync_once(db, conn) == "synced"
    assert db.session.scalar(sa.select(sa.func.count(MeetingCalendarChange.id))) == 1
    ms.oldest_token = 0
    ms.remove(row.external_id)
    assert sync_once(db, conn) == "synced"
    drain(app)
    assert db.session.get(Meeting, meeting.id).outcome == "canceled"
    assert smtp.messages == []


# --- API ---------------------------------------------------------------------------------

def test_api_calendar_connections(client, make, db, radicale):  # noqa: F811
    from webapp.api import operations as token_ops
    account = make.account()
    user = make.user(account)
    _row, token = token_ops.create_token(user, "tests")
    other = make.user(account)
    _row, other_token = token_ops.create_token(other, "tests")
    db.session.commit()
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/calendar-connections", headers=auth).json == {"items": []}
    refused = client.post("/api/v1/calendar-connections", headers=auth, json={
        "provider": "google", "url": "https://x.example/", "username": "a", "password": "b"})
    assert refused.status_code == 422
    wrong = client.post("/api/v1/calendar-connections", headers=auth, json={
        "provider": "caldav", "url": radicale, "username": "alice", "password": "nope"})
    assert wrong.status_code == 422 and wrong.json["errors"][0]["field"] == "password"
    made = client.post("/api/v1/calendar-connections", headers=auth, json={
        "provider": "caldav", "url": radicale, "username": "alice", "password": "wonderland",
        "on_remote_delete": "flag"})
    assert made.status_code == 201, made.json
    body = made.json
    assert body["provider"] == "caldav" and "password" not in str(body)
    assert body["sync"]["on_remote_delete"] == "flag" and body["sync"]["last_success_at"] is None
    listed = client.get("/api/v1/calendar-connections", headers=auth).json["items"]
    assert [c["id"] for c in listed] == [body["id"]]
    # Someone else's connection is not the caller's to see, sync or delete.
    other_auth = {"Authorization": f"Bearer {other_token}"}
    assert client.get("/api/v1/calendar-connections", headers=other_auth).json == {"items": []}
    assert client.post(f"/api/v1/calendar-connections/{body['id']}/sync",
                       headers=other_auth).status_code == 404
    assert client.delete(f"/api/v1/calendar-connections/{body['id']}",
                         headers=other_auth).status_code == 404
    synced = client.post(f"/api/v1/calendar-connections/{body['id']}/sync", headers=auth)
    assert synced.status_code == 202 and synced.json["sync"]["last_success_at"]
    assert synced.json["sync"]["failures"] == 0
    doc = client.get("/api/v1/openapi.json").json
    assert {"get", "post"} <= set(doc["paths"]["/calendar-connections"])
    assert "post" in doc["paths"]["/calendar-connections/{connection_id}/sync"]
    assert client.delete(f"/api/v1/calendar-connections/{body['id']}",
                         headers=auth).status_code == 204
    assert client.get("/api/v1/calendar-connections", headers=auth).json == {"items": []}


def test_caldav_ctag_etag_fallback_and_an_expired_sync_token(client, rep, db, make, dav,  # noqa: F811
                                                             smtp, app, monkeypatch):
    """A server without sync-collection: getctag and every member's getetag, compared
    with the stored ones. An expired sync token (403 valid-sync-token): a full listing."""
    from webapp.calendars.providers import caldav as caldav_provider
    conn, calendar = dav
    account, _user = rep
    meeting = booked(client, db, make, account)
    sync_once(db, conn)
    drain(app)
    smtp.clear()
    real = caldav_provider.CalDAVCalendar._dav

    def no_sync_collection(self, method, url, *args, **kwargs):
        if method == "REPORT" and "sync-collection" in str(args[0] if args else ""):
            raise caldav_provider.ProviderError("CalDAV server answered 501", 501,
                                                retryable=False)
        return real(self, method, url, *args, **kwargs)

    monkeypatch.setattr(caldav_provider.CalDAVCalendar, "_dav", no_sync_collection)
    stored = calendar.event_by_uid(meeting.uid)
    stored.icalendar_component["SUMMARY"] = "Renamed, seen by etag"
    stored.save()
    assert sync_once(db, conn) == "synced"
    drain(app)
    assert db.session.get(Meeting, meeting.id).title == "Renamed, seen by etag"
    state = db.session.scalar(sa.select(CalendarSyncState))
    assert state.ctag and state.sync_token is None
    assert sorted(m for _r, m, _s, _e in itip(smtp)) == ["REQUEST", "REQUEST"]
    # Nothing changed since: the fallback finds nothing (Parley's own write is known).
    smtp.clear()
    assert sync_once(db, conn) == "synced"
    drain(app)
    assert smtp.messages == []
    monkeypatch.undo()
    # sync-collection again, from a token the server no longer knows: a full listing,
    # and Parley's own event, unchanged, is not taken in again.
    state = db.session.scalar(sa.select(CalendarSyncState))
    state.sync_token = "http://radicale.org/ns/sync/0000000000000000000000000000000000000000"
    db.session.commit()
    assert sync_once(db, conn) == "synced"
    drain(app)
    assert smtp.messages == []
    assert db.session.scalar(sa.select(CalendarSyncState)).sync_token.startswith("http")


def test_an_event_deleted_in_google_is_not_recreated_by_the_next_edit(client, rep, cal, db,  # noqa: F811
                                                                     make, smtp, app):
    google, _ = cal
    oauth_connect(client, "google")
    account, _user = rep
    meeting = booked(client, db, make, account)
    row = db.session.scalar(sa.select(CalendarSync))
    google.remove(row.external_id)  # deleted in Google; Parley has not synced since
    drain(app)
    smtp.clear()
    client.post(f"/meetings/{meeting.id}/edit", data=form(
        title="Edited in Parley", start_date=future_day(12), start_time="09:00",
        end_time="10:00"))
    drain(app)
    assert google.events == {}  # not recreated
    db.session.expire_all()
    row = db.session.scalar(sa.select(CalendarSync))
    assert row.remote_deleted_at is not None and row.status == "synced"
    assert db.session.get(Meeting, meeting.id).outcome == "canceled"
    kinds = sorted(m for _r, m, _s, _e in itip(smtp))
    assert kinds.count("CANCEL") == 2  # one each, after the edit's update


def test_a_save_refused_after_writing_keeps_nothing_of_the_sync(client, rep, db, make, dav,  # noqa: F811
                                                                smtp, app, monkeypatch):
    """pipeline.save rolls back when a refusal comes after writing (a rotation or video
    provider): the sync then fails as a whole and keeps its old token."""
    from webapp.meetings import pipeline
    conn, calendar = dav
    account, _user = rep
    meeting = booked(client, db, make, account)
    sync_once(db, conn)
    token = db.session.scalar(sa.select(CalendarSyncState)).sync_token
    stored = calendar.event_by_uid(meeting.uid)
    stored.icalendar_component["SUMMARY"] = "Refused once"
    stored.save()
    real = pipeline.save

    def refused(*args, **kwargs):
        db.session.rollback()
        return pipeline.SaveResult(errors={"video_provider": ["refused"]})

    monkeypatch.setattr(pipeline, "save", refused)
    assert sync_once(db, conn) == "failed"
    state = db.session.scalar(sa.select(CalendarSyncState))
    assert state.sync_token == token and state.failures == 1
    assert db.session.scalar(sa.select(sa.func.count(MeetingCalendarChange.id))) == 0
    monkeypatch.setattr(pipeline, "save", real)
    assert sync_once(db, conn) == "synced"
    assert db.session.get(Meeting, meeting.id).title == "Refused once"


def test_inbound_sync_refreshes_a_refused_token_once(client, rep, cal, db, make):  # noqa: F811
    google, _ = cal
    oauth_connect(client, "google")
    conn = db.session.scalar(sa.select(CalendarConnection))
    google.access_tokens.clear()  # the access token is refused (401) before it expires
    refreshes = google.refresh_calls
    assert sync_once(db, conn) == "synced"
    assert google.refresh_calls == refreshes + 1


def test_inbound_sync_reads_only_the_rows_of_the_changed_events(client, rep, cal, db,  # noqa: F811
                                                                 make, smtp, app):
    """A connection with many meetings on its calendar: a sync that brings one change
    reads that event's sync row (by its id, then by UID), not every row of the connection."""
    from datetime import UTC, datetime

    google, _ = cal
    oauth_connect(client, "google")
    account, user = rep
    meeting = booked(client, db, make, account)
    conn = db.session.scalar(sa.select(CalendarConnection))
    start = datetime(2031, 1, 6, 15, tzinfo=UTC)
    for i in range(60):
        other = Meeting(account_id=account.id, title=f"Other {i}", start_at=start,
                        end_at=start + timedelta(minutes=30), timezone="UTC",
                        host_id=user.id, organizer_id=user.id)
        db.session.add(other)
        db.session.flush()
        db.session.add(CalendarSync(account_id=account.id, meeting_id=other.id,
                                    connection_id=conn.id, provider="google",
                                    external_id=f"other{i}", etag=f'"o{i}"',
                                    status="synced"))
    db.session.commit()
    assert sync_once(db, conn) == "synced"  # the first sync
    row = db.session.scalar(sa.select(CalendarSync).where(CalendarSync.meeting_id == meeting.id))
    google.edit(row.external_id, summary="Renamed in Google")
    google.events["notparley"] = {"id": "notparley", "iCalUID": "x@elsewhere",
                                  "summary": "Dentist", "start": {"dateTime": start.isoformat()},
                                  "end": {"dateTime": start.isoformat()}}
    google.changed("notparley")

    loaded: list[int] = []

    def on_load(target, _context):
        loaded.append(target.id)

    row_id, conn_id, meeting_id = row.id, conn.id, meeting.id
    db.session.remove()  # a fresh session, as the job has
    conn = db.session.get(CalendarConnection, conn_id)
    sa.event.listen(CalendarSync, "load", on_load)
    try:
        assert sync_once(db, conn) == "synced"
    finally:
        sa.event.remove(CalendarSync, "load", on_load)
    assert db.session.get(Meeting, meeting_id).title == "Renamed in Google"
    # The changed event's row (read again by the save); none of the 60 others.
    assert set(loaded) == {row_id}, loaded


def _change_line(html: str) -> str:
    import re
    found = re.findall(r'<p class="timeline-calendar-change">([^<]*)</p>', html)
    assert len(found) == 1, html
    return found[0]


def test_the_record_timeline_says_the_host_moved_it_in_google(client, rep, cal, db, make,  # noqa: F811
                                                              smtp, app):
    from webapp.records.models import Contact
    google, _ = cal
    oauth_connect(client, "google")
    account, user = rep
    meeting = booked(client, db, make, account)
    conn = db.session.scalar(sa.select(CalendarConnection))
    contact = db.session.scalar(sa.select(Contact).where(Contact.email == "guest1@example.org"))
    assert sync_once(db, conn) == "synced"
    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "timeline-calendar-change" not in page

    day, next_day = future_day(12), future_day(13)
    row = db.session.scalar(sa.select(CalendarSync))
    google.edit(row.external_id, start={"dateTime": local(next_day, "10:00").isoformat()},
                end={"dateTime": local(next_day, "11:00").isoformat()})
    assert sync_once(db, conn) == "synced"
    drain(app)
    line = _change_line(client.get(f"/contacts/{contact.id}").get_data(as_text=True))
    # In the viewer's zone (New York), without seconds: "Mon, 9:00 AM → Tue, 10:00 AM".
    assert line.startswith("Moved in Google Calendar by the host: ")
    old, new = line.split(": ", 1)[1].split(" → ")
    assert old.startswith(day.strftime("%a")) and "9:00" in old
    assert new.startswith(next_day.strftime("%a")) and "10:00" in new
    assert ":00:00" not in line and "UTC" not in line
    shown = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert line in shown  # the meeting page says the same

    # Another viewer's zone and language.
    user = db.session.get(type(user), user.id)
    user.locale, user.timezone = "zh_Hant", "Asia/Taipei"
    db.session.commit()
    from flask_babel import refresh
    refresh()  # the requests share the test's app context, where Babel keeps its choice
    line = _change_line(client.get(f"/contacts/{contact.id}").get_data(as_text=True))
    assert line.startswith("主持人在 Google Calendar 中移動了時間：")
    # 9:00 and 10:00 in New York are evening hours in Taipei: 21:00 and 22:00 while New
    # York keeps summer time, 22:00 and 23:00 in winter (the tests' "now" moves: tests/clock.py).
    taipei = ZoneInfo("Asia/Taipei")

    def evening(at) -> str:
        shown = at.astimezone(taipei)
        return f"晚上{shown.hour - 12}:{shown.minute:02d}"

    old, new = line.split("：", 1)[1].split(" → ")
    assert evening(local(day, "09:00")) in old and evening(local(next_day, "10:00")) in new


def test_the_timeline_reads_calendar_changes_with_its_page(client, make, db, login,
                                                           count_queries):
    """Calendar changes on every meeting of a page cost no statement more (no N+1)."""
    from datetime import UTC, datetime

    from tests.test_query_counts import add_meeting, count_get
    account = make.account(timezone="America/New_York")
    rep_user = login(make.user(account, timezone="America/New_York", name="Rep"))
    contact = make.contact(account)
    start = datetime(2031, 3, 3, 14, tzinfo=UTC)
    meetings = [add_meeting(db, account, rep_user, f"Met {i}", start - timedelta(days=i),
                            [contact]) for i in range(25)]
    client.get(f"/contacts/{contact.id}")
    few, html, _ = count_get(client, count_queries, db, f"/contacts/{contact.id}")
    assert "timeline-calendar-change" not in html
    for meeting in meetings:
        for hours in (1, 2):  # moved twice: the latest move is shown
            old = meeting.start_at + timedelta(hours=hours - 1)
            db.session.add(MeetingCalendarChange(
                account_id=account.id, meeting_id=meeting.id, provider="google",
                kind="moved", details={"start": [str(old), str(old + timedelta(hours=1))]}))
        db.session.add(MeetingCalendarChange(  # a conflict stays on the meeting's page
            account_id=account.id, meeting_id=meeting.id, provider="google",
            kind="conflict", details={"kept": "parley"}))
    db.session.commit()
    many, html, statements = count_get(client, count_queries, db, f"/contacts/{contact.id}")
    assert many == few, statements
    assert html.count("Moved in Google Calendar by the host: ") == 20
    # The newest meeting's latest move (15:00 to 16:00 UTC), in the viewer's zone.
    assert "by the host: Mon, 10:00\u202fAM → Mon, 11:00\u202fAM</p>" in html


# --- #21: a target calendar that is not the default; events left on a previous target -----

def _calendar_rows(db, conn) -> dict:
    from webapp.calendars.models import ConnectionCalendar
    return {c.name: c for c in db.session.scalars(sa.select(ConnectionCalendar).where(
        ConnectionCalendar.connection_id == conn.id))}


def _choose_target(client, conn, target) -> None:
    r = client.post(f"/calendars/{conn.id}/calendars", data={"target": str(target.id)})
    assert r.status_code == 302, r.get_data(as_text=True)[-300:]


def test_graph_target_calendar_not_the_default_takes_changes_in(client, rep, cal, db, make,  # noqa: F811
                                                                smtp, app):
    """New meetings go to a Graph calendar that is not the mailbox's default: the event is
    created with POST /me/calendars/{id}/events, its changes are read with
    /me/calendars/{id}/calendarView/delta, and a move made there moves the meeting."""
    from webapp.records.models import Contact
    _, ms = cal
    ms.add_calendar("AAMkDefault", "Calendar", primary=True)
    ms.add_calendar("AAMkTeam", "Team")
    oauth_connect(client, "microsoft")
    account, _user = rep
    conn = db.session.scalar(sa.select(CalendarConnection))
    _choose_target(client, conn, _calendar_rows(db, conn)["Team"])
    meeting = booked(client, db, make, account)
    row = db.session.scalar(sa.select(CalendarSync))
    assert row.status == "synced", row.last_error
    assert ms.event_calendar[row.external_id] == "AAMkTeam"
    assert ("POST", "/v1.0/me/calendars/AAMkTeam/events") in [c[:2] for c in ms.calls]
    assert sync_once(db, conn) == "synced"  # the first sync: versions recorded
    ms.edit(row.external_id, start={"dateTime": "2031-05-06T15:00:00", "timeZone": "UTC"},
            end={"dateTime": "2031-05-06T16:00:00", "timeZone": "UTC"})
    assert sync_once(db, conn) == "synced"
    drain(app)
    deltas = [(path, args) for method, path, args in ms.calls if path.endswith("/delta")]
    assert {path for path, _ in deltas} == {"/v1.0/me/calendars/AAMkTeam/calendarView/delta"}
    assert "$deltatoken" in deltas[-1][1] and "startDateTime" in deltas[0][1]
    meeting = db.session.get(Meeting, meeting.id)
    assert meeting.start_at.isoformat() == "2031-05-06T15:00:00+00:00"
    assert meeting.outcome == "rescheduled"
    contact = db.session.scalar(sa.select(Contact).where(Contact.email == "guest1@example.org"))
    line = _change_line(client.get(f"/contacts/{contact.id}").get_data(as_text=True))
    assert line.startswith("Moved in Microsoft 365 by the host: ")
    # Cancelled in Outlook: the meeting is canceled.
    ms.remove(row.external_id)
    assert sync_once(db, conn) == "synced"
    drain(app)
    assert db.session.get(Meeting, meeting.id).outcome == "canceled"


def test_google_events_on_a_previous_target_still_sync_both_ways(client, rep, cal, db, make,  # noqa: F811
                                                                 smtp, app):
    """A meeting written to primary before the user chose "Work" for new meetings: a move
    made on primary in Google still comes back, and Parley's edits still go to primary;
    the new meeting on Work syncs too, each calendar with its own sync token."""
    google, _ = cal
    google.add_calendar(google.email, google.email, primary=True)
    google.add_calendar("work-cal@group.calendar.example", "Work")
    oauth_connect(client, "google")
    account, _user = rep
    conn = db.session.scalar(sa.select(CalendarConnection))
    old = booked(client, db, make, account)
    old_row = db.session.scalar(sa.select(CalendarSync))
    assert google.event_calendar[old_row.external_id] == "primary"
    assert sync_once(db, conn) == "synced"
    _choose_target(client, conn, _calendar_rows(db, conn)["Work"])
    contact = make.contact(account, email="guest3@example.org")
    day, next_day = future_day(12), future_day(13)
    schedule(client, contact, title="On Work", start_date=day, start_time="13:00",
             end_time="13:30", attendees=[f"contact:{contact.id}"])
    new = db.session.scalar(sa.select(Meeting).where(Meeting.title == "On Work"))
    new_row = db.session.scalar(sa.select(CalendarSync).where(CalendarSync.meeting_id == new.id))
    assert google.event_calendar[new_row.external_id] == "work-cal@group.calendar.example"
    assert sync_once(db, conn) == "synced"
    # Moved on primary in Google: the meeting moves.
    google.edit(old_row.external_id, start={"dateTime": local(next_day, "10:00").isoformat()},
                end={"dateTime": local(next_day, "11:00").isoformat()})
    google.edit(new_row.external_id, summary="Renamed on Work")
    assert sync_once(db, conn) == "synced"
    drain(app)
    assert db.session.get(Meeting, old.id).start_at == local(next_day, "10:00")
    assert db.session.get(Meeting, new.id).title == "Renamed on Work"
    # Each calendar was read with its own token (incremental), never the other's.
    lists = [(path, args) for method, path, args in google.calls
             if method == "GET" and path.endswith("/events")]
    assert {path for path, _ in lists[-2:]} == {
        "/calendar/v3/calendars/primary/events",
        "/calendar/v3/calendars/work-cal@group.calendar.example/events"}
    assert all("syncToken" in args for _, args in lists[-2:])
    # Parley's edit of the old meeting goes to primary, where its event is.
    client.post(f"/meetings/{old.id}/edit", data=form(
        title="Edited in Parley", start_date=next_day, start_time="10:00", end_time="11:00",
        attendees=[f"contact:{a.contact_id}" for a in db.session.get(Meeting, old.id).attendees]))
    assert google.events[old_row.external_id]["summary"] == "Edited in Parley"
    assert google.event_calendar[old_row.external_id] == "primary"
    # Deleted on primary in Google: the meeting is canceled.
    google.remove(old_row.external_id)
    assert sync_once(db, conn) == "synced"
    drain(app)
    assert db.session.get(Meeting, old.id).outcome == "canceled"
    assert db.session.get(Meeting, new.id).outcome != "canceled"


def test_radicale_events_on_a_previous_target_collection_still_sync(client, rep, db, make,  # noqa: F811
                                                                    radicale, smtp, app):  # noqa: F811
    """CalDAV with two collections: a meeting written to Home before the user chose Work
    for new meetings is still moved by a change made in Home, and written back to Home."""
    import uuid
    tag = uuid.uuid4().hex[:6]
    other = caldav.DAVClient(url=radicale, username="alice", password="wonderland")
    home = other.principal().make_calendar(name=f"Home {tag}")
    work = other.principal().make_calendar(name=f"Work {tag}")
    assert client.post("/calendars/caldav", data={
        "url": radicale, "username": "alice", "password": "wonderland"}).status_code == 302
    account, _user = rep
    conn = db.session.scalar(sa.select(CalendarConnection))
    _choose_target(client, conn, _calendar_rows(db, conn)[f"Home {tag}"])
    old = booked(client, db, make, account)
    home.event_by_uid(old.uid)  # written to Home
    assert sync_once(db, conn) == "synced"
    _choose_target(client, conn, _calendar_rows(db, conn)[f"Work {tag}"])
    day, next_day = future_day(12), future_day(13)
    schedule(client, None, title="On Work", start_date=day, start_time="13:00",
             end_time="13:30")
    new = db.session.scalar(sa.select(Meeting).where(Meeting.title == "On Work"))
    work.event_by_uid(new.uid)
    assert sync_once(db, conn) == "synced"
    stored = home.event_by_uid(old.uid)
    stored.icalendar_component["DTSTART"].dt = local(next_day, "11:00")
    stored.icalendar_component["DTEND"].dt = local(next_day, "12:00")
    stored.save()
    assert sync_once(db, conn) == "synced"
    drain(app)
    moved = db.session.get(Meeting, old.id)
    assert moved.start_at == local(next_day, "11:00") and moved.outcome == "rescheduled"
    assert "Moved in CalDAV by the host" in client.get(f"/meetings/{old.id}").get_data(
        as_text=True)
    # Parley's edit goes to Home, where the event is; Work never gets a copy.
    client.post(f"/meetings/{old.id}/edit", data=form(
        title="Edited in Parley", start_date=next_day, start_time="11:00", end_time="12:00",
        attendees=[f"contact:{a.contact_id}" for a in moved.attendees]))
    assert str(home.event_by_uid(old.uid).icalendar_component["SUMMARY"]) == "Edited in Parley"
    assert [str(e.icalendar_component["SUMMARY"]) for e in work.events()] == ["On Work"]
    # Deleted in Home: the meeting is canceled.
    home.event_by_uid(old.uid).delete()
    assert sync_once(db, conn) == "synced"
    drain(app)
    assert db.session.get(Meeting, old.id).outcome == "canceled"


def test_events_on_a_previous_connection_still_sync_after_choosing_another(  # noqa: F811
        client, rep, cal, db, make, smtp, app):  # noqa: F811
    """The user moves new meetings from Google to Microsoft 365: a meeting already on
    Google is still moved by a change made in Google ("sync now" reads every connection)
    and Parley's edits still go to Google; the new meeting goes to Microsoft 365."""
    google, ms = cal
    oauth_connect(client, "google")
    account, user = rep
    old = booked(client, db, make, account)
    google_conn = db.session.scalar(sa.select(CalendarConnection))
    old_row = db.session.scalar(sa.select(CalendarSync))
    assert sync_once(db, google_conn) == "synced"
    oauth_connect(client, "microsoft")
    ms_conn = db.session.scalar(sa.select(CalendarConnection).where(
        CalendarConnection.provider == "microsoft"))
    assert client.post(f"/calendars/{ms_conn.id}/receive").status_code == 302
    schedule(client, None, title="On Outlook", start_date=future_day(12), start_time="13:00",
             end_time="13:30")
    assert len(ms.events) == 1 and len(google.events) == 1
    next_day = future_day(13)
    google.edit(old_row.external_id, start={"dateTime": local(next_day, "10:00").isoformat()},
                end={"dateTime": local(next_day, "11:00").isoformat()})
    assert client.post("/calendars/sync-now").status_code == 302
    drain(app)
    db.session.expire_all()
    assert db.session.get(Meeting, old.id).start_at == local(next_day, "10:00")
    client.post(f"/meetings/{old.id}/edit", data=form(
        title="Edited in Parley", start_date=next_day, start_time="10:00", end_time="11:00",
        attendees=[f"contact:{a.contact_id}" for a in db.session.get(Meeting, old.id).attendees]))
    assert google.events[old_row.external_id]["summary"] == "Edited in Parley"
    assert len(ms.events) == 1


def test_migration_keeps_the_calendar_of_events_written_before_it(tmp_path):
    """Sync rows written before each event's calendar was kept get the calendar they were
    written to (Google primary, Graph default, the CalDAV connection's collection), so
    choosing another calendar for new meetings does not lose them."""
    from flask_migrate import upgrade

    from webapp import create_app
    from webapp.extensions import db as _db
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "JOBS_MODE": "eager",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}",
                      "UPLOAD_DIR": str(tmp_path)})
    now = "2026-01-01 00:00:00"
    with app.app_context():
        upgrade(revision="0018_left20_guest_changes")
        with _db.engine.begin() as conn:
            for cid, provider, url in ((1, "google", None), (2, "microsoft", None),
                                       (3, "caldav", "https://dav.example/alice/home/")):
                conn.execute(sa.text(
                    "INSERT INTO calendar_connections (id, account_id, user_id, provider, "
                    "status, sync_on, token_version, created_at, receives_events, "
                    "caldav_calendar_url) VALUES (:id, 1, 1, :p, 'active', 1, 0, :now, 0, "
                    ":url)"), {"id": cid, "p": provider, "now": now, "url": url})
                for n, eid in ((cid * 10, f"e{cid}"), (cid * 10 + 1, None)):
                    conn.execute(sa.text(
                        "INSERT INTO calendar_syncs (id, account_id, meeting_id, "
                        "connection_id, provider, external_id, action, status, attempts, "
                        "next_attempt_at) VALUES (:n, 1, :n, :c, :p, :e, 'upsert', 'synced', "
                        "0, :now)"), {"n": n, "c": cid, "p": provider, "e": eid, "now": now})
        upgrade()
        refs = dict(_db.session.execute(sa.text("SELECT id, calendar_ref FROM calendar_syncs")).all())
        _db.session.remove()
    assert refs == {10: "primary", 11: None, 20: "default", 21: None,
                    30: "https://dav.example/alice/home/", 31: None}


def test_a_previous_target_calendar_deleted_in_google_does_not_stop_the_sync(  # noqa: F811
        client, rep, cal, db, make, smtp, app):  # noqa: F811
    """The calendar that held a meeting's event is deleted in Google after the user chose
    another one: the sync goes on (nothing of it can change any more), and changes on the
    calendar receiving new meetings are still taken in."""
    google, _ = cal
    google.add_calendar(google.email, google.email, primary=True)
    google.add_calendar("work-cal@group.calendar.example", "Work")
    oauth_connect(client, "google")
    account, _user = rep
    conn = db.session.scalar(sa.select(CalendarConnection))
    _choose_target(client, conn, _calendar_rows(db, conn)["Work"])
    booked(client, db, make, account)
    assert sync_once(db, conn) == "synced"
    _choose_target(client, conn, _calendar_rows(db, conn)[google.email])
    schedule(client, None, title="On primary", start_date=future_day(12), start_time="13:00",
             end_time="13:30")
    new = db.session.scalar(sa.select(Meeting).where(Meeting.title == "On primary"))
    new_row = db.session.scalar(sa.select(CalendarSync).where(CalendarSync.meeting_id == new.id))
    google.calendar_list = [c for c in google.calendar_list if c["id"] != "work-cal@group.calendar.example"]
    google.edit(new_row.external_id, summary="Renamed on primary")
    assert sync_once(db, conn) == "synced"
    assert db.session.get(Meeting, new.id).title == "Renamed on primary"
    state = db.session.scalar(sa.select(CalendarSyncState))
    assert state.failures == 0 and state.last_error is None
