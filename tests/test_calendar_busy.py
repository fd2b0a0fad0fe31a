"""Every calendar counts (#21): several connections per user, each with its calendars;
the ones ticked count for busy time (Google in one freeBusy call, Graph getSchedule and
calendarView, CalDAV a calendar-query per calendar against a real Radicale server);
all-day events only when marked busy; a calendar that cannot be read is named and never
taken as free; the busy cache; the calendar that receives new meetings; rotations skip a
member busy on their calendar."""
# ruff: noqa: F811 (the fixtures imported from tests.test_calendars and test_rotations)

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import caldav
import pytest
import sqlalchemy as sa

from tests.meeting_helpers import form, future_day, local, schedule
from tests.test_calendars import cal, oauth_connect, radicale, rep, standins  # noqa: F401
from tests.test_rotations import book, team  # noqa: F401
from webapp import grants
from webapp.availability import busy as availability_busy
from webapp.availability import engine
from webapp.availability import settings as availability
from webapp.calendars import connections as calendar_connections
from webapp.calendars.models import CalendarConnection, ConnectionCalendar
from webapp.meetings.models import Meeting
from webapp.rotations.models import RotationPick

WORK, HOLIDAYS, TEAM = "work-cal@group.calendar.example", "holidays@group.calendar.example", \
    "AAMkTeam"


def freebusy_calls(provider) -> int:
    return sum(1 for method, path, _ in provider.calls if path.endswith("/freeBusy"))


def google_with_calendars(google) -> None:
    """The Google account lists its primary calendar, a "Work" calendar it owns and a
    holidays calendar it may only read."""
    google.add_calendar(google.email, google.email, primary=True)
    google.add_calendar(WORK, "Work")
    google.add_calendar(HOLIDAYS, "Holidays", writable=False)


def connected(db, user) -> CalendarConnection:
    return db.session.scalar(sa.select(CalendarConnection).where(
        CalendarConnection.user_id == user.id).order_by(CalendarConnection.id.desc()).limit(1))


def rows(conn) -> dict[str, ConnectionCalendar]:
    return {c.name: c for c in conn.calendars}


def save_choice(client, conn, counting: list[ConnectionCalendar], target=None):
    data = {"counts": [str(c.id) for c in counting]}
    if target is not None:
        data["target"] = str(target.id)
    r = client.post(f"/calendars/{conn.id}/calendars", data=data)
    assert r.status_code == 302, r.get_data(as_text=True)[-300:]


def span(day, a: str, b: str):
    return local(day, a).astimezone(UTC), local(day, b).astimezone(UTC)


# --- Google: the calendar list, one freeBusy call for every calendar ticked ---------------

def test_google_two_calendars_one_selected_only_its_event_makes_the_user_busy(
        client, rep, cal, db):  # noqa: F811
    google, _ = cal
    google_with_calendars(google)
    day = future_day(9)
    google.add_event(WORK, *span(day, "10:00", "11:00"), "Board prep")
    google.add_event(HOLIDAYS, *span(day, "12:00", "13:00"), "Some holiday")
    oauth_connect(client, "google")
    _account, user = rep
    conn = connected(db, user)
    found = rows(conn)
    # Listed on connecting: own calendars count, the read-only subscription does not;
    # new meetings go to the primary calendar.
    assert set(found) == {google.email, "Work", "Holidays"}
    assert found["Work"].counts_for_busy and not found["Holidays"].counts_for_busy
    assert found[google.email].is_target and found["Holidays"].read_only

    before = freebusy_calls(google)
    busy, unreadable = availability_busy.external_busy(user, *span(day, "00:00", "23:59"))
    assert unreadable == []
    assert [(b.start, b.end, b.calendar) for b in busy] == [
        (*span(day, "10:00", "11:00"), "Work (Google)")]
    assert freebusy_calls(google) == before + 1  # both calendars ticked, one call

    # Untick Work, tick Holidays: now only the holiday makes the user busy.
    save_choice(client, conn, [found[google.email], found["Holidays"]])
    busy, _ = availability_busy.external_busy(user, *span(day, "00:00", "23:59"))
    assert [(b.start, b.calendar) for b in busy] == [
        (span(day, "12:00", "13:00")[0], "Holidays (Google)")]
    page = client.get("/settings/profile/calendar").get_data(as_text=True)
    assert f'id="counts-{found["Work"].id}"' in page
    assert f'id="counts-{found["Holidays"].id}" checked' in page
    assert f'id="target-{found["Holidays"].id}" disabled' in page  # read only


@pytest.mark.committing
def test_calendars_are_listed_when_connecting(client, rep, cal, db):
    """Committing: the grant store reads committed rows only, so the list is fetched with
    the token just granted."""
    google, _ = cal
    google_with_calendars(google)
    oauth_connect(client, "google")
    _account, user = rep
    assert set(rows(connected(db, user))) == {google.email, "Work", "Holidays"}


def test_overlapping_busy_from_two_calendars(client, rep, cal, db):  # noqa: F811
    google, _ = cal
    google_with_calendars(google)
    day = future_day(9)
    google.add_event(google.email, *span(day, "10:00", "11:00"), "Dentist")
    google.add_event(WORK, *span(day, "10:30", "12:00"), "Offsite")
    oauth_connect(client, "google")
    _account, user = rep
    lo, hi = span(day, "09:00", "17:00")
    external, unreadable = availability_busy.external_busy(user, lo, hi)
    schedule_ = availability.schedule_for(user, lo, hi, external, unreadable)
    now = datetime.now(UTC)
    free = engine.free_intervals(schedule_, lo, hi, now)
    assert span(day, "10:00", "12:00")[0] not in [s for s, _ in free]
    assert not engine.is_free(schedule_, *span(day, "11:30", "12:00"), now)
    assert engine.is_free(schedule_, *span(day, "12:00", "12:30"), now)
    at = engine.reasons_at(schedule_, local(day, "10:45").astimezone(UTC), now)
    assert {r.calendar for r in at} == {"rep@gmail.example (Google)", "Work (Google)"}
    # Titles only for a viewer who may see them: the engine hides them otherwise.
    assert {r.title for r in at} == {None}


def test_a_failing_calendar_is_named_and_the_host_is_not_shown_free(client, rep, cal, db,
                                                                    make):  # noqa: F811
    google, _ = cal
    google_with_calendars(google)
    day = future_day(9)
    oauth_connect(client, "google")
    _account, user = rep
    google.failing_calendars.add(WORK)
    busy, unreadable = availability_busy.external_busy(user, *span(day, "00:00", "23:59"))
    assert unreadable == ["Work (Google)"]  # the primary one was read
    db.session.commit()  # read once per transaction
    # The whole provider down: every calendar ticked is named.
    google.faults.add("/freeBusy", 503)
    _busy, unreadable = availability_busy.external_busy(user, *span(day, "00:00", "23:59"))
    assert sorted(unreadable) == ["Work (Google)", "rep@gmail.example (Google)"]
    db.session.commit()
    google.faults.add("/freeBusy", 503)
    html = client.get(f"/meetings/calendar?host_id={user.id}&week={day}").get_data(
        as_text=True)
    assert "Work (Google) not reachable: busy time may be incomplete." in html


# --- the busy cache -----------------------------------------------------------------------

def test_busy_time_is_cached_per_user_and_range_and_a_new_choice_reads_afresh(
        client, rep, cal, db, app):  # noqa: F811
    google, _ = cal
    google_with_calendars(google)
    day = future_day(9)
    google.add_event(WORK, *span(day, "10:00", "11:00"))
    oauth_connect(client, "google")
    _account, user = rep
    window = span(day, "00:00", "23:59")
    app.config["BUSY_CACHE_SECONDS"] = 60
    availability_busy.LOCAL.clear()
    try:
        db.session.commit()
        first = freebusy_calls(google)
        assert len(availability_busy.external_busy(user, *window)[0]) == 1
        db.session.commit()  # a new transaction: served from the cache, no call
        google.add_event(WORK, *span(day, "14:00", "15:00"))
        assert len(availability_busy.external_busy(user, *window)[0]) == 1
        assert freebusy_calls(google) == first + 1
        # Another choice of calendars is another key: read afresh.
        conn = connected(db, user)
        save_choice(client, conn, [rows(conn)["Work"]])  # another choice: a new key
        assert len(availability_busy.external_busy(user, *window)[0]) == 2
        assert freebusy_calls(google) == first + 2
        # Cache only (a save under a lock): a range never read is not free, not known.
        other = span(day, "00:00", "12:00")
        assert availability_busy.external_busy(user, *other, fetch=False) == (
            [], ["Work (Google)"])
    finally:
        app.config["BUSY_CACHE_SECONDS"] = 0
        availability_busy.LOCAL.clear()


# --- Microsoft 365: getSchedule for the default calendar, calendarView for the others -----

def test_graph_all_day_free_event_is_free_and_other_calendars_are_read(client, rep, cal,
                                                                      db):  # noqa: F811
    _, ms = cal
    ms.add_calendar("AAMkDefault", "Calendar", primary=True)
    ms.add_calendar(TEAM, "Team")
    day = future_day(9)
    midnight = local(day, "00:00").astimezone(UTC)
    ms.add_event("AAMkDefault", *span(day, "09:00", "09:30"), "Standup")
    ms.add_event(TEAM, midnight, midnight + timedelta(days=1), "Conference", free=True,
                 all_day=True)
    ms.add_event(TEAM, *span(day, "13:00", "14:00"), "Team lunch")
    ms.add_event(TEAM, *span(day, "15:00", "16:00"), "Tentatively free", free=True)
    ms.add_event(TEAM, *span(day, "16:00", "17:00"), "Review")
    oauth_connect(client, "microsoft")
    _account, user = rep
    busy, unreadable = availability_busy.external_busy(user, *span(day, "00:00", "23:59"))
    assert unreadable == []
    got = sorted((b.start, b.calendar, b.title) for b in busy)
    assert got == [
        (span(day, "09:00", "09:30")[0], "Calendar (Microsoft 365)", "Standup"),
        (span(day, "13:00", "14:00")[0], "Team (Microsoft 365)", "Team lunch"),
        (span(day, "16:00", "17:00")[0], "Team (Microsoft 365)", "Review")]
    paths = [path for _m, path, _a in ms.calls]
    assert "/v1.0/me/calendar/getSchedule" in paths
    assert paths.count(f"/v1.0/me/calendars/{TEAM}/calendarView") == 2  # every page


# --- several connections, the one that receives meetings, the target calendar -------------

def test_two_connections_of_one_user_both_count_and_the_chosen_one_receives(
        client, rep, cal, db, make):  # noqa: F811
    google, ms = cal
    day = future_day(9)
    google.busy.append({"start": f"{day}T15:00:00Z", "end": f"{day}T16:00:00Z"})
    ms.add_calendar("AAMkDefault", "Calendar", primary=True)
    ms.add_event("AAMkDefault", *span(day, "13:00", "14:00"), "Graph busy")
    oauth_connect(client, "google")
    oauth_connect(client, "microsoft")
    account, user = rep
    conns = calendar_connections.connections_of(user.id)
    assert [c.provider for c in conns] == ["google", "microsoft"]
    assert [c.receives_events for c in conns] == [True, False]  # the first by default
    busy, _ = availability_busy.external_busy(user, *span(day, "00:00", "23:59"))
    assert {b.calendar for b in busy} == {"rep@gmail.example (Google)",
                                          "Calendar (Microsoft 365)"}
    contact = make.contact(account, email="guest@example.org")
    schedule(client, contact, title="To Google", attendees=[f"contact:{contact.id}"])
    assert [e["summary"] for e in google.events.values()] == ["To Google"]
    # New meetings go to Microsoft 365 from now on.
    assert client.post(f"/calendars/{conns[1].id}/receive").status_code == 302
    schedule(client, contact, title="To Graph", start_time="11:00", end_time="11:30",
             attendees=[f"contact:{contact.id}"])
    assert [e["subject"] for e in ms.events.values()] == ["To Graph"]
    # The meeting already on Google stays there when edited.
    to_google = db.session.scalar(sa.select(Meeting).where(Meeting.title == "To Google"))
    client.post(f"/meetings/{to_google.id}/edit", data=form(
        title="Still Google", attendees=[f"contact:{contact.id}"]))
    assert [e["summary"] for e in google.events.values()] == ["Still Google"]
    assert [e["subject"] for e in ms.events.values()] == ["To Graph"]
    # The same Google account connected again is a reconnection, another one is added.
    oauth_connect(client, "google")
    assert len(calendar_connections.connections_of(user.id)) == 2
    google.email = "second@gmail.example"
    oauth_connect(client, "google")
    assert [c.external_email for c in calendar_connections.connections_of(user.id)] == [
        "rep@gmail.example", "rep@outlook.example", "second@gmail.example"]
    # Disconnecting the receiving one hands meetings to the first one left.
    client.post("/calendars/disconnect", data={"connection_id": str(conns[1].id)})
    assert calendar_connections.connection_for(user.id).id == conns[0].id


def test_the_target_calendar_receives_the_new_event(client, rep, cal, db, make):  # noqa: F811
    google, _ = cal
    google_with_calendars(google)
    oauth_connect(client, "google")
    account, user = rep
    conn = connected(db, user)
    found = rows(conn)
    contact = make.contact(account, email="guest@example.org")
    day = future_day(9)
    schedule(client, contact, title="On primary", start_date=day, start_time="08:00",
             end_time="08:30", attendees=[f"contact:{contact.id}"])
    (first,) = google.events
    save_choice(client, conn, [found[google.email]], target=found["Work"])
    schedule(client, contact, title="On Work", start_date=day,
             attendees=[f"contact:{contact.id}"])
    (eid,) = set(google.events) - {first}
    assert google.event_calendar[eid] == WORK and google.event_calendar[first] == "primary"
    on_work, on_primary = (db.session.scalar(sa.select(Meeting).where(Meeting.title == t))
                           for t in ("On Work", "On primary"))
    client.post(f"/meetings/{on_work.id}/edit", data=form(
        title="On Work, renamed", start_date=day, attendees=[f"contact:{contact.id}"]))
    assert google.events[eid]["summary"] == "On Work, renamed"
    # A meeting written before the target changed is updated where it is, not copied.
    client.post(f"/meetings/{on_primary.id}/edit", data=form(
        title="Still on primary", start_date=day, start_time="08:00", end_time="08:30",
        attendees=[f"contact:{contact.id}"]))
    assert len(google.events) == 2 and google.events[first]["summary"] == "Still on primary"
    # A read-only calendar cannot receive meetings.
    r = client.post(f"/calendars/{conn.id}/calendars",
                    data={"counts": [], "target": str(found["Holidays"].id)})
    assert r.status_code == 422  # refused with its reason (see the read-only tests below)
    # The API lists the connection with its calendars and flags.
    from webapp.api import operations as token_ops
    _row, token = token_ops.create_token(user, "tests")
    db.session.commit()
    items = client.get("/api/v1/calendar-connections",
                       headers={"Authorization": f"Bearer {token}"}).json["items"]
    assert items[0]["receives_events"] is True
    listed = {c["name"]: c for c in items[0]["calendars"]}
    assert listed["Work"]["is_target"] and not listed["Work"]["counts_for_busy"]
    assert listed["Holidays"]["read_only"] and listed[google.email]["counts_for_busy"]
    doc = client.get("/api/v1/openapi.json").json
    schema = doc["components"]["schemas"]["CalendarConnection"]
    assert {"calendars", "receives_events"} <= set(schema["properties"])


# --- CalDAV against Radicale: two calendars, one ticked; all-day only when marked busy ----

def vevent(uid: str, start: datetime, end: datetime, title: str, extra: str = "") -> str:
    fmt = "%Y%m%dT%H%M%SZ"
    return (f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{start.strftime(fmt)}\r\n"
            f"DTEND:{end.strftime(fmt)}\r\nSUMMARY:{title}\r\n{extra}END:VEVENT\r\n"
            f"END:VCALENDAR\r\n")


def all_day(uid: str, day, title: str, transp: str | None) -> str:
    nxt = day + timedelta(days=1)
    line = f"TRANSP:{transp}\r\n" if transp else ""
    return (f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:{day:%Y%m%d}\r\n"
            f"DTEND;VALUE=DATE:{nxt:%Y%m%d}\r\nSUMMARY:{title}\r\n{line}END:VEVENT\r\n"
            f"END:VCALENDAR\r\n")


def test_radicale_two_calendars_one_selected_and_all_day_events(client, rep, db,
                                                                 radicale):  # noqa: F811
    tag = uuid.uuid4().hex[:6]
    other = caldav.DAVClient(url=radicale, username="alice", password="wonderland")
    home = other.principal().make_calendar(name=f"Home {tag}")
    work = other.principal().make_calendar(name=f"Work {tag}")
    day = future_day(9)
    home.save_event(vevent(f"h{tag}", *span(day, "10:00", "11:00"), "Home thing"))
    work.save_event(vevent(f"w{tag}", *span(day, "12:00", "13:00"), "Work thing"))
    work.save_event(vevent(f"t{tag}", *span(day, "14:00", "15:00"), "Shown free",
                           "TRANSP:TRANSPARENT\r\n"))
    work.save_event(all_day(f"a{tag}", day, "Birthday", None))
    work.save_event(all_day(f"b{tag}", day + timedelta(days=1), "Away", "OPAQUE"))
    r = client.post("/calendars/caldav", data={"url": radicale, "username": "alice",
                                               "password": "wonderland"})
    assert r.status_code == 302
    _account, user = rep
    conn = connected(db, user)
    found = rows(conn)
    assert {f"Home {tag}", f"Work {tag}"} <= set(found)
    save_choice(client, conn, [found[f"Home {tag}"]])
    window = (local(day, "00:00").astimezone(UTC),
              local(day + timedelta(days=2), "00:00").astimezone(UTC))
    busy, unreadable = availability_busy.external_busy(user, *window)
    assert unreadable == []
    assert [(b.start, b.calendar) for b in busy] == [
        (span(day, "10:00", "11:00")[0], f"Home {tag} (CalDAV)")]
    # Work ticked too: its timed event counts, the transparent one and the all-day
    # event without TRANSP do not; the all-day event marked busy (OPAQUE) does.
    save_choice(client, conn, [found[f"Home {tag}"], found[f"Work {tag}"]])
    busy, _ = availability_busy.external_busy(user, *window)
    got = sorted((b.start, b.title) for b in busy)
    nxt = day + timedelta(days=1)
    assert got == [(span(day, "10:00", "11:00")[0], "Home thing"),
                   (span(day, "12:00", "13:00")[0], "Work thing"),
                   (datetime(nxt.year, nxt.month, nxt.day, tzinfo=UTC), "Away")]


# --- rotations skip a member busy on their connected calendar ------------------------------

def connect_google(db, user, google) -> CalendarConnection:
    """A member's Google connection made as the OAuth callback makes it."""
    conn = CalendarConnection(account_id=user.account_id, user_id=user.id, provider="google",
                              external_email=google.email, receives_events=True)
    grants.store(conn, google.issue())
    db.session.add(conn)
    db.session.flush()
    calendar_connections.refresh_calendars(conn)
    db.session.commit()
    return conn


def test_rotation_skips_a_member_busy_on_their_google_calendar(client, team, cal, db):  # noqa: F811
    google, _ = cal
    google_with_calendars(google)
    connect_google(db, team.ana, google)
    day = future_day()
    google.add_event(WORK, *span(day, "09:45", "10:15"), "Ana's offsite")
    before = freebusy_calls(google)
    r = book(client, team)  # 10:00-10:30: Ana has fewest bookings but is busy on Work
    assert r.status_code == 302, r.get_data(as_text=True)[-400:]
    pick = db.session.scalar(sa.select(RotationPick).order_by(RotationPick.id.desc()))
    assert pick.user_id == team.ben.id
    why = {row["name"]: row["skipped"] for row in pick.detail["members"]}
    assert why == {"Ana Able": ["busy"], "Ben Baker": None}
    # Read once, before the save; the pick under the rotation's lock used that read.
    assert freebusy_calls(google) == before + 1
    # Ana's calendar cannot be read at 11:00: she is skipped, not taken as free.
    google.faults.add("/freeBusy", 503)
    r = book(client, team, start_time="11:00", end_time="11:30")
    assert r.status_code == 302
    pick = db.session.scalar(sa.select(RotationPick).order_by(RotationPick.id.desc()))
    why = {row["name"]: row["skipped"] for row in pick.detail["members"]}
    assert pick.user_id == team.ben.id and why["Ana Able"] == ["calendar_unreadable"]
    # At 12:00 her calendars answer and she is free: she is picked.
    r = book(client, team, start_time="12:00", end_time="12:30")
    pick = db.session.scalar(sa.select(RotationPick).order_by(RotationPick.id.desc()))
    assert pick.user_id == team.ana.id


def test_pick_under_the_lock_calls_no_provider(team, cal, db):  # noqa: F811
    google, _ = cal
    google_with_calendars(google)
    connect_google(db, team.ana, google)
    from webapp.rotations import operations as ops
    day = future_day()
    start, end = span(day, "10:00", "10:30")
    before = len(google.calls)
    member, skipped = ops.pick_free(team.rotation.members, start, end, fetch=False)
    assert len(google.calls) == before
    assert member.user_id == team.ben.id and skipped
    ops.read_calendars(team.rotation.members, start, end)
    member, _ = ops.pick_free(team.rotation.members, start, end, fetch=False)
    assert member.user_id == team.ana.id


def test_the_week_overlays_an_attendee_colleagues_calendar_busy_time(
        client, rep, cal, db, make, login):  # noqa: F811
    from tests.test_week_availability import monday_after, slot
    google, _ = cal
    google_with_calendars(google)
    account, user = rep
    colleague = make.user(account, name="Cal Colleague", timezone="America/New_York")
    monday = monday_after()
    tuesday = monday + timedelta(days=1)
    google.add_event(WORK, *span(tuesday, "10:00", "11:00"), "Dentist")
    client.post("/logout")
    login(colleague)
    oauth_connect(client, "google")  # the colleague's own Google calendar
    client.post("/logout")
    login(user)
    url = (f"/meetings/calendar?host_id={user.id}&week={monday.isoformat()}"
           f"&timezone=America/New_York&with={colleague.id}")
    html = client.get(url).get_data(as_text=True)
    assert "Busy on Work" not in html  # the host's own week: the calendar is the colleague's
    assert "Cal Colleague is not free" in slot(html, tuesday, "10:00")
    assert "Cal Colleague is not free" not in slot(html, tuesday, "11:00")
    assert "Dentist" not in html  # the rep sees that the colleague is busy, not why


# --- read-only calendars: busy time yes, new meetings no (Google, Graph, CalDAV) ----------

READ_ONLY_WHY = "Read only: you may see this calendar but not add events to it"


def refused_as_target(client, db, conn, read_only: ConnectionCalendar,
                      writable: ConnectionCalendar) -> None:
    """The settings page offers read_only for busy time but not for new meetings, with the
    reason at the field; choosing it anyway is refused with a clear message and nothing
    is saved (not even the busy-time ticks sent with it)."""
    page = client.get("/settings/profile/calendar").get_data(as_text=True)
    radio = page.split(f'id="target-{read_only.id}"', 1)[1].split(">", 1)[0]
    assert "disabled" in radio and f'aria-describedby="target-{read_only.id}-why"' in radio
    assert f'<small class="help" id="target-{read_only.id}-why">{READ_ONLY_WHY}' in page
    assert f'id="target-{writable.id}-why"' not in page
    before = {c.id: (c.counts_for_busy, c.is_target) for c in conn.calendars}
    r = client.post(f"/calendars/{conn.id}/calendars", data={
        "counts": [str(c.id) for c in conn.calendars], "target": str(read_only.id)})
    assert r.status_code == 422
    shown = r.get_data(as_text=True)
    assert f'id="target-{read_only.id}-error"' in shown
    assert f"New meetings cannot go to “{read_only.name}”: you may only read this " \
           "calendar. Nothing was saved." in shown.replace("&#8220;", "“").replace(
               "&#8221;", "”")
    db.session.expire_all()
    assert {c.id: (c.counts_for_busy, c.is_target) for c in
            db.session.get(CalendarConnection, conn.id).calendars} == before
    # It may count for busy time.
    save_choice(client, conn, [read_only, writable])
    db.session.expire_all()
    counted = db.session.get(ConnectionCalendar, read_only.id)
    assert counted.counts_for_busy and not counted.is_target
    assert db.session.get(ConnectionCalendar, writable.id).is_target


def test_google_reader_and_free_busy_reader_calendars_cannot_receive_meetings(
        client, rep, cal, db):  # noqa: F811
    google, _ = cal
    google_with_calendars(google)
    google.add_calendar("boss@example.org", "Boss", role="freeBusyReader")
    google.add_calendar("team@group.calendar.example", "Team", role="writer")
    oauth_connect(client, "google")
    _account, user = rep
    conn = connected(db, user)
    found = rows(conn)
    assert found["Holidays"].read_only and found["Boss"].read_only
    assert not found["Team"].read_only and not found["Work"].read_only
    refused_as_target(client, db, conn, found["Holidays"], found[google.email])
    refused_as_target(client, db, conn, found["Boss"], found[google.email])


def test_graph_calendar_without_can_edit_cannot_receive_meetings(client, rep, cal, db):  # noqa: F811
    _, ms = cal
    ms.add_calendar("AAMkDefault", "Calendar", primary=True)
    ms.add_calendar("AAMkShared", "Shared with me", writable=False)
    oauth_connect(client, "microsoft")
    _account, user = rep
    conn = connected(db, user)
    found = rows(conn)
    assert found["Shared with me"].read_only and not found["Calendar"].read_only
    refused_as_target(client, db, conn, found["Shared with me"], found["Calendar"])


@pytest.fixture(scope="module")
def radicale_shared(tmp_path_factory):
    """Radicale with a rights file: alice owns her calendars, and may only read the
    collections named shared-* in her home (made by admin)."""
    from tests.test_calendars import run_radicale
    folder = tmp_path_factory.mktemp("radicale-rights")
    (folder / "rights").write_text(
        "[root]\nuser: .+\ncollection:\npermissions: R\n\n"
        "[admin]\nuser: admin\ncollection: .*\npermissions: RrWw\n\n"
        "[principal]\nuser: .+\ncollection: {user}\npermissions: RW\n\n"
        "[shared]\nuser: alice\ncollection: alice/shared-[^/]+(/.*)?\npermissions: r\n\n"
        "[calendars]\nuser: .+\ncollection: {user}/[^/]+(/.*)?\npermissions: rw\n")
    yield from run_radicale(folder, "alice:wonderland\nadmin:root\n", "--rights-type",
                            "from_file", "--rights-file", str(folder / "rights"))


def test_caldav_collection_without_write_privilege_cannot_receive_meetings(
        client, rep, db, radicale_shared):
    import requests
    base = radicale_shared
    alice = caldav.DAVClient(url=base, username="alice", password="wonderland")
    alice.principal().make_calendar(name="Mine")
    shared = f"{base}alice/shared-team/"
    made = requests.request("MKCALENDAR", shared, auth=("admin", "root"), timeout=5, data=(
        '<?xml version="1.0" encoding="utf-8"?><C:mkcalendar xmlns:D="DAV:" '
        'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>Team'
        '</D:displayname></D:prop></D:set></C:mkcalendar>'))
    assert made.status_code == 201, made.text
    day = future_day(9)
    put = requests.put(f"{shared}standup.ics", auth=("admin", "root"), timeout=5,
                       data=vevent("standup-1", *span(day, "10:00", "11:00"), "Standup"),
                       headers={"Content-Type": "text/calendar"})
    assert put.status_code == 201, put.text
    # alice may read it but not write to it (Radicale's rights, not just our flag).
    denied = requests.put(f"{shared}mine.ics", auth=("alice", "wonderland"), timeout=5,
                          data=vevent("mine-1", *span(day, "12:00", "13:00"), "Mine"),
                          headers={"Content-Type": "text/calendar"})
    assert denied.status_code == 403
    r = client.post("/calendars/caldav", data={"url": base, "username": "alice",
                                               "password": "wonderland"})
    assert r.status_code == 302
    _account, user = rep
    conn = connected(db, user)
    found = rows(conn)
    assert found["Team"].read_only and not found["Mine"].read_only
    assert found["Mine"].is_target and conn.caldav_calendar_url.rstrip("/").endswith(
        found["Mine"].external_id.rstrip("/").rsplit("/", 1)[1])
    refused_as_target(client, db, conn, found["Team"], found["Mine"])
    busy, unreadable = availability_busy.external_busy(
        user, local(day, "00:00").astimezone(UTC), local(day, "23:59").astimezone(UTC))
    assert unreadable == [] and [b.title for b in busy] == ["Standup"]
