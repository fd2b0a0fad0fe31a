"""Google push notifications (issue 23): a channel per Google connection (events.watch on
the stand-in), renewed before it expires, stopped on disconnect; the webhook only marks
the connection's sync due, and the sweep runs it."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlparse

import pytest
import sqlalchemy as sa

from tests.meeting_helpers import future_day, local, schedule
from tests.support import drain
from tests.test_calendar_sync import booked
from tests.test_calendars import cal, oauth_connect, rep, standins  # noqa: F401
from webapp.calendars.models import CalendarChannel, CalendarSyncState
from webapp.meetings.models import Meeting

pytestmark = pytest.mark.committing

PUBLIC = "https://parley.example"


def deliver(client, notification, **changed):
    """Post a notification as Google would (headers only), some headers changed."""
    address, headers = notification
    return client.post(urlparse(address).path, headers={**headers, **changed})


def listings(google) -> int:
    """events.list calls the stand-in received (each is one inbound sync)."""
    return sum(1 for method, path, _args in google.calls
               if method == "GET" and path.endswith("/events"))


@pytest.fixture()
def pushed(app, client, rep, cal, db, make, smtp):  # noqa: F811
    """A Google connection on a Parley with a public address, a booked meeting, and the
    sweep run once: the first sync done and the channel open."""
    google, _ms = cal
    app.config["PUBLIC_BASE_URL"] = PUBLIC
    oauth_connect(client, "google")
    account, _user = rep
    meeting = booked(client, db, make, account)
    drain(app)
    return google, meeting


def test_a_notification_queues_one_sync_and_the_change_arrives(app, client, db, pushed):
    google, meeting = pushed
    assert len(google.channels) == 1
    channel = next(iter(google.channels.values()))
    assert channel["address"] == PUBLIC + "/calendars/google/notifications"
    assert len(channel["token"]) >= 32
    row = db.session.scalar(sa.select(CalendarChannel))
    assert row.channel_id == channel["id"] and row.resource_id == channel["resourceId"]

    # The "sync" message that opens the channel: 200, nothing to do.
    sync_message = google.notifications[-1]
    assert sync_message[1]["X-Goog-Resource-State"] == "sync"
    before = listings(google)
    assert deliver(client, sync_message).status_code == 200
    drain(app)
    assert listings(google) == before

    # Moved in Google Calendar: Google posts, twice (a retry); the request calls nothing.
    day = future_day(12)
    google.edit(meeting_event(google), start={"dateTime": local(day, "15:00").isoformat()},
                end={"dateTime": local(day, "16:00").isoformat()})
    change = google.notifications[-1]
    assert change[1]["X-Goog-Resource-State"] == "exists"
    assert deliver(client, change).status_code == 200
    assert deliver(client, change).status_code == 200
    assert listings(google) == before  # no provider call on the request path
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).start_at == local(day, "09:00")

    # The sweep runs exactly one sync, and the move arrives.
    drain(app)
    db.session.expire_all()
    assert listings(google) == before + 1
    assert db.session.get(Meeting, meeting.id).start_at == local(day, "15:00")
    drain(app)
    assert listings(google) == before + 1  # nothing queued twice


def meeting_event(google) -> str:
    return next(iter(google.events))


def test_a_wrong_token_channel_or_resource_is_404_and_queues_nothing(app, client, db,
                                                                      pushed):
    google, meeting = pushed
    google.edit(meeting_event(google), summary="Renamed in Google")
    change = google.notifications[-1]
    state = db.session.scalar(sa.select(CalendarSyncState))
    due = state.next_attempt_at
    before = listings(google)
    assert deliver(client, change, **{"X-Goog-Channel-Token": "x" * 43}).status_code == 404
    assert deliver(client, change, **{"X-Goog-Channel-ID": "not-ours"}).status_code == 404
    assert deliver(client, change, **{"X-Goog-Resource-ID": "rsc-other"}).status_code == 404
    address, headers = change
    bare = {k: v for k, v in headers.items() if k != "X-Goog-Channel-Token"}
    assert client.post(urlparse(address).path, headers=bare).status_code == 404
    db.session.expire_all()
    assert db.session.scalar(sa.select(CalendarSyncState)).next_attempt_at == due
    drain(app)
    assert listings(google) == before
    assert db.session.get(Meeting, meeting.id).title == "Quarterly review"


def test_the_channel_is_renewed_before_it_expires(app, client, db, pushed, clock):
    google, _meeting = pushed
    first = db.session.scalar(sa.select(CalendarChannel))
    old_id, old_notification = first.channel_id, google.notifications[-1]
    old_resource, old_expiry = first.resource_id, first.expires_at
    assert abs(first.expires_at - first.created_at - timedelta(days=7)) < timedelta(seconds=5)
    clock.shift(timedelta(days=5))
    drain(app)
    db.session.expire_all()
    assert db.session.scalar(sa.select(CalendarChannel)).channel_id == old_id  # not yet
    assert google.stopped == []

    clock.shift(timedelta(days=1, minutes=1))  # a day before it expires
    drain(app)
    db.session.expire_all()
    renewed = db.session.scalar(sa.select(CalendarChannel))
    assert renewed.channel_id != old_id and renewed.expires_at > old_expiry
    assert list(google.channels) == [renewed.channel_id]
    assert google.stopped == [{"id": old_id, "resourceId": old_resource}]
    # The old channel is no longer ours; the new one is.
    assert deliver(client, old_notification).status_code == 404
    assert deliver(client, google.notifications[-1]).status_code == 200


def test_disconnect_stops_the_channel(app, client, db, pushed):
    google, _meeting = pushed
    row = db.session.scalar(sa.select(CalendarChannel))
    channel_id, resource_id = row.channel_id, row.resource_id
    notification = google.notifications[-1]
    assert client.post("/calendars/disconnect").status_code == 302
    assert google.stopped == [{"id": channel_id, "resourceId": resource_id}]
    assert google.channels == {}
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(CalendarChannel.id))) == 0
    assert deliver(client, notification).status_code == 404


def test_sync_off_stops_the_channel_and_settings_say_how_changes_arrive(app, client, db,
                                                                       pushed):
    google, _meeting = pushed
    page = client.get("/settings/profile/calendar").get_data(as_text=True)
    assert 'data-mode="push"' in page and "Google Calendar tells Parley about every change" in page
    client.post("/calendars/sync", data={"sync_on": "0"})
    drain(app)
    assert google.channels == {} and len(google.stopped) == 1
    assert db.session.scalar(sa.select(sa.func.count(CalendarChannel.id))) == 0


def test_without_a_public_address_no_channel_is_made(app, client, rep, cal, db, make,  # noqa: F811
                                                     smtp):
    google, _ms = cal
    app.config["PUBLIC_BASE_URL"] = ""
    oauth_connect(client, "google")
    drain(app)
    assert google.channels == {} and not any(c[1].endswith("/watch") for c in google.calls)
    assert db.session.scalar(sa.select(sa.func.count(CalendarChannel.id))) == 0
    page = client.get("/settings/profile/calendar").get_data(as_text=True)
    assert 'data-mode="poll"' in page and "no public address" in page


# --- Microsoft Graph subscriptions ---------------------------------------------------------

def test_graph_subscription_is_validated_notifies_and_is_deleted(app, client, rep, cal,  # noqa: F811
                                                                  db, make, smtp):
    from urllib.parse import quote
    _google, ms = cal
    app.config["PUBLIC_BASE_URL"] = PUBLIC
    # Graph posts its validation request while the subscription is being made.
    ms.validate = lambda url, token: app.test_client().post(
        f"{urlparse(url).path}?validationToken={quote(token)}").get_data(as_text=True)
    oauth_connect(client, "microsoft")
    account, _user = rep
    meeting = booked(client, db, make, account)
    drain(app)
    assert len(ms.channels) == 1
    subscription = next(iter(ms.channels.values()))
    row = db.session.scalar(sa.select(CalendarChannel))
    assert subscription["notificationUrl"] == PUBLIC + "/calendars/microsoft/notifications"
    assert row.channel_id == subscription["id"] and row.token == subscription["clientState"]
    page = client.get("/settings/profile/calendar").get_data(as_text=True)
    assert "Microsoft 365 tells Parley about every change" in page

    deltas = sum(1 for c in ms.calls if c[1].endswith("/calendarView/delta"))
    ms.edit(next(iter(ms.events)), subject="Renamed in Outlook")
    url, payload = ms.notifications[-1]
    forged = {"value": [{**payload["value"][0], "clientState": "guess"}]}
    assert client.post(urlparse(url).path, json=forged).status_code == 404
    assert client.post(urlparse(url).path, json=payload).status_code == 202
    assert sum(1 for c in ms.calls if c[1].endswith("/calendarView/delta")) == deltas
    drain(app)
    db.session.expire_all()
    assert sum(1 for c in ms.calls if c[1].endswith("/calendarView/delta")) == deltas + 1
    assert db.session.get(Meeting, meeting.id).title == "Renamed in Outlook"

    assert client.post("/calendars/disconnect").status_code == 302
    assert ms.stopped == [{"id": subscription["id"]}] and ms.channels == {}
    assert client.post(urlparse(url).path, json=payload).status_code == 404


def test_a_second_calendar_gets_its_own_channel_and_disconnecting_one_stops_only_its(  # noqa: F811
        app, client, db, pushed, cal):  # noqa: F811
    from urllib.parse import quote
    google, _meeting = pushed
    _google, ms = cal
    ms.validate = lambda url, token: app.test_client().post(
        f"{urlparse(url).path}?validationToken={quote(token)}").get_data(as_text=True)
    old = db.session.scalar(sa.select(CalendarChannel))
    old_id, old_resource, google_conn = old.channel_id, old.resource_id, old.connection_id
    oauth_connect(client, "microsoft")  # a second calendar (#21): both count
    assert google.stopped == [] and list(google.channels) == [old_id]
    drain(app)
    db.session.expire_all()
    rows = db.session.scalars(sa.select(CalendarChannel)).all()
    graph_row, = [r for r in rows if r.connection_id != google_conn]
    assert list(ms.channels) == [graph_row.channel_id]
    assert client.post("/calendars/disconnect",
                       data={"connection_id": str(google_conn)}).status_code == 302
    assert google.stopped == [{"id": old_id, "resourceId": old_resource}]
    assert google.channels == {} and list(ms.channels) == [graph_row.channel_id]


def test_a_channel_google_refuses_is_tried_again_and_settings_show_why(  # noqa: F811
        app, client, rep, cal, db, smtp):  # noqa: F811
    google, _ms = cal
    app.config["PUBLIC_BASE_URL"] = "http://parley.example"  # Google wants https
    oauth_connect(client, "google")
    drain(app)
    assert google.channels == {}
    row = db.session.scalar(sa.select(CalendarChannel))
    assert row.channel_id is None and row.status == "pending" and "400" in row.last_error
    page = client.get("/settings/profile/calendar").get_data(as_text=True)
    assert 'data-mode="starting"' in page and 'id="sync-push-error"' in page


# --- #21: a channel on every calendar holding Parley's events -------------------------------

WORK = "work-cal@group.calendar.example"


def _two_calendars(app, client, google, db):
    """A Google connection listing primary and Work, on a Parley with a public address."""
    from webapp.calendars.models import CalendarConnection
    google.add_calendar(google.email, google.email, primary=True)
    google.add_calendar(WORK, "Work")
    app.config["PUBLIC_BASE_URL"] = PUBLIC
    oauth_connect(client, "google")
    return db.session.scalar(sa.select(CalendarConnection))


def _choose(client, db, conn, name):
    from webapp.calendars.models import ConnectionCalendar
    target = db.session.scalar(sa.select(ConnectionCalendar).where(
        ConnectionCalendar.connection_id == conn.id, ConnectionCalendar.name == name))
    assert client.post(f"/calendars/{conn.id}/calendars",
                       data={"target": str(target.id)}).status_code == 302


def _channel_on(google, calendar: str) -> dict:
    found = [c for c in google.channels.values() if c["calendar"] == calendar]
    assert len(found) == 1, google.channels
    return found[0]


def _last_change(google, channel: dict):
    address, headers = google.notifications[-1]
    assert headers["X-Goog-Channel-ID"] == channel["id"], "no notification from this channel"
    assert headers["X-Goog-Resource-State"] == "exists"
    return address, headers


def _moved(google, meeting, day, hour):
    from webapp.calendars.models import CalendarSync
    from webapp.extensions import db
    row = db.session.scalar(sa.select(CalendarSync).where(CalendarSync.meeting_id == meeting.id))
    google.edit(row.external_id, start={"dateTime": local(day, f"{hour}:00").isoformat()},
                end={"dateTime": local(day, f"{hour + 1}:00").isoformat()})


def test_a_change_on_a_target_calendar_other_than_primary_arrives_by_push(
        app, client, rep, cal, db, make, smtp):  # noqa: F811
    google, _ms = cal
    conn = _two_calendars(app, client, google, db)
    _choose(client, db, conn, "Work")
    account, _user = rep
    meeting = booked(client, db, make, account)
    drain(app)
    work = _channel_on(google, WORK)
    assert "/calendars/work-cal" in work["resourceUri"]
    assert [r.calendar_id for r in db.session.scalars(sa.select(CalendarChannel))] == [WORK]

    # Moved on Work in Google Calendar: the periodic sync is not due, so without push the
    # meeting would stay where it is until the next interval.
    day = future_day(12)
    _moved(google, meeting, day, 15)
    drain(app)
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).start_at == local(day, "09:00")
    change = _last_change(google, work)
    before = listings(google)
    assert deliver(client, change).status_code == 200
    assert listings(google) == before  # the webhook calls nothing
    drain(app)
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).start_at == local(day, "15:00")
    assert listings(google) == before + 1  # one sync, reading Work


def test_the_previous_target_keeps_its_own_channel_until_it_holds_no_events(
        app, client, rep, cal, db, make, smtp):  # noqa: F811
    google, _ms = cal
    conn = _two_calendars(app, client, google, db)
    account, _user = rep
    old = booked(client, db, make, account)  # on primary
    drain(app)
    primary = _channel_on(google, "primary")
    _choose(client, db, conn, "Work")
    contact = make.contact(account, email="guest3@example.org")
    day, next_day = future_day(12), future_day(13)
    schedule(client, contact, title="On Work", start_date=day, start_time="13:00",
             end_time="13:30", attendees=[f"contact:{contact.id}"])
    new = db.session.scalar(sa.select(Meeting).where(Meeting.title == "On Work"))
    drain(app)
    work = _channel_on(google, WORK)
    assert _channel_on(google, "primary")["id"] == primary["id"]  # kept, not replaced
    rows = db.session.scalars(sa.select(CalendarChannel)).all()
    assert sorted(r.calendar_id for r in rows) == ["primary", WORK]

    # A move on primary comes through primary's channel, one on Work through Work's.
    _moved(google, old, next_day, 10)
    assert deliver(client, _last_change(google, primary)).status_code == 200
    _moved(google, new, next_day, 14)
    change = _last_change(google, work)
    # Another channel's token does not open this one.
    assert deliver(client, change, **{"X-Goog-Channel-Token": primary["token"]}
                   ).status_code == 404
    assert deliver(client, change).status_code == 200
    drain(app)
    db.session.expire_all()
    assert db.session.get(Meeting, old.id).start_at == local(next_day, "10:00")
    assert db.session.get(Meeting, new.id).start_at == local(next_day, "14:00")

    # Deleted on primary in Google: the meeting is canceled, and primary, holding no
    # meeting of Parley's any more, is no longer watched.
    from webapp.calendars.models import CalendarSync
    old_row = db.session.scalar(sa.select(CalendarSync).where(CalendarSync.meeting_id == old.id))
    google.remove(old_row.external_id)
    assert deliver(client, _last_change(google, primary)).status_code == 200
    drain(app)
    db.session.expire_all()
    assert db.session.get(Meeting, old.id).outcome == "canceled"
    assert list(google.channels) == [work["id"]]
    assert {"id": primary["id"], "resourceId": primary["resourceId"]} in google.stopped
    assert [r.calendar_id for r in db.session.scalars(sa.select(CalendarChannel))] == [WORK]


def test_disconnect_stops_the_channel_of_every_calendar(app, client, rep, cal, db, make,  # noqa: F811
                                                        smtp):
    google, _ms = cal
    conn = _two_calendars(app, client, google, db)
    account, _user = rep
    booked(client, db, make, account)
    drain(app)
    _choose(client, db, conn, "Work")
    drain(app)
    assert len(google.channels) == 2
    opened = [(c["id"], c["resourceId"]) for c in google.channels.values()]
    notifications = [google.notifications[-1]]
    _moved(google, db.session.scalar(sa.select(Meeting)), future_day(13), 10)
    notifications.append(google.notifications[-1])
    assert client.post("/calendars/disconnect").status_code == 302
    assert google.channels == {}
    assert sorted((s["id"], s["resourceId"]) for s in google.stopped) == sorted(opened)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(CalendarChannel.id))) == 0
    for notification in notifications:
        assert deliver(client, notification).status_code == 404


def test_graph_subscription_to_me_events_hears_a_target_other_than_the_default(
        app, client, rep, cal, db, make, smtp):  # noqa: F811
    """Graph documents me/events as every event of the mailbox: the one subscription
    hears a change on a target calendar that is not the default, and the meeting moves."""
    from urllib.parse import quote

    from webapp.calendars.models import CalendarConnection, CalendarSync
    _google, ms = cal
    ms.add_calendar("AAMkDefault", "Calendar", primary=True)
    ms.add_calendar("AAMkTeam", "Team")
    app.config["PUBLIC_BASE_URL"] = PUBLIC
    ms.validate = lambda url, token: app.test_client().post(
        f"{urlparse(url).path}?validationToken={quote(token)}").get_data(as_text=True)
    oauth_connect(client, "microsoft")
    conn = db.session.scalar(sa.select(CalendarConnection))
    _choose(client, db, conn, "Team")
    account, _user = rep
    meeting = booked(client, db, make, account)
    drain(app)
    subscription, = ms.channels.values()
    assert subscription["resource"] == "me/events"
    row = db.session.scalar(sa.select(CalendarSync))
    assert ms.event_calendar[row.external_id] == "AAMkTeam"
    ms.edit(row.external_id, start={"dateTime": "2031-05-06T15:00:00", "timeZone": "UTC"},
            end={"dateTime": "2031-05-06T16:00:00", "timeZone": "UTC"})
    drain(app)
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).start_at.isoformat() != "2031-05-06T15:00:00+00:00"
    url, payload = ms.notifications[-1]
    assert payload["value"][0]["subscriptionId"] == subscription["id"]
    assert client.post(urlparse(url).path, json=payload).status_code == 202
    drain(app)
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).start_at.isoformat() == "2031-05-06T15:00:00+00:00"


def test_a_previous_target_without_a_channel_gets_one_at_the_next_sync(
        app, client, rep, cal, db, make, smtp):  # noqa: F811
    """Events were written to primary and Work before Parley had a public address (so no
    channel): once it has one, the sweep watches the target, and the next inbound sync
    the previous target, whose changes then arrive by push."""
    google, _ms = cal
    conn = _two_calendars(app, client, google, db)
    app.config["PUBLIC_BASE_URL"] = ""
    account, _user = rep
    old = booked(client, db, make, account)  # on primary
    _choose(client, db, conn, "Work")
    drain(app)
    assert google.channels == {}
    app.config["PUBLIC_BASE_URL"] = PUBLIC
    drain(app)
    assert [c["calendar"] for c in google.channels.values()] == [WORK]
    assert client.post("/calendars/sync-now").status_code == 302
    drain(app)
    primary = _channel_on(google, "primary")
    next_day = future_day(13)
    _moved(google, old, next_day, 10)
    assert deliver(client, _last_change(google, primary)).status_code == 200
    drain(app)
    db.session.expire_all()
    assert db.session.get(Meeting, old.id).start_at == local(next_day, "10:00")
