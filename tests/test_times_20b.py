"""Issue #20, times: no seconds anywhere, a multi-day meeting shows its end date, lists of
times one per item, the end follows the start (the form's parts), duration presets."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.meeting_helpers import future_day, schedule
from webapp.filters import datetime_text, span_text
from webapp.meetings.models import Meeting

SECONDS = re.compile(r"\d:\d\d:\d\d")


def visible(html: str) -> str:
    """The page's text, without its tags (whose datetime attributes keep seconds)."""
    return re.sub(r"<[^>]+>", " ", html)


def plain(text: str) -> str:
    """Babel's narrow no-break space before AM/PM as a space."""
    return text.replace("\u202f", " ")


@pytest.fixture()
def rep(make, login):
    account = make.account(timezone="America/New_York")
    seat = make.seat(account, paid=True)
    user = login(make.user(account, name="Rita Rep", timezone="America/New_York",
                           seat_kind_id=seat.id))
    return account, user


def test_dates_and_times_have_no_seconds_in_either_language(app):
    at = datetime(2026, 12, 23, 14, 0, tzinfo=UTC)
    end = at + timedelta(hours=1)
    with app.test_request_context():
        from flask_babel import force_locale
        assert plain(datetime_text(at, "medium", "America/New_York")) == \
            "Dec 23, 2026, 9:00 AM"
        assert plain(span_text(at, end, "America/New_York")) == \
            "Dec 23, 2026, 9:00 AM – 10:00 AM"
        with force_locale("zh_Hant"):
            text = datetime_text(at, "medium", "Asia/Taipei")
            assert text == "2026年12月23日 晚上10:00", text


def test_a_multi_day_span_names_the_end_date(app):
    start = datetime(2026, 12, 23, 14, 0, tzinfo=UTC)   # 9:00 AM in New York
    end = datetime(2026, 12, 25, 22, 0, tzinfo=UTC)     # 5:00 PM two days later
    with app.test_request_context():
        assert plain(span_text(start, end, "America/New_York")) == \
            "Dec 23, 2026, 9:00 AM – Dec 25, 2026, 5:00 PM"


def _multi_day(client, rep, make, db):
    account, _ = rep
    contact = make.contact(account, email="tai@example.org", timezone="America/New_York")
    day = future_day(20)
    r = schedule(client, contact, title="Offsite", start_date=day, start_time="09:00",
                 end_date=(day + timedelta(days=2)).isoformat(), end_time="17:00",
                 attendees=[f"contact:{contact.id}"],
                 reminder_amount=["1", "2"], reminder_unit=["hours", "days"])
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    return contact, day, db.session.scalar(sa.select(Meeting))


def test_the_meeting_page_shows_a_multi_day_end_and_no_seconds(client, rep, make, db):
    _contact, day, meeting = _multi_day(client, rep, make, db)
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    end_day = day + timedelta(days=2)
    when = plain(re.search(r"<time[^>]*>(.*?)</time>", html).group(1))
    assert f"{end_day:%B} {end_day.day}, {end_day.year}, 5:00 PM" in when, when
    assert not SECONDS.search(visible(html))
    # The reminders: one per list item, not commas inside commas.
    reminders = re.search(r"<dt>Reminders</dt><dd>(.*?)</dd>", html).group(1)
    assert reminders.count("<li>") == 2


def test_the_record_timeline_has_no_seconds(client, rep, make, db):
    contact, _day, _meeting = _multi_day(client, rep, make, db)
    html = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "Offsite" in html and not SECONDS.search(visible(html))


def test_the_invitation_names_the_end_date(client, rep, make, db, smtp):
    _contact, day, _meeting = _multi_day(client, rep, make, db)
    text = smtp.messages[0][1].get_body(("plain",)).get_content()
    end_day = day + timedelta(days=2)
    assert f"{end_day:%B} {end_day.day}, {end_day.year}" in text
    assert not SECONDS.search(text)


def test_the_notifications_page_has_no_seconds(client, rep, make, db, login):
    account, _ = rep
    colleague = make.user(account, name="Cole League")
    day = future_day(6)
    r = schedule(client, None, title="Mentioned", start_date=day,
                 internal_note_html="<p>@Cole League please join</p>")
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    client.post("/logout")
    login(colleague)
    html = client.get("/notifications").get_data(as_text=True)
    assert "Mentioned" in html and not SECONDS.search(visible(html))


def test_the_forms_offer_duration_presets_and_the_following_end(client, rep, make):
    account, _ = rep
    contact = make.contact(account)
    for url in ("/meetings/new", f"/m/meetings/new?record_type=contact&record_id={contact.id}"):
        html = client.get(url).get_data(as_text=True)
        presets = re.search(r'<div class="duration-presets[^>]*data-duration-presets.*?</div>',
                            html, re.S).group(0)
        assert re.findall(r'data-minutes="(\d+)"', presets) == ["15", "30", "45", "60"]
        assert "hidden" in presets  # shown by times.js: without it they would do nothing
        assert "/static/js/times.js" in html
