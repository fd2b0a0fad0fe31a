"""Calendar connections: OAuth (PKCE, state), encrypted tokens, refresh, sync jobs with
faults, free/busy in the calendar panel, Microsoft sending its own invitations, CalDAV
against a real Radicale server."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import sqlalchemy as sa

from tests.clock import NEW_YORK
from tests.meeting_helpers import form, future_day, local, schedule
from tests.standins import Provider, Server, configure, google_app, graph_app
from tests.support import free_port
from webapp import crypto, grants
from webapp.calendars import connections as calendar_connections
from webapp.calendars import oauth
from webapp.calendars import sync as calendar_sync
from webapp.calendars.models import CalendarConnection, CalendarSync
from webapp.calendars.providers import ReconnectNeeded
from webapp.meetings.models import Meeting
from webapp.types import utcnow


@pytest.fixture(scope="session")
def standins():
    google = Provider("google", "rep@gmail.example")
    ms = Provider("microsoft", "rep@outlook.example")
    servers = (Server(google_app(google)).start(), Server(graph_app(ms)).start())
    yield google, servers[0].url, ms, servers[1].url
    for server in servers:
        server.stop()


@pytest.fixture()
def cal(app, standins, db):
    google, gurl, ms, murl = standins
    for p in (google, ms):
        p.__init__(p.name, p.email)
    saved = dict(app.config)
    app.config.update(configure({}, google, gurl, ms, murl))
    oauth.init_app(app)
    yield google, ms
    app.config.clear()
    app.config.update(saved)
    oauth.init_app(app)


@pytest.fixture()
def rep(make, login):
    account = make.account(timezone="America/New_York")
    user = login(make.user(account, timezone="America/New_York", email="rep@acme.example"))
    return account, user


def oauth_connect(client, provider: str) -> requests.Response:
    """Drive the real redirects: Parley -> authorization server -> Parley callback."""
    start = client.get(f"/calendars/connect/{provider}?next=/contacts")
    assert start.status_code == 302
    query = parse_qs(urlparse(start.headers["Location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"][0] and query["redirect_uri"][0].startswith("http://parley.test/")
    auth = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    assert auth.status_code == 302
    back = urlparse(auth.headers["Location"])
    return client.get(f"{back.path}?{back.query}")


def test_oauth_connect_stores_encrypted_tokens(client, rep, cal, db):
    google, _ = cal
    r = oauth_connect(client, "google")
    assert r.status_code == 302 and r.headers["Location"] == "/contacts"
    conn = db.session.scalar(sa.select(CalendarConnection))
    assert conn.provider == "google" and conn.external_email == "rep@gmail.example"
    token = next(iter(google.access_tokens))
    assert token not in conn.access_token_enc and crypto.decrypt(conn.access_token_enc) == token
    assert crypto.decrypt(conn.refresh_token_enc) in google.refresh_tokens


def test_replayed_forged_missing_state_and_denied_consent(client, rep, cal, db):
    google, _ = cal
    start = client.get("/calendars/connect/google")
    auth = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    back = urlparse(auth.headers["Location"])
    callback = f"{back.path}?{back.query}"
    assert client.get(callback).status_code == 302
    replay = client.get(callback)
    assert replay.status_code == 400 and "already used" in replay.get_data(as_text=True)
    client.post("/calendars/disconnect")
    client.get("/calendars/connect/google")
    forged = client.get(f"{back.path}?code=abc&state=forged")
    assert forged.status_code == 400
    assert client.get(f"{back.path}?code=abc").status_code == 400
    google.deny = True
    start = client.get("/calendars/connect/google")
    denied = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    back = urlparse(denied.headers["Location"])
    r = client.get(f"{back.path}?{back.query}")
    assert r.status_code == 400 and "declined" in r.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(CalendarConnection.id))) == 0


def test_key_rotation(app, db):
    from cryptography.fernet import Fernet
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    app.config["CALENDAR_ENCRYPTION_KEYS"] = old
    try:
        stored = crypto.encrypt("s3cret")
        app.config["CALENDAR_ENCRYPTION_KEYS"] = f"{new},{old}"
        assert crypto.decrypt(stored) == "s3cret"
        rotated = crypto.rotate(stored)
        app.config["CALENDAR_ENCRYPTION_KEYS"] = new
        assert crypto.decrypt(rotated) == "s3cret"
        with pytest.raises(ValueError):
            crypto.decrypt(stored)
    finally:
        app.config["CALENDAR_ENCRYPTION_KEYS"] = ""


def test_meeting_is_created_updated_deleted_on_google(client, rep, cal, make, db, smtp):
    google, _ = cal
    oauth_connect(client, "google")
    account, _user = rep
    contact = make.contact(account, email="guest@example.org")
    base = dict(attendees=[f"contact:{contact.id}"], start_date=future_day(8))
    schedule(client, contact, title="Synced", **base)
    meeting = db.session.scalar(sa.select(Meeting))
    assert len(google.events) == 1
    event = next(iter(google.events.values()))
    assert event["iCalUID"] == meeting.uid and event["summary"] == "Synced"
    assert [c for c in google.calls if c[0] == "POST" and "events" in c[1]][0][2] == {
        "sendUpdates": "none"}  # Parley mails attendees: one invitation each
    assert len(smtp.messages) == 1
    client.post(f"/meetings/{meeting.id}/edit", data=form(**base, start_time="15:00",
                                                         end_time="15:30"))
    moved = next(iter(google.events.values()))["start"]["dateTime"]
    assert datetime.fromisoformat(moved) == local(base["start_date"], "15:00")
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Synced</span>" in page or 'id="calendar-sync"' in page
    client.post(f"/meetings/{meeting.id}/delete")
    assert google.events == {}
    sync = db.session.scalar(sa.select(CalendarSync))
    db.session.refresh(sync)
    assert sync.status == "synced" and sync.action == "delete"


def test_sync_faults_retry_after_and_final_failure(client, rep, cal, make, db, clock):
    google, _ = cal
    oauth_connect(client, "google")
    account, _ = rep
    google.faults.add("/events", 429, {"Retry-After": "120"})
    schedule(client, None, title="Busy API")
    sync = db.session.scalar(sa.select(CalendarSync))
    db.session.refresh(sync)
    assert sync.status == "pending" and "429" in sync.last_error
    assert timedelta(seconds=100) < sync.next_attempt_at - utcnow() <= timedelta(seconds=120)
    assert google.events == {}
    # Provider down for a while, then a 400: not retried, visible with a retry action.
    clock.shift(timedelta(minutes=3))
    google.faults.add("/events", 500)
    assert calendar_sync.run_sync(sync.id) == "pending"
    clock.shift(timedelta(hours=2))
    google.faults.add("/events", 400)
    assert calendar_sync.run_sync(sync.id) == "failed"
    page = client.get(f"/meetings/{sync.meeting_id}").get_data(as_text=True)
    assert "Sync failed" in page and "Retry" in page
    client.post(f"/meetings/{sync.meeting_id}/calendar-sync/retry")
    db.session.refresh(sync)
    assert sync.status == "synced" and len(google.events) == 1


def test_expired_token_is_refreshed_once_on_401(client, rep, cal, db):
    google, _ = cal
    oauth_connect(client, "google")
    google.access_tokens.clear()  # the provider forgot the access token: 401
    schedule(client, None, title="After refresh")
    assert google.refresh_calls == 1 and len(google.events) == 1


def test_revoked_grant_marks_reconnect_needed_without_retry_storm(client, rep, cal, db):
    google, _ = cal
    oauth_connect(client, "google")
    google.access_tokens.clear()
    google.refresh_tokens.clear()  # the user revoked Parley's access
    schedule(client, None, title="Revoked")
    conn = db.session.scalar(sa.select(CalendarConnection))
    db.session.refresh(conn)
    assert conn.status == "reconnect_needed"
    sync = db.session.scalar(sa.select(CalendarSync))
    db.session.refresh(sync)
    assert sync.status == "failed" and sync.attempts == 1
    calls = google.refresh_calls
    schedule(client, None, title="Second")  # no sync queued, no token call
    assert google.refresh_calls == calls
    assert "reconnect-needed" in client.get("/settings/profile/calendar").get_data(as_text=True)
    html = client.get("/meetings/new").get_data(as_text=True)
    assert "connected again" in html
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 2  # meetings still saved


@pytest.mark.committing  # threads with sessions of their own
def test_concurrent_jobs_refresh_once(app, client, rep, cal, db):
    google, _ = cal
    oauth_connect(client, "google")
    conn = db.session.scalar(sa.select(CalendarConnection))
    conn.expires_at = utcnow() - timedelta(minutes=1)
    conn_id = conn.id
    db.session.commit()
    tokens, errors = [], []
    barrier = threading.Barrier(20)

    def job():
        with app.app_context():
            try:
                barrier.wait(5)
                tokens.append(grants.fresh_access_token(calendar_connections.GRANTS, conn_id))
            except Exception as exc:  # collected for the assertion below
                import traceback
                errors.append("".join(traceback.format_exception(exc)))

    threads = [threading.Thread(target=job) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(tokens) == 20, errors[0] if errors else ""
    assert google.refresh_calls == 1 and len(set(tokens)) == 1


def test_busy_time_in_calendar_panel_and_busy_only_for_colleagues(client, rep, cal, make, db,
                                                                 login):
    google, _ = cal
    oauth_connect(client, "google")
    account, user = rep
    seat = make.seat(account, paid=True)
    user.seat_kind_id = seat.id  # seated: colleagues with a paid seat may book for them
    db.session.commit()
    day = future_day(9)
    google.busy.append({"start": f"{day}T15:00:00Z", "end": f"{day}T16:00:00Z"})
    ext_start = datetime.fromisoformat(f"{day}T15:00:00+00:00").astimezone(NEW_YORK)
    ext_end = ext_start + timedelta(hours=1)
    ext_text = f"{ext_start:%H:%M}&#8211;{ext_end:%H:%M}"  # 10:00 or 11:00 in New York (EST/EDT)
    r = schedule(client, None, title="Secret pricing", start_date=day, start_time="13:00",
                 end_time="13:30")
    assert r.status_code == 302
    url = f"/meetings/calendar?host_id={user.id}&week={day}"

    # The host sees their calendar's busy time, and their own meeting by its title.
    own = client.get(url)
    assert own.status_code == 200
    html = own.get_data(as_text=True)
    assert ext_text in html and html.count("<span>Busy</span>") == 1
    assert "Secret pricing" in html and "13:00&#8211;13:30" in html

    # A colleague sees the same week with every block as "Busy": no title.
    client.post("/logout")
    login(make.user(account, seat_kind_id=seat.id, timezone="America/New_York"))
    theirs = client.get(url)
    assert theirs.status_code == 200
    html = theirs.get_data(as_text=True)
    assert "Secret pricing" not in html
    assert ext_text in html and "13:00&#8211;13:30" in html and html.count("<span>Busy</span>") == 2


def test_microsoft_host_invitations_are_sent_by_graph(client, rep, cal, make, db, smtp):
    _, ms = cal
    oauth_connect(client, "microsoft")
    account, _ = rep
    contact = make.contact(account, email="guest@example.org")
    schedule(client, contact, title="Graph meeting", attendees=[f"contact:{contact.id}"])
    assert len(ms.events) == 1
    event = next(iter(ms.events.values()))
    assert event["attendees"][0]["emailAddress"]["address"] == "guest@example.org"
    assert event["transactionId"]
    assert smtp.messages == []  # Graph mails the attendee; Parley does not mail again
    meeting = db.session.scalar(sa.select(Meeting))
    assert "sent by Microsoft 365" in client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    client.post(f"/meetings/{meeting.id}/delete")
    assert event.get("isCancelled") is True and smtp.messages == []


# --- CalDAV against a real Radicale server ----------------------------------------------

def run_radicale(folder, users: str, *rights: str):
    """A Radicale server on a free port with the given users (htpasswd, plain) and rights
    options; yields its URL, stops it afterwards."""
    (folder / "users").write_text(users)
    port = free_port()
    proc = subprocess.Popen([
        sys.executable, "-m", "radicale", "--config", "", "--server-hosts", f"127.0.0.1:{port}",
        "--auth-type", "htpasswd", "--auth-htpasswd-filename", str(folder / "users"),
        "--auth-htpasswd-encryption", "plain", *rights,
        "--storage-filesystem-folder", str(folder / "collections")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            break
        except requests.RequestException:
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def radicale(tmp_path_factory):
    yield from run_radicale(tmp_path_factory.mktemp("radicale"), "alice:wonderland\n",
                            "--rights-type", "owner_only")


def test_caldav_connect_sync_and_free_busy(client, rep, make, db, radicale, smtp):
    bad = client.post("/calendars/caldav", data={"url": radicale, "username": "alice",
                                                 "password": "wrong"})
    assert bad.status_code == 422 and "refused" in bad.get_data(as_text=True)
    gone = client.post("/calendars/caldav", data={"url": f"http://127.0.0.1:{free_port()}/",
                                                  "username": "alice", "password": "x"})
    assert gone.status_code == 422 and "could not be reached" in gone.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(CalendarConnection.id))) == 0
    ok = client.post("/calendars/caldav", data={"url": radicale, "username": "alice",
                                                "password": "wonderland"})
    assert ok.status_code == 302
    conn = db.session.scalar(sa.select(CalendarConnection))
    assert "wonderland" not in (conn.caldav_password_enc or "")
    account, user = rep
    day = future_day(12)
    schedule(client, None, title="On Radicale", start_date=day, start_time="09:00",
             end_time="10:00")
    meeting = db.session.scalar(sa.select(Meeting))
    sync = db.session.scalar(sa.select(CalendarSync))
    db.session.refresh(sync)
    assert sync.status == "synced", sync.last_error
    provider = calendar_connections.provider_for(conn)
    start = meeting.start_at - timedelta(hours=1)
    busy = provider.busy(start, start + timedelta(hours=4))
    assert (meeting.start_at, meeting.end_at) in busy
    import caldav
    calendar = caldav.DAVClient(url=radicale, username="alice", password="wonderland").calendar(
        url=conn.caldav_calendar_url)
    assert "SUMMARY:On Radicale" in calendar.event_by_uid(meeting.uid).data
    client.post(f"/meetings/{meeting.id}/edit", data=form(title="Moved on Radicale",
                                                         start_date=day, start_time="11:00",
                                                         end_time="12:00"))
    assert "Moved on Radicale" in calendar.event_by_uid(meeting.uid).data
    client.post(f"/meetings/{meeting.id}/delete")
    with pytest.raises(caldav.lib.error.NotFoundError):
        calendar.event_by_uid(meeting.uid)
    # A changed password is noticed: reconnect needed, shown to the user.
    conn.caldav_password_enc = crypto.encrypt("changed")
    db.session.commit()
    with pytest.raises(ReconnectNeeded):
        calendar_connections.provider_for(conn).busy(start, start + timedelta(hours=1))


def test_the_connection_lookup_is_remembered_only_within_a_transaction(make, db,
                                                                       count_queries):
    from webapp.calendars import connections as calendar_connections
    from webapp.calendars.models import CalendarConnection
    account = make.account()
    user = make.user(account)
    user_id, account_id = user.id, account.id
    db.session.rollback()
    with count_queries() as counter:
        assert calendar_connections.connection_for(user_id) is None
        assert calendar_connections.connection_for(user_id) is None
    assert counter.count == 1  # asked once in this transaction
    # A connection added in the same transaction is seen, flushed or not.
    db.session.add(CalendarConnection(account_id=account_id, user_id=user_id,
                                      provider="caldav"))
    assert calendar_connections.connection_for(user_id) is not None
    db.session.rollback()
    assert calendar_connections.connection_for(user_id) is None  # the rollback undid it
    # Made by another transaction: seen once this one has ended.
    db.session.add(CalendarConnection(account_id=account_id, user_id=user_id,
                                      provider="caldav"))
    db.session.commit()
    found = calendar_connections.connection_for(user_id)
    assert found is not None and found.provider == "caldav"
    db.session.delete(found)
    db.session.flush()
    assert calendar_connections.connection_for(user_id) is None  # the flush forgot it
