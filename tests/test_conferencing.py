"""Video conferencing: Jitsi, the extension API (the README's example provider, verifying
our HMAC signatures), Zoom (OAuth + REST) and Google Meet through the Google calendar
stand-in; provider faults at save time, the retried job and its single update invitation;
S16 email checks."""

from __future__ import annotations

import hashlib
import hmac
import html
import importlib.util
import json
import re
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests
import sqlalchemy as sa
from flask import jsonify, request

from tests.meeting_helpers import form, future_day, local, local_iso, schedule
from tests.standins import Provider, Server, configure, google_app, graph_app, zoom_app
from webapp import crypto
from webapp.calendars import oauth
from webapp.calendars.models import CalendarConnection
from webapp.conferencing import operations as conf_ops
from webapp.conferencing import tasks as conference_tasks
from webapp.conferencing import zoom as zoom_oauth
from webapp.conferencing.models import CONFERENCE_TASKS, ConferenceTask, VideoApp, ZoomConnection
from webapp.conferencing.providers import ConferenceError, check_join_url
from webapp.delivery.models import OutboxMessage
from webapp.meetings.models import Meeting
from webapp.types import utcnow

EXT_SECRET = "pvs_test-secret-for-the-stand-in"
ROOT = Path(__file__).resolve().parent.parent


def load_example():
    spec = importlib.util.spec_from_file_location("video_provider",
                                                  ROOT / "examples" / "video_provider.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Extension:
    """The README's example provider, plus recorded calls and forced faults."""

    def __init__(self):
        self.calls: list[tuple[str, bytes, dict]] = []
        self.mode: str | None = None
        #: Modes for the next requests, before `mode` applies again.
        self.script: list[str] = []
        self.lock = threading.Lock()
        self.app = load_example().create_app(EXT_SECRET, "https://video.example.com",
                                             users={"rep@acme.example"})
        ext = self

        @self.app.before_request
        def record_and_fault():
            with ext.lock:
                ext.calls.append((request.path, request.get_data(), dict(request.headers)))
                mode = ext.script.pop(0) if ext.script else ext.mode
            if mode == "down":
                return jsonify(error="maintenance"), 503, {"Retry-After": "120"}
            if mode == "slow":
                time.sleep(1.2)
            if mode == "malformed" and request.path == "/create":
                return "<html>oops</html>", 200
            if mode == "http" and request.path == "/create":
                return jsonify(conferenceId="x1", conferenceUrl="http://video.example.com/x1",
                               conferenceDetails="")
            return None

    def paths(self) -> list[str]:
        return [c[0] for c in self.calls]


@pytest.fixture(scope="session")
def servers():
    zoom = Provider("zoom", "rep@acme.example")
    google = Provider("google", "rep@acme.example")
    ms = Provider("microsoft", "rep@outlook.example")
    ext = Extension()
    running = [Server(zoom_app(zoom)).start(), Server(google_app(google)).start(),
               Server(graph_app(ms)).start(), Server(ext.app).start()]
    yield zoom, google, ms, ext, [s.url for s in running]
    for server in running:
        server.stop()


@pytest.fixture()
def vc(app, servers, db):
    zoom, google, ms, ext, (zurl, gurl, murl, eurl) = servers
    # Fresh state and the default addresses (some tests change a provider's email).
    for p, email in ((zoom, "rep@acme.example"), (google, "rep@acme.example"),
                     (ms, "rep@outlook.example")):
        p.__init__(p.name, email)
    ext.calls.clear()
    ext.mode, ext.script = None, []
    saved = dict(app.config)
    app.config.update(configure({}, google, gurl, ms, murl))
    app.config.update(ZOOM_CLIENT_ID=zoom.client_id, ZOOM_CLIENT_SECRET=zoom.client_secret,
                      ZOOM_AUTHORIZE_URL=f"{zurl}/oauth/authorize",
                      ZOOM_TOKEN_URL=f"{zurl}/oauth/token", ZOOM_API_BASE=f"{zurl}/v2",
                      CONFERENCE_INLINE_TIMEOUT=0.8)
    oauth.init_app(app)
    zoom_oauth.init_app(app)
    yield {"zoom": zoom, "google": google, "ext": ext, "ext_url": eurl}
    app.config.clear()
    app.config.update(saved)
    oauth.init_app(app)
    zoom_oauth.init_app(app)


@pytest.fixture()
def rep(make, login):
    account = make.account(timezone="America/New_York")
    user = login(make.user(account, timezone="America/New_York", email="rep@acme.example",
                           role="admin"))
    return account, user


def ext_app(db, account, base_url: str, secret: str = EXT_SECRET, name="Acme Video") -> VideoApp:
    app, _shown = conf_ops.save_app(account.id, {
        "name": name, "create_url": f"{base_url}/create", "update_url": f"{base_url}/update",
        "delete_url": f"{base_url}/delete", "user_verify_url": f"{base_url}/verify"})
    app.secret_enc = crypto.encrypt(secret)
    db.session.commit()
    return app


def video(**overrides) -> dict:
    return {"location_kind": "video", **overrides}


def texts(smtp) -> list[tuple[str, str, str]]:
    """(recipient, plain text, text/calendar) of every message at the sink."""
    out = []
    for rcpts, msg in smtp.messages:
        cal = next(p for p in msg.walk() if p.get_content_type() == "text/calendar")
        out.append((rcpts[0], msg.get_body(("plain",)).get_content(), cal.get_content()))
    return out


def unfold(ics: str) -> str:
    return ics.replace("\r\n ", "").replace("\n ", "")


def meeting_row(db) -> Meeting:
    meeting = db.session.scalar(sa.select(Meeting))
    db.session.refresh(meeting)
    return meeting


# --- Jitsi ---------------------------------------------------------------------------------

def test_jitsi_link_everywhere(client, rep, make, db, smtp):
    account, _ = rep
    contact = make.contact(account, email="guest@example.org")
    r = schedule(client, contact, title="Demo", attendees=[f"contact:{contact.id}"],
                 **video(video_provider="jitsi"))
    assert r.status_code == 302
    meeting = meeting_row(db)
    url = meeting.location_value
    assert meeting.conference_status == "ready" and url == meeting.conference_url
    room = urlparse(url).path.lstrip("/")
    assert url.startswith("https://meet.jit.si/Parley-") and len(room) >= 28
    [(rcpt, text, ics)] = texts(smtp)
    assert rcpt == "guest@example.org" and url in text and f"LOCATION:{url}" in unfold(ics)
    assert url in client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    timeline = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert url in timeline
    # A second meeting gets another room: rooms are not guessable from each other.
    schedule(client, None, title="Other", **video(video_provider="jitsi"))
    other = db.session.scalars(sa.select(Meeting).order_by(Meeting.id)).all()[1]
    assert other.conference_url != url
    # Reschedule: the room stays; the update carries the same link.
    smtp.clear()
    client.post(f"/meetings/{meeting.id}/edit", data=form(
        title="Demo", attendees=[f"contact:{contact.id}"], start_time="11:00",
        end_time="11:30", **video(video_provider="jitsi")))
    db.session.refresh(meeting)
    assert meeting.location_value == url and url in texts(smtp)[0][1]


def test_jitsi_server_comes_from_config(client, rep, db, app):
    app.config["JITSI_BASE_URL"] = "https://jitsi.acme.example/"
    try:
        schedule(client, None, **video(video_provider="jitsi"))
    finally:
        app.config["JITSI_BASE_URL"] = "https://meet.jit.si"
    assert meeting_row(db).conference_url.startswith("https://jitsi.acme.example/Parley-")


def test_video_needs_a_listed_provider(client, rep, db):
    r = schedule(client, None, **video())
    assert r.status_code == 422 and "Choose a video provider" in r.get_data(as_text=True)
    r = schedule(client, None, **video(video_provider="zoom"))  # not connected
    assert r.status_code == 422 and "from the list" in r.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0


# --- Extension API ---------------------------------------------------------------------

def test_extension_app_signed_lifecycle(client, rep, vc, db, smtp):
    account, user = rep
    ext = vc["ext"]
    app = ext_app(db, account, vc["ext_url"])
    page = client.get("/meetings/new").get_data(as_text=True)
    assert f'value="app:{app.id}"' in page and "Acme Video" in page
    r = schedule(client, None, title="Ext call", attendees=[f"user:{user.id}"],
                 **video(video_provider=f"app:{app.id}"))
    assert r.status_code == 302
    meeting = meeting_row(db)
    assert meeting.location_value.startswith("https://video.example.com/")
    assert meeting.conference_details == "Topic: Ext call"
    assert ext.paths() == ["/verify", "/create"]
    path, body, headers = ext.calls[1]
    expected = "sha256=" + hmac.new(EXT_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Parley-Signature"] == expected
    assert abs(int(headers["X-Parley-Timestamp"]) - time.time()) < 30
    payload = json.loads(body)
    assert payload["meetingId"] == str(meeting.id) and payload["topic"] == "Ext call"
    assert payload["userEmail"] == "rep@acme.example" and payload["accountId"] == str(account.id)
    assert payload["timezone"] == "America/New_York" and payload["start"].endswith("Z")
    assert meeting.location_value in texts(smtp)[0][1]
    # Reschedule: the app is told (update job); delete: the app is told (delete job).
    client.post(f"/meetings/{meeting.id}/edit", data=form(
        title="Ext call", attendees=[f"user:{user.id}"], start_time="14:00", end_time="14:45",
        **video(video_provider=f"app:{app.id}")))
    assert ext.paths()[-1] == "/update"
    update = json.loads(ext.calls[-1][1])
    assert update["conferenceId"] == meeting.conference_id
    assert datetime.fromisoformat(update["start"]) == local(future_day(), "14:00")
    client.post(f"/meetings/{meeting.id}/delete")
    assert ext.paths()[-1] == "/delete"
    assert json.loads(ext.calls[-1][1])["conferenceId"] == meeting.conference_id
    statuses = db.session.scalars(sa.select(ConferenceTask.status)).all()
    assert statuses and set(statuses) == {"done"}


def test_wrong_signature_is_a_clear_failure(client, rep, vc, db, smtp):
    account, _ = rep
    app = ext_app(db, account, vc["ext_url"], secret="pvs_not-the-apps-secret")
    r = schedule(client, None, **video(video_provider=f"app:{app.id}"))
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "rejected Parley&#39;s signature (401)" in page
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0
    assert smtp.messages == []


@pytest.mark.parametrize("mode, message", [
    ("malformed", "malformed answer"), ("http", "not https")])
def test_malformed_answer_or_http_link_is_refused(client, rep, vc, db, smtp, mode, message):
    account, _ = rep
    app = ext_app(db, account, vc["ext_url"])
    vc["ext"].mode = mode
    r = schedule(client, None, **video(video_provider=f"app:{app.id}"))
    assert r.status_code == 422 and message in r.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0
    assert smtp.messages == []


def test_http_links_only_on_loopback_in_development(app):
    with app.test_request_context():
        assert check_join_url("http://127.0.0.1:8001/room") == "http://127.0.0.1:8001/room"
        with pytest.raises(ConferenceError):
            check_join_url("http://video.example.com/room")
        with pytest.raises(ConferenceError):
            check_join_url("javascript:alert(1)")
        app.config["ENV_NAME"] = "production"
        try:
            with pytest.raises(ConferenceError):
                check_join_url("http://127.0.0.1:8001/room")
        finally:
            app.config["ENV_NAME"] = "development"


def test_extension_user_verify_mismatch_is_field_error(client, make, login, vc, db, smtp):
    account = make.account()
    login(make.user(account, email="someone.else@acme.example"))
    app = ext_app(db, account, vc["ext_url"])
    r = schedule(client, None, **video(video_provider=f"app:{app.id}"))
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "has no account for someone.else@acme.example" in page
    assert 'id="video_provider-error"' in page
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0
    assert vc["ext"].paths() == ["/verify"]  # nothing created


# --- Provider down or slow at save, the retried job, exactly one update --------------------

def test_slow_provider_saves_pending_then_one_update(client, rep, vc, make, db, smtp,
                                                     clock):
    account, user = rep
    ext = vc["ext"]
    app = ext_app(db, account, vc["ext_url"])
    contact = make.contact(account, email="guest@example.org")
    colleague = make.user(account, email="cole@acme.example")
    # Slower than the inline timeout at save (verify, create), then down for the job that
    # runs right after the commit.
    ext.script, ext.mode = ["slow", "slow"], "down"
    r = schedule(client, None, title="Slow", attendees=[f"contact:{contact.id}",
                                                         f"user:{colleague.id}"],
                 **video(video_provider=f"app:{app.id}"))
    assert r.status_code == 302
    meeting = meeting_row(db)
    assert meeting.location_value == "video link pending"
    assert meeting.conference_status == "pending"
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "video link pending" in page
    first = texts(smtp)
    assert sorted(t[0] for t in first) == ["cole@acme.example", "guest@example.org"]
    assert all("video link pending" in t[1] for t in first)
    # The provider is down: the job honours Retry-After.
    task = db.session.scalar(sa.select(ConferenceTask))
    clock.shift(timedelta(minutes=10))
    before = clock.now()
    assert conference_tasks.run_task(task.id) == "pending"
    after = clock.now()
    db.session.refresh(task)
    assert before + timedelta(seconds=120) <= task.next_attempt_at <= after + timedelta(seconds=120)
    # Up again: the job creates the link; running it twice sends one update each.
    ext.mode = None
    smtp.clear()
    clock.shift(timedelta(minutes=5))
    from worker import jobs as worker_jobs
    worker_jobs.relay()
    assert conference_tasks.run_task(task.id) == "not-claimed"
    worker_jobs.relay()
    meeting = meeting_row(db)
    url = meeting.conference_url
    assert meeting.conference_status == "ready" and meeting.location_value == url
    assert url.startswith("https://video.example.com/") and meeting.sequence == 1
    updates = texts(smtp)
    assert sorted(t[0] for t in updates) == ["cole@acme.example", "guest@example.org"]
    for _rcpt, text, ics in updates:
        assert url in text and f"LOCATION:{url}" in unfold(ics) and "SEQUENCE:1" in ics
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id)).where(
        OutboxMessage.kind == "update")) == 2
    assert url in client.get(f"/meetings/{meeting.id}").get_data(as_text=True)


def test_failed_link_shows_retry(client, rep, vc, db, clock):
    account, _ = rep
    ext = vc["ext"]
    app = ext_app(db, account, vc["ext_url"])
    ext.mode = "down"
    schedule(client, None, **video(video_provider=f"app:{app.id}"))
    task = db.session.scalar(sa.select(ConferenceTask))
    for _ in range(1, CONFERENCE_TASKS.max_attempts + 2):
        clock.shift(timedelta(hours=2))
        conference_tasks.run_task(task.id)
    db.session.refresh(task)
    meeting = meeting_row(db)
    assert task.status == "failed" and meeting.conference_status == "failed"
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "could not be created" in page and "503" in page
    ext.mode = None
    client.post(f"/meetings/{meeting.id}/video/retry")
    meeting = meeting_row(db)
    assert meeting.conference_status == "ready"


# --- Admin: extension apps ---------------------------------------------------------------

def test_admin_registers_app_secret_shown_once(client, rep, db, make, login):
    r = client.post("/settings/video-apps", data={
        "name": "Acme Video", "create_url": "https://v.example/create",
        "update_url": "https://v.example/update", "delete_url": "https://v.example/delete",
        "user_verify_url": "ftp://v.example/verify"})
    assert r.status_code == 422 and "https://" in r.get_data(as_text=True)
    r = client.post("/settings/video-apps", data={
        "name": "Acme Video", "create_url": "https://v.example/create",
        "update_url": "https://v.example/update", "delete_url": "https://v.example/delete",
        "user_verify_url": "https://v.example/verify"})
    page = r.get_data(as_text=True)
    assert r.status_code == 201 and 'id="signing-secret"' in page
    app = db.session.scalar(sa.select(VideoApp))
    secret = crypto.decrypt(app.secret_enc)
    assert secret.startswith("pvs_") and secret in page and secret not in app.secret_enc
    assert secret not in client.get("/settings/video-apps").get_data(as_text=True)
    client.post(f"/settings/video-apps/{app.id}/active", data={"active": "0"})
    assert f"app:{app.id}" not in client.get("/meetings/new").get_data(as_text=True)
    # Members cannot manage apps.
    client.post("/logout")
    login(make.user(rep[0], role="member"))
    assert client.get("/settings/video-apps").status_code == 403


# --- Zoom ------------------------------------------------------------------------------------

def zoom_connect(client):
    start = client.get("/settings/video/zoom/connect")
    assert start.status_code == 302
    location = start.headers["Location"]
    assert "code_challenge_method=S256" in location and "state=" in location
    auth = requests.get(location, allow_redirects=False, timeout=5)
    back = urlparse(auth.headers["Location"])
    return client.get(f"{back.path}?{back.query}")


def test_zoom_connect_create_update_delete(client, rep, vc, db, smtp):
    zoom = vc["zoom"]
    assert "Zoom" not in [label for _k, label in conf_ops.options_for(rep[1])]
    r = zoom_connect(client)
    assert r.status_code == 302
    conn = db.session.scalar(sa.select(ZoomConnection))
    assert conn.external_email == "rep@acme.example"
    token = next(iter(zoom.access_tokens))
    assert token not in conn.access_token_enc and crypto.decrypt(conn.access_token_enc) == token
    assert 'value="zoom"' in client.get("/meetings/new").get_data(as_text=True)
    r = schedule(client, None, title="Zoom call", **video(video_provider="zoom"))
    assert r.status_code == 302
    meeting = meeting_row(db)
    created = [c for c in zoom.calls if c[0] == "POST"][0][2]
    assert created["type"] == 2 and created["duration"] == 30 and created["topic"] == "Zoom call"
    assert meeting.location_value.startswith("https://zoom.example/j/")
    assert meeting.conference_details == "Passcode: x1"
    client.post(f"/meetings/{meeting.id}/edit", data=form(
        title="Zoom call", start_time="09:00", end_time="10:00", **video(video_provider="zoom")))
    patched = zoom.events[meeting.conference_id]
    assert patched["duration"] == 60
    assert datetime.fromisoformat(patched["start_time"]) == local(future_day(), "09:00")
    client.post(f"/meetings/{meeting.id}/delete")
    assert zoom.events == {}


def test_zoom_401_refreshes_once_429_and_500_retry(client, rep, vc, db, clock):
    zoom = vc["zoom"]
    zoom_connect(client)
    zoom.access_tokens.clear()  # Zoom forgot the token: 401, one refresh, then success
    schedule(client, None, title="After refresh", **video(video_provider="zoom"))
    assert zoom.refresh_calls == 1 and meeting_row(db).conference_status == "ready"
    zoom.faults.add("/meetings", 429, {"Retry-After": "90"})
    schedule(client, None, title="Rate limited", **video(video_provider="zoom"))
    meeting = db.session.scalar(sa.select(Meeting).where(Meeting.title == "Rate limited"))
    task = db.session.scalar(sa.select(ConferenceTask).where(ConferenceTask.meeting_id ==
                                                             meeting.id))
    assert meeting.location_value == "video link pending"
    assert timedelta(seconds=80) < task.next_attempt_at - utcnow() <= timedelta(seconds=90)
    clock.shift(timedelta(minutes=2))
    zoom.faults.add("/meetings", 500)
    assert conference_tasks.run_task(task.id) == "pending"
    clock.shift(timedelta(hours=1))
    assert conference_tasks.run_task(task.id) == "done"
    db.session.refresh(meeting)
    assert meeting.location_value.startswith("https://zoom.example/j/")


def test_zoom_email_mismatch_blocks_before_saving(client, rep, vc, db, smtp):
    vc["zoom"].email = "private@zoom-mail.example"
    zoom_connect(client)
    page = client.get("/settings/video").get_data(as_text=True)
    assert "private@zoom-mail.example" in page
    r = schedule(client, None, **video(video_provider="zoom"))
    body = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "private@zoom-mail.example" in body and "rep@acme.example" in body
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0
    assert [c for c in vc["zoom"].calls if c[0] == "POST"] == [] and smtp.messages == []


# --- Google Meet through the Google calendar event ------------------------------------------

def google_connect(client):
    start = client.get("/calendars/connect/google")
    auth = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    back = urlparse(auth.headers["Location"])
    return client.get(f"{back.path}?{back.query}")


def test_google_meet_pending_then_link(client, rep, vc, make, db, smtp, clock):
    google = vc["google"]
    google_connect(client)
    account, _ = rep
    contact = make.contact(account, email="guest@example.org")
    assert 'value="google_meet"' in client.get("/meetings/new").get_data(as_text=True)
    r = schedule(client, None, title="Meet", attendees=[f"contact:{contact.id}"],
                 start_date=future_day(9), **video(video_provider="google_meet"))
    assert r.status_code == 302
    meeting = meeting_row(db)
    assert meeting.conference_status == "pending"  # Google answered createRequest "pending"
    writes = [c for c in google.calls if c[0] in ("POST", "PATCH") and "/events" in c[1]]
    assert writes and all(c[2].get("conferenceDataVersion") == "1" for c in writes)
    event = next(iter(google.events.values()))
    request_part = event["conferenceData"]["createRequest"]
    assert request_part["conferenceSolutionKey"] == {"type": "hangoutsMeet"}
    assert len(google.conferences) == 1  # the calendar sync asked for the same conference
    smtp.clear()
    clock.shift(timedelta(minutes=1))
    from worker import jobs as worker_jobs
    worker_jobs.relay()
    meeting = meeting_row(db)
    url = next(iter(google.conferences.values()))["uri"]
    assert meeting.conference_status == "ready" and meeting.location_value == url
    [(rcpt, text, ics)] = texts(smtp)
    assert rcpt == "guest@example.org" and url in text and f"LOCATION:{url}" in unfold(ics)


def test_google_meet_needs_matching_calendar_email(client, rep, vc, db):
    vc["google"].email = "rep.personal@gmail.example"
    google_connect(client)
    r = schedule(client, None, **video(video_provider="google_meet"))
    assert r.status_code == 422 and "rep.personal@gmail.example" in r.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0


def _expire_google_token(db) -> CalendarConnection:
    conn = db.session.scalar(sa.select(CalendarConnection))
    conn.expires_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    return conn


def _field_error(page: str, field: str) -> str:
    match = re.search(rf'id="{field}-error"[^>]*>([^<]*)<', page)
    return html.unescape(match.group(1)) if match else ""


def test_google_meet_save_when_google_refuses_the_refresh(client, rep, vc, make, db, smtp):
    """Issue #16: the refresh used to commit inside the save (the meeting before its
    outbox rows) and a refused grant was a 500. Now the refusal is said at the video
    provider field, nothing is saved or sent, and the connection asks to be reconnected."""
    google = vc["google"]
    google_connect(client)
    conn = _expire_google_token(db)
    google.refresh_tokens.clear()  # the user revoked Parley's access at Google
    contact = make.contact(rep[0], email="guest@example.org")
    r = schedule(client, None, title="Meet", attendees=[f"contact:{contact.id}"],
                 start_date=future_day(9), **video(video_provider="google_meet"))
    assert r.status_code == 422
    assert "connected again" in _field_error(r.get_data(as_text=True), "video_provider")
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0
    from worker import jobs as worker_jobs
    worker_jobs.sweep()  # drained: nothing was owed
    assert smtp.messages == []
    db.session.refresh(conn)
    assert conn.status == "reconnect_needed"


def test_google_meet_save_while_the_token_endpoint_is_down(client, rep, vc, make, db, smtp,
                                                           clock):
    """The token endpoint answers 503: the save still saves the whole meeting with its
    invitation (the link pending), and the job makes the link once Google answers."""
    google = vc["google"]
    google_connect(client)
    _expire_google_token(db)
    google.faults.add("/token", 503, times=20)
    contact = make.contact(rep[0], email="guest@example.org")
    r = schedule(client, None, title="Meet", attendees=[f"contact:{contact.id}"],
                 start_date=future_day(9), **video(video_provider="google_meet"))
    assert r.status_code == 302
    meeting = meeting_row(db)
    assert meeting.conference_status == "pending"
    kinds = {(m.recipient_email, m.kind) for m in db.session.scalars(sa.select(OutboxMessage))}
    assert kinds == {("guest@example.org", "invite")}
    google.faults.queue.clear()  # Google is back
    clock.shift(timedelta(hours=2))
    from worker import jobs as worker_jobs
    worker_jobs.sweep()
    meeting = meeting_row(db)
    assert meeting.conference_status == "ready" and google.refresh_calls >= 1


# --- The README's copyable provider, and reminders ---------------------------------------

def test_readme_example_provider_verifies_signatures(monkeypatch):
    from webapp.conferencing.providers import sign
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Video-conference extension API", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.setenv("PARLEY_VIDEO_SECRET", EXT_SECRET)
    namespace: dict = {"__name__": "readme_video_provider"}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    client = namespace["app"].test_client()
    body = json.dumps({"meetingId": "1", "topic": "Hi", "userEmail": "a@b.example"}).encode()
    stamp = str(int(time.time()))
    good = {"X-Parley-Signature": sign(EXT_SECRET, body, stamp), "X-Parley-Timestamp": stamp,
            "Content-Type": "application/json"}
    r = client.post("/create", data=body, headers=good)
    assert r.status_code == 200 and r.json["conferenceUrl"].startswith("https://")
    bad = {**good, "X-Parley-Signature": sign("other", body, stamp)}
    assert client.post("/create", data=body, headers=bad).status_code == 401
    old = {**good, "X-Parley-Timestamp": str(int(time.time()) - 3600)}
    assert client.post("/create", data=body, headers=old).status_code == 401


def test_reminder_carries_the_join_link(client, rep, make, db, smtp, clock):
    account, _ = rep
    contact = make.contact(account, email="guest@example.org")
    schedule(client, None, attendees=[f"contact:{contact.id}"], reminder_amount=["1"],
             reminder_unit=["days"], **video(video_provider="jitsi"))
    meeting = meeting_row(db)
    smtp.clear()
    clock.move_to(meeting.reminders[0].due_at + timedelta(minutes=1))
    from webapp import tasks
    tasks.sweep(60)
    [(rcpt, text, _ics)] = texts_any(smtp)
    assert rcpt == "guest@example.org" and meeting.conference_url in text


def texts_any(smtp) -> list[tuple[str, str, str]]:
    return [(rcpts[0], msg.get_body(("plain",)).get_content(), "") for rcpts, msg in
            smtp.messages]


def test_switching_provider_or_location_deletes_the_old_conference(client, rep, vc, db):
    zoom = vc["zoom"]
    zoom_connect(client)
    r = schedule(client, None, title="Switch", **video(video_provider="zoom"))
    assert r.status_code == 302
    meeting = meeting_row(db)
    assert len(zoom.events) == 1
    client.post(f"/meetings/{meeting.id}/edit", data=form(
        title="Switch", **video(video_provider="jitsi")))
    meeting = meeting_row(db)
    assert zoom.events == {} and meeting.conference_provider == "jitsi"
    assert meeting.location_value.startswith("https://meet.jit.si/")
    client.post(f"/meetings/{meeting.id}/edit", data=form(
        title="Switch", location_kind="in_person", location_value="Main office"))
    meeting = meeting_row(db)
    assert meeting.conference_provider is None and meeting.location_value == "Main office"


def test_options_follow_the_host(client, make, login, vc, db):
    account = make.account()
    seat = make.seat(account, paid=True)
    booker = login(make.user(account, seat_kind_id=seat.id, email="rep@acme.example"))
    colleague = make.user(account, seat_kind_id=seat.id, email="ae@acme.example")
    outsider = make.user(make.account(), email="x@other.example")
    from webapp.conferencing import zoom as zoom_ops
    zoom_ops.connect(colleague, {"access_token": "t", "refresh_token": "r",
                                 "expires_in": 3600}, "ae@acme.example")
    db.session.commit()
    mine = client.get(f"/conferencing/options?host_id={booker.id}&kind=video")
    theirs = client.get(f"/conferencing/options?host_id={colleague.id}&kind=video")
    assert 'value="zoom"' not in mine.get_data(as_text=True)
    assert 'value="zoom"' in theirs.get_data(as_text=True)
    assert client.get(f"/conferencing/options?host_id={outsider.id}").status_code == 404


def test_api_books_a_video_meeting(client, make, db):
    from webapp.api import operations as token_ops
    account = make.account()
    user = make.user(account, email="api@acme.example")
    _row, token = token_ops.create_token(user, "tests")
    db.session.commit()
    h = {"Authorization": f"Bearer {token}"}
    day = future_day(6)
    body = {"title": "API video", "start": local_iso(day, "10:00"),
            "end": local_iso(day, "10:30"), "timezone": "America/New_York",
            "location": {"kind": "video", "video_provider": "jitsi"}}
    r = client.post("/api/v1/meetings", headers=h, json=body)
    assert r.status_code == 201, r.json
    location = r.json["location"]
    assert location["video_provider"] == "jitsi" and location["video_status"] == "ready"
    assert location["value"].startswith("https://meet.jit.si/Parley-")
    r = client.post("/api/v1/meetings", headers=h, json={
        **body, "location": {"kind": "video", "video_provider": "zoom"}})
    assert r.status_code == 422
    assert r.json["errors"][0]["field"] == "location.video_provider"
    # Editing another field keeps the conference.
    meeting_id = db.session.scalar(sa.select(Meeting.id))
    r = client.patch(f"/api/v1/meetings/{meeting_id}", headers=h, json={"title": "Renamed"})
    assert r.status_code == 200 and r.json["location"]["value"] == location["value"]
