"""Every view is rendered (#24 removed the page cache): a change made anywhere, by a route,
through the operations (as the API and jobs do) or by a bulk UPDATE, shows at the very
next view, and each session's page carries its own CSRF token."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import g

from tests.clock import clock_edges
from webapp.meetings import forms as meeting_forms
from webapp.meetings.models import Meeting
from webapp.meetings.timemath import to_zone
from webapp.records.models import Contact
from webapp.types import utcnow


def get(client, url):
    # Tests hold one app context across requests; a real request starts with an empty g.
    for name in ("csrf_token", "_login_user"):
        g.pop(name, None)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_the_record_page_shows_every_change_at_the_next_view(client, make, login, db):
    from webapp.meetings import inputs, saving, validation

    account = make.account()
    user = login(make.user(account))
    contact = make.contact(account, first_name="Ada", last_name="Lovelace")
    url = f"/contacts/{contact.id}"
    assert "Ada Lovelace" in get(client, url)

    response = client.post(f"{url}/edit", data={
        "first_name": "Augusta", "last_name": "Lovelace", "email": contact.email,
        "timezone": "Europe/London"})
    assert response.status_code == 302
    assert "Augusta Lovelace" in get(client, url)

    start = utcnow() + timedelta(days=3)
    data = inputs.MeetingInput(title="Booked by the API", start=start,
                               end=start + timedelta(minutes=30), timezone="UTC",
                               attendees=[("contact", contact.id)])
    assert not validation.validate(account, user, data)
    saving.schedule_meeting(account, user, data)
    db.session.commit()
    assert "Booked by the API" in get(client, url)

    db.session.execute(sa.update(Contact).where(Contact.id == contact.id)
                       .values(last_name="Byron"))
    db.session.commit()
    assert "Augusta Byron" in get(client, url)
    assert "X-Parley-Page-Cache" not in client.get(url).headers


@clock_edges
def test_the_scheduler_week_shows_a_meeting_booked_elsewhere(client, make, login, db):
    account = make.account()
    user = login(make.user(account, timezone="Europe/Berlin"))
    contact = make.contact(account)
    url = f"/meetings/new?record_type=contact&record_id={contact.id}"
    get(client, url)
    # Booked by the worker or the API on the day the scheduler opens on (so in the week it
    # shows, whatever the hour).
    shown = meeting_forms.initial_times(to_zone(utcnow(), user.zone))[0]
    start = datetime.combine(shown, time(12), tzinfo=ZoneInfo(user.zone))
    db.session.add(Meeting(account_id=account.id, title="Fresh block", start_at=start,
                           end_at=start + timedelta(minutes=30), timezone=user.zone,
                           host_id=user.id, organizer_id=user.id))
    db.session.commit()
    html = get(client, url)
    week_url = re.search(r'hx-get="(/meetings/calendar\?[^"]+)"', html).group(1)
    assert "Fresh block" in get(client, week_url.replace("&amp;", "&"))


def test_each_session_gets_its_own_csrf_token_in_the_page(app, make, db):
    account = make.account()
    user = make.user(account)
    contact = make.contact(account)
    tokens = []
    for _ in range(2):
        browser = app.test_client()
        g.pop("_login_user", None)
        g.pop("csrf_token", None)
        assert browser.post("/login", data={"email": user.email,
                                            "password": "pw"}).status_code == 302
        html = get(browser, f"/contacts/{contact.id}")
        found = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        assert f'"X-CSRFToken": "{found}"' in html
        tokens.append(found)
    assert tokens[0] != tokens[1]
