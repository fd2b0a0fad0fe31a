"""The page cache (webapp/pagecache.py): a repeat view costs no rendering and no query, and any change to the account, made anywhere, shows on the next view."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import fakeredis
import pytest
import sqlalchemy as sa
from flask import g

from tests.clock import clock_edges
from webapp.meetings import forms as meeting_forms
from webapp.meetings.models import Meeting
from webapp.meetings.timemath import to_zone
from webapp.records.models import Contact
from webapp.types import utcnow

FAKE_URL = "redis://127.0.0.1:1/15"  # never dialled: the client below stands in for it


@pytest.fixture()
def cache_on(app):
    """The page cache on, with versions in a fake Redis; bodies emptied before and after."""
    saved = {k: app.config[k] for k in ("REDIS_URL", "PAGE_CACHE_SECONDS", "JOBS_MODE")}
    app.config.update(REDIS_URL=FAKE_URL, PAGE_CACHE_SECONDS=60)
    fake = fakeredis.FakeRedis()
    app.extensions.setdefault("parley_redis", {})[FAKE_URL] = fake
    app.extensions["parley_pagecache"].clear()
    app.extensions.pop("parley_valuecache", None)
    app.extensions.pop("parley_redis_breaker", None)  # a test with Redis away trips it
    yield fake
    app.config.update(saved)
    app.extensions["parley_redis"].pop(FAKE_URL, None)
    app.extensions["parley_pagecache"].clear()
    app.extensions.pop("parley_valuecache", None)
    app.extensions.pop("parley_redis_breaker", None)


def get(client, url, **kw):
    # Tests hold one app context across requests; a real request starts with an empty g.
    for name in ("csrf_token", "_login_user"):
        g.pop(name, None)
    return client.get(url, **kw)


def cache_state(response) -> str | None:
    return response.headers.get("X-Parley-Page-Cache")


def test_repeat_view_is_served_without_rendering_until_the_account_changes(
        app, client, make, login, db, cache_on, count_queries):
    account = make.account()
    user = login(make.user(account, name="Rep One"))
    contact = make.contact(account, first_name="Ada", last_name="Lovelace")
    account_id, contact_id, email, user_id = account.id, contact.id, contact.email, user.id
    url = f"/contacts/{contact_id}"

    first = get(client, url)
    assert first.status_code == 200 and cache_state(first) == "miss"
    assert "Ada Lovelace" in first.get_data(as_text=True)
    db.session.expunge_all()  # as a new request's session: nothing loaded yet
    with count_queries() as counter:
        again = get(client, url)
    assert cache_state(again) == "hit" and again.status_code == 200
    assert counter.count == 0, counter.statements  # not even the user is loaded
    assert again.headers["Cache-Control"] == "no-store"
    assert "Ada Lovelace" in again.get_data(as_text=True)

    # A change through a route (the edit form) shows at once.
    response = client.post(f"{url}/edit", data={
        "first_name": "Augusta", "last_name": "Lovelace", "email": email,
        "timezone": "Europe/London"})
    assert response.status_code == 302
    flashed = get(client, url)  # the flash is waiting: rendered, not stored
    assert cache_state(flashed) is None and "Augusta" in flashed.get_data(as_text=True)
    fresh = get(client, url)
    assert cache_state(fresh) == "miss" and "Augusta" in fresh.get_data(as_text=True)
    assert cache_state(get(client, url)) == "hit"

    # Another account's change leaves this account's pages alone.
    make.contact(make.account())
    assert cache_state(get(client, url)) == "hit"

    # A meeting booked through the operations (as the API and jobs do) is on the timeline.
    start = utcnow().replace(microsecond=0) + timedelta(days=2)
    meeting = Meeting(account_id=account_id, title="Cached? No", start_at=start,
                      end_at=start + timedelta(minutes=30), timezone="UTC", host_id=user_id,
                      organizer_id=user_id)
    db.session.add(meeting)
    db.session.flush()
    _associate(db, meeting, contact_id)
    db.session.commit()
    page = get(client, url)
    assert cache_state(page) == "miss" and "Cached? No" in page.get_data(as_text=True)

    # A bulk UPDATE names no rows: every page is thrown away.
    assert cache_state(get(client, url)) == "hit"
    db.session.execute(sa.update(Contact).where(Contact.id == contact_id)
                       .values(last_name="Byron"))
    db.session.commit()
    page = get(client, url)
    assert cache_state(page) == "miss" and "Augusta Byron" in page.get_data(as_text=True)


def _associate(db, meeting, contact_id):
    from webapp.meetings.models import MeetingAssociation
    db.session.add(MeetingAssociation(account_id=meeting.account_id, meeting_id=meeting.id,
                                      record_type="contact", record_id=contact_id))


def test_each_viewer_zone_language_and_session_gets_their_own_page(
        app, client, make, login, db, cache_on):
    account = make.account()
    ann = make.user(account, name="Ann Viewer", timezone="Asia/Taipei")
    ben = make.user(account, name="Ben Viewer", timezone="America/Los_Angeles")
    contact = make.contact(account)
    url = f"/contacts/{contact.id}"
    login(ann)
    assert cache_state(get(client, url)) == "miss"
    assert cache_state(get(client, url)) == "hit"

    other = app.test_client()
    g.pop("_login_user", None)
    assert other.post("/login", data={"email": ben.email, "password": "pw"}).status_code == 302
    page = get(other, url)
    assert cache_state(page) == "miss"
    assert "Ben Viewer" in page.get_data(as_text=True)
    assert "Ann Viewer" not in page.get_data(as_text=True)

    # htmx partial requests are never served from the cache.
    assert cache_state(get(client, url, headers={"HX-Request": "true",
                                                 "HX-Target": "timeline"})) is None


def test_a_cached_page_carries_the_current_sessions_csrf_token(app, make, db, cache_on):
    account = make.account()
    user = make.user(account)
    contact = make.contact(account)
    url = f"/contacts/{contact.id}"
    token_re = re.compile(r'name="csrf_token" value="([^"]+)"')

    def session_client():
        c = app.test_client()
        g.pop("_login_user", None)
        assert c.post("/login", data={"email": user.email, "password": "pw"}).status_code == 302
        return c

    phone, desk = session_client(), session_client()
    rendered = get(phone, url)
    served = get(desk, url)
    assert cache_state(rendered) == "miss" and cache_state(served) == "hit"
    phone_token = token_re.search(rendered.get_data(as_text=True)).group(1)
    desk_token = token_re.search(served.get_data(as_text=True)).group(1)
    assert "__parley_csrf_token__" not in served.get_data(as_text=True)
    assert desk_token != phone_token

    # With CSRF checks on, the token from the cached page is accepted for its session.
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        g.pop("csrf_token", None)
        g.pop("_login_user", None)
        ok = desk.post(f"{url}/edit", data={
            "csrf_token": desk_token, "first_name": "Posted", "last_name": "Fine",
            "email": contact.email, "timezone": "Europe/Berlin"})
        assert ok.status_code == 302, ok.get_data(as_text=True)[:500]
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_pages_render_as_usual_when_redis_is_away(app, client, make, login, db, cache_on):
    from redis import Redis
    app.extensions["parley_redis"][FAKE_URL] = Redis.from_url(FAKE_URL,
                                                              socket_connect_timeout=0.2)
    account = make.account()
    login(make.user(account))
    contact = make.contact(account, first_name="Still")
    for _ in range(2):
        page = get(client, f"/contacts/{contact.id}")
        assert page.status_code == 200 and cache_state(page) is None
        assert "Still" in page.get_data(as_text=True)


def _page_in_cache(client, make, login, path: str):
    """A user of a new account with a contact, and path (formatted with the contact's id)
    viewed twice: rendered and stored, then served from the cache."""
    account = make.account()
    user = login(make.user(account))
    contact = make.contact(account)
    url = path.format(contact.id)
    assert cache_state(get(client, url)) == "miss"
    assert cache_state(get(client, url)) == "hit"
    return account, user, contact, url


@clock_edges
def test_scheduler_page_is_cached_and_follows_new_meetings(app, client, make, login, db,
                                                           cache_on):
    account, user, _contact, url = _page_in_cache(
        client, make, login, "/meetings/new?record_type=contact&record_id={}")
    # Booked by the worker or the API: a new event on the host's calendar, on the day the
    # scheduler opens on (so in the week it shows, whatever the hour).
    shown = meeting_forms.initial_times(to_zone(utcnow(), user.zone))[0]
    start = datetime.combine(shown, time(12), tzinfo=ZoneInfo(user.zone))
    db.session.add(Meeting(account_id=account.id, title="Fresh block", start_at=start,
                           end_at=start + timedelta(minutes=30), timezone=user.zone,
                           host_id=user.id, organizer_id=user.id))
    db.session.commit()
    page = get(client, url)
    assert page.status_code == 200 and cache_state(page) == "miss"
    # The week grid comes after the form (#24), rendered each time.
    html = page.get_data(as_text=True)
    week_url = re.search(r'hx-get="(/meetings/calendar\?[^"]+)"', html).group(1)
    assert "Fresh block" in get(client, week_url.replace("&amp;", "&")).get_data(as_text=True)


def test_a_meeting_saved_through_the_operations_shows_at_the_next_view(
        app, client, make, login, db, cache_on):
    """schedule_meeting() writes the attendees, reminders and associations outside the unit
    of work (the session events see none of them): the account must still be marked
    changed, or the timeline would miss the new meeting for up to a minute."""
    from webapp.meetings import inputs, saving, validation

    account, user, contact, url = _page_in_cache(client, make, login, "/contacts/{}")
    start = utcnow() + timedelta(days=3)
    data = inputs.MeetingInput(title="Booked by the API", start=start,
                            end=start + timedelta(minutes=30), timezone="UTC",
                            attendees=[("contact", contact.id)])
    assert not validation.validate(account, user, data)
    saving.schedule_meeting(account, user, data)
    db.session.commit()
    page = get(client, url)
    assert cache_state(page) == "miss" and "Booked by the API" in page.get_data(as_text=True)
