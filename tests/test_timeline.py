"""The record page's timeline (#24): items read by index, actions menus loaded when opened."""

from __future__ import annotations

import sqlalchemy as sa

from tests.meeting_helpers import schedule
from webapp.meetings.models import Meeting


def _rep(make, login):
    account = make.account(timezone="America/New_York")
    seat = make.seat(account, paid=True)
    user = login(make.user(account, timezone="America/New_York", seat_kind_id=seat.id))
    return account, user


def test_items_carry_no_menu_until_opened(client, make, login, db):
    account, _user = _rep(make, login)
    contact = make.contact(account)
    assert schedule(client, contact, title="Kick-off",
                    attendees=[f"contact:{contact.id}"]).status_code == 302
    meeting = db.session.scalar(sa.select(Meeting))
    html = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    item = html[html.index(f'id="meeting-{meeting.id}"'):]
    item = item[:item.index("</li>")]
    # The menu's summary loads the menu once, into the item's own menu box; until then the
    # box links to the meeting (the page without JavaScript).
    assert 'aria-label="Actions for Kick-off"' in item
    assert (f'hx-get="/meetings/{meeting.id}/actions?return_to=/contacts/{contact.id}" '
            f'hx-trigger="click once" hx-target="#menu-{meeting.id}"') in item
    assert f'<div class="menu-items" id="menu-{meeting.id}"><a href="/meetings/{meeting.id}">' \
        in item
    assert "csrf_token" not in item and "<select" not in item

    menu = client.get(f"/meetings/{meeting.id}/actions?return_to=/contacts/{contact.id}")
    assert menu.status_code == 200
    text = menu.get_data(as_text=True)
    assert "<html" not in text
    assert f"/meetings/{meeting.id}/edit?return_to=/contacts/{contact.id}" in text
    assert f'hx-post="/meetings/{meeting.id}/outcome"' in text
    assert f'action="/meetings/{meeting.id}/delete"' in text
    assert f'<input type="hidden" name="return_to" value="/contacts/{contact.id}">' in text


def test_actions_menu_of_another_account_or_elsewhere_is_refused(client, make, login, db):
    account, _user = _rep(make, login)
    contact = make.contact(account)
    schedule(client, contact, attendees=[f"contact:{contact.id}"])
    mine = db.session.scalar(sa.select(Meeting))
    # return_to stays on this site.
    text = client.get(f"/meetings/{mine.id}/actions?return_to=https://evil.example/") \
        .get_data(as_text=True)
    assert "evil.example" not in text

    client.post("/logout")
    assert client.get(f"/meetings/{mine.id}/actions").status_code in (302, 401)
    _rep(make, login)
    assert client.get(f"/meetings/{mine.id}/actions").status_code == 404
    client.post("/logout")
    assert client.get(f"/meetings/{mine.id}/actions").status_code in (302, 401)


def test_cursor_that_does_not_parse_shows_the_first_page(client, make, login, db):
    account, _user = _rep(make, login)
    contact = make.contact(account)
    schedule(client, contact, title="Only one", attendees=[f"contact:{contact.id}"])
    for before in ("x", "1-", "-5", "99999999999999999999-1"):
        r = client.get(f"/contacts/{contact.id}?before={before}")
        assert r.status_code == 200 and "Only one" in r.get_data(as_text=True), before
    r = client.get(f"/contacts/{contact.id}/timeline?before=1-1")
    assert r.status_code == 200 and "timeline-item" not in r.get_data(as_text=True)


def test_item_times_are_written_in_the_viewers_zone_and_language(client, make, login, db):
    """No seconds (#20), the viewer's zone, and a meeting that ends on another day shows
    the end's date (#20: "Dec 23, 9:00 AM - 5:00 PM" for a meeting ending on Dec 25)."""
    from datetime import date, timedelta

    from tests.meeting_helpers import future_day

    account, _user = _rep(make, login)
    contact = make.contact(account)
    day = future_day(3)
    schedule(client, contact, title="Timed", start_date=day, start_time="10:00",
             end_time="10:30", attendees=[f"contact:{contact.id}"])
    multi = db.session.scalar(sa.select(Meeting))
    end = day + timedelta(days=2)
    schedule(client, contact, title="Offsite", start_date=day, start_time="09:00",
             end_date=end, end_time="17:00", attendees=[f"contact:{contact.id}"])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)) == 2, multi
    html = client.get(f"/contacts/{contact.id}").get_data(as_text=True)

    def text(d: date) -> str:
        return f"{d:%b} {d.day}, {d.year}"
    assert f">{text(day)}, 10:00\u202fAM – 10:30\u202fAM</time>" in html \
        or f">{text(day)}, 10:00 AM – 10:30 AM</time>" in html
    assert f">{text(day)}, 9:00\u202fAM – {text(end)}, 5:00\u202fPM</time>" in html \
        or f">{text(day)}, 9:00 AM – {text(end)}, 5:00 PM</time>" in html


def test_timeline_items_show_every_change_at_the_next_view(app, client, make, login, db):
    """The record page's timeline items (rendered at every view, #24): a change to a
    meeting, a renamed outcome, another viewer's language and zone show at the very next
    view, and a view with nothing changed is the same page."""
    from webapp.meetings.models import MeetingOutcome

    account, _user = _rep(make, login)
    contact = make.contact(account)
    schedule(client, contact, title="Kick-off", attendees=[f"contact:{contact.id}"])
    meeting = db.session.scalar(sa.select(Meeting))
    page = f"/contacts/{contact.id}"
    client.get(page)  # shows the flash of the save
    first = client.get(page).get_data(as_text=True)
    assert ">Kick-off</a>" in first and client.get(page).get_data(as_text=True) == first

    meeting.title = "Renamed kick-off"
    db.session.commit()
    assert ">Renamed kick-off</a>" in client.get(page).get_data(as_text=True)

    outcome = db.session.scalar(sa.select(MeetingOutcome).where(
        MeetingOutcome.account_id == account.id, MeetingOutcome.key == meeting.outcome))
    outcome.name = "Still to happen"
    db.session.commit()
    assert 'outcome">Still to happen</span>' in client.get(page).get_data(as_text=True)

    # A colleague in another zone and language, right after.
    from zoneinfo import ZoneInfo

    from babel.dates import format_time
    assert "<dt>Host</dt>" in client.get(page).get_data(as_text=True)
    client.post("/logout")
    login(make.user(account, timezone="Asia/Tokyo", locale="zh_Hant",
                    seat_kind_id=_user.seat_kind_id))
    tokyo = format_time(meeting.start_at.astimezone(ZoneInfo("Asia/Tokyo")), "short",
                        locale="zh_Hant")
    import flask_babel
    flask_babel.refresh()  # the tests' app context outlives requests, and Babel's choices
    html = client.get(page).get_data(as_text=True)
    assert f"{tokyo} – " in html
    assert "<dt>主持人</dt>" in html


def test_timeline_items_are_written_as_reviewed(app, db, make, snapshot):
    """The record page's items, written by webapp.timeline.render_items (#24), for items of
    every kind in both languages, against reviewed files (tests/snapshots/timeline/; made
    from meetings/_timeline_items.html, the template they replaced): every value escaped
    once, the video states, a page's booking, calendar changes, the "older" link."""
    from datetime import UTC, datetime, timedelta

    from flask_babel import force_locale

    from webapp.meetings.outcomes import catalog
    from webapp.timeline import TimelineItem, TimelinePage, render_items

    account = make.account(timezone="America/New_York")
    start = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)  # New York's clock change that day
    odd = 'A <b>&"\'</b> é'

    def item(n, **values):
        base = {"id": n, "title": f"Meeting {n} {odd}", "start_at": start + timedelta(hours=n),
                "end_at": start + timedelta(hours=n, minutes=30), "outcome": "completed",
                "location_kind": "in_person", "location_value": f"Room {odd}",
                "conference_status": None, "conference_url": None,
                "host_name": f"Host {odd}", "organizer_name": "Org", "attendee_names": [
                    "Ann", odd]}
        return TimelineItem(**{**base, **values})

    items = [
        item(1),
        item(2, location_kind="video", conference_status="ready",
             conference_url="https://meet.example/j?a=1&b=<2>", location_value="video"),
        item(3, location_kind="video", conference_status="pending", location_value="video"),
        item(4, location_kind="video", conference_status="failed", location_value="video"),
        item(5, location_kind="video", conference_status=None, location_value="zoom"),
        item(6, location_value=None, attendee_names=[], outcome=f"gone {odd}"),
        item(7, booked_through=f"Intro {odd}", end_at=start + timedelta(days=2)),
        item(8, change_at=start, change_kind="updated", change_provider="google",
             change_details={"title": [f"Old {odd}", "New"]}),
        item(9, change_at=start, change_kind="canceled", change_provider="microsoft",
             change_details=None, outcome="no_show"),
    ]
    for locale in ("en", "zh_Hant"):
        with app.test_request_context("/contacts/7"), force_locale(locale):
            urls = {"record_url": "/contacts/7", "more_url": "/contacts/7/timeline"}
            pages = {more: render_items(TimelinePage(items, more, catalog(account.id)),
                                        "/contacts/7?x=1&y=<2>", **urls)
                     for more in (None, "1772951400-9")}
            snapshot(f"timeline/items-{locale}.html", str(pages["1772951400-9"]))
            # The last page: the same items, without the "Older activities" link.
            last, older = str(pages["1772951400-9"]).split('\n<li class="timeline-more">')
            assert str(pages[None]) == last and "?before=1772951400-9" in older
            for written in pages.values():
                assert "&lt;b&gt;&amp;&#34;&#39;&lt;/b&gt;" in written
                assert ("video-pending" in written) and ("join-link" in written)
